/**
 * How the re-encryption settings reach their functions: ReencryptObjects reads its per-child KMS
 * rate and the suite upgrade from its own environment, PlanReencryption reads `autoReEncrypt` from
 * its environment and only the buckets and targets from its payload; the definition carries what
 * the Distributed Map itself needs (MaxConcurrency, MaxItemsPerBatch) and nothing a function reads
 * as a setting. Every expected number is a literal: 10 children per 100 requests/s, each at 10/s.
 */
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { KmsIncidentRotationStack } from '../../lib/stack';
import { parseSettings, type Settings } from '../../lib/settings/settings';
import { settingsFromContext } from '../../lib/settings/settings-sources';
import { extractWorkflow } from '../../local/template';
import { STATE } from '../../lambdas/domain/workflow-states';
import * as pacingModule from '../../lambdas/domain/reencryption/pacing';

const env = { account: '111122223333', region: 'us-east-1' };
const NON_DEFAULT = path.join(__dirname, 'fixtures', 'non-default-settings.json');

/** The synthesized stack's ReencryptObjects and PlanReencryption environments and the automatic machine's definition. */
function synth(settings: Settings) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new KmsIncidentRotationStack(app, 'KmsIncidentRotation', { settings, env });
  const json = Template.fromStack(stack).toJSON() as any;
  const environmentOf = (handler: string): Record<string, string> => {
    const fn = Object.values<any>(json.Resources).find(
      (r) => r.Metadata?.['kms-incident-rotation:handler'] === handler,
    );
    return fn?.Properties.Environment?.Variables;
  };
  return {
    reencryptObjects: environmentOf('reencrypt-objects'),
    plan: environmentOf('plan-reencryption'),
    definition: extractWorkflow(json, env).definition,
  };
}

const withBuckets = (extra: Record<string, unknown> = {}) =>
  parseSettings({ reEncryptBuckets: ['orders-data'], ...extra });

describe("ReencryptObjects' environment carries the per-child rate and the suite upgrade, and nothing else", () => {
  test('at the default rate (100/s): 10 requests/s per child, legacy suites kept', () => {
    expect(synth(withBuckets()).reencryptObjects).toEqual({
      CHILD_KMS_REQUESTS_PER_SECOND: '10',
      UPGRADE_ENVELOPE_SUITE: 'false',
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: 'kms-incident-rotation',
      POWERTOOLS_LOG_LEVEL: 'INFO',
    });
  });

  test('from the non-default settings file (250/s): 25 children, each still at 10/s', () => {
    const settings = settingsFromContext((key) => (key === 'settingsFile' ? NON_DEFAULT : undefined));
    const { reencryptObjects, definition } = synth(settings);
    expect(reencryptObjects.CHILD_KMS_REQUESTS_PER_SECOND).toBe('10');
    expect(definition.States[STATE.reencryptTarget].MaxConcurrency).toBe(25);
  });

  test('at 15/s: 2 children at 7.5/s each (env), batches of 150 (definition)', () => {
    const { reencryptObjects, definition } = synth(withBuckets({ reEncryptKmsRequestsPerSecond: 15 }));
    expect(reencryptObjects.CHILD_KMS_REQUESTS_PER_SECOND).toBe('7.5');
    const map = definition.States[STATE.reencryptTarget];
    expect(map.MaxConcurrency).toBe(2);
    expect(map.ItemBatcher.MaxItemsPerBatch).toBe(150);
  });
});

describe('a setting a function reads changes its environment, not the definition', () => {
  const base = synth(withBuckets());

  test('reEncryptUpgradeEnvelopeSuite: only UPGRADE_ENVELOPE_SUITE changes', () => {
    const upgraded = synth(withBuckets({ reEncryptUpgradeEnvelopeSuite: true }));
    expect(upgraded.reencryptObjects).toEqual({ ...base.reencryptObjects, UPGRADE_ENVELOPE_SUITE: 'true' });
    expect(upgraded.definition).toEqual(base.definition);
  });

  test("autoReEncrypt: only PlanReencryption's AUTO_REENCRYPT changes", () => {
    expect(base.plan.AUTO_REENCRYPT).toBe('false');
    const auto = synth(withBuckets({ autoReEncrypt: true }));
    expect(auto.plan).toEqual({ ...base.plan, AUTO_REENCRYPT: 'true' });
    expect(auto.definition).toEqual(base.definition);
  });

  test("the definition's batches and PlanReencryption's payload carry no setting a function reads", () => {
    const map = base.definition.States[STATE.reencryptTarget];
    expect(Object.keys(map.ItemBatcher.BatchInput).sort()).toEqual(['grantToken.$', 'unit.$']);
    expect(base.definition.States[STATE.planReencryption].Parameters.settings).toEqual({
      buckets: ['orders-data'],
      targets: {},
    });
    expect(JSON.stringify(base.definition)).not.toMatch(/kmsRequestsPerSecond|upgradeEnvelopeSuite|"auto"/i);
  });
});

test('the pacing is computed once per construct (deriveRuntime), never again at synth', () => {
  const spy = jest.spyOn(pacingModule, 'reencryptionPacing');
  try {
    synth(withBuckets());
    expect(spy).toHaveBeenCalledTimes(1);
    expect(spy).toHaveBeenCalledWith(100);
  } finally {
    spy.mockRestore();
  }
});
