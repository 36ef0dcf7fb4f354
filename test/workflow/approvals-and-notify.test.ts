/**
 * The workflow's side, end to end offline: keys waiting for an approval do not hold
 * other keys' rotations; an unanswered approval ends as approvalTimeoutAction says, with Record
 * and Notify; Notify retried after a successful publish sends one message; a one-key incident
 * with a 60 s rotation stays within 40 state transitions.
 */
import { openSimulation, simulate, type Simulation } from '../../local/simulate';
import { parseWorld } from '../../local/world';
import * as notifyModule from '../../lambdas/notify/handler';
import { auditTrailOf, guardDutyFinding } from './helpers';

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const arn = (id: string) => `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`;
// Intake sorts the keys: the three tagged for approval come first, so a Map bounded at 3 (the
// old design) would have given them every slot.
const APPROVAL_IDS = [
  '11111111-1111-1111-1111-111111111111',
  '22222222-2222-2222-2222-222222222222',
  '33333333-3333-3333-3333-333333333333',
];
const PLAIN_ID = '99999999-9999-9999-9999-999999999999';

describe('approvals do not hold other keys', () => {
  let sim: Simulation;
  afterEach(() => sim?.close());

  test('three unanswered approvals do not delay a fourth key: it is ROTATED long before the approval timeout; silence ends SKIPPED with Record and Notify', async () => {
    // Given: 10 min of silence is 3 s at this speed; the plain key's 20 s rotation is 0.1 s.
    const speed = 200;
    // The trace's timestamps are simulated time (local/runner/sim-clock.ts): the timeout as configured.
    const approvalTimeoutMs = 10 * 60 * 1000;
    const world = parseWorld(
      {
        account: ACCOUNT,
        region: REGION,
        keys: [
          ...APPROVAL_IDS.map((id) => ({ id, rotationSeconds: 20, tags: { 'kms-incident-rotation': 'approval' } })),
          { id: PLAIN_ID, rotationSeconds: 20 },
        ],
        approvals: Object.fromEntries(APPROVAL_IDS.map((id) => [id, 'timeout'])),
        settings: { approvalTimeoutMinutes: 10, approvalTimeoutAction: 'SKIP' },
      },
      'approvals world',
    );
    sim = await openSimulation({ world, speed });

    // When
    const run = await sim.run(guardDutyFinding([...APPROVAL_IDS, PLAIN_ID].map(arn), 'approvals-1'));

    // Then: the plain key rotated while the three approvals were still waiting.
    expect(run.result.executionStatus).toBe('SUCCEEDED');
    const byArn = Object.fromEntries(run.result.keys.map((k) => [k.keyArn, k]));
    expect(byArn[arn(PLAIN_ID)]).toMatchObject({ outcome: 'ROTATED' });
    const firstApproval = run.events.find((e) => e.type === 'StateEntered' && e.state?.name === 'RequestApproval')!;
    const plainRecorded = run.events.find(
      (e) =>
        e.type === 'StateExited' &&
        e.state?.name === 'Record' &&
        (e.state.input as { ref?: string }).ref === arn(PLAIN_ID),
    )!;
    expect(plainRecorded.timestamp - firstApproval.timestamp).toBeLessThan(approvalTimeoutMs / 2);
    const approvalsEnded = run.events.filter((e) => e.type === 'StateFailed' && e.state?.name === 'RequestApproval');
    for (const ended of approvalsEnded) expect(ended.timestamp).toBeGreaterThan(plainRecorded.timestamp);

    // Each silent approval ended as approvalTimeoutAction SKIP says, and was recorded and notified.
    for (const id of APPROVAL_IDS) {
      expect(byArn[arn(id)]).toMatchObject({
        outcome: 'SKIPPED',
        reason: 'APPROVAL_DENIED',
        detail: expect.stringMatching(/No approval decision within 10 min/),
      });
      const audit = await auditTrailOf(sim, arn(id));
      expect(audit).toEqual([
        expect.objectContaining({ outcome: 'SKIPPED', reason: 'APPROVAL_DENIED', executionArn: run.executionArn }),
      ]);
    }
    expect(run.calls.filter((c) => c.operation === 'RotateKeyOnDemand' && !c.error)).toHaveLength(1);
    const summaries = run.result.notifications.filter((n) => !n.subject?.startsWith('[APPROVAL NEEDED]'));
    expect(summaries).toHaveLength(1);
    expect(summaries[0].subject).toMatch(/^\[ROTATED\] 4 keys/);
    expect(run.result.notifications.filter((n) => n.subject?.startsWith('[APPROVAL NEEDED]'))).toHaveLength(3);
  }, 60_000);
});

describe('each notification is sent once per execution', () => {
  afterEach(() => jest.restoreAllMocks());

  test('Notify retried after a successful publish (the function timed out after its work): exactly one message', async () => {
    // Given: the first Notify attempt does all its work (publish, remember), then fails as a
    // Lambda whose response was lost does; Step Functions retries it (States.ALL). The runner
    // keeps the handlers it loaded at its first run, so this test takes a fresh copy of it,
    // which loads the (spied) handler on its first run.
    let simulateIsolated!: typeof simulate;
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- jest.isolateModules needs a synchronous require
      simulateIsolated = require('../../local/simulate').simulate;
    });
    const original = notifyModule.handler;
    jest.spyOn(notifyModule, 'handler').mockImplementationOnce(async (event: unknown, context: unknown) => {
      await (original as (e: unknown, c: unknown) => Promise<unknown>)(event, context);
      throw Object.assign(new Error('Task timed out after 30.00 seconds'), { name: 'Sandbox.Timedout' });
    });
    const world = parseWorld(
      { account: ACCOUNT, region: REGION, keys: [{ id: PLAIN_ID, rotationSeconds: 20 }] },
      'one key',
    );

    // When
    const run = await simulateIsolated({
      world,
      input: guardDutyFinding([arn(PLAIN_ID)], 'notify-once-1'),
      speed: 100,
    });

    // Then
    expect(run.result.executionStatus).toBe('SUCCEEDED');
    expect(run.events.filter((e) => e.type === 'StateRetried' && e.state?.name === 'Notify')).toHaveLength(1);
    expect(run.calls.filter((c) => c.service === 'sns' && c.operation === 'Publish' && !c.error)).toHaveLength(1);
    expect(run.result.notifications).toHaveLength(1);
    expect(run.result.keys).toEqual([expect.objectContaining({ outcome: 'ROTATED' })]);
  }, 60_000);
});

describe('a one-key incident is cheap', () => {
  test('a 60 s rotation is confirmed within 40 state transitions', async () => {
    const world = parseWorld(
      { account: ACCOUNT, region: REGION, keys: [{ id: PLAIN_ID, rotationSeconds: 60 }] },
      'one key',
    );
    const run = await simulate({ world, input: guardDutyFinding([arn(PLAIN_ID)], 'one-key-60s'), speed: 100 });
    expect(run.result.keys).toEqual([expect.objectContaining({ outcome: 'ROTATED' })]);
    expect(run.result.stateTransitions).toBeLessThanOrEqual(40);
  }, 60_000);
});
