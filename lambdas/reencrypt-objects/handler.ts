import { getClient, KMS, KmsKeyringNode } from '@aws-crypto/client-node';
import type { Context } from 'aws-lambda';
import { cachedClient } from '../adapters/clients';
import { loadReencryptObjectsConfig } from '../adapters/config';
import { s3ClientWithoutRetries } from '../adapters/s3-client';
import { taskHandler } from '../adapters/lambda-handler';
import { realClock } from '../adapters/reencryption/pacing';
import { reencryptObjects, type ReencryptDeps } from '../adapters/reencryption/s3-reencrypt';
import { parseKmsArn } from '../domain/arn';
import { EXPRESS_CHILD_MS, type ReencryptBatchInput, type TargetReport } from '../domain/reencryption';

/**
 * ReencryptObjects: the Distributed Map child's task. Re-encrypts one batch of a
 * target's objects under new data keys of the rotated key, paced to the per-child KMS rate of its
 * environment (adapters/config.ts loadReencryptObjectsConfig), and returns the batch's
 * TargetReport (SummarizeReencryption sums them from the ResultWriter files).
 */

/** Stop starting objects with less than this left: an object in flight (a 5 GiB copy) must finish before the function times out. */
export const STOP_STARTING_MS = 30_000;

/**
 * Time left to this batch: the function's own remaining time, or the Express child's deadline (5
 * minutes from the CHILD's start, which precedes the function's start by the child's earlier
 * attempts and retry waits), whichever comes first. A child past its deadline fails with
 * States.Timeout and all its items count as failed, so no object may start that cannot end before it.
 */
export function batchRemainingMs(
  context: Pick<Context, 'getRemainingTimeInMillis'>,
  childStartedAt: string | undefined,
  now: number,
): number {
  const lambdaLeft = context.getRemainingTimeInMillis();
  const started = childStartedAt === undefined ? NaN : Date.parse(childStartedAt);
  // Without a readable start the function's own deadline is all there is (the definition always passes it).
  return Number.isFinite(started) ? Math.min(lambdaLeft, started + EXPRESS_CHILD_MS - now) : lambdaLeft;
}

/**
 * KMS clients for the Encryption SDK's keyring, without SDK retries for the same reason; one per
 * Region and endpoint (cachedClient), not the SDK's cacheClients (per Region only), so that local
 * runs against a new stand-in get a new client.
 */
const newKmsClient = getClient(KMS, { maxAttempts: 1 });
const kmsClients = (region: string) => cachedClient('KMS', region, 'encryption-sdk', () => newKmsClient(region));

/**
 * Re-encrypt a batch. `deps` carries what the handler reads from its environment (the per-child
 * KMS rate, the suite upgrade: without them the batch is unpaced and keeps legacy suites), and
 * lets tests pass stand-in clients and a fake clock.
 */
export async function reencryptBatch(
  input: ReencryptBatchInput,
  context: Pick<Context, 'getRemainingTimeInMillis'>,
  deps?: Partial<ReencryptDeps>,
): Promise<TargetReport> {
  const { unit, grantToken } = input.BatchInput;
  const region = parseKmsArn(unit.keyArn)?.region ?? process.env.AWS_REGION ?? 'us-east-1';
  // The keyring names only the rotated key: it decrypts only that key's data keys; the rewrite also wraps for the message's other KMS keys.
  const keyring =
    unit.type === 'envelope'
      ? new KmsKeyringNode({
          generatorKeyId: unit.keyArn,
          clientProvider: kmsClients,
          // The role's only right on the rotated key is the run's grant: usable at once with its token.
          grantTokens: grantToken ? [grantToken] : undefined,
        })
      : undefined;
  const report = await reencryptObjects(
    {
      // S3 in the key's Region, SDK retries off (s3-client.ts).
      s3: s3ClientWithoutRetries(region),
      keyring,
      canStart: () =>
        batchRemainingMs(context, input.childStartedAt, (deps?.clock ?? realClock).now()) >= STOP_STARTING_MS,
      ...deps,
    },
    { type: unit.type, bucket: unit.bucket, prefix: unit.prefix },
    unit.keyArn,
    input.Items.map((i) => i.key),
  );
  return {
    ...report,
    type: unit.type,
    bucket: unit.bucket,
    prefix: unit.prefix,
    keyArn: unit.keyArn,
    origin: unit.origin,
    batches: 1,
  };
}

export const handler = taskHandler(
  'reencrypt-objects',
  // Read on every invocation, as loadConfig is: a local run may change the settings between executions.
  (input: ReencryptBatchInput, context: Context) => reencryptBatch(input, context, loadReencryptObjectsConfig()),
  { callsKms: true },
);
