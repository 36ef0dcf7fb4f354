import { S3Client } from '@aws-sdk/client-s3';
import { KmsKeyringNode } from '@aws-crypto/client-node';
import { taskHandler } from '../adapters/lambda-handler';
import { reencryptObjects, type ReencryptTarget } from '../adapters/s3-reencrypt';
import { parseKmsArn } from '../domain/arn';
import type { TargetReport } from '../domain/reencryption';

/**
 * ReencryptObjects (issue 11, not yet in the state machine): re-encrypt one batch of a target's
 * objects under new data keys of the rotated key and return the target's report. A later change
 * runs it as the Distributed Map's item processor.
 */
interface ReencryptObjectsInput {
  target: ReencryptTarget;
  keyArn: string;
  objects: string[];
}

const s3Clients = new Map<string, S3Client>();
function s3Client(region: string): S3Client {
  let c = s3Clients.get(region);
  if (!c) s3Clients.set(region, (c = new S3Client({ region })));
  return c;
}

export const handler = taskHandler('reencrypt-objects', async (input: ReencryptObjectsInput): Promise<TargetReport> => {
  const region = parseKmsArn(input.keyArn)?.region ?? process.env.AWS_REGION ?? 'us-east-1';
  // The keyring names only the rotated key: it neither decrypts nor encrypts under any other.
  const keyring = input.target.type === 'envelope' ? new KmsKeyringNode({ generatorKeyId: input.keyArn }) : undefined;
  return reencryptObjects({ s3: s3Client(region), keyring }, input.target, input.keyArn, input.objects);
});
