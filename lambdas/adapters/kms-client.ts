import { KMSClient } from '@aws-sdk/client-kms';
import { cachedClient } from './clients';

/** KMS for this Region (see clients.ts). */
export function kmsClient(region: string): KMSClient {
  return cachedClient('KMS', region, 'default', () => new KMSClient({ region }));
}

/**
 * KMS with SDK retries OFF, for RotateKeyOnDemand only: an SDK retry after a lost response could
 * start a second rotation. Step Functions retries the whole Rotate task instead, behind its guard.
 */
export function kmsClientWithoutRetries(region: string): KMSClient {
  return cachedClient('KMS', region, 'no-retries', () => new KMSClient({ region, maxAttempts: 1 }));
}
