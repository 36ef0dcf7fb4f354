/**
 * Every value derived from the settings, pinned by literal numbers: at the defaults and for one
 * settings file away from them (test/infra/fixtures/non-default-settings.json). A change to any
 * derivation (units, pacing, the worst case, the execution timeout) fails here by name.
 */
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { KmsIncidentRotationStack } from '../../lib/stack';
import { extractWorkflow } from '../../local/template';
import { STATE } from '../../lambdas/domain/workflow-states';
import { deriveRuntime } from '../../lib/settings/derived';
import { parseSettings } from '../../lib/settings/settings';
import { settingsFromContext } from '../../lib/settings/settings-sources';

const NON_DEFAULT = path.join(__dirname, 'fixtures', 'non-default-settings.json');

test('at the default settings', () => {
  expect(deriveRuntime(parseSettings({}))).toEqual({
    executionTimeoutSeconds: 50_880,
    cooldownSeconds: 3600,
    rotationTimeoutSeconds: 3600,
    approvalTimeoutSeconds: 14_400,
    forceMinIntervalSeconds: 600,
    history: { loopsPerKey: 37, eventsPerKey: 412, historyEvents: 20_767, stateTransitions: 6802 },
    reencryption: undefined,
  });
});

test('from a settings file: 90-minute cooldown and rotation timeout, 30-minute approvals, re-encryption at 250/s', () => {
  // Given: the file read as `-c settingsFile=` reads it
  const settings = settingsFromContext((key) => (key === 'settingsFile' ? NON_DEFAULT : undefined));

  // Then: minutes become seconds; 25 children of 10 requests/s each, batches of 10 x 120 s / 6
  // requests (an envelope object's worst case) = 200 objects.
  expect(deriveRuntime(settings)).toEqual({
    executionTimeoutSeconds: 532_800,
    cooldownSeconds: 5400,
    rotationTimeoutSeconds: 5400,
    approvalTimeoutSeconds: 1800,
    forceMinIntervalSeconds: 1200,
    history: { loopsPerKey: 39, eventsPerKey: 430, historyEvents: 22_589, stateTransitions: 7383 },
    reencryption: {
      kmsRequestsPerSecond: 250,
      maxConcurrency: 25,
      childKmsRequestsPerSecond: 10,
      maxItemsPerBatch: 200,
    },
  });
});

test.each([
  // 100/s: 10 children at 10/s; a batch is 10 x 120 s / 6 requests = 200 objects.
  [100, { maxConcurrency: 10, childKmsRequestsPerSecond: 10, maxItemsPerBatch: 200 }],
  // 15/s: 2 children at 7.5/s; 7.5 x 120 / 6 = 150 objects.
  [15, { maxConcurrency: 2, childKmsRequestsPerSecond: 7.5, maxItemsPerBatch: 150 }],
  // 5/s: one child at 5/s; 5 x 120 / 6 = 100 objects.
  [5, { maxConcurrency: 1, childKmsRequestsPerSecond: 5, maxItemsPerBatch: 100 }],
])('re-encryption at %d KMS requests/s (defaults otherwise)', (rate, pacing) => {
  const settings = parseSettings({ reEncryptBuckets: ['orders-data'], reEncryptKmsRequestsPerSecond: rate });
  expect(deriveRuntime(settings).reencryption).toEqual({ kmsRequestsPerSecond: rate, ...pacing });
});

test('what lib writes from them, from the settings file: the definition and the environment say the same seconds', () => {
  const settings = settingsFromContext((key) => (key === 'settingsFile' ? NON_DEFAULT : undefined));
  const env = { account: '111122223333', region: 'us-east-1' };
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const json = Template.fromStack(new KmsIncidentRotationStack(app, 'KmsIncidentRotation', { settings, env })).toJSON();
  const { definition, functions } = extractWorkflow(json as never, env);
  // The approval wait (30 minutes) and the execution timeout, in the definition...
  expect(definition.States[STATE.forEachKey].ItemProcessor.States[STATE.requestApproval].TimeoutSeconds).toBe(1800);
  expect(definition.TimeoutSeconds).toBe(532_800);
  // ...and the same seconds in the environment of every function that reads them.
  const assess = [...functions.values()].find((f) => f.handler === 'assess')!;
  expect(assess.environment).toMatchObject({
    APPROVAL_TIMEOUT_SECONDS: '1800',
    EXECUTION_TIMEOUT_SECONDS: '532800',
    COOLDOWN_SECONDS: '5400',
    ROTATION_TIMEOUT_SECONDS: '5400',
    FORCE_MIN_INTERVAL_SECONDS: '1200',
  });
});
