import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { parseWorld, type World } from '../../local/world';
import type { StandIn } from '../../local/standin';
import { signSigV4, TEST_CREDENTIALS } from '../../local/iam';

/** The stand-in's test administrator (local/iam): these tests inspect the stand-in itself. */
export const credentials = { ...TEST_CREDENTIALS };

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

/** `headers` plus a valid SigV4 signature of the test administrator, for hand-made wire requests. */
export function signed(endpoint: string, service: string, headers: Record<string, string>, body: string, method = 'POST', region = 'us-east-1'): Record<string, string> {
  return signSigV4({ method, url: new URL(endpoint), headers, body }, service, credentials, region);
}
