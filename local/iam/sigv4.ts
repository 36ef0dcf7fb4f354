import { createHash, createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

/**
 * Signature Version 4 verification as AWS documents it ("Create a signed AWS API request", IAM
 * User Guide): the canonical request, the string to sign and the signing key are computed from
 * the request as received, independently of the SDK's signer, so a client that signs wrongly
 * fails here as it would against AWS.
 */

/** A request as received. */
export interface ReceivedRequest {
  method: string;
  /** The request target as sent (path and query, still URI-encoded), e.g. `/bucket/a%20b?uploads`. */
  rawPath: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer | string;
}

/** Why a signature is refused; `code` is the generic reason, mapped to each service's error. */
export class SignatureRefused extends Error {
  constructor(
    readonly reason: 'missing' | 'unknown-key' | 'mismatch' | 'incomplete' | 'expired' | 'scope' | 'content-sha256',
    message: string,
  ) {
    super(message);
    this.name = 'SignatureRefused';
  }
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;
/** AWS refuses a request signed more than 5 minutes away from its clock. */
const MAX_SKEW_MS = 5 * 60_000;
const hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/** RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ percent-encoded, upper-case hex. */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, '%20'));
  } catch {
    return s;
  }
}

/**
 * The canonical URI: S3 uses the path as sent (encoded once); every other service encodes each
 * segment of the sent path again (the documented double encoding), after normalizing the path.
 */
function canonicalUri(path: string, service: string): string {
  if (!path) return '/';
  if (service === 's3') return path;
  return path
    .split('/')
    .map((segment) => uriEncode(segment))
    .join('/');
}

function canonicalQuery(query: string): string {
  if (!query) return '';
  const pairs = query
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const eq = p.indexOf('=');
      const [k, v] = eq < 0 ? [p, ''] : [p.slice(0, eq), p.slice(eq + 1)];
      return [uriEncode(safeDecode(k)), uriEncode(safeDecode(v))] as const;
    })
    .filter(([k]) => k !== 'X-Amz-Signature');
  pairs.sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function headerValue(v: string | string[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  return (Array.isArray(v) ? v : [v]).map((x) => x.trim().replace(/\s+/g, ' ')).join(',');
}

/** The SigV4 signature of a canonical request (the documented four steps). */
function signature(r: {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string | string[] | undefined>;
  signedHeaders: string[];
  payloadHash: string;
  amzDate: string;
  region: string;
  service: string;
  secret: string;
}): string {
  const canonical = [
    r.method.toUpperCase(),
    canonicalUri(r.path, r.service),
    canonicalQuery(r.query),
    r.signedHeaders.map((h) => `${h}:${headerValue(r.headers[h])}\n`).join(''),
    r.signedHeaders.join(';'),
    r.payloadHash,
  ].join('\n');
  const day = r.amzDate.slice(0, 8);
  const scope = `${day}/${r.region}/${r.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', r.amzDate, scope, hex(canonical)].join('\n');
  return createHmac('sha256', signingKey(r.secret, day, r.region, r.service))
    .update(stringToSign, 'utf8')
    .digest('hex');
}

/**
 * Derived signing keys by everything they are derived from (secret, day, Region, service), as the
 * SDK's signer caches them: the four HMACs of the derivation, with a Buffer key each, cost most of
 * a verification. A key object, because an HMAC keyed by a Buffer prepares the key anew on every
 * call. Bounded: cleared when full (a new day or a rotated secret is a new entry, never a stale hit).
 */
const signingKeys = new Map<string, KeyObject>();
const MAX_SIGNING_KEYS = 1000;

function signingKey(secret: string, day: string, region: string, service: string): KeyObject {
  const id = JSON.stringify([secret, day, region, service]);
  let key = signingKeys.get(id);
  if (!key) {
    if (signingKeys.size >= MAX_SIGNING_KEYS) signingKeys.clear();
    key = createSecretKey(hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), service), 'aws4_request'));
    signingKeys.set(id, key);
  }
  return key;
}

/** The signed request's access key and scope, or a refusal (no Authorization header, malformed). */
export function credentialOf(headers: ReceivedRequest['headers']): {
  accessKeyId: string;
  day: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
} {
  const authorization = headerValue(headers.authorization);
  if (!authorization) throw new SignatureRefused('missing', 'Missing Authentication Token');
  const m = AUTHORIZATION.exec(authorization);
  if (!m)
    throw new SignatureRefused(
      'incomplete',
      `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters (AWS4-HMAC-SHA256).`,
    );
  const [, accessKeyId, day, region, service, signedHeaders, signature] = m;
  return { accessKeyId, day, region, service, signedHeaders: signedHeaders.split(';'), signature };
}

/**
 * Verifies `req`'s SigV4 signature for `service` with the caller's secret. `secretOf` answers
 * null for an unknown access key. Returns the access key id and the signing Region.
 */
export function verifySigV4(
  req: ReceivedRequest,
  service: string,
  secretOf: (accessKeyId: string) => string | null,
  now = new Date(),
): { accessKeyId: string; region: string } {
  const cred = credentialOf(req.headers);
  const secret = secretOf(cred.accessKeyId);
  if (secret === null)
    throw new SignatureRefused('unknown-key', 'The security token included in the request is invalid.');
  if (cred.service !== service)
    throw new SignatureRefused('scope', `Credential should be scoped to correct service: '${service}'.`);
  if (!cred.signedHeaders.includes('host')) throw new SignatureRefused('incomplete', "'Host' must be a signed header.");
  const lower: Record<string, string | string[] | undefined> = Object.fromEntries(
    Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v]),
  );
  const amzDate = headerValue(lower['x-amz-date']) ?? '';
  const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!date)
    throw new SignatureRefused(
      'incomplete',
      "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    );
  if (!amzDate.startsWith(cred.day))
    throw new SignatureRefused(
      'mismatch',
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${cred.day}' != '${amzDate.slice(0, 8)}'.`,
    );
  const signedAt = Date.UTC(+date[1], +date[2] - 1, +date[3], +date[4], +date[5], +date[6]);
  if (Math.abs(now.getTime() - signedAt) > MAX_SKEW_MS)
    throw new SignatureRefused(
      'expired',
      `Signature expired: ${amzDate} is now earlier or later than the server time by more than 5 minutes.`,
    );
  const body = typeof req.body === 'string' ? Buffer.from(req.body, 'utf8') : req.body;
  const declared = headerValue(lower['x-amz-content-sha256']);
  // S3 checks a declared payload hash against the body it received (XAmzContentSHA256Mismatch).
  if (declared && /^[0-9a-f]{64}$/.test(declared) && declared !== hex(body)) {
    throw new SignatureRefused(
      'content-sha256',
      "The provided 'x-amz-content-sha256' header does not match what was computed.",
    );
  }
  const payloadHash = declared ?? hex(body);
  const q = req.rawPath.indexOf('?');
  const path = q < 0 ? req.rawPath : req.rawPath.slice(0, q);
  const query = q < 0 ? '' : req.rawPath.slice(q + 1);
  const headers = [...cred.signedHeaders].sort();
  const missing = headers.find((h) => lower[h] === undefined);
  if (missing)
    throw new SignatureRefused(
      'mismatch',
      `The request signature we calculated does not match the signature you provided (signed header ${missing} is absent).`,
    );
  const expected = signature({
    method: req.method,
    path,
    query,
    headers: lower,
    signedHeaders: headers,
    payloadHash,
    amzDate,
    region: cred.region,
    service,
    secret,
  });
  if (!timingSafeEqual(Buffer.from(expected), Buffer.from(cred.signature))) {
    throw new SignatureRefused(
      'mismatch',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    );
  }
  return { accessKeyId: cred.accessKeyId, region: cred.region };
}
