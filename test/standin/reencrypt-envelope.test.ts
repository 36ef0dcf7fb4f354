import { KMS } from '@aws-sdk/client-kms';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  buildClient,
  CommitmentPolicy,
  KmsKeyringNode,
  MultiKeyringNode,
  NodeAlgorithmSuite,
  RawAesKeyringNode,
  RawAesWrappingSuiteIdentifier,
} from '@aws-crypto/client-node';
import { deserializeFactory } from '@aws-crypto/serialize';
import { randomBytes } from 'node:crypto';
import { startStandIn, type StandIn } from '../../local/standin';
import { reencryptObjects } from '../../lambdas/adapters/reencryption/s3-reencrypt';
import { reencryptEnvelope, verificationProblem } from '../../lambdas/adapters/reencryption/reencrypt-envelope';
import type { Run } from '../../lambdas/adapters/reencryption/reencrypt-run';
import { reencryptBatch } from '../../lambdas/reencrypt-objects/handler';
import { clients, credentials, KEY_ID, world } from './helpers';

/**
 * The envelope path keeps what a reader of an Encryption SDK message depends on (every KMS
 * wrapping key, the suite, the context) or leaves the object untouched with a named reason; and
 * it charges the KMS requests each step really causes.
 */

const ACCOUNT = '111122223333';
const ARN = `arn:aws:kms:us-east-1:${ACCOUNT}:key/${KEY_ID}`;
const DR_ARN = `arn:aws:kms:us-west-2:${ACCOUNT}:key/dr`;
const FOREIGN_ARN = 'arn:aws:kms:us-east-1:444455556666:key/foreign';
const OFF_ARN = `arn:aws:kms:us-east-1:${ACCOUNT}:key/off`;
const LEGACY_SIGNING = 0x0378;
const LEGACY_PLAIN = 0x0178;
const COMMITTING_SIGNING = 0x0578;
const BIG = 'b'.repeat(4096);

let s: StandIn;
let c: ReturnType<typeof clients>;

beforeAll(async () => {
  s = await startStandIn(
    world({
      keys: [
        { id: KEY_ID },
        { id: 'dr', region: 'us-west-2' },
        { id: 'foreign', account: '444455556666' },
        { id: 'off', keyState: 'Disabled' },
        { id: 'other' },
        { id: 'bucket-key' },
      ],
      buckets: [
        {
          name: 'sealed',
          defaultKmsKeyId: 'bucket-key',
          objects: [
            { key: 'multi.bin', envelopeKeyIds: [ARN, DR_ARN], body: 'kept for both readers' },
            { key: 'dr-first.bin', envelopeKeyIds: [DR_ARN, ARN], body: 'the DR key generated this one' },
            { key: 'foreign.bin', envelopeKeyIds: [ARN, FOREIGN_ARN], body: 'another account reads this' },
            { key: 'disabled.bin', envelopeKeyIds: [ARN, OFF_ARN], body: 'a disabled key reads this' },
            { key: 'legacy.bin', envelopeKeyId: KEY_ID, envelopeSuite: LEGACY_SIGNING, body: 'written by the 1.x SDK' },
            { key: 'legacy-plain.bin', envelopeKeyId: KEY_ID, envelopeSuite: LEGACY_PLAIN, body: 'non-signing legacy' },
            { key: 'legacy-up.bin', envelopeKeyId: KEY_ID, envelopeSuite: LEGACY_SIGNING, body: 'to be upgraded' },
            {
              key: 'legacy-batch.bin',
              envelopeKeyId: KEY_ID,
              envelopeSuite: LEGACY_SIGNING,
              body: 'upgraded by the batch setting',
            },
            { key: 'big.bin', envelopeKeyId: KEY_ID, body: BIG },
            { key: 'big-other.bin', envelopeKeyId: 'other', body: BIG },
            { key: 'charged.bin', envelopeKeyIds: [ARN, DR_ARN], body: 'count my requests' },
            { key: 'ordered.bin', envelopeKeyId: KEY_ID, body: 'tagged', tags: { team: 'sealed' } },
          ],
        },
      ],
    }),
    { speed: 1000 },
  );
  c = clients(s);
});
afterAll(() => s.close());

const kmsFor = (region: string) => new KMS({ endpoint: s.endpoint, region, credentials, maxAttempts: 1 });
/** A keyring for one key only: what a reader holding just that key uses. */
const keyringOf = (keyArn: string) =>
  new KmsKeyringNode({ generatorKeyId: keyArn, clientProvider: ((region: string) => kmsFor(region)) as never });
const reader = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT);
const header = deserializeFactory((b) => Buffer.from(b).toString('utf8'), NodeAlgorithmSuite);

async function stored(s3: S3Client, key: string): Promise<Uint8Array> {
  return (await s3.send(new GetObjectCommand({ Bucket: 'sealed', Key: key }))).Body!.transformToByteArray();
}
async function suiteOf(key: string): Promise<number> {
  const h = header.deserializeMessageHeader(await stored(c.s3, key));
  if (!h) throw new Error(`${key}: not a message`);
  return h.messageHeader.suiteId;
}
async function plaintextFor(keyArn: string, key: string): Promise<string> {
  return Buffer.from((await reader.decrypt(keyringOf(keyArn), await stored(c.s3, key))).plaintext).toString();
}
const callerContext = (ctx: Record<string, string>) =>
  Object.fromEntries(Object.entries(ctx).filter(([k]) => !k.startsWith('aws-crypto-')));
const run = (keys: string[], extra: Record<string, unknown> = {}) =>
  reencryptObjects({ s3: c.s3, keyring: keyringOf(ARN), ...extra }, { type: 'envelope', bucket: 'sealed' }, ARN, keys);

test('multi-key envelope: rewritten with a new data key wrapped for every original KMS key; each key alone still decrypts', async () => {
  const before = {
    multi: s.s3Object('sealed', 'multi.bin')!.envelope!,
    first: s.s3Object('sealed', 'dr-first.bin')!.envelope!,
  };
  const report = await run(['multi.bin', 'dr-first.bin']);
  expect(report.failures).toEqual([]);
  expect(report).toMatchObject({ objectsReencrypted: 2, objectsSkipped: 0, objectsFailed: 0 });
  for (const [key, was] of [
    ['multi.bin', before.multi],
    ['dr-first.bin', before.first],
  ] as const) {
    const after = s.s3Object('sealed', key)!.envelope!;
    // The rotated key generates (first); the DR key wraps the same new data key.
    expect(after.kmsKeyArns).toEqual([ARN, DR_ARN]);
    expect(after.dataKeyFingerprint).not.toBe(was.dataKeyFingerprint);
    // The caller's context is kept; the SDK's own signing public key is new with every message.
    expect(callerContext(after.encryptionContext)).toEqual(callerContext(was.encryptionContext));
    expect(callerContext(after.encryptionContext)).toEqual({ purpose: 'stand-in seed' });
  }
  expect(await plaintextFor(ARN, 'multi.bin')).toBe('kept for both readers');
  expect(await plaintextFor(DR_ARN, 'multi.bin')).toBe('kept for both readers');
  expect(await plaintextFor(DR_ARN, 'dr-first.bin')).toBe('the DR key generated this one');
});

test('a wrapping key the function may not use (another account, disabled): untouched, WRAPPING_KEY_UNUSABLE', async () => {
  const before = { foreign: s.s3Object('sealed', 'foreign.bin'), disabled: s.s3Object('sealed', 'disabled.bin') };
  const report = await run(['foreign.bin', 'disabled.bin']);
  expect(report).toMatchObject({
    objectsReencrypted: 0,
    objectsSkipped: 2,
    objectsFailed: 0,
    skippedByReason: { WRAPPING_KEY_UNUSABLE: 2 },
  });
  expect(s.s3Object('sealed', 'foreign.bin')).toEqual(before.foreign);
  expect(s.s3Object('sealed', 'disabled.bin')).toEqual(before.disabled);
});

test('a data key also wrapped by a raw (non-KMS) key: untouched, NON_KMS_WRAPPING_KEY', async () => {
  const raw = new RawAesKeyringNode({
    keyName: 'escrow',
    keyNamespace: 'on-prem-hsm',
    unencryptedMasterKey: randomBytes(32),
    wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
  });
  const both = new MultiKeyringNode({ generator: keyringOf(ARN), children: [raw] });
  const { result } = await buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT).encrypt(
    both,
    Buffer.from('escrowed'),
    { encryptionContext: { purpose: 'escrow' } },
  );
  await c.s3.send(new PutObjectCommand({ Bucket: 'sealed', Key: 'escrow.bin', Body: result }));
  const before = s.s3Object('sealed', 'escrow.bin');
  const report = await run(['escrow.bin']);
  expect(report).toMatchObject({
    objectsReencrypted: 0,
    objectsSkipped: 1,
    skippedByReason: { NON_KMS_WRAPPING_KEY: 1 },
  });
  expect(s.s3Object('sealed', 'escrow.bin')).toEqual(before);
});

test('legacy suites are rewritten in the same suite (signing and non-signing), with a new data key', async () => {
  const before = s.s3Object('sealed', 'legacy.bin')!.envelope!;
  const report = await run(['legacy.bin', 'legacy-plain.bin']);
  expect(report.failures).toEqual([]);
  expect(report.objectsReencrypted).toBe(2);
  expect(await suiteOf('legacy.bin')).toBe(LEGACY_SIGNING);
  expect(await suiteOf('legacy-plain.bin')).toBe(LEGACY_PLAIN);
  expect(s.s3Object('sealed', 'legacy.bin')!.envelope!.dataKeyFingerprint).not.toBe(before.dataKeyFingerprint);
  // A reader that only accepts non-committing suites (an SDK 1.x reader) still reads it.
  const { plaintext } = await buildClient(CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT).decrypt(
    keyringOf(ARN),
    await stored(c.s3, 'legacy.bin'),
  );
  expect(Buffer.from(plaintext).toString()).toBe('written by the 1.x SDK');
});

test('with the upgrade setting, a legacy message is rewritten in the committing suite of its kind (adapter and batch input)', async () => {
  const report = await run(['legacy-up.bin'], { upgradeEnvelopeSuite: true });
  expect(report.objectsReencrypted).toBe(1);
  expect(await suiteOf('legacy-up.bin')).toBe(COMMITTING_SIGNING);
  expect(await plaintextFor(ARN, 'legacy-up.bin')).toBe('to be upgraded');
  // The setting reaches the batch as the handler passes it from the function's environment.
  const unit = { type: 'envelope' as const, bucket: 'sealed', prefix: '', keyArn: ARN, origin: 'request' as const };
  const batch = await reencryptBatch(
    {
      BatchInput: { unit },
      Items: [{ key: 'legacy-batch.bin', size: 1, etag: '"x"' }],
    },
    { getRemainingTimeInMillis: () => 600_000 },
    { s3: c.s3, keyring: keyringOf(ARN), upgradeEnvelopeSuite: true },
  );
  expect(batch.objectsReencrypted).toBe(1);
  expect(await suiteOf('legacy-batch.bin')).toBe(COMMITTING_SIGNING);
});

test('above the size limit: untouched, ENVELOPE_TOO_LARGE; a large message under another key is still told apart (header read)', async () => {
  const before = s.s3Object('sealed', 'big.bin');
  const report = await run(['big.bin', 'big-other.bin'], { envelopeMaxBytes: 2048 });
  expect(report).toMatchObject({
    objectsReencrypted: 0,
    objectsSkipped: 2,
    skippedByReason: { ENVELOPE_TOO_LARGE: 1, OTHER_KEY: 1 },
  });
  expect(s.s3Object('sealed', 'big.bin')).toEqual(before);
  // Within the limit the same object is re-encrypted.
  expect((await run(['big.bin'])).objectsReencrypted).toBe(1);
});

test('KMS requests charged equal those KMS served: a two-key envelope in an SSE-KMS bucket costs 7', async () => {
  let charged = 0;
  const keyring = keyringOf(ARN);
  const counted: Run = {
    deps: { s3: c.s3, keyring },
    send: async <T>(command: object, kmsRequests: number) => {
      charged += kmsRequests;
      return c.s3.send(command as never) as Promise<T>;
    },
    retrying: async <T>(fn: () => Promise<T>, kmsRequests: number) => {
      charged += kmsRequests;
      return fn();
    },
  };
  const served = () =>
    Object.values(s.counters().served).reduce((n, perKey) => n + Object.values(perKey).reduce((a, b) => a + b, 0), 0);
  const before = served();
  const outcome = await reencryptEnvelope(counted, 'sealed', 'charged.bin', ARN);
  expect(outcome.result).toBe('REENCRYPTED');
  // GET (S3 Decrypt) + ESDK Decrypt + GenerateDataKey + Encrypt (DR key) + PUT (S3 GenerateDataKey) + GET (S3 Decrypt) + verifying Decrypt.
  expect(served() - before).toBe(7);
  expect(charged).toBe(7);
});

test('tags and ACL are read together, after the new message exists and right before the PUT', async () => {
  const events: string[] = [];
  const logged = async <T>(name: string, fn: () => Promise<T>) => {
    events.push(`start ${name}`);
    const out = await fn();
    events.push(`end ${name}`);
    return out;
  };
  const recording: Run = {
    deps: { s3: c.s3, keyring: keyringOf(ARN) },
    send: <T>(command: object) =>
      logged(command.constructor.name.replace(/Command$/, ''), () => c.s3.send(command as never) as Promise<T>),
    retrying: <T>(fn: () => Promise<T>) => logged('crypto', fn),
  };
  const outcome = await reencryptEnvelope(recording, 'sealed', 'ordered.bin', ARN);
  expect(outcome.result).toBe('REENCRYPTED');
  expect(s.s3Object('sealed', 'ordered.bin')!.tags).toEqual({ team: 'sealed' });
  const at = (event: string, nth = 0) =>
    events.reduce<number[]>((is, e, i) => (e === event ? [...is, i] : is), [])[nth]!;
  // Decrypt, then encrypt: only then are the tags and the ACL read (a tag or ACL change made later
  // is not caught by IfMatch), both before either answer, both answered before the PUT.
  const encrypted = at('end crypto', 1);
  expect(encrypted).toBeGreaterThan(at('end GetObject'));
  for (const read of ['GetObjectTagging', 'GetObjectAcl']) {
    expect(at(`start ${read}`)).toBeGreaterThan(encrypted);
    expect(at(`start ${read}`)).toBeLessThan(Math.min(at('end GetObjectTagging'), at('end GetObjectAcl')));
    expect(at(`end ${read}`)).toBeLessThan(at('start PutObject'));
  }
});

test('world envelope fields are validated, each problem naming its field', () => {
  const objects = [
    { key: 'both.bin', envelopeKeyId: KEY_ID, envelopeKeyIds: [ARN] },
    { key: 'twice.bin', envelopeKeyIds: [ARN, ARN] },
    { key: 'suite.bin', envelopeKeyId: KEY_ID, envelopeSuite: 999 },
    { key: 'plain.bin', envelopeSuite: LEGACY_SIGNING },
  ];
  const problems = (() => {
    try {
      world({ keys: [{ id: KEY_ID }], buckets: [{ name: 'bad', objects }] });
    } catch (e) {
      return (e as { problems: string[] }).problems;
    }
    throw new Error('the world was accepted');
  })();
  expect(problems).toEqual([
    expect.stringMatching(/^buckets\[0\]\.objects\[0\]\.envelopeKeyIds: give envelopeKeyId .* not both$/),
    expect.stringMatching(/^buckets\[0\]\.objects\[1\]\.envelopeKeyIds: a key is listed twice$/),
    expect.stringMatching(
      /^buckets\[0\]\.objects\[2\]\.envelopeSuite: 999 is not an Encryption SDK algorithm suite id/,
    ),
    expect.stringMatching(/^buckets\[0\]\.objects\[3\]\.envelopeSuite: only an envelope object/),
  ]);
});

test('verification refuses a written message that lost a wrapping key, changed suite or context, or decrypts to other bytes', async () => {
  const writer = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
  const { result } = await writer.encrypt(keyringOf(ARN), Buffer.from('bytes'), {
    encryptionContext: { purpose: 'p' },
  });
  const read = await reader.decrypt(keyringOf(ARN), result);
  const { createHash } = await import('node:crypto');
  const expected = {
    plaintextSha256: createHash('sha256').update('bytes').digest('hex'),
    suiteId: read.messageHeader.suiteId,
    kmsKeyArns: [ARN],
    encryptionContext: { purpose: 'p' },
  };
  expect(verificationProblem(result, read, expected)).toBeUndefined();
  expect(verificationProblem(result, read, { ...expected, kmsKeyArns: [ARN, DR_ARN] })).toMatch(
    /not wrapped for .*key\/dr$/,
  );
  expect(verificationProblem(result, read, { ...expected, suiteId: LEGACY_SIGNING })).toMatch(/suite/);
  expect(verificationProblem(result, read, { ...expected, encryptionContext: { purpose: 'q' } })).toMatch(
    /encryption context/,
  );
  expect(verificationProblem(result, read, { ...expected, plaintextSha256: '0'.repeat(64) })).toMatch(/original bytes/);
});
