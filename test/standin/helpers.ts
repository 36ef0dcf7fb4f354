import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { parseWorld, type World } from '../../local/world';
import type { StandIn } from '../../local/standin';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { TEST_CREDENTIALS } from '../../local/iam';

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

type Data = string | ArrayBuffer | ArrayBufferView;
const bytes = (d: Data) =>
  typeof d === 'string'
    ? Buffer.from(d)
    : ArrayBuffer.isView(d)
      ? Buffer.from(d.buffer, d.byteOffset, d.byteLength)
      : Buffer.from(d);

/** SHA-256 / HMAC-SHA-256 in the shape the SDK's signer takes. */
class Sha256 {
  private h: Hash | Hmac;
  constructor(private readonly secret?: Data) {
    this.h = this.fresh();
  }
  update(d: Data): void {
    this.h.update(bytes(d));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.h.digest()));
  }
  reset(): void {
    this.h = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(this.secret));
  }
}

/**
 * `headers` signed (SigV4, the SDK's own signer) as `signer` (default the test administrator),
 * for hand-made wire requests to `endpoint` (path `/`).
 */
export async function signed(
  endpoint: string,
  service: string,
  headers: Record<string, string>,
  body: string,
  signer: { accessKeyId: string; secretAccessKey: string } = credentials,
  region = 'us-east-1',
): Promise<Record<string, string>> {
  const url = new URL(endpoint);
  const sig = new SignatureV4({
    credentials: signer,
    region,
    service,
    sha256: Sha256,
    uriEscapePath: service !== 's3',
  });
  const request = {
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: '/',
    query: {},
    headers: { ...headers, host: url.host },
    body,
  };
  const out = (await sig.sign(request as never)) as unknown as { headers: Record<string, string> };
  return out.headers;
}

/**
 * `fetch` of a hand-made wire request, signed (SigV4) as the test administrator for `service`:
 * the stand-in authenticates every request, so raw requests must be signed like the SDK's.
 */
export async function signedFetch(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
  service = 's3',
  region = 'us-east-1',
): Promise<Response> {
  const u = new URL(url);
  const method = init.method ?? 'GET';
  const body = init.body ?? '';
  const sig = new SignatureV4({ credentials, region, service, sha256: Sha256, uriEscapePath: service !== 's3' });
  const query: Record<string, string> = {};
  u.searchParams.forEach((v, k) => (query[k] = v));
  const request = {
    method,
    protocol: u.protocol,
    hostname: u.hostname,
    port: Number(u.port),
    path: decodeURIComponent(u.pathname),
    query,
    headers: { ...(init.headers ?? {}), host: u.host },
    body,
  };
  const out = (await sig.sign(request as never)) as unknown as { headers: Record<string, string> };
  const { host: _host, ...headers } = out.headers;
  return fetch(url, { method, headers, body: method === 'GET' || method === 'HEAD' ? undefined : body });
}
