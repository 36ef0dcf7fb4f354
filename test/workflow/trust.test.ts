/**
 * Trust boundaries end to end, offline: manual requests and approval answers go through the local
 * front door (SigV4 verified against the world's people, identity from the request context), on
 * the manual state machine; findings run on the automatic one. Two-person rule, explicit approve
 * only, break-glass as a separate bounded right, opt-out re-read after the approval wait, finding
 * inputs refused on the manual path, Security Hub findings re-checked one by one.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { FrontDoorRefusal, openSimulation, simulate, type Simulation, type SimulationRun } from '../../local/simulate';
import { parseWorld } from '../../local/world';
import { runLocally } from '../../local/runner/runner';
import { synthTemplate } from '../../local/template';
import { parseSettings } from '../../lib/settings/settings';
import { signedPost } from '../../local/front-door-client';
import { auditTrail } from '../audit-trail';
import { LOCAL_LEDGER_TABLE } from '../../local/ledger-local';
import { TEST_CREDENTIALS } from '../../local/iam';

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const K1_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const K2_ID = '2234abcd-12ab-34cd-56ef-1234567890ab';
const K1 = `arn:aws:kms:${REGION}:${ACCOUNT}:key/${K1_ID}`;
const K2 = `arn:aws:kms:${REGION}:${ACCOUNT}:key/${K2_ID}`;
const ALICE = `arn:aws:sts::${ACCOUNT}:assumed-role/OnCall/alice`;
const BOB = `arn:aws:sts::${ACCOUNT}:assumed-role/OnCall/bob`;
const SPEED = 100;
/** Approvals left unanswered wait the scaled TimeoutSeconds: 240 min in about 3 s. */
const SILENCE_SPEED = 5000;
const tagged = { tags: { 'kms-incident-rotation': 'approval' } };

const fixture = (name: string) => JSON.parse(readFileSync(path.join(__dirname, '../fixtures', name), 'utf8'));

function world(keys: Record<string, unknown>[], extra: Record<string, unknown> = {}) {
  return parseWorld(
    { account: ACCOUNT, region: REGION, keys: keys.map((k) => ({ id: K1_ID, rotationSeconds: 20, ...k })), ...extra },
    'test world',
  );
}

const rotations = (run: SimulationRun) => run.calls.filter((c) => c.operation === 'RotateKeyOnDemand' && !c.error);
const manual = (extra: Record<string, unknown> = {}) => ({ keyId: K1, reason: 'INC-42 leaked credentials', ...extra });

describe('approval gate through the front door', () => {
  test('the requester of a manual run cannot approve it: refused (403), the key is not rotated', async () => {
    // Given
    const w = world([tagged], { requester: 'alice', approvals: { [K1_ID]: { decision: 'approve', by: 'alice' } } });

    // When
    const run = await simulate({ world: w, input: manual(), speed: SILENCE_SPEED });

    // Then
    const answer = run.frontDoor.find((e) => e.route === 'approval');
    expect(answer).toMatchObject({ statusCode: 403, caller: ALICE, body: { error: 'TwoPersonRule' } });
    expect(String((answer?.body as { message: string }).message)).toMatch(
      /who requested this rotation .* and cannot also approve it/,
    );
    expect(run.result.keys[0]).toMatchObject({ outcome: 'SKIPPED', reason: 'APPROVAL_DENIED' });
    expect(rotations(run)).toHaveLength(0);
  });

  test('another on-call engineer approves: rotated; the ledger and the notification say who asked and who approved', async () => {
    // Given
    const sim = await openSimulation({
      world: world([tagged], {
        requester: 'alice',
        approvals: { [K1_ID]: { decision: 'approve', by: 'bob', reason: 'confirmed with the data owner' } },
      }),
      speed: SPEED,
    });
    try {
      // When
      const run = await sim.run(manual());

      // Then
      expect(run.result.keys[0].outcome).toBe('ROTATED');
      expect(rotations(run)).toHaveLength(1);
      const ledger = new DynamoDBClient({
        endpoint: sim.ledgerEndpoint,
        region: REGION,
        credentials: { ...TEST_CREDENTIALS },
      });
      const [entry] = await auditTrail(ledger, LOCAL_LEDGER_TABLE, K1);
      expect(entry).toMatchObject({
        outcome: 'ROTATED',
        requestedBy: ALICE,
        approvedBy: BOB,
        approvalReason: 'confirmed with the data owner',
        breakGlass: false,
      });
      const summary = run.result.notifications.find((n) => /^\[ROTATED\]/.test(n.subject ?? ''));
      expect(summary?.message).toContain(`Requested by: ${ALICE}`);
      expect(summary?.message).toContain(`Approved by: ${BOB} (confirmed with the data owner)`);
    } finally {
      await sim.close();
    }
  });

  test('deny: not rotated', async () => {
    const run = await simulate({
      world: world([tagged], { approvals: { [K1_ID]: { decision: 'deny', by: 'bob', reason: 'retiring the key' } } }),
      input: manual(),
      speed: SPEED,
    });
    expect(run.result.keys[0]).toMatchObject({
      outcome: 'SKIPPED',
      reason: 'APPROVAL_DENIED',
      detail: `Denied by ${BOB}: retiring the key.`,
    });
    expect(rotations(run)).toHaveLength(0);
  });

  test.each([
    ['a "deny" sent as a success', { decision: 'deny' }],
    ['an upper-case APPROVE', { decision: 'APPROVE', by: 'x' }],
    ['a bare string', 'yes'],
    ['nothing', null],
  ])('only an explicit approve rotates: %s ends SKIPPED APPROVAL_DENIED', async (_name, output) => {
    // Given: answer the gate directly with the token (what a caller of SendTaskSuccess could send).
    const settings = parseSettings({}, 'test');
    const template = synthTemplate(settings, { account: ACCOUNT, region: REGION });
    const sim = await openSimulation({ world: world([tagged]), speed: SPEED });
    try {
      // When (the finding is one GuardDuty holds, as a delivered event's is)
      sim.standIn.fileFinding(fixture('guardduty/s3-bucket-kms.json'));
      const run = await runLocally({
        template,
        input: fixture('guardduty/s3-bucket-kms.json'),
        account: ACCOUNT,
        region: REGION,
        endpoint: sim.standIn.endpoint,
        serviceEndpoints: { DYNAMODB: sim.ledgerEndpoint },
        resources: {
          [Object.keys(template.Resources).find((id) => template.Resources[id].Type === 'AWS::DynamoDB::Table')!]:
            LOCAL_LEDGER_TABLE,
          ...topicOf(template, sim),
        },
        speed: SPEED,
        onTaskToken: (task, tokens) => setImmediate(() => tokens.sendTaskSuccess(task.token, output)),
      });

      // Then
      expect(run.status).toBe('SUCCEEDED');
      const key = (run.output as { keys: { outcome: string; reason: string }[] }).keys[0];
      expect(key).toMatchObject({ outcome: 'SKIPPED', reason: 'APPROVAL_DENIED' });
      expect(sim.standIn.calls.filter((c) => c.operation === 'RotateKeyOnDemand')).toHaveLength(0);
    } finally {
      await sim.close();
    }
  });

  test('a key tagged disabled during the approval wait is not rotated', async () => {
    // Given
    let sim: Simulation | undefined;
    sim = await openSimulation({ world: world([tagged], { approvals: { [K1_ID]: 'approve' } }), speed: SPEED });
    try {
      // When: someone opts the key out while it waits for the approver.
      const run = await sim.run(fixture('guardduty/s3-bucket-kms.json'), {
        onEvent: (e) => {
          // While the gate waits: after Assess read the tags, before the approver answers.
          if (e.type === 'StateEntered' && e.state?.name === 'RequestApproval')
            sim!.standIn.setKeyTag(K1, 'kms-incident-rotation', 'Disabled');
        },
      });

      // Then
      expect(run.result.keys[0]).toMatchObject({ outcome: 'SKIPPED', reason: 'OPTED_OUT' });
      expect(run.result.keys[0].detail).toMatch(/during the approval wait/);
      expect(run.calls.filter((c) => c.operation === 'RotateKeyOnDemand')).toHaveLength(0);
    } finally {
      await sim.close();
      sim = undefined;
    }
  });
});

describe('break-glass', () => {
  test('force through the on-call route is refused; the break-glass route needs the break-glass right', async () => {
    const sim = await openSimulation({ world: world([{ onDemandRotationsUsed: 23 }]), speed: SPEED });
    try {
      // On the on-call route, a body with force is refused by the front door itself.
      await expect(sim.run(manual({ force: true }), { as: 'alice', route: 'request' })).rejects.toMatchObject({
        statusCode: 403,
        body: { error: 'BreakGlassRequired' },
      });
      // On the break-glass route, IAM refuses anyone without the break-glass policy.
      const refused = await sim.run(manual({ force: true }), { as: 'alice' }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(FrontDoorRefusal);
      expect(refused).toMatchObject({ statusCode: 403, body: { error: 'AccessDenied' } });
      expect(sim.standIn.calls.filter((c) => c.operation === 'RotateKeyOnDemand')).toHaveLength(0);
    } finally {
      await sim.close();
    }
  });

  test('break-glass rotates within the caps (reserve lifted) and is refused past them', async () => {
    // Given: 23 of 25 used (inside the reserve of 3), the last rotation 20 min ago: past the cooldown (15 min)
    // and the break-glass interval (10 min). K1: one rotation in the last day; K2: two (20 and 1020 min ago; 2020 is past the day), so
    // forceDailyCap (2) is what stops it.
    const history = { onDemandRotationsUsed: 23, lastOnDemandRotationMinutesAgo: 20 };
    const keys = [history, { ...history, id: K2_ID, onDemandRotationSpacingMinutes: 1000 }];
    const sim = await openSimulation({ world: world(keys, { settings: { cooldownMinutes: 15 } }), speed: SPEED });
    try {
      // When
      const plain = await sim.run(manual(), { as: 'alice' });
      const forced = await sim.run(manual({ force: true }), { as: 'carol' });
      const capped = await sim.run(manual({ keyId: K2, force: true }), { as: 'carol' });

      // Then
      expect(plain.result.keys[0]).toMatchObject({ outcome: 'SKIPPED', reason: 'BUDGET_RESERVE' });
      expect(forced.result.keys[0]).toMatchObject({ outcome: 'ROTATED', onDemandRotationsUsed: 24 });
      expect(forced.result.notifications[0].subject).toMatch(/break-glass/);
      expect(forced.result.notifications[0].message).toMatch(/^BREAK-GLASS:/m);
      expect(capped.result.keys[0]).toMatchObject({ outcome: 'SKIPPED', reason: 'RECENTLY_ROTATED' });
      expect(capped.result.keys[0].detail).toMatch(
        /Break-glass refused: 2 on-demand rotations of this key in the last 24 h; forced rotations stop at 2 per key per 24 h \(forceDailyCap\)/,
      );
      expect(rotations(capped)).toHaveLength(0);
    } finally {
      await sim.close();
    }
  });

  test('the minimum interval holds even for break-glass', async () => {
    const run = await simulate({
      world: world([{ onDemandRotationsUsed: 2, lastOnDemandRotationMinutesAgo: 5 }]),
      input: manual({ force: true }),
      speed: SPEED,
    });
    expect(run.result.keys[0]).toMatchObject({ outcome: 'SKIPPED', reason: 'RECENTLY_ROTATED' });
    expect(run.result.keys[0].detail).toMatch(/^Break-glass refused: rotated on demand 5 min ago/);
  });
});

describe('who asks comes from AWS authentication', () => {
  test('a body naming another identity is ignored: the ledger holds the signed caller', async () => {
    const sim = await openSimulation({ world: world([{}]), speed: SPEED });
    try {
      const run = await sim.run(manual({ dryRun: true, requestedBy: 'arn:aws:iam::999999999999:user/mallory' }), {
        as: 'bob',
      });
      expect(run.frontDoor[0]).toMatchObject({ statusCode: 200, caller: BOB });
      const ledger = new DynamoDBClient({
        endpoint: sim.ledgerEndpoint,
        region: REGION,
        credentials: { ...TEST_CREDENTIALS },
      });
      const [entry] = await auditTrail(ledger, LOCAL_LEDGER_TABLE, K1);
      expect(entry).toMatchObject({ outcome: 'DRY_RUN', source: 'manual', requestedBy: BOB });
    } finally {
      await sim.close();
    }
  });

  test('a request signed with an unknown key or a wrong secret is refused by the local front door', async () => {
    const sim = await openSimulation({ world: world([{}]), speed: SPEED });
    try {
      const unknown = await signedPost(
        sim.frontDoorUrl,
        'request',
        {},
        manual(),
        { accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'nope-nope-nope-nope' },
        REGION,
      );
      const wrongSecret = await signedPost(
        sim.frontDoorUrl,
        'request',
        {},
        manual(),
        { accessKeyId: 'AKIALOCALALICEXXXXXX1', secretAccessKey: 'not-alices-secret-at-all' },
        REGION,
      );
      expect(unknown).toMatchObject({ status: 403, body: { error: 'InvalidSignature' } });
      expect(wrongSecret).toMatchObject({
        status: 403,
        body: {
          message: expect.stringMatching(
            /The request signature we calculated does not match the signature you provided/,
          ),
        },
      });
    } finally {
      await sim.close();
    }
  });

  test('a finding-shaped input through the front door is refused; on the manual machine Intake refuses it too', async () => {
    const sim = await openSimulation({ world: world([{}]), speed: SPEED });
    try {
      // When
      const finding = fixture('guardduty/s3-bucket-kms.json');
      const viaDoor = await signedPost(
        sim.frontDoorUrl,
        'request',
        {},
        { ...finding, keyId: K1, reason: 'x' },
        { accessKeyId: 'AKIALOCALALICEXXXXXX1', secretAccessKey: 'local-secret-of-alice-not-a-real-key' },
        REGION,
      );
      const template = synthTemplate(parseSettings({}, 'test'), { account: ACCOUNT, region: REGION });
      const direct = await runLocally({
        template,
        mode: 'manual',
        input: finding,
        account: ACCOUNT,
        region: REGION,
        endpoint: sim.standIn.endpoint,
        serviceEndpoints: { DYNAMODB: sim.ledgerEndpoint },
        speed: SPEED,
      });

      // Then
      expect(viaDoor).toMatchObject({ status: 400, body: { message: expect.stringMatching(/unknown field/) } });
      expect(direct).toMatchObject({ status: 'FAILED', error: 'InvalidRequest' });
      expect(direct.cause).toMatch(/manual workflow takes the front door's requests only/);
      expect(sim.standIn.calls.filter((c) => c.operation === 'RotateKeyOnDemand')).toHaveLength(0);
    } finally {
      await sim.close();
    }
  });

  test('a manual request on the automatic machine is refused', async () => {
    const sim = await openSimulation({ world: world([{}]), speed: SPEED });
    try {
      const template = synthTemplate(parseSettings({}, 'test'), { account: ACCOUNT, region: REGION });
      const run = await runLocally({
        template,
        input: { ...manual(), requestedBy: ALICE },
        account: ACCOUNT,
        region: REGION,
        endpoint: sim.standIn.endpoint,
        serviceEndpoints: { DYNAMODB: sim.ledgerEndpoint },
        speed: SPEED,
      });
      expect(run).toMatchObject({ status: 'FAILED', error: 'InvalidRequest' });
      expect(run.cause).toMatch(/automatic workflow takes finding events from EventBridge only/);
    } finally {
      await sim.close();
    }
  });
});

describe('Security Hub', () => {
  test("a multi-finding event with one MEDIUM finding rotates only the HIGH finding's key", async () => {
    // Given
    const event = fixture('securityhub/kms-key-resource.json');
    const high = event.detail.findings[0];
    const medium = structuredClone(high);
    medium.Id = `${high.Id}-medium`;
    medium.Severity = { Label: 'MEDIUM', Normalized: 40 };
    medium.Resources = [{ ...high.Resources[0], Id: K2 }];
    high.Resources = [{ ...high.Resources[0], Id: K1 }];
    event.detail.findings = [high, medium];

    // When
    const run = await simulate({ world: world([{}, { id: K2_ID }]), input: event, speed: SPEED });

    // Then
    expect(run.result.keys.map((k) => [k.keyArn, k.outcome])).toEqual([[K1, 'ROTATED']]);
    expect(
      run.calls.filter((c) => c.operation === 'RotateKeyOnDemand' && JSON.stringify(c.input).includes(K2_ID)),
    ).toHaveLength(0);
  });
});

function topicOf(template: ReturnType<typeof synthTemplate>, sim: Simulation): Record<string, string> {
  const id = Object.keys(template.Resources).find((k) => template.Resources[k].Type === 'AWS::SNS::Topic');
  return id ? { [id]: sim.standIn.topicArn } : {};
}
