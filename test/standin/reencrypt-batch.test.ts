import { KMS } from '@aws-sdk/client-kms';
import { CopyObjectCommand, GetObjectCommand, GetObjectTaggingCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { KmsKeyringNode } from '@aws-crypto/client-node';
import { startStandIn, type StandIn } from '../../local/standin';
import { reencryptBatch } from '../../lambdas/reencrypt-objects/handler';
import type { ReencryptBatchInput, ReencryptionUnit } from '../../lambdas/domain/reencryption';
import { KMS_REQUESTS_PER_OBJECT } from '../../lambdas/domain/reencryption';
import { clients, credentials, errorName, KEY_ID, world } from './helpers';

const GiB = 1024 ** 3;
const ARN = `arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}`;
const FAST_RETRY = { maxAttempts: 8, baseMs: 5, capMs: 50 };
const plenty = { getRemainingTimeInMillis: () => 600_000 };
const PACED_OBJECTS = 40;

let s: StandIn;
let c: ReturnType<typeof clients>;

beforeAll(async () => {
  s = await startStandIn(
    world({
      keys: [{ id: KEY_ID }, { id: 'other' }],
      // Above the batch's pace (10 copies/s, 2-3 KMS requests each): the pace, not the quota, sets the time here.
      quotas: { CryptographicOperationsSymmetric: 60 },
      buckets: [
        {
          name: 'paced',
          objects: Array.from({ length: PACED_OBJECTS }, (_, i) => ({
            key: `o${String(i).padStart(2, '0')}`,
            body: `body ${i}`,
            kmsKeyId: KEY_ID,
          })),
        },
        {
          name: 'orders',
          objects: [
            { key: 'a.json', body: 'a', kmsKeyId: KEY_ID, tags: { team: 'orders', 'data class': 'pii' } },
            { key: 'b.json', body: 'b', kmsKeyId: KEY_ID },
            { key: 'c.json', body: 'c', kmsKeyId: KEY_ID },
            { key: 'huge.bin', sizeBytes: 6 * GiB, kmsKeyId: KEY_ID, tags: { team: 'orders', size: 'huge' } },
          ],
        },
        {
          name: 'sealed',
          objects: [
            { key: 'e1.bin', envelopeKeyId: KEY_ID, body: 'one' },
            { key: 'e2.bin', envelopeKeyId: KEY_ID, body: 'two' },
          ],
        },
      ],
    }),
    { speed: 1 },
  );
  c = clients(s);
});
afterAll(() => s.close());

test('inspecting objects (s3Object) is not a KMS request: the counters do not move', () => {
  const before = JSON.stringify(s.counters());
  expect(s.s3Object('orders', 'b.json')?.dataKeyFingerprint).toMatch(/^[0-9a-f]{16}$/);
  expect(s.s3Object('sealed', 'e1.bin')?.envelope?.dataKeyFingerprint).toMatch(/^[0-9a-f]{16}$/);
  expect(JSON.stringify(s.counters())).toBe(before);
});

const unit = (u: Partial<ReencryptionUnit> = {}): ReencryptionUnit => ({
  type: 's3-sse-kms',
  bucket: 'orders',
  prefix: '',
  keyArn: ARN,
  origin: 'request',
  ...u,
});
const batchOf = (u: ReencryptionUnit, keys: string[]): ReencryptBatchInput => ({
  BatchInput: { unit: u },
  Items: keys.map((key) => ({ key, size: 1, etag: '"x"' })),
});
const keyring = () =>
  new KmsKeyringNode({
    generatorKeyId: ARN,
    clientProvider: () => new KMS({ endpoint: s.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 }) as never,
  });
const deps = () => ({ s3: c.s3, keyring: keyring(), retry: FAST_RETRY });
const fingerprint = (bucket: string, key: string) => s.s3Object(bucket, key)!.dataKeyFingerprint;

describe('ReencryptObjects (one Distributed Map batch) against the stand-in', () => {
  test(`pacing: ${PACED_OBJECTS} objects at 20 KMS requests/s take at least the time the pace allows`, async () => {
    // Given: 40 SSE-KMS copies; at 20 KMS requests/s the batch takes at least the time of the
    // requests KMS really served (S3's on the bucket's behalf), less the first object's burst.
    const rate = 20;
    const keys = Array.from({ length: PACED_OBJECTS }, (_, i) => `o${String(i).padStart(2, '0')}`);
    const served = () =>
      Object.values(s.counters().served).reduce((n, perKey) => n + Object.values(perKey).reduce((a, b) => a + b, 0), 0);
    const servedBefore = served();
    // When
    const started = Date.now();
    const report = await reencryptBatch(batchOf(unit({ bucket: 'paced' }), keys), plenty, {
      childKmsRequestsPerSecond: rate,
      s3: c.s3,
      retry: FAST_RETRY,
      concurrency: 4,
    });
    const elapsed = Date.now() - started;
    const requests = served() - servedBefore;
    expect(requests).toBeGreaterThanOrEqual(PACED_OBJECTS * 2);
    const minimumMs = ((requests - KMS_REQUESTS_PER_OBJECT['s3-sse-kms']) * 1000) / rate;
    // Then: the pace held (and not grossly more: the objects ran in parallel within it).
    expect(report).toMatchObject({
      objectsScanned: PACED_OBJECTS,
      objectsReencrypted: PACED_OBJECTS,
      objectsFailed: 0,
      batches: 1,
      keyArn: ARN,
      bucket: 'paced',
      origin: 'request',
    });
    expect(elapsed).toBeGreaterThanOrEqual(minimumMs - 50);
    expect(elapsed).toBeLessThan(minimumMs * 2 + 2000);
    // Paced below the quota: KMS throttled nothing.
    expect(report.throttlesRetried).toBe(0);
    expect(s.counters().throttles).toBe(0);
  }, 20_000);

  test('S3 SlowDown is retried with back-off and counted, never a failure on its own', async () => {
    s.addFault({ service: 's3', operation: 'CopyObject', error: 'SlowDown', times: 3 });
    const before = fingerprint('orders', 'b.json');
    const report = await reencryptBatch(batchOf(unit(), ['b.json']), plenty, deps());
    expect(report).toMatchObject({ objectsReencrypted: 1, objectsFailed: 0, throttlesRetried: 3 });
    expect(fingerprint('orders', 'b.json')).not.toBe(before);
  });

  test('throttling that never ends fails the object after the attempts, with the error (a HEAD 503 has no body)', async () => {
    s.addFault({ service: 's3', operation: 'HeadObject', error: 'SlowDown', times: FAST_RETRY.maxAttempts });
    const report = await reencryptBatch(batchOf(unit(), ['c.json']), plenty, deps());
    expect(report).toMatchObject({ objectsFailed: 1, throttlesRetried: FAST_RETRY.maxAttempts - 1 });
    expect(report.failures[0]).toMatchObject({ key: 'c.json', error: expect.stringMatching(/^Unknown/) });
  });

  test('a CopyObject answering 200 with an <Error> body is a failure (the S3 client raises it), the object untouched', async () => {
    // InternalError is transient (S3: "try again"): it fails the object only when every attempt meets it.
    s.addFault({
      service: 's3',
      operation: 'CopyObject',
      error: 'InternalError',
      times: FAST_RETRY.maxAttempts,
      okWithErrorBody: true,
    });
    const before = s.s3Object('orders', 'c.json')!;
    const report = await reencryptBatch(batchOf(unit(), ['c.json']), plenty, deps());
    expect(report).toMatchObject({ objectsFailed: 1, objectsReencrypted: 0, throttlesRetried: 0 });
    expect(report.failures[0].error).toMatch(/^InternalError: Injected fault/);
    expect(s.s3Object('orders', 'c.json')).toEqual(before);
    // One InternalError in a 200 body is retried (not a throttle) and the copy done.
    s.addFault({ service: 's3', operation: 'CopyObject', error: 'InternalError', times: 1, okWithErrorBody: true });
    expect(await reencryptBatch(batchOf(unit(), ['c.json']), plenty, deps())).toMatchObject({
      objectsReencrypted: 1,
      throttlesRetried: 0,
    });
    // A SlowDown in a 200 body is throttling: retried and counted.
    s.addFault({ service: 's3', operation: 'CopyObject', error: 'SlowDown', times: 1, okWithErrorBody: true });
    expect(await reencryptBatch(batchOf(unit(), ['c.json']), plenty, deps())).toMatchObject({
      objectsReencrypted: 1,
      throttlesRetried: 1,
    });
  });

  test('multipart copy (over 5 GiB) keeps the tags; a single copy keeps them too', async () => {
    const report = await reencryptBatch(batchOf(unit(), ['huge.bin', 'a.json']), plenty, {
      ...deps(),
      partSizeBytes: 2 * GiB,
    });
    expect(report).toMatchObject({ objectsReencrypted: 2, objectsFailed: 0 });
    expect(s.s3Object('orders', 'huge.bin')!.tags).toEqual({ team: 'orders', size: 'huge' });
    expect(s.s3Object('orders', 'a.json')!.tags).toEqual({ team: 'orders', 'data class': 'pii' });
    expect((await c.s3.send(new GetObjectTaggingCommand({ Bucket: 'orders', Key: 'huge.bin' }))).TagSet).toEqual([
      { Key: 'team', Value: 'orders' },
      { Key: 'size', Value: 'huge' },
    ]);
    const create = s.calls.filter((x) => x.operation === 'CreateMultipartUpload').at(-1)!;
    expect(create.input).toMatchObject({ Key: 'huge.bin' });
  });

  test('an UploadPartCopy answering 200 with an <Error> body fails the object and aborts the upload', async () => {
    // Every attempt of every part (3 parts of 2 GiB) meets the transient error.
    s.addFault({
      service: 's3',
      operation: 'UploadPartCopy',
      error: 'InternalError',
      times: 3 * FAST_RETRY.maxAttempts,
      okWithErrorBody: true,
    });
    const before = s.s3Object('orders', 'huge.bin')!;
    const report = await reencryptBatch(batchOf(unit(), ['huge.bin']), plenty, { ...deps(), partSizeBytes: 2 * GiB });
    expect(report).toMatchObject({
      objectsFailed: 1,
      failures: [{ key: 'huge.bin', error: expect.stringMatching(/^InternalError/) }],
    });
    expect(s.calls.at(-1)!.operation).toBe('AbortMultipartUpload');
    expect(s.s3Object('orders', 'huge.bin')).toEqual(before);
  });

  test('time budget: objects are not started with under 30 s left; they fail NotAttempted and are listed', async () => {
    let calls = 0;
    // 40 s left at the first look (one object started), then 20 s.
    const context = { getRemainingTimeInMillis: () => (calls++ < 1 ? 40_000 : 20_000) };
    const report = await reencryptBatch(batchOf(unit(), ['a.json', 'b.json', 'c.json']), context, {
      ...deps(),
      concurrency: 1,
    });
    expect(report).toMatchObject({ objectsScanned: 3, objectsReencrypted: 1, objectsFailed: 2 });
    expect(report.failures.map((f) => f.key)).toEqual(['b.json', 'c.json']);
    expect(report.failures[0].error).toMatch(/^NotAttempted: /);
  });

  test('envelope: KMS throttling through the Encryption SDK (Decrypt and GenerateDataKey) is retried and counted', async () => {
    s.addFault({ service: 'kms', operation: 'Decrypt', error: 'ThrottlingException', times: 2 });
    s.addFault({ service: 'kms', operation: 'GenerateDataKey', error: 'ThrottlingException', times: 1 });
    const before = s.s3Object('sealed', 'e1.bin')!.envelope!.dataKeyFingerprint;
    const report = await reencryptBatch(
      batchOf(unit({ type: 'envelope', bucket: 'sealed' }), ['e1.bin']),
      plenty,
      deps(),
    );
    expect(report).toMatchObject({ type: 'envelope', objectsReencrypted: 1, objectsFailed: 0, throttlesRetried: 3 });
    expect(s.s3Object('sealed', 'e1.bin')!.envelope!.dataKeyFingerprint).not.toBe(before);
  });

  test('envelope: an object modified between read and write is not overwritten (CHANGED_DURING_RUN)', async () => {
    const racing = Object.create(c.s3) as typeof c.s3;
    racing.send = (async (cmd: Parameters<typeof c.s3.send>[0]) => {
      if (cmd instanceof PutObjectCommand && cmd.input.Key === 'e2.bin')
        await c.s3.send(new PutObjectCommand({ Bucket: 'sealed', Key: 'e2.bin', Body: 'theirs' }));
      return c.s3.send(cmd);
    }) as typeof c.s3.send;
    const report = await reencryptBatch(batchOf(unit({ type: 'envelope', bucket: 'sealed' }), ['e2.bin']), plenty, {
      ...deps(),
      s3: racing,
    });
    expect(report).toMatchObject({ objectsFailed: 1, objectsChangedDuringRun: 1, objectsReencrypted: 0 });
    expect(
      await (await c.s3.send(new GetObjectCommand({ Bucket: 'sealed', Key: 'e2.bin' }))).Body!.transformToString(),
    ).toBe('theirs');
  });
});

describe('KMS quota behind S3 (shared symmetric quota 6/s)', () => {
  let q: StandIn;
  let qc: ReturnType<typeof clients>;
  beforeAll(async () => {
    q = await startStandIn(
      world({
        keys: [{ id: KEY_ID }],
        quotas: { CryptographicOperationsSymmetric: 6 },
        buckets: [
          {
            name: 'orders',
            objects: ['a', 'b', 'c', 'd', 'e', 'f'].map((k) => ({ key: k, body: k, kmsKeyId: KEY_ID })),
          },
        ],
      }),
    );
    qc = clients(q);
  });
  afterAll(() => q.close());

  test('S3 answers 503 SlowDown when KMS throttles its data-key request; the batch retries, counts and finishes', async () => {
    // Direct: more copies in one burst than the quota holds.
    const copy = (key: string) =>
      qc.s3.send(
        new CopyObjectCommand({
          Bucket: 'orders',
          Key: key,
          CopySource: `orders/${key}`,
          ServerSideEncryption: 'aws:kms',
          SSEKMSKeyId: ARN,
          MetadataDirective: 'REPLACE',
        }),
      );
    const names = await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map((k) => errorName(copy(k)).catch(() => 'OK')));
    expect(names).toContain('SlowDown');
    expect(q.calls.find((x) => x.operation === 'CopyObject' && x.error === 'SlowDown')).toBeDefined();
    const throttled = q.counters().throttled;
    expect((throttled.GenerateDataKey?.[ARN] ?? 0) + (throttled.Decrypt?.[ARN] ?? 0)).toBeGreaterThan(0);
    // Through the batch, unpaced: throttles are retried with back-off, every object ends re-encrypted.
    const throttlesBefore = q.counters().throttles;
    const report = await reencryptBatch(batchOf(unit(), ['a', 'b', 'c', 'd', 'e', 'f']), plenty, {
      s3: qc.s3,
      retry: { maxAttempts: 20, baseMs: 100, capMs: 1000 },
    });
    expect(report).toMatchObject({ objectsReencrypted: 6, objectsFailed: 0 });
    expect(report.throttlesRetried).toBeGreaterThan(0);
    expect(q.counters().throttles - throttlesBefore).toBe(report.throttlesRetried);
  }, 20_000);
});
