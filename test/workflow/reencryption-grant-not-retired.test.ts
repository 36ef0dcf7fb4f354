/**
 * A per-run KMS grant that RetireGrant refuses stays on the rotated key, still letting
 * ReencryptObjects' role decrypt and make data keys with it: the notification (e-mail text and the
 * chat custom notification) must say so as an action, with the grant id, the key and the command
 * that deletes it (`aws kms revoke-grant`), and the run's summary lists it.
 */
import { openSimulation, type SimulationRun } from '../../local/simulate';
import type { StandIn } from '../../local/standin';
import { parseWorld } from '../../local/world';
import { chatFormatProblems } from '../chat-format';

jest.setTimeout(180_000);

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const K1 = '1234abcd-12ab-34cd-56ef-1234567890ab';
const K1_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/${K1}`;

const world = parseWorld(
  {
    account: ACCOUNT,
    region: REGION,
    keys: [{ id: K1, rotationSeconds: 5 }],
    buckets: [{ name: 'sealed-data', objects: [{ key: 'a.bin', envelopeKeyIds: [K1_ARN], body: 'sealed' }] }],
    settings: { reEncryptBuckets: ['sealed-data'], chatNotifications: true },
    // Not a transient error: no retry, the catch takes it at once.
    faults: [{ service: 'kms', operation: 'RetireGrant', error: 'AccessDeniedException', times: 5 }],
  },
  'grant not retired world',
);

let run: SimulationRun;
let grantsLeft: { grantId: string }[];

beforeAll(async () => {
  let standIn!: StandIn;
  const sim = await openSimulation({ world, speed: 20, onStandIn: (s) => (standIn = s) });
  try {
    run = await sim.run({
      keyId: K1,
      reason: 'exposed data keys',
      reEncrypt: { targets: [{ type: 'envelope', bucket: 'sealed-data' }] },
    });
    grantsLeft = standIn.grants(K1);
  } finally {
    await sim.close();
  }
});

const revoke = (grantId: string) => `aws kms revoke-grant --region ${REGION} --key-id ${K1_ARN} --grant-id ${grantId}`;

test('the grant is still there, and the re-encryption itself succeeded', () => {
  expect(grantsLeft).toHaveLength(1);
  expect(run.result.reencryption).toMatchObject({ objectsReencrypted: 1, objectsFailed: 0 });
});

test('the summary lists the grant, its key and the error, as an action required', () => {
  expect(run.result.reencryption).toMatchObject({
    actionRequired: true,
    actionRequiredByReason: { GRANT_NOT_RETIRED: 1 },
    grantsNotRetired: [
      { grantId: grantsLeft[0]!.grantId, keyArn: K1_ARN, error: expect.stringMatching(/AccessDenied/) },
    ],
  });
});

test('the e-mail names the grant and the key and gives the revoke-grant command', () => {
  const text = run.result.notifications.at(-1)!.message;
  const grantId = grantsLeft[0]!.grantId;
  expect(text).toContain('ACTION REQUIRED: KMS grants not retired (1)');
  expect(text).toContain(`grant ${grantId} on ${K1_ARN}`);
  expect(text).toContain(revoke(grantId));
  expect(text).toContain(`aws kms list-grants --region ${REGION} --key-id ${K1_ARN} --grant-id ${grantId}`);
  // Every object was re-encrypted: the grant is the only action.
  expect(text).not.toContain('some data was not re-encrypted');
});

test('the chat notification says it first and gives the command as its first next step', () => {
  const chat = JSON.parse(run.result.notifications.at(-1)!.messages!.https);
  expect(chatFormatProblems(chat)).toEqual([]);
  expect(chat.content.description).toContain('*ACTION REQUIRED*: 1 KMS grant(s) of this run not retired');
  expect(chat.content.nextSteps[0]).toContain(`\`${revoke(grantsLeft[0]!.grantId)}\``);
});
