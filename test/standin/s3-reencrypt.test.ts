import { KMS } from '@aws-sdk/client-kms';
import { CopyObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { KmsKeyringNode } from '@aws-crypto/client-node';
import { startStandIn, type StandIn } from '../../local/standin';
import { reencryptObjects } from '../../lambdas/adapters/reencryption/s3-reencrypt';
import { clients, credentials, errorName, KEY_ID, world } from './helpers';

const GiB = 1024 ** 3;
const ARN = `arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}`;
let s: StandIn;
let c: ReturnType<typeof clients>;

beforeAll(async () => {
  s = await startStandIn(
    world({
      keys: [{ id: KEY_ID }, { id: 'other' }],
      buckets: [
        {
          name: 'orders',
          objects: [
            { key: 'a.json', body: '{"order":1}', kmsKeyId: KEY_ID },
            { key: 'dir/b c.txt', body: 'bee', kmsKeyId: KEY_ID, storageClass: 'STANDARD_IA' },
            { key: 'other.json', body: 'o', kmsKeyId: 'other' },
            { key: 'plain.txt', body: 'p' },
            { key: 'cold.json', body: 'c', kmsKeyId: KEY_ID, storageClass: 'GLACIER' },
            { key: 'huge.bin', sizeBytes: 6 * GiB, kmsKeyId: KEY_ID },
            { key: 'changed.json', body: 'before', kmsKeyId: KEY_ID },
          ],
        },
        {
          name: 'versioned',
          versioning: true,
          bucketKeyEnabled: true,
          defaultKmsKeyId: KEY_ID,
          objects: [{ key: 'v.json', body: 'v1' }],
        },
        {
          name: 'sealed',
          objects: [
            { key: 'e1.bin', envelopeKeyId: KEY_ID, body: 'secret one' },
            { key: 'e2.bin', envelopeKeyId: 'other', body: 'secret two' },
            { key: 'raw.txt', body: 'not a message' },
            { key: 'e3.bin', envelopeKeyId: KEY_ID, body: 'secret three' },
          ],
        },
      ],
    }),
    { speed: 1000 },
  );
  c = clients(s);
});
afterAll(() => s.close());

const keyring = (keyArn = ARN) =>
  new KmsKeyringNode({
    generatorKeyId: keyArn,
    clientProvider: () => new KMS({ endpoint: s.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 }) as never,
  });
const body = async (bucket: string, key: string) =>
  (await c.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();

describe('stand-in S3 additions', () => {
  test('conditional writes: If-Match / If-None-Match on PutObject, copy-source If-Match on CopyObject', async () => {
    const etag = s.s3Object('orders', 'plain.txt')!.etag;
    expect(
      await errorName(
        c.s3.send(new PutObjectCommand({ Bucket: 'orders', Key: 'plain.txt', Body: 'x', IfMatch: '"0123"' })),
      ),
    ).toBe('PreconditionFailed');
    expect(
      await errorName(
        c.s3.send(new PutObjectCommand({ Bucket: 'orders', Key: 'plain.txt', Body: 'x', IfNoneMatch: '*' })),
      ),
    ).toBe('PreconditionFailed');
    expect(
      await errorName(
        c.s3.send(
          new CopyObjectCommand({
            Bucket: 'orders',
            Key: 'plain.txt',
            CopySource: 'orders/plain.txt',
            CopySourceIfMatch: '"0123"',
            StorageClass: 'STANDARD_IA',
          }),
        ),
      ),
    ).toBe('PreconditionFailed');
    expect(await body('orders', 'plain.txt')).toBe('p');
    await c.s3.send(new PutObjectCommand({ Bucket: 'orders', Key: 'plain.txt', Body: 'p', IfMatch: etag }));
    await c.s3.send(new PutObjectCommand({ Bucket: 'orders', Key: 'brand-new.txt', Body: 'n', IfNoneMatch: '*' }));
    expect(await body('orders', 'brand-new.txt')).toBe('n');
  });

  test('storage classes: seeded, reported by HeadObject; an archived source cannot be copied', async () => {
    expect((await c.s3.send(new HeadObjectCommand({ Bucket: 'orders', Key: 'cold.json' }))).StorageClass).toBe(
      'GLACIER',
    );
    expect(
      await errorName(
        c.s3.send(
          new CopyObjectCommand({
            Bucket: 'orders',
            Key: 'cold.json',
            CopySource: 'orders/cold.json',
            StorageClass: 'GLACIER',
          }),
        ),
      ),
    ).toBe('InvalidObjectState');
  });

  test('envelope objects are Encryption SDK messages under their key', () => {
    expect(s.s3Object('sealed', 'e1.bin')!.envelope).toMatchObject({
      kmsKeyArns: [ARN],
      dataKeyFingerprint: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
    expect(s.s3Object('sealed', 'e2.bin')!.envelope!.kmsKeyArns).toEqual([
      'arn:aws:kms:us-east-1:111122223333:key/other',
    ]);
    expect(s.s3Object('sealed', 'raw.txt')!.envelope).toBeUndefined();
  });
});

describe('reencryptObjects against the stand-in', () => {
  test('s3-sse-kms: targeted objects get new data keys and keep bytes and attributes; the rest is counted untouched', async () => {
    const keys = ['a.json', 'dir/b c.txt', 'other.json', 'plain.txt', 'cold.json', 'huge.bin'];
    const before = Object.fromEntries(keys.map((k) => [k, s.s3Object('orders', k)!]));
    const report = await reencryptObjects(
      { s3: c.s3, partSizeBytes: 1 * GiB },
      { type: 's3-sse-kms', bucket: 'orders' },
      ARN,
      keys,
    );
    expect(report).toMatchObject({
      objectsScanned: 6,
      objectsReencrypted: 3,
      objectsSkipped: 3,
      objectsFailed: 0,
      skippedByReason: { OTHER_KEY: 1, NOT_SSE_KMS: 1, ARCHIVED_NEEDS_RESTORE: 1 },
      bytesReencrypted: '{"order":1}'.length + 3 + 6 * GiB,
      oldVersionsLeft: 0,
      bucketKeys: false,
    });
    for (const k of ['a.json', 'dir/b c.txt', 'huge.bin']) {
      const after = s.s3Object('orders', k)!;
      expect(after.kmsKeyArn).toBe(ARN);
      expect(after.dataKeyFingerprint).not.toBe(before[k].dataKeyFingerprint);
      expect(after.storageClass).toBe(before[k].storageClass);
    }
    expect(await body('orders', 'a.json')).toBe('{"order":1}');
    expect(await body('orders', 'dir/b c.txt')).toBe('bee');
    expect(s.s3Object('orders', 'dir/b c.txt')!.storageClass).toBe('STANDARD_IA');
    for (const k of ['other.json', 'plain.txt', 'cold.json']) expect(s.s3Object('orders', k)).toEqual(before[k]);
    // The 6 GiB object went by multipart copy in 1 GiB parts.
    expect(s.calls.filter((x) => x.operation === 'UploadPartCopy')).toHaveLength(6);
  });

  test('versioned bucket with Bucket Keys: the old version keeps its old data key and is counted; the copy has its own data key', async () => {
    const before = s.s3Object('versioned', 'v.json')!;
    const report = await reencryptObjects({ s3: c.s3 }, { type: 's3-sse-kms', bucket: 'versioned' }, ARN, ['v.json']);
    expect(report).toMatchObject({ objectsReencrypted: 1, oldVersionsLeft: 1, bucketKeys: false });
    const after = s.s3Object('versioned', 'v.json')!;
    expect(before.bucketKeyEnabled).toBe(true);
    expect(after.bucketKeyEnabled).toBe(false);
    expect(after.versions).toBe(2);
    expect(after.previousDataKeyFingerprints).toEqual([before.dataKeyFingerprint]);
    expect(after.dataKeyFingerprint).not.toBe(before.dataKeyFingerprint);
  });

  test('an object modified during the run is not overwritten', async () => {
    // The writer changes the object between our HeadObject and our CopyObject.
    const s3 = c.s3;
    const send = s3.send.bind(s3);
    const racing = Object.create(s3) as typeof s3;
    racing.send = (async (cmd: Parameters<typeof send>[0]) => {
      const out = await send(cmd);
      if (cmd instanceof HeadObjectCommand)
        await send(
          new PutObjectCommand({
            Bucket: 'orders',
            Key: 'changed.json',
            Body: 'theirs',
            ServerSideEncryption: 'aws:kms',
            SSEKMSKeyId: 'other',
          }),
        );
      return out;
    }) as typeof s3.send;
    const report = await reencryptObjects({ s3: racing }, { type: 's3-sse-kms', bucket: 'orders' }, ARN, [
      'changed.json',
    ]);
    expect(report).toMatchObject({ objectsFailed: 1, objectsChangedDuringRun: 1, objectsReencrypted: 0 });
    expect(report.failures[0].key).toBe('changed.json');
    expect(await body('orders', 'changed.json')).toBe('theirs');
    expect(s.s3Object('orders', 'changed.json')!.kmsKeyArn).toBe('arn:aws:kms:us-east-1:111122223333:key/other');
  });

  test('an injected S3 fault is reported with its error, not swallowed', async () => {
    // InternalError is transient: it fails the object only when every attempt meets it.
    const retry = { maxAttempts: 3, baseMs: 1, capMs: 5 };
    s.addFault({ service: 's3', operation: 'CopyObject', error: 'InternalError', times: retry.maxAttempts });
    const before = s.s3Object('orders', 'a.json')!;
    const report = await reencryptObjects({ s3: c.s3, retry }, { type: 's3-sse-kms', bucket: 'orders' }, ARN, [
      'a.json',
    ]);
    expect(report).toMatchObject({
      objectsFailed: 1,
      objectsReencrypted: 0,
      failures: [{ key: 'a.json', error: expect.stringMatching(/^InternalError/) }],
    });
    expect(s.s3Object('orders', 'a.json')!.dataKeyFingerprint).toBe(before.dataKeyFingerprint);
  });

  test('envelope: messages under the key get a fresh data key and decrypt to the same bytes; others are skipped', async () => {
    const before = Object.fromEntries(
      ['e1.bin', 'e2.bin', 'raw.txt', 'e3.bin'].map((k) => [k, s.s3Object('sealed', k)!]),
    );
    const report = await reencryptObjects(
      { s3: c.s3, keyring: keyring() },
      { type: 'envelope', bucket: 'sealed' },
      ARN,
      ['e1.bin', 'e2.bin', 'raw.txt', 'e3.bin'],
    );
    expect(report.failures).toEqual([]);
    expect(report).toMatchObject({
      objectsScanned: 4,
      objectsReencrypted: 2,
      objectsSkipped: 2,
      objectsFailed: 0,
      skippedByReason: { OTHER_KEY: 1, NOT_ENVELOPE: 1 },
      bytesReencrypted: 'secret one'.length + 'secret three'.length,
    });
    for (const k of ['e1.bin', 'e3.bin']) {
      const after = s.s3Object('sealed', k)!.envelope!;
      expect(after.kmsKeyArns).toEqual([ARN]);
      expect(after.dataKeyFingerprint).not.toBe(before[k].envelope!.dataKeyFingerprint);
      expect(after.encryptionContext.purpose).toBe('stand-in seed');
    }
    const { buildClient, CommitmentPolicy } = await import('@aws-crypto/client-node');
    const { plaintext } = await buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT).decrypt(
      keyring(),
      await (await c.s3.send(new GetObjectCommand({ Bucket: 'sealed', Key: 'e1.bin' }))).Body!.transformToByteArray(),
    );
    expect(Buffer.from(plaintext).toString()).toBe('secret one');
    for (const k of ['e2.bin', 'raw.txt']) expect(s.s3Object('sealed', k)).toEqual(before[k]);
  });

  test('envelope: an injected KMS fault is reported, the object is left as it was', async () => {
    s.addFault({ service: 'kms', operation: 'Decrypt', error: 'KMSInternalException', times: 1 });
    const before = s.s3Object('sealed', 'e1.bin')!;
    const report = await reencryptObjects(
      { s3: c.s3, keyring: keyring() },
      { type: 'envelope', bucket: 'sealed' },
      ARN,
      ['e1.bin'],
    );
    expect(report.objectsFailed).toBe(1);
    expect(report.failures[0].error).toMatch(/KMSInternalException/);
    expect(s.s3Object('sealed', 'e1.bin')).toEqual(before);
  });
});
