/**
 * Integration test in a real (sandbox) account, with @aws-cdk/integ-tests-alpha. Deploys the
 * product stack and a throwaway key, starts the manual machine by hand (as the front door does
 * for `kms-rotate start`), waits until the execution SUCCEEDED and checks that KMS lists an ON_DEMAND rotation.
 * It spends one rotation of the throwaway key only; the key is scheduled for deletion on destroy.
 *
 * Offline, test/infra/integ.test.ts synthesizes it. To run it for real:
 *   npx -p @aws-cdk/integ-runner integ-runner --directory test/integ --app 'npx tsx {filePath}' --update-on-failed
 */
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import { ExpectedResult, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import { KmsIncidentRotationStack } from '../../lib/stack';
import { parseSettings } from '../../lib/settings/settings';
import { DRILL_TAG_KEY } from '../../lib/names';

export function buildIntegApp(app = new App()) {
  const product = new KmsIncidentRotationStack(app, 'KmsIncidentRotationInteg', {
    settings: parseSettings({
      ledgerDeletionProtection: false,
      pollInitialSeconds: 5,
      pollMaxSeconds: 120,
      rotationTimeoutMinutes: 30,
    }),
  });
  const fixture = new Stack(app, 'KmsIncidentRotationIntegKey');
  const key = new kms.Key(fixture, 'ThrowawayKey', {
    description: 'kms-incident-rotation integration test: throwaway key, one on-demand rotation',
    removalPolicy: RemovalPolicy.DESTROY,
    pendingWindow: Duration.days(7),
  });
  key.node.addMetadata('purpose', 'integ');
  fixture.tags.setTag(DRILL_TAG_KEY, 'true');

  const integ = new IntegTest(app, 'RotationWorkflow', { testCases: [product, fixture] });
  // The manual machine, with the front door's request shape (the test's assertion provider
  // stands in for the front door; a fresh key needs no force).
  const started = integ.assertions.awsApiCall('SFN', 'startExecution', {
    stateMachineArn: product.manualWorkflow.stateMachine.stateMachineArn,
    input: JSON.stringify({
      keyId: key.keyArn,
      reason: 'integration test',
      dryRun: false,
      breakGlass: false,
      requestedBy: 'integ-tests-alpha assertion provider',
    }),
  });
  const finished = integ.assertions
    .awsApiCall('SFN', 'describeExecution', { executionArn: started.getAttString('executionArn') })
    .expect(ExpectedResult.objectLike({ status: 'SUCCEEDED' }))
    .waitForAssertions({ totalTimeout: Duration.minutes(30), interval: Duration.seconds(30) });
  const rotations = integ.assertions
    .awsApiCall('KMS', 'listKeyRotations', { KeyId: key.keyArn })
    .expect(
      ExpectedResult.objectLike({ Rotations: Match.arrayWith([Match.objectLike({ RotationType: 'ON_DEMAND' })]) }),
    );
  started.next(finished).next(rotations);
  return { app, integ, product, fixture };
}

if (require.main === module) {
  buildIntegApp().app.synth();
}
