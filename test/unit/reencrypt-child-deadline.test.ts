import { batchRemainingMs, reencryptBatch, STOP_STARTING_MS } from '../../lambdas/reencrypt-objects/handler';
import { EXPRESS_CHILD_MS, type ReencryptBatchInput } from '../../lambdas/domain/reencryption';

/**
 * ReencryptObjects stops starting objects by the Express child's own deadline (5 minutes from the
 * CHILD's start), not only by the function's remaining time: a child whose first attempt failed
 * starts the function again later, with the child's clock already running.
 */

const ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const NOW = Date.parse('2026-12-04T12:00:00.000Z');
const clock = { now: () => NOW, sleep: async () => undefined };
/** A fresh function invocation: 280 s left, far more than the child may still run. */
const freshFunction = { getRemainingTimeInMillis: () => 280_000 };

function batch(childStartedAt: string | undefined): ReencryptBatchInput {
  return {
    BatchInput: {
      unit: { type: 's3-sse-kms', bucket: 'orders', prefix: '', keyArn: ARN, origin: 'request' },
    },
    Items: ['a', 'b', 'c'].map((key) => ({ key, size: 1, etag: '"x"' })),
    childStartedAt,
  };
}

/** An S3 client that answers every HEAD with an SSE-S3 object (skipped): counts what was started. */
function countingS3() {
  const sent: string[] = [];
  const s3 = {
    send: async (command: { constructor: { name: string } }) => (
      sent.push(command.constructor.name),
      { ServerSideEncryption: 'AES256', ContentLength: 1 }
    ),
  };
  return { sent, s3: s3 as never };
}

const startedAgo = (ms: number) => new Date(NOW - ms).toISOString();

test('the time left is the earlier of the function timeout and the child deadline', () => {
  expect(batchRemainingMs(freshFunction, startedAgo(250_000), NOW)).toBe(EXPRESS_CHILD_MS - 250_000);
  expect(batchRemainingMs(freshFunction, startedAgo(1_000), NOW)).toBe(280_000);
  expect(batchRemainingMs(freshFunction, undefined, NOW)).toBe(280_000);
});

test('a child started 4m40s ago starts no object, however much time the function has', async () => {
  const { sent, s3 } = countingS3();
  const report = await reencryptBatch(batch(startedAgo(EXPRESS_CHILD_MS - STOP_STARTING_MS + 10_000)), freshFunction, {
    s3,
    clock,
  });
  expect(sent).toEqual([]);
  expect(report).toMatchObject({ objectsScanned: 3, objectsFailed: 3 });
  expect(report.failures[0]!.error).toMatch(/^NotAttempted/);
});

test('a child started 4 minutes ago (60 s left) still starts its objects', async () => {
  const { sent, s3 } = countingS3();
  const report = await reencryptBatch(batch(startedAgo(240_000)), freshFunction, { s3, clock });
  // Besides the objects' HEADs: the batch asks GetBucketVersioning once (older versions under the key).
  expect(sent.filter((c) => c !== 'GetBucketVersioningCommand')).toEqual([
    'HeadObjectCommand',
    'HeadObjectCommand',
    'HeadObjectCommand',
  ]);
  expect(report).toMatchObject({ objectsScanned: 3, objectsSkipped: 3, objectsFailed: 0 });
});
