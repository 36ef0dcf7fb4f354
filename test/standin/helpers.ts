import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { parseWorld, type World } from '../../local/world';
import type { StandIn } from '../../local/standin';

export const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** Real SDK clients pointed at the stand-in. maxAttempts 1 so every error is seen as sent. */
export function clients(s: StandIn, region = 'us-east-1', maxAttempts = 1) {
  const base = { endpoint: s.endpoint, region, credentials, maxAttempts };
  return {
    kms: new KMSClient(base),
    sns: new SNSClient(base),
    s3: new S3Client({ ...base, forcePathStyle: true }),
  };
}

export function world(raw: Record<string, unknown>): World {
  return parseWorld(raw, 'test-world.json');
}

export const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The error name a promise rejects with (fails the test if it resolves). */
export async function errorName(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).name;
  }
  throw new Error('expected the call to fail, but it succeeded');
}
