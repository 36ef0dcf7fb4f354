/**
 * A person is a person, and a token alone approves nothing, end to end offline: every request is
 * signed (SigV4) and goes through the local front door, which enforces the API's resource policy
 * from the synthesized template (who is a person, per route) before the real front-door handler
 * runs; SendTaskSuccess straight to Step Functions is authorized with the sender's own policies.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { signedPost } from '../../local/front-door-client';
import { approvalIdOf } from '../../lambdas/domain/approvals/approval';
import { TEST_CREDENTIALS } from '../../local/iam';
import { LOCAL_LEDGER_TABLE } from '../../local/ledger-local';
import { openSimulation, simulate, type Simulation, type SimulationRun } from '../../local/simulate';
import { parseWorld } from '../../local/world';
import { auditTrail } from '../audit-trail';

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const K1_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const K1 = `arn:aws:kms:${REGION}:${ACCOUNT}:key/${K1_ID}`;
const BOB = `arn:aws:sts::${ACCOUNT}:assumed-role/OnCall/bob`;
const DAVE_SSO = `arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_KmsRotateOnCall_0123456789abcdef/dave`;
/** Unanswered approvals end within about 3 s (240 min scaled). */
const SILENCE_SPEED = 5000;
const tagged = { tags: { 'kms-incident-rotation': 'approval' } };

/** A world person: a session ARN with its own access key, and what else the world says of it. */
function person(n: number, arn: string, extra: Record<string, unknown> = {}) {
  return {
    arn,
    accessKeyId: `AKIAPEOPLETEST${String(n).padStart(6, '0')}`,
    secretAccessKey: `people-test-secret-${n}-not-a-real-key`,
    ...extra,
  };
}

const PEOPLE = {
  alice: person(1, `arn:aws:sts::${ACCOUNT}:assumed-role/OnCall/alice`, { sourceIdentity: 'alice' }),
  // Alice again: a second session of the same role (her source identity stays alice).
  'alice-2': person(2, `arn:aws:sts::${ACCOUNT}:assumed-role/OnCall/alice-2`, { sourceIdentity: 'alice' }),
  // Alice again: a plain session of the same role, without a source identity.
  'alice-plain': person(3, `arn:aws:sts::${ACCOUNT}:assumed-role/OnCall/alice-plain`),
  // Alice again: an IAM user of hers (the on-call policy attached, as to everyone of the world).
  'alice-user': person(4, `arn:aws:iam::${ACCOUNT}:user/alice`),
  // Alice again: through IAM Identity Center (a person, but the same one).
  'alice-sso': person(5, `arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_KmsRotateOnCall_0123456789abcdef/alice`),
  // A federated user names itself (GetFederationToken).
  'bob-federated': person(6, `arn:aws:sts::${ACCOUNT}:federated-user/bob`),
  bob: person(7, BOB, { sourceIdentity: 'bob' }),
  dave: person(8, DAVE_SSO),
  // An administrator allowed states:SendTaskSuccess (PowerUser-style), who can read tokens from execution histories.
  admin: person(9, `arn:aws:sts::${ACCOUNT}:assumed-role/Admin/admin`, {
    sourceIdentity: 'admin',
    policies: [
      {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: ['states:SendTaskSuccess', 'states:GetExecutionHistory'], Resource: '*' },
        ],
      },
    ],
  }),
};

function world(extra: Record<string, unknown> = {}) {
  return parseWorld(
    {
      account: ACCOUNT,
      region: REGION,
      keys: [{ id: K1_ID, rotationSeconds: 20, ...tagged }],
      people: PEOPLE,
      requester: 'alice',
      ...extra,
    },
    'test world',
  );
}

const manual = () => ({ keyId: K1, reason: 'INC-42 leaked credentials' });
const rotations = (run: SimulationRun) => run.calls.filter((c) => c.operation === 'RotateKeyOnDemand' && !c.error);
const answers = (run: SimulationRun) => run.frontDoor.filter((e) => e.route === 'approval');
const fixture = (name: string) =>
  JSON.parse(readFileSync(path.join(__dirname, '../fixtures', name), 'utf8')) as unknown;
const RESOURCE_POLICY_DENY = /with an explicit deny in a resource-based policy/;

async function approvalItem(sim: Simulation, approvalId: string) {
  const ledger = new DynamoDBClient({
    endpoint: sim.ledgerEndpoint,
    region: REGION,
    credentials: { ...TEST_CREDENTIALS },
  });
  const out = await ledger.send(
    new GetItemCommand({
      TableName: LOCAL_LEDGER_TABLE,
      Key: { pk: { S: `APPROVAL#${approvalId}` }, sk: { S: 'APPROVAL' } },
    }),
  );
  return Object.fromEntries(Object.entries(out.Item ?? {}).map(([k, v]) => [k, v.S ?? v.N ?? null]));
}

async function until<T>(read: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const value = read();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('a person is a person', () => {
  test('the requester cannot approve under another session, a plain session, an IAM user or Identity Center: not rotated', async () => {
    // Given: alice asks; every answer below is alice again.
    const tries = ['alice-2', 'alice-plain', 'alice-user', 'alice-sso'].map((by) => ({ decision: 'approve', by }));
    const w = world({ approvals: { [K1_ID]: tries } });

    // When
    const run = await simulate({ world: w, input: manual(), speed: SILENCE_SPEED });

    // Then: the API's resource policy refuses the sessions that are no person or not the one the
    // session name says; the front door refuses Identity Center's alice as the requester.
    const tried = answers(run);
    expect(tried.map((e) => [e.caller, e.statusCode, (e.body as { error: string }).error])).toEqual([
      [PEOPLE['alice-2'].arn, 403, 'AccessDenied'],
      [PEOPLE['alice-plain'].arn, 403, 'AccessDenied'],
      [PEOPLE['alice-user'].arn, 403, 'AccessDenied'],
      [PEOPLE['alice-sso'].arn, 403, 'TwoPersonRule'],
    ]);
    for (const e of tried.slice(0, 3)) expect((e.body as { message: string }).message).toMatch(RESOURCE_POLICY_DENY);
    expect((tried[3].body as { message: string }).message).toMatch(/is alice, who requested this rotation/);
    expect(run.result.keys[0]).toMatchObject({ outcome: 'SKIPPED', reason: 'APPROVAL_DENIED' });
    expect(rotations(run)).toHaveLength(0);
  });

  test('a federated user cannot approve even a finding-triggered run (no requester)', async () => {
    const w = world({ approvals: { [K1_ID]: { decision: 'approve', by: 'bob-federated' } } });
    const run = await simulate({ world: w, input: fixture('guardduty/s3-bucket-kms.json'), speed: SILENCE_SPEED });
    const tried = answers(run);
    expect(tried).toEqual([
      expect.objectContaining({
        caller: PEOPLE['bob-federated'].arn,
        statusCode: 403,
        body: expect.objectContaining({ error: 'AccessDenied', message: expect.stringMatching(RESOURCE_POLICY_DENY) }),
      }),
    ]);
    expect(run.result.keys[0]).toMatchObject({ outcome: 'SKIPPED', reason: 'APPROVAL_DENIED' });
    expect(rotations(run)).toHaveLength(0);
  });

  test('an Identity Center user other than the requester approves: rotated, and the ledger names them', async () => {
    const sim = await openSimulation({
      world: world({ approvals: { [K1_ID]: { decision: 'approve', by: 'dave', reason: 'checked' } } }),
      speed: 100,
    });
    try {
      const run = await sim.run(manual());
      expect(run.result.keys[0].outcome).toBe('ROTATED');
      const ledger = new DynamoDBClient({
        endpoint: sim.ledgerEndpoint,
        region: REGION,
        credentials: { ...TEST_CREDENTIALS },
      });
      const [entry] = await auditTrail(ledger, LOCAL_LEDGER_TABLE, K1);
      expect(entry).toMatchObject({
        outcome: 'ROTATED',
        requestedBy: PEOPLE.alice.arn,
        approvedBy: DAVE_SSO,
        approvalReason: 'checked',
      });
      const approvalId = approvalIdOf(sim.approvalTokens()[0]);
      expect(await approvalItem(sim, approvalId)).toMatchObject({
        status: 'APPROVED',
        answeredBy: DAVE_SSO,
        answeredPerson: 'dave',
      });
    } finally {
      await sim.close();
    }
  });
});

describe('a token alone approves nothing', () => {
  test('a SendTaskSuccess by an administrator with the token from the history rotates nothing: SKIPPED APPROVAL_DENIED', async () => {
    // Given: nobody answers through the front door; the window is about 14 s.
    const sim = await openSimulation({ world: world(), speed: 1000 });
    try {
      // When: the administrator reads the token and approves "as bob", naming the real approval id.
      const running = sim.run(manual());
      const token = await until(() => sim.approvalTokens()[0], 'the approval gate');
      const approvalId = approvalIdOf(token);
      sim.sendTaskSuccess('admin', token, {
        decision: 'approve',
        by: BOB,
        reason: 'looks fine',
        approvalId,
        answerId: 'f'.repeat(32),
      });
      const run = await running;

      // Then
      expect(run.result.keys[0]).toMatchObject({ outcome: 'SKIPPED', reason: 'APPROVAL_DENIED' });
      expect(run.result.keys[0].detail).toMatch(
        /^The approval does not count: approval ap-[0-9a-f]{20} was not answered through the front door with this answer \(the ledger holds no answer\)/,
      );
      expect(rotations(run)).toHaveLength(0);
      const ledger = new DynamoDBClient({
        endpoint: sim.ledgerEndpoint,
        region: REGION,
        credentials: { ...TEST_CREDENTIALS },
      });
      const [entry] = await auditTrail(ledger, LOCAL_LEDGER_TABLE, K1);
      expect(entry).toMatchObject({ outcome: 'SKIPPED', reason: 'APPROVAL_DENIED', approvedBy: null });
      expect(await approvalItem(sim, approvalId)).toMatchObject({ status: 'PENDING' });
      expect(await approvalItem(sim, approvalId)).not.toHaveProperty('answeredBy');
    } finally {
      await sim.close();
    }
  });

  test('an approval for an execution that already ended: 410, and the ledger says EXPIRED, never APPROVED', async () => {
    const sim = await openSimulation({ world: world(), speed: SILENCE_SPEED });
    try {
      // Given: nobody answered in time; the execution ended.
      const run = await sim.run(manual());
      expect(run.result.keys[0]).toMatchObject({ outcome: 'SKIPPED', reason: 'APPROVAL_DENIED' });
      const approvalId = approvalIdOf(sim.approvalTokens()[0]);

      // When: bob approves late.
      const late = await signedPost(
        sim.frontDoorUrl,
        'approval',
        { approvalId },
        { decision: 'approve' },
        { accessKeyId: PEOPLE.bob.accessKeyId, secretAccessKey: PEOPLE.bob.secretAccessKey },
        REGION,
      );

      // Then
      expect(late).toMatchObject({ status: 410, body: { error: 'Expired' } });
      const item = await approvalItem(sim, approvalId);
      expect(item).toMatchObject({ status: 'EXPIRED', lateAnswerBy: BOB });
      expect(item).not.toHaveProperty('answeredBy');
      expect(rotations(run)).toHaveLength(0);
    } finally {
      await sim.close();
    }
  });
});
