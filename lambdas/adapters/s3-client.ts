import { S3Client } from '@aws-sdk/client-s3';
import { cachedClient } from './clients';

/** Path-style addressing only where a custom endpoint is set (the local stand-in serves `/bucket/key`). */
function pathStyle(): boolean {
  return !!(process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL);
}

/** S3 for this Region (see clients.ts). */
export function s3Client(region: string): S3Client {
  return cachedClient('S3', region, 'default', () => new S3Client({ region, forcePathStyle: pathStyle() }));
}

/**
 * S3 with SDK retries OFF, for re-encryption: the adapter is the only retry loop for throttles
 * (it paces, backs off with jitter and counts them; the SDK would retry them unseen).
 */
export function s3ClientWithoutRetries(region: string): S3Client {
  return cachedClient(
    'S3',
    region,
    'no-retries',
    () => new S3Client({ region, maxAttempts: 1, forcePathStyle: pathStyle() }),
  );
}
