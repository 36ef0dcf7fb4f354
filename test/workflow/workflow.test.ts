/**
 * The workflow end to end, offline: the state machine definition from the synthesized
 * template, run by aws-local-stepfunctions, with the real handlers talking through the AWS SDK
 * to the local stand-in (local/standin). Every path a key can take (rotated, joined, as a
 * replica's primary, dry run, skipped, timed out, throttled) and a notification that cannot be sent.
 */
import { openSimulation, simulate, type SimulationRun } from '../../local/simulate';
import { parseWorld } from '../../local/world';
import { guardDutyFinding } from './helpers';

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const arn = (id: string, region = REGION, account = ACCOUNT) => `arn:aws:kms:${region}:${account}:key/${id}`;
const KEY = arn(KEY_ID);
/** Fast enough for tests; the order of events stays real. */
const SPEED = 100;

function manual(keyId: string, extra: Record<string, unknown> = {}) {
  return { keyId, reason: 'suspected leak of the orders data key', ...extra };
}

function world(keys: Record<string, unknown>[], extra: Record<string, unknown> = {}) {
  return parseWorld(
    { account: ACCOUNT, region: REGION, keys: keys.map((k) => ({ id: KEY_ID, rotationSeconds: 20, ...k })), ...extra },
    'test world',
  );
}

const rotateCalls = (run: SimulationRun) =>
  run.calls.filter((c) => c.service === 'kms' && c.operation === 'RotateKeyOnDemand');
const successfulRotateCalls = (run: SimulationRun) => rotateCalls(run).filter((c) => !c.error);

describe('rotation workflow (local)', () => {
  test('a GuardDuty finding rotates the key, confirms it and notifies', async () => {
    // Given
    const w = world([{ onDemandRotationsUsed: 2, aliases: ['alias/orders'] }]);

    // When
    const run = await simulate({ world: w, input: guardDutyFinding([KEY]), speed: SPEED });

    // Then
    expect(run.result.executionStatus).toBe('SUCCEEDED');
    expect(run.result.keys).toEqual([
      expect.objectContaining({
        keyArn: KEY,
        via: null,
        outcome: 'ROTATED',
        reason: null,
        onDemandRotationsUsed: 3,
        onDemandRotationsRemaining: 22,
      }),
    ]);
    const [key] = run.result.keys;
    expect(key.currentKeyMaterialId).not.toBe(key.previousKeyMaterialId);
    expect(successfulRotateCalls(run)).toHaveLength(1);
    // It really polled until the stand-in's rotation finished.
    const checks = run.events.filter((e) => e.type === 'StateEntered' && e.state?.name === 'CheckRotation');
    expect(checks.length).toBeGreaterThanOrEqual(2);
    expect(run.result.notifications).toHaveLength(1);
    const [note] = run.result.notifications;
    expect(note.subject).toMatch(/^\[ROTATED\] 1 key - GuardDuty/);
    expect(note.message).toContain('alias/orders');
    expect(note.message).toMatch(/data keys? already issued|does NOT change data keys/i);
    expect(note.attributes).toEqual({
      outcome: 'ROTATED',
      source: 'guardduty',
      severity: 'HIGH',
      actionRequired: 'false',
      duplicate: 'false',
    });
  });

  const skipCases: [string, Record<string, unknown>[], unknown, Record<string, unknown>?][] = [
    ['NOT_FOUND', [{}], manual(arn('00000000-0000-0000-0000-000000000000'))],
    ['AWS_MANAGED', [{ keyManager: 'AWS' }], manual(KEY)],
    ['UNSUPPORTED_KEY_SPEC', [{ keySpec: 'RSA_2048', keyUsage: 'SIGN_VERIFY' }], manual(KEY)],
    ['CUSTOM_KEY_STORE', [{ origin: 'AWS_CLOUDHSM' }], manual(KEY)],
    ['IMPORTED_MATERIAL_NOT_STAGED', [{ origin: 'EXTERNAL' }], manual(KEY)],
    ['KEY_NOT_ENABLED', [{ keyState: 'Disabled' }], manual(KEY)],
    ['FOREIGN_ACCOUNT', [{}], manual(arn(KEY_ID, REGION, '444455556666'))],
    ['OPTED_OUT', [{ tags: { 'kms-incident-rotation': 'disabled' } }], manual(KEY)],
    ['RECENTLY_ROTATED', [{ onDemandRotationsUsed: 1, lastOnDemandRotationMinutesAgo: 10 }], manual(KEY)],
    ['BUDGET_EXHAUSTED', [{ onDemandRotationsUsed: 25 }], manual(KEY, { force: true })],
    ['BUDGET_RESERVE', [{ onDemandRotationsUsed: 22 }], guardDutyFinding([KEY])],
  ];
  test.each(skipCases)(
    'SKIPPED %s: no rotation spent, the reason reported and notified',
    async (reason, keys, input) => {
      const run = await simulate({ world: world(keys), input, speed: SPEED });
      expect(run.result.executionStatus).toBe('SUCCEEDED');
      expect(run.result.keys).toEqual([expect.objectContaining({ outcome: 'SKIPPED', reason })]);
      expect(rotateCalls(run)).toHaveLength(0);
      expect(run.result.notifications[0].subject).toMatch(/^\[SKIPPED\]/);
    },
  );

  test('a manual request with force may use the reserve', async () => {
    const run = await simulate({
      world: world([{ onDemandRotationsUsed: 22 }]),
      input: manual(KEY, { force: true }),
      speed: SPEED,
    });
    expect(run.result.keys[0]).toMatchObject({ outcome: 'ROTATED', onDemandRotationsUsed: 23 });
  });

  test('dry run: reports what would happen and spends nothing', async () => {
    const run = await simulate({ world: world([{}]), input: manual(KEY, { dryRun: true }), speed: SPEED });
    expect(run.result.executionStatus).toBe('SUCCEEDED');
    expect(run.result.keys).toEqual([expect.objectContaining({ outcome: 'DRY_RUN', reason: null })]);
    expect(rotateCalls(run)).toHaveLength(0);
    expect(run.result.notifications[0].subject).toMatch(/^\[DRY_RUN\]/);
  });

  test('the stack-wide dryRun setting wins over a finding', async () => {
    const run = await simulate({
      world: world([{}], { settings: { dryRun: true } }),
      input: guardDutyFinding([KEY]),
      speed: SPEED,
    });
    expect(run.result.keys[0].outcome).toBe('DRY_RUN');
    expect(rotateCalls(run)).toHaveLength(0);
  });

  test('joins an on-demand rotation that is already running instead of starting another', async () => {
    const run = await simulate({
      world: world([{ rotationInProgress: true, onDemandRotationsUsed: 4, rotationSeconds: 200 }]),
      input: guardDutyFinding([KEY]),
      speed: SPEED,
    });
    expect(run.result.keys).toEqual([expect.objectContaining({ outcome: 'ROTATED', onDemandRotationsUsed: 5 })]);
    expect(run.summary?.keys[0].joined).toBe(true);
    expect(rotateCalls(run)).toHaveLength(0);
  });

  test("a multi-Region replica is rotated as its primary, in the primary's Region", async () => {
    const primaryId = 'mrk-1234abcd12ab34cd56ef1234567890ab';
    const primary = arn(primaryId, 'us-east-1');
    const replica = arn(primaryId, 'eu-west-1');
    const w = world([
      { id: primaryId, region: 'us-east-1', multiRegion: true, multiRegionKeyType: 'PRIMARY' },
      { id: primaryId, region: 'eu-west-1', multiRegion: true, multiRegionKeyType: 'REPLICA', primaryArn: primary },
    ]);
    const run = await simulate({ world: w, input: guardDutyFinding([replica]), speed: SPEED });
    expect(run.result.keys).toEqual([expect.objectContaining({ keyArn: primary, via: replica, outcome: 'ROTATED' })]);
    expect(successfulRotateCalls(run)).toEqual([expect.objectContaining({ region: 'us-east-1' })]);
  });

  test('a rotation slower than the timeout ends FAILED ROTATION_TIMEOUT and fails the execution, after notifying', async () => {
    const w = world([{ rotationSeconds: 3600 }], { settings: { rotationTimeoutMinutes: 1 } });
    const run = await simulate({ world: w, input: guardDutyFinding([KEY]), speed: 60 });
    expect(run.result.executionStatus).toBe('FAILED');
    expect(run.result.error).toBe('KeyRotationFailed');
    expect(run.result.keys).toEqual([expect.objectContaining({ outcome: 'FAILED', reason: 'ROTATION_TIMEOUT' })]);
    expect(successfulRotateCalls(run)).toHaveLength(1);
    expect(run.result.notifications[0].subject).toMatch(/^\[FAILED\]/);
    expect(run.result.notifications[0].attributes.actionRequired).toBe('true');
  });

  test('two throttled RotateKeyOnDemand calls are retried, then the key rotates once', async () => {
    const w = world([{}], {
      faults: [{ service: 'kms', operation: 'RotateKeyOnDemand', error: 'ThrottlingException', times: 2 }],
    });
    const run = await simulate({ world: w, input: guardDutyFinding([KEY]), speed: SPEED });
    expect(run.result.executionStatus).toBe('SUCCEEDED');
    expect(run.result.keys[0].outcome).toBe('ROTATED');
    expect(rotateCalls(run).map((c) => c.error ?? 'ok')).toEqual(['ThrottlingException', 'ThrottlingException', 'ok']);
    expect(run.events.filter((e) => e.type === 'StateRetried' && e.state?.name === 'Rotate')).toHaveLength(2);
  });

  test('throttling that never stops ends the key FAILED THROTTLED, without hiding the other key', async () => {
    const other = arn('5678abcd-12ab-34cd-56ef-1234567890ab');
    const w = world([{}, { id: '5678abcd-12ab-34cd-56ef-1234567890ab', keyManager: 'AWS' }], {
      faults: [{ service: 'kms', operation: 'RotateKeyOnDemand', error: 'ThrottlingException', times: 50 }],
    });
    const run = await simulate({ world: w, input: guardDutyFinding([KEY, other]), speed: SPEED });
    expect(run.result.executionStatus).toBe('FAILED');
    const byArn = Object.fromEntries(run.result.keys.map((k) => [k.keyArn, k]));
    expect(byArn[KEY]).toMatchObject({ outcome: 'FAILED', reason: 'THROTTLED' });
    expect(byArn[other]).toMatchObject({ outcome: 'SKIPPED', reason: 'AWS_MANAGED' });
  });

  test('an automatic rotation due within 20 minutes: waits (ConflictException), then rotates', async () => {
    const run = await simulate({
      world: world([{ automaticRotationDueWithinMinutes: 20 }]),
      input: guardDutyFinding([KEY]),
      speed: 600,
    });
    expect(run.result.keys[0].outcome).toBe('ROTATED');
    expect(rotateCalls(run).some((c) => c.error === 'ConflictException')).toBe(true);
    expect(successfulRotateCalls(run)).toHaveLength(1);
    expect(run.events.some((e) => e.type === 'StateEntered' && e.state?.name === 'WaitBeforeRetryingRotation')).toBe(
      true,
    );
  });

  test('SNS publish failing is retried, then the execution fails (never a silent success)', async () => {
    const w = world([{}], { faults: [{ service: 'sns', operation: 'Publish', error: 'InternalError', times: 100 }] });
    const run = await simulate({ world: w, input: guardDutyFinding([KEY]), speed: SPEED });
    expect(run.result.executionStatus).toBe('FAILED');
    const publishes = run.calls.filter((c) => c.service === 'sns' && c.operation === 'Publish');
    expect(publishes.length).toBeGreaterThan(1);
    expect(publishes.every((c) => c.error)).toBe(true);
    expect(run.events.some((e) => e.type === 'StateEntered' && e.state?.name === 'NotificationFailed')).toBe(true);
    // The key was still rotated: the failure is about telling people.
    expect(successfulRotateCalls(run)).toHaveLength(1);
  });

  test('two keys in one finding, one ineligible: both reported', async () => {
    const asymmetric = arn('5678abcd-12ab-34cd-56ef-1234567890ab');
    const w = world([
      {},
      { id: '5678abcd-12ab-34cd-56ef-1234567890ab', keySpec: 'ECC_NIST_P256', keyUsage: 'SIGN_VERIFY' },
    ]);
    const run = await simulate({ world: w, input: guardDutyFinding([KEY, asymmetric, KEY]), speed: SPEED });
    expect(run.result.executionStatus).toBe('SUCCEEDED');
    expect(run.result.keys).toHaveLength(2);
    const byArn = Object.fromEntries(run.result.keys.map((k) => [k.keyArn, k]));
    expect(byArn[KEY].outcome).toBe('ROTATED');
    expect(byArn[asymmetric]).toMatchObject({ outcome: 'SKIPPED', reason: 'UNSUPPORTED_KEY_SPEC' });
    expect(run.result.notifications[0].subject).toMatch(/2 keys/);
  });

  test('one key named twice in a finding (by alias and by ARN) is rotated once', async () => {
    const w = world([{ aliases: ['alias/orders'] }]);
    const run = await simulate({
      world: w,
      input: guardDutyFinding([KEY, `arn:aws:kms:${REGION}:${ACCOUNT}:alias/orders`]),
      speed: SPEED,
    });
    expect(successfulRotateCalls(run)).toHaveLength(1);
    expect(run.result.keys.map((k) => k.keyArn)).toEqual([KEY, KEY]);
    expect(run.result.keys.map((k) => k.outcome).sort()).toEqual(['ROTATED', 'SKIPPED']);
  });

  test('input that is neither a finding nor a manual request ends in a Fail naming the field', async () => {
    // No EventBridge rule delivers it: someone allowed states:StartExecution starts the machine directly.
    const direct = {
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/Operator/ops`,
      accessKeyId: 'AKIALOCALOPSXXXXXXX1',
      secretAccessKey: 'ops-secret',
      breakGlass: false,
      policies: [
        { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'states:StartExecution', Resource: '*' }] },
      ],
    };
    const w = { ...world([{}]), people: { ...world([{}]).people, ops: direct } };
    const sim = await openSimulation({ world: w, speed: SPEED });
    const run = await sim.run({ id: 'not-a-finding', version: '0' }, { as: 'ops' }).finally(() => sim.close());
    expect(run.result.executionStatus).toBe('FAILED');
    expect(run.result.error).toBe('InvalidRequest');
    expect(run.result.cause).toMatch(/"errorMessage":"request: the automatic workflow takes finding events/);
    expect(run.calls.filter((c) => c.service === 'kms')).toHaveLength(0);
  });

  test('a manual request without a reason is refused at the front door, naming the field', async () => {
    await expect(simulate({ world: world([{}]), input: { keyId: KEY }, speed: SPEED })).rejects.toMatchObject({
      statusCode: 400,
      body: { message: expect.stringMatching(/^reason: /) },
    });
  });
});

describe('the largest request', () => {
  test('50 keys in one finding: every key reported, every state payload well under the 256 KB limit', async () => {
    const ids = Array.from({ length: 50 }, (_, i) => `${String(i).padStart(8, '0')}-aaaa-bbbb-cccc-dddddddddddd`);
    const w = parseWorld(
      {
        account: ACCOUNT,
        region: REGION,
        keys: ids.map((id) => ({ id, rotationSeconds: 5, aliases: [`alias/${'a'.repeat(200)}-${id}`] })),
      },
      'big world',
    );
    const run = await simulate({ world: w, input: guardDutyFinding(ids.map((id) => arn(id))), speed: 200 });
    expect(run.result.executionStatus).toBe('SUCCEEDED');
    expect(run.result.keys).toHaveLength(50);
    expect(run.result.keys.every((k) => k.outcome === 'ROTATED')).toBe(true);
    const largest = Math.max(
      ...run.events.flatMap((e) =>
        [e.state?.input, e.state?.output]
          .filter((v) => v !== undefined)
          .map((v) => Buffer.byteLength(JSON.stringify(v))),
      ),
    );
    // Step Functions fails a state whose input or output exceeds 256 KB (States.DataLimitExceeded).
    expect(largest).toBeLessThan(192 * 1024); // measured 127 KB with 200-character aliases; 321 KB before items dropped the key list
  }, 60_000);
});
