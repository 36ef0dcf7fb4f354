import { getClient, KMS, KmsKeyringNode } from '@aws-crypto/client-node';
import type { Context } from 'aws-lambda';
import { cachedClient } from '../adapters/clients';
import { s3ClientWithoutRetries } from '../adapters/s3-client';
import { taskHandler } from '../adapters/lambda-handler';
import { reencryptObjects, type ReencryptDeps } from '../adapters/s3-reencrypt';
import { parseKmsArn } from '../domain/arn';
import type { ReencryptBatchInput, TargetReport } from '../domain/reencryption';

/**
 * ReencryptObjects (issue 11): the Distributed Map child's task. Re-encrypts one batch of a
 * target's objects under new data keys of the rotated key, paced to the batch's KMS rate, and
 * returns the batch's TargetReport (SummarizeReencryption sums them from the ResultWriter files).
 */

/** Stop starting objects with less than this left: an object in flight (a 5 GiB copy) must finish before the function times out. */
export const STOP_STARTING_MS = 30_000;

/**
 * KMS clients for the Encryption SDK's keyring, without SDK retries for the same reason; one per
 * Region and endpoint (cachedClient), not the SDK's cacheClients (per Region only), so that local
 * runs against a new stand-in get a new client.
 */
const newKmsClient = getClient(KMS, { maxAttempts: 1 });
const kmsClients = (region: string) => cachedClient('KMS', region, 'encryption-sdk', () => newKmsClient(region));

/** Re-encrypt a batch; `deps` lets tests pass stand-in clients and a fake clock. */
export async function reencryptBatch(input: ReencryptBatchInput, context: Pick<Context, 'getRemainingTimeInMillis'>, deps?: Partial<ReencryptDeps>): Promise<TargetReport> {
  const { unit, kmsRequestsPerSecond, upgradeEnvelopeSuite } = input.BatchInput;
  const region = parseKmsArn(unit.keyArn)?.region ?? process.env.AWS_REGION ?? 'us-east-1';
  // The keyring names only the rotated key: it decrypts only that key's data keys; the rewrite also wraps for the message's other KMS keys.
  const keyring = unit.type === 'envelope' ? new KmsKeyringNode({ generatorKeyId: unit.keyArn, clientProvider: kmsClients }) : undefined;
  const report = await reencryptObjects(
    {
      // S3 in the key's Region, SDK retries off (s3-client.ts).
      s3: s3ClientWithoutRetries(region),
      keyring,
      upgradeEnvelopeSuite: upgradeEnvelopeSuite ?? false,
      kmsRequestsPerSecond,
      canStart: () => context.getRemainingTimeInMillis() >= STOP_STARTING_MS,
      ...deps,
    },
    { type: unit.type, bucket: unit.bucket, prefix: unit.prefix },
    unit.keyArn,
    input.Items.map((i) => i.key),
  );
  return { ...report, type: unit.type, bucket: unit.bucket, prefix: unit.prefix, keyArn: unit.keyArn, origin: unit.origin, batches: 1 };
}

export const handler = taskHandler('reencrypt-objects', (input: ReencryptBatchInput, context: Context) => reencryptBatch(input, context), { callsKms: true });
