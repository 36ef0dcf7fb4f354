import { createHash, createHmac, timingSafeEqual, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

/**
 * SigV4 for the front door (service `execute-api`): the CLI signs with the credentials it already
 * uses, and the local front door verifies by signing the same request again with the signer the
 * SDK uses (@smithy/signature-v4), so what passes offline is what API Gateway's IAM check accepts.
 */

type SourceData = string | ArrayBuffer | ArrayBufferView;

const bytes = (data: SourceData): Buffer =>
  typeof data === 'string' ? Buffer.from(data, 'utf8') : ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data);

/** SHA-256 (and HMAC-SHA-256 with a secret) from node:crypto, in the shape the signer takes. */
class NodeSha256 {
  private hash: Hash | Hmac;

  constructor(private readonly secret?: SourceData) {
    this.hash = this.fresh();
  }

  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }

  reset(): void {
    this.hash = this.fresh();
  }

  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(this.secret));
  }
}

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** A request as the signer sees it. */
export interface SignableRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: string;
}

/** The service name API Gateway verifies signatures for. */
export const EXECUTE_API = 'execute-api';

function signer(credentials: Credentials, region: string): SignatureV4 {
  return new SignatureV4({ credentials, region, service: EXECUTE_API, sha256: NodeSha256, uriEscapePath: true });
}

function httpRequest(req: SignableRequest) {
  return {
    method: req.method,
    protocol: req.url.protocol,
    hostname: req.url.hostname,
    port: req.url.port ? Number(req.url.port) : undefined,
    path: req.url.pathname,
    query: Object.fromEntries(req.url.searchParams.entries()),
    headers: { ...req.headers, host: req.url.host },
    body: req.body,
  };
}

/** The headers of `req` signed with `credentials` (Authorization, X-Amz-Date, the token if any). */
export async function signRequest(req: SignableRequest, credentials: Credentials, region: string, now = new Date()): Promise<Record<string, string>> {
  const signed = await signer(credentials, region).sign(httpRequest(req) as never, { signingDate: now });
  return (signed as unknown as { headers: Record<string, string> }).headers;
}

const AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;
/** AWS refuses a signature more than 5 minutes away from its clock. */
const MAX_SKEW_MS = 5 * 60_000;

/**
 * Verifies a signed request: the access key must be known (`secretOf`), the scope this Region and
 * execute-api, the date within 5 minutes, and the signature equal to the one the signer computes
 * for the same request. Returns the access key id, or why the request is refused.
 */
export async function verifySignature(
  req: SignableRequest,
  secretOf: (accessKeyId: string) => string | null,
  region: string,
  now = new Date(),
): Promise<{ accessKeyId: string } | { refused: string }> {
  const lower = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const m = AUTHORIZATION.exec(lower.authorization ?? '');
  if (!m) return { refused: 'MissingAuthenticationToken: no SigV4 Authorization header' };
  const [, accessKeyId, day, scopeRegion, service, signedHeaders, signature] = m;
  const secret = secretOf(accessKeyId);
  if (secret === null) return { refused: 'UnrecognizedClientException: the security token included in the request is invalid' };
  if (scopeRegion !== region || service !== EXECUTE_API) return { refused: `InvalidSignatureException: credential scope ${scopeRegion}/${service}, expected ${region}/${EXECUTE_API}` };
  const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(lower['x-amz-date'] ?? '');
  if (!date || !date[0].startsWith(day)) return { refused: 'IncompleteSignatureException: X-Amz-Date missing or not the credential scope\'s day' };
  const signingDate = new Date(Date.UTC(+date[1], +date[2] - 1, +date[3], +date[4], +date[5], +date[6]));
  if (Math.abs(now.getTime() - signingDate.getTime()) > MAX_SKEW_MS) return { refused: 'InvalidSignatureException: Signature expired' };
  // Sign again, with exactly the headers the caller signed.
  const names = signedHeaders.split(';');
  const headers = Object.fromEntries(names.filter((n) => n !== 'host' && lower[n] !== undefined).map((n) => [n, lower[n]]));
  const again = await signRequest({ ...req, headers }, { accessKeyId, secretAccessKey: secret, sessionToken: lower['x-amz-security-token'] }, region, signingDate);
  const expected = /Signature=([0-9a-f]{64})/.exec(Object.entries(again).find(([k]) => k.toLowerCase() === 'authorization')?.[1] ?? '')?.[1] ?? '';
  const same = expected.length === signature.length && timingSafeEqual(Buffer.from(expected), Buffer.from(signature));
  return same ? { accessKeyId } : { refused: 'InvalidSignatureException: the request signature does not match' };
}
