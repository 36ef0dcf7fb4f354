import { CopyObjectCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { startStandIn, type StandIn } from '../../local/standin';
import { reencryptObjects } from '../../lambdas/adapters/reencryption/s3-reencrypt';
import { clients, KEY_ID, world } from './helpers';

/**
 * A connection reset ("socket hang up", ECONNRESET) on the copy. The handler's clients run with SDK
 * retries off, so the re-encryption's own loop must retry it. Before the request reached S3, the
 * retry re-encrypts the object. After S3 applied it (the answer lost), what the retry meets depends
 * on whether the in-place copy changed the ETag, which S3 does not document for SSE-KMS objects:
 * the same ETag lets the conditional retry copy the same bytes again (re-encrypted, truly); a new
 * ETag refuses it (412) and the object is reported, never claimed. Both answers are tested.
 */
const ARN = `arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}`;
const FAST = { maxAttempts: 3, baseMs: 1, capMs: 5 };
let s: StandIn;
let s3: S3Client;

beforeAll(async () => {
  s = await startStandIn(
    world({
      keys: [{ id: KEY_ID }],
      buckets: [
        {
          name: 'orders',
          objects: [
            { key: 'before.json', body: '{"order":1}', kmsKeyId: KEY_ID },
            { key: 'after.json', body: '{"order":2}', kmsKeyId: KEY_ID },
            { key: 'refused.json', body: '{"order":3}', kmsKeyId: KEY_ID },
          ],
        },
      ],
    }),
    { speed: 1000 },
  );
  s3 = clients(s).s3;
});
afterAll(() => s.close());

/**
 * Resets the first CopyObject of `key`: before it is sent, or after S3 answered (the answer lost).
 * `etagChanges`: later copies of `key` meet a 412, as if the applied copy had changed the ETag.
 */
function resetFirstCopy(key: string, when: 'before-send' | 'after-apply', etagChanges = false): () => number {
  let resets = 0;
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Key?: string };
      if (context.commandName !== CopyObjectCommand.name || input.Key !== key) return next(args);
      if (resets > 0) {
        if (!etagChanges) return next(args);
        throw Object.assign(new Error('At least one of the pre-conditions you specified did not hold'), {
          name: 'PreconditionFailed',
          $metadata: { httpStatusCode: 412 },
        });
      }
      resets++;
      if (when === 'after-apply') await next(args);
      throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    },
    { step: 'finalizeRequest', name: `reset-${key}` },
  );
  return () => resets;
}

const bodyOf = async (key: string) =>
  (await clients(s).s3.send(new GetObjectCommand({ Bucket: 'orders', Key: key }))).Body!.transformToString();

test('reset before the copy reached S3: retried, re-encrypted, bytes kept', async () => {
  // Given
  const before = s.s3Object('orders', 'before.json')!;
  const resets = resetFirstCopy('before.json', 'before-send');

  // When
  const report = await reencryptObjects({ s3, retry: FAST }, { type: 's3-sse-kms', bucket: 'orders' }, ARN, [
    'before.json',
  ]);

  // Then
  expect(resets()).toBe(1);
  expect(report).toMatchObject({ objectsReencrypted: 1, objectsFailed: 0 });
  const after = s.s3Object('orders', 'before.json')!;
  expect(after.dataKeyFingerprint).not.toBe(before.dataKeyFingerprint);
  expect(await bodyOf('before.json')).toBe('{"order":1}');
});

test('reset after S3 applied the copy, ETag unchanged: the retry copies the same bytes again, truly re-encrypted', async () => {
  // Given
  const before = s.s3Object('orders', 'after.json')!;
  const resets = resetFirstCopy('after.json', 'after-apply');

  // When
  const report = await reencryptObjects({ s3, retry: FAST }, { type: 's3-sse-kms', bucket: 'orders' }, ARN, [
    'after.json',
  ]);

  // Then
  expect(resets()).toBe(1);
  expect(report).toMatchObject({ objectsReencrypted: 1, objectsFailed: 0 });
  expect(s.s3Object('orders', 'after.json')!.dataKeyFingerprint).not.toBe(before.dataKeyFingerprint);
  expect(await bodyOf('after.json')).toBe('{"order":2}');
});

test('reset after S3 applied the copy, ETag changed: the retry is refused and reported, never claimed', async () => {
  // Given
  const before = s.s3Object('orders', 'refused.json')!;
  const resets = resetFirstCopy('refused.json', 'after-apply', true);

  // When
  const report = await reencryptObjects({ s3, retry: FAST }, { type: 's3-sse-kms', bucket: 'orders' }, ARN, [
    'refused.json',
  ]);

  // Then: the first copy landed (new data key, same bytes); the report does not claim it.
  expect(resets()).toBe(1);
  expect(report).toMatchObject({ objectsReencrypted: 0, objectsFailed: 1 });
  expect(s.s3Object('orders', 'refused.json')!.dataKeyFingerprint).not.toBe(before.dataKeyFingerprint);
  expect(await bodyOf('refused.json')).toBe('{"order":3}');
});
