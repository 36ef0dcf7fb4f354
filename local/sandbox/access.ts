import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { WorldPerson } from '../world';

/**
 * Who may call the sandbox's own services (sts, states, cloudformation) and what they may do.
 * The shape mirrors the offline IAM (`createAccountIam`): `verify` checks a request's SigV4
 * signature for a service and names the signing principal; `authorize` decides one action on one
 * resource. `localAccess` is the stand-in used until that IAM is wired in.
 */
export interface SandboxAccess {
  verify(request: SignedRequest, service: string): Promise<{ principal: SandboxPrincipal } | { refused: { code: string; message: string } }>;
  authorize(principal: SandboxPrincipal, action: string, resource: string): { allowed: true } | { allowed: false; message: string };
}

/** A verified caller: what STS GetCallerIdentity answers for it. */
export interface SandboxPrincipal {
  arn: string;
  account: string;
  userId: string;
  accessKeyId: string;
}

/** A request as it arrived (headers lower-case, as node gives them). */
export interface SignedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** A principal with its keys: a person of the world, or a role of the stack the sandbox acts as. */
export interface KeyHolder {
  arn: string;
  accessKeyId: string;
  secretAccessKey: string;
}

const AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;
/** AWS refuses a signature more than 5 minutes away from its clock (SigV4 docs: "Signature expired"). */
const MAX_SKEW_MS = 5 * 60_000;

/** The credential scope of a SigV4 Authorization header, or null when there is none. */
export function credentialScope(authorization: string | undefined): { accessKeyId: string; day: string; region: string; service: string } | null {
  const m = AUTHORIZATION.exec(authorization ?? '');
  return m ? { accessKeyId: m[1], day: m[2], region: m[3], service: m[4] } : null;
}

type Data = string | ArrayBuffer | ArrayBufferView;
const toBuffer = (d: Data): Buffer => (typeof d === 'string' ? Buffer.from(d) : ArrayBuffer.isView(d) ? Buffer.from(d.buffer, d.byteOffset, d.byteLength) : Buffer.from(d));

/** SHA-256 / HMAC-SHA-256 from node:crypto in the shape @smithy/signature-v4 takes. */
class Sha256 {
  private parts: Buffer[] = [];
  constructor(private readonly secret?: Data) {}
  update(data: Data): void {
    this.parts.push(toBuffer(data));
  }
  digest(): Promise<Uint8Array> {
    const h = this.secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(this.secret));
    for (const p of this.parts) h.update(p);
    return Promise.resolve(new Uint8Array(h.digest()));
  }
  reset(): void {
    this.parts = [];
  }
}

/**
 * Verifies a SigV4 request for `service` by signing it again with the SDK's own signer and the
 * holder's secret: the key must be known, the scope this Region and service, X-Amz-Date within 5
 * minutes, and the signature equal.
 */
export async function verifySigV4(req: SignedRequest, service: string, region: string, holderOf: (accessKeyId: string) => KeyHolder | null, now = new Date()) {
  const h = req.headers;
  const m = AUTHORIZATION.exec(h.authorization ?? '');
  if (!m) return refuse('MissingAuthenticationToken', 'Missing Authentication Token');
  const [, accessKeyId, day, scopeRegion, scopeService, signedHeaders, signature] = m;
  const holder = holderOf(accessKeyId);
  if (!holder) return refuse('UnrecognizedClientException', 'The security token included in the request is invalid.');
  if (scopeRegion !== region || scopeService !== service) {
    return refuse('InvalidSignatureException', `Credential should be scoped to a valid region and service: expected ${region}/${service}, got ${scopeRegion}/${scopeService}.`);
  }
  const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(h['x-amz-date'] ?? '');
  if (!date || !date[0].startsWith(day)) return refuse('IncompleteSignatureException', 'X-Amz-Date is missing or not the credential scope\'s date.');
  const signingDate = new Date(Date.UTC(+date[1], +date[2] - 1, +date[3], +date[4], +date[5], +date[6]));
  if (Math.abs(now.getTime() - signingDate.getTime()) > MAX_SKEW_MS) return refuse('InvalidSignatureException', 'Signature expired.');
  const url = new URL(req.path, `http://${h.host ?? 'localhost'}`);
  const headers = Object.fromEntries(signedHeaders.split(';').filter((n) => h[n] !== undefined).map((n) => [n, h[n]]));
  const signer = new SignatureV4({ credentials: { accessKeyId, secretAccessKey: holder.secretAccessKey }, region, service, sha256: Sha256, uriEscapePath: service !== 's3' });
  const again = await signer.sign(
    { method: req.method, protocol: 'http:', hostname: url.hostname, port: url.port ? Number(url.port) : undefined, path: url.pathname, query: Object.fromEntries(url.searchParams), headers, body: req.body } as never,
    { signingDate },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String((again as unknown as { headers: Record<string, string> }).headers.authorization ?? ''))?.[1] ?? '';
  const same = expected.length === signature.length && timingSafeEqual(Buffer.from(expected), Buffer.from(signature));
  if (!same) return refuse('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
  return { holder };
}

function refuse(code: string, message: string) {
  return { refused: { code, message } } as const;
}

/**
 * The principal id STS gives an assumed role's session: `<role id>:<session name>`. Role ids are
 * opaque (AROA + 17 characters); the sandbox derives a stable one from the role's ARN.
 */
export function userIdOf(arn: string, account: string): string {
  const assumed = /^arn:[^:]+:sts::\d{12}:assumed-role\/([^/]+)\/(.+)$/.exec(arn);
  const id = (prefix: string, seed: string) => `${prefix}${createHash('sha256').update(seed).digest('hex').toUpperCase().replace(/[^A-Z0-9]/g, '').slice(0, 17)}`;
  if (assumed) return `${id('AROA', `${account}/${assumed[1]}`)}:${assumed[2]}`;
  if (/:user\//.test(arn)) return id('AIDA', arn);
  return id('AROA', arn);
}

/**
 * Access before the offline IAM is wired in: signatures verified against the world's people and
 * the stack roles the sandbox acts as; every action allowed except the ones `denied` names
 * (action -> principals refused). Replaced by the account's IAM (createAccountIam) when present.
 */
export function localAccess(holders: KeyHolder[], account: string, region: string, denied: (principal: SandboxPrincipal, action: string) => boolean): SandboxAccess {
  const byKey = new Map(holders.map((h) => [h.accessKeyId, h]));
  return {
    async verify(request, service) {
      const v = await verifySigV4(request, service, region, (id) => byKey.get(id) ?? null);
      if ('refused' in v) return v;
      return { principal: { arn: v.holder.arn, account, userId: userIdOf(v.holder.arn, account), accessKeyId: v.holder.accessKeyId } };
    },
    authorize(principal, action, resource) {
      if (!denied(principal, action)) return { allowed: true };
      return { allowed: false, message: `User: ${principal.arn} is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action` };
    },
  };
}

/** The world's people as key holders. */
export function peopleHolders(people: Record<string, WorldPerson>): KeyHolder[] {
  return Object.values(people).map((p) => ({ arn: p.arn, accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey }));
}
