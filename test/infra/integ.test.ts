/** The real-account integration test (test/integ) synthesizes offline: the CI half of that layer. */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildIntegApp } from '../integ/integ.rotation';

test('the integration test app synthesizes: product stack, throwaway key, and the assertions', () => {
  const { app, product } = buildIntegApp(new App({ context: { 'aws:cdk:bundling-stacks': [] } }));
  const assembly = app.synth();
  const names = assembly.stacks.map((s) => s.stackName).sort();
  expect(names).toEqual(expect.arrayContaining(['KmsIncidentRotationInteg', 'KmsIncidentRotationIntegKey']));
  const assertStack = assembly.stacks.find((s) => s.stackName.includes('DeployAssert'));
  expect(assertStack).toBeDefined();
  const calls = Object.values(
    assertStack!.template.Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>,
  )
    .filter((r) => r.Type.startsWith('Custom::DeployAssert@SdkCall'))
    .map((r) => `${r.Properties.service}.${r.Properties.api}`);
  expect(calls).toEqual(
    expect.arrayContaining(['SFN.startExecution', 'SFN.describeExecution', 'KMS.listKeyRotations']),
  );
  expect(Template.fromStack(product).findResources('AWS::StepFunctions::StateMachine')).not.toEqual({});
});
