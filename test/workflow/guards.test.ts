/**
 * Finding intake and guards, end to end offline: every finding source, exactly-once
 * per finding, one rotation per key at a time, the approval gate and the audit ledger. The
 * synthesized state machine runs against the stand-in and a local ledger (dynalite).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { openSimulation, simulate, type Simulation, type SimulationRun } from '../../local/simulate';
import { parseWorld } from '../../local/world';
import { auditTrail } from '../audit-trail';
import { LOCAL_LEDGER_TABLE } from '../../local/ledger-local';
import { ledgerClientOf } from './helpers';
import { Ledger } from '../../lambdas/adapters/ledger';

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const K1_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const K1 = `arn:aws:kms:${REGION}:${ACCOUNT}:key/${K1_ID}`;
const SPEED = 100;
/** For approvals left unanswered: 240 min of silence in about 3 s. */
const SILENCE_SPEED = 5000;

const fixture = (name: string) => JSON.parse(readFileSync(path.join(__dirname, '../fixtures', name), 'utf8'));
const guardDuty = (id: string) => {
  const event = fixture('guardduty/s3-bucket-kms.json');
  event.detail.id = id;
  return event;
};

function world(key: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  return parseWorld(
    { account: ACCOUNT, region: REGION, keys: [{ id: K1_ID, rotationSeconds: 20, ...key }], ...extra },
    'test world',
  );
}

const rotations = (calls: SimulationRun['calls']) =>
  calls.filter((c) => c.operation === 'RotateKeyOnDemand' && !c.error);

describe('every finding source reaches the workflow', () => {
  test.each([
    ['guardduty', 'guardduty/s3-bucket-kms.json'],
    ['securityhub', 'securityhub/kms-key-resource.json'],
    ['access-analyzer', 'access-analyzer/kms-key-active.json'],
  ])('%s finding rotates K1', async (source, file) => {
    const run = await simulate({ world: world(), input: fixture(file), speed: SPEED });
    expect(run.result.executionStatus).toBe('SUCCEEDED');
    expect(run.result.keys).toEqual([expect.objectContaining({ keyArn: K1, outcome: 'ROTATED' })]);
    expect(run.summary?.source).toBe(source);
    expect(run.result.notifications[0].attributes.source).toBe(source);
  });
});

describe('exactly once per finding', () => {
  let sim: Simulation;
  afterEach(() => sim?.close());

  test('the same GuardDuty finding delivered 5 times at once: one RotateKeyOnDemand, four DUPLICATE_FINDING', async () => {
    sim = await openSimulation({ world: world(), speed: SPEED });
    const runs = await Promise.all(
      [1, 2, 3, 4, 5].map((i) => sim.run(guardDuty('repeated-finding'), { executionName: `delivery-${i}` })),
    );
    expect(rotations(sim.standIn.calls)).toHaveLength(1);
    const outcomes = runs.map((r) => `${r.result.keys[0].outcome}/${r.result.keys[0].reason}`).sort();
    expect(outcomes).toEqual([
      'ROTATED/null',
      'SKIPPED/DUPLICATE_FINDING',
      'SKIPPED/DUPLICATE_FINDING',
      'SKIPPED/DUPLICATE_FINDING',
      'SKIPPED/DUPLICATE_FINDING',
    ]);
    const winner = runs.find((r) => r.result.keys[0].outcome === 'ROTATED')!;
    for (const dup of runs.filter((r) => r !== winner)) {
      expect(dup.result.keys[0].detail).toContain(winner.executionArn);
      expect(dup.result.notifications[0].attributes.duplicate).toBe('true');
    }
    expect(winner.result.notifications[0].attributes.duplicate).toBe('false');
    // A duplicate is not even looked up: only the winner described the key.
    expect(sim.standIn.calls.filter((c) => c.operation === 'DescribeKey')).toHaveLength(2); // Assess + CheckRotation
  });

  test('a re-publication after the first handling finished is a duplicate too', async () => {
    sim = await openSimulation({ world: world(), speed: SPEED });
    const first = await sim.run(guardDuty('finding-a'));
    const again = await sim.run(guardDuty('finding-a'));
    expect(first.result.keys[0].outcome).toBe('ROTATED');
    expect(again.result.keys[0]).toMatchObject({ outcome: 'SKIPPED', reason: 'DUPLICATE_FINDING' });
    expect(rotations(sim.standIn.calls)).toHaveLength(1);
  });

  test('a finding whose handling FAILED gets another try on its next delivery', async () => {
    sim = await openSimulation({
      // A refusal that is not retried and certainly spent nothing (a 5xx might have started the
      // rotation: Rotate then confirms and tries again instead of failing).
      world: world(
        {},
        { faults: [{ service: 'kms', operation: 'RotateKeyOnDemand', error: 'InvalidArnException', times: 1 }] },
      ),
      speed: SPEED,
    });
    const first = await sim.run(guardDuty('finding-b'));
    expect(first.result.keys[0]).toMatchObject({ outcome: 'FAILED', reason: 'KMS_ERROR' });
    const second = await sim.run(guardDuty('finding-b'));
    expect(second.result.keys[0].outcome).toBe('ROTATED');
    expect(rotations(sim.standIn.calls)).toHaveLength(1);
  });

  test('two different findings naming one key, started together: exactly one RotateKeyOnDemand', async () => {
    sim = await openSimulation({ world: world(), speed: SPEED });
    const [a, b] = await Promise.all([sim.run(guardDuty('finding-x')), sim.run(guardDuty('finding-y'))]);
    expect(rotations(sim.standIn.calls)).toHaveLength(1);
    const outcomes = [a, b].map((r) => r.result.keys[0]);
    expect(outcomes.filter((k) => k.outcome === 'ROTATED').length).toBeGreaterThanOrEqual(1);
    for (const k of outcomes) {
      expect(k.outcome === 'ROTATED' || (k.outcome === 'SKIPPED' && k.reason === 'RECENTLY_ROTATED')).toBe(true);
    }
  });

  test('a manual request with force during the cooldown rotates; without force it is RECENTLY_ROTATED', async () => {
    // 30 min ago: inside the 60-min cooldown, past the 10-min break-glass interval.
    sim = await openSimulation({
      world: world({ onDemandRotationsUsed: 1, lastOnDemandRotationMinutesAgo: 30 }),
      speed: SPEED,
    });
    const plain = await sim.run({ keyId: K1, reason: 'on-call: leaked key suspected' });
    expect(plain.result.keys[0]).toMatchObject({ outcome: 'SKIPPED', reason: 'RECENTLY_ROTATED' });
    const forced = await sim.run({ keyId: K1, reason: 'on-call: leaked key confirmed', force: true });
    expect(forced.result.keys[0]).toMatchObject({ outcome: 'ROTATED', onDemandRotationsUsed: 2 });
  });
});

describe('approval gate (key tagged kms-incident-rotation=approval)', () => {
  const tagged = { tags: { 'kms-incident-rotation': 'approval' } };

  test('approve: the request is published, then the key rotates', async () => {
    const run = await simulate({
      world: world(tagged, { approvals: { [K1_ID]: 'approve' } }),
      input: guardDuty('approve-1'),
      speed: SPEED,
    });
    expect(run.result.keys[0].outcome).toBe('ROTATED');
    const [request, summary] = run.result.notifications;
    expect(request.subject).toMatch(/^\[APPROVAL NEEDED\]/);
    // An approval id, never the task token.
    expect(request.message).toMatch(/kms-rotate approve ap-[0-9a-f]{20}$/m);
    expect(request.message).toMatch(/kms-rotate deny ap-[0-9a-f]{20} --reason/);
    expect(request.message).not.toMatch(/local-RequestApproval-/);
    expect(summary.subject).toMatch(/^\[ROTATED\]/);
  });

  test('deny: SKIPPED APPROVAL_DENIED with who denied, no rotation', async () => {
    const run = await simulate({
      world: world(tagged, { approvals: { [K1_ID]: 'deny' } }),
      input: guardDuty('deny-1'),
      speed: SPEED,
    });
    expect(run.result.keys[0]).toMatchObject({ outcome: 'SKIPPED', reason: 'APPROVAL_DENIED' });
    // Who denied is the verified identity the front door read from the signed request.
    expect(run.result.keys[0].detail).toMatch(
      /^Denied by arn:aws:sts::111122223333:assumed-role\/OnCall\/alice: denied in the world file\.$/,
    );
    expect(rotations(run.calls)).toHaveLength(0);
  });

  test('silence with approvalTimeoutAction SKIP: not rotated', async () => {
    // Silence lasts the task's whole TimeoutSeconds (240 min, scaled): a faster clock for this one.
    const run = await simulate({
      world: world(tagged, { approvals: { [K1_ID]: 'timeout' } }),
      input: guardDuty('timeout-1'),
      speed: SILENCE_SPEED,
    });
    expect(run.result.keys[0]).toMatchObject({ outcome: 'SKIPPED', reason: 'APPROVAL_DENIED' });
    expect(run.result.keys[0].detail).toMatch(/No approval decision within 240 min/);
    expect(rotations(run.calls)).toHaveLength(0);
  });

  test('silence with approvalTimeoutAction ROTATE: rotated', async () => {
    const w = world(tagged, { approvals: { [K1_ID]: 'timeout' }, settings: { approvalTimeoutAction: 'ROTATE' } });
    const run = await simulate({ world: w, input: guardDuty('timeout-2'), speed: SILENCE_SPEED });
    expect(run.result.keys[0].outcome).toBe('ROTATED');
    expect(rotations(run.calls)).toHaveLength(1);
  });

  test('a dry run needs no approval', async () => {
    const run = await simulate({
      world: world(tagged),
      input: { keyId: K1, reason: 'rehearsal', dryRun: true },
      speed: SPEED,
    });
    expect(run.result.keys[0].outcome).toBe('DRY_RUN');
    expect(run.result.notifications).toHaveLength(1);
  });
});

describe('the daily cap', () => {
  test('a key rotated 3 times in the last day is SKIPPED RECENTLY_ROTATED by a new finding, spending nothing', async () => {
    // Given: rotations 90, 210 and 330 min ago (the cooldown, 60 min, has passed); dailyRotationCap is 3 by default.
    const capped = world({
      onDemandRotationsUsed: 3,
      lastOnDemandRotationMinutesAgo: 90,
      onDemandRotationSpacingMinutes: 120,
    });

    // When
    const run = await simulate({ world: capped, input: guardDuty('cap-1'), speed: SPEED });

    // Then: the slot frees 24 h after the oldest of the three (330 min ago), about 18.5 h from now.
    expect(run.result.keys[0]).toMatchObject({ outcome: 'SKIPPED', reason: 'RECENTLY_ROTATED' });
    const detail = run.result.keys[0].detail ?? '';
    expect(detail).toMatch(
      /^3 on-demand rotations of this key in the last 24 h; every rotation stops at 3 per key per 24 h \(dailyRotationCap\); next rotation allowed from (\S+)\.$/,
    );
    const freedAt = Date.parse(/allowed from (\S+)\.$/.exec(detail)![1]!);
    expect(Math.abs(freedAt - (Date.now() + (24 * 60 - 330) * 60_000))).toBeLessThan(60_000);
    expect(rotations(run.calls)).toHaveLength(0);
  });
});

describe('audit ledger', () => {
  let sim: Simulation;
  afterEach(() => sim?.close());

  test('one audit entry per decision, with who, why and the key material before and after; the lock is released', async () => {
    sim = await openSimulation({ world: world({ onDemandRotationsUsed: 1 }), speed: SPEED });
    // The forced run comes first: after a rotation, break-glass waits forceMinIntervalMinutes (at least 5).
    // The body's requestedBy is ignored: the front door records the signed caller (carol, break-glass).
    const manual = await sim.run({
      keyId: K1,
      reason: 'drill',
      dryRun: true,
      force: true,
      requestedBy: 'arn:aws:sts::111122223333:assumed-role/OnCall/alice',
    });
    const rotated = await sim.run(guardDuty('audit-1'));
    const duplicate = await sim.run(guardDuty('audit-1'));

    const entries = await auditTrail(ledgerClientOf(sim), LOCAL_LEDGER_TABLE, K1);
    expect(entries).toHaveLength(3);
    expect(entries.map((e) => [e.outcome, e.reason, e.executionArn])).toEqual([
      ['DRY_RUN', null, manual.executionArn],
      ['ROTATED', null, rotated.executionArn],
      ['SKIPPED', 'DUPLICATE_FINDING', duplicate.executionArn],
    ]);
    expect(entries[1]).toMatchObject({
      source: 'guardduty',
      findingId: 'audit-1',
      findingType: 'Exfiltration:S3/AnomalousBehavior',
      previousKeyMaterialId: rotated.result.keys[0].previousKeyMaterialId,
      currentKeyMaterialId: rotated.result.keys[0].currentKeyMaterialId,
      onDemandRotationsUsed: 2,
    });
    expect(entries[0]).toMatchObject({
      source: 'manual',
      requestedBy: 'arn:aws:sts::111122223333:assumed-role/BreakGlass/carol',
      breakGlass: true,
    });
    // The lock was released: another owner takes it at once (a held lease would refuse it).
    const lock = await new Ledger(LOCAL_LEDGER_TABLE, ledgerClientOf(sim)).acquireKeyLock(
      K1,
      'test-owner',
      new Date(),
      60,
    );
    expect(lock).toEqual({ acquired: true });
  });
});
