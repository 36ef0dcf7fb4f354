import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

/**
 * SigV4 for the front door (service `execute-api`): the CLI signs with the credentials it already
 * uses and the offline simulation as the world's people, both with the signer the SDK uses
 * (@smithy/signature-v4). The local front door verifies it
 * independently, from AWS's documented canonical request (local/iam/sigv4.ts).
 */

type SourceData = string | ArrayBuffer | ArrayBufferView;

const bytes = (data: SourceData): Buffer =>
  typeof data === 'string'
    ? Buffer.from(data, 'utf8')
    : ArrayBuffer.isView(data)
      ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
      : Buffer.from(data);

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

/** AWS credentials as the signer takes them (a role session's token included). */
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
export async function signRequest(
  req: SignableRequest,
  credentials: Credentials,
  region: string,
  now = new Date(),
): Promise<Record<string, string>> {
  const signed = await signer(credentials, region).sign(httpRequest(req) as never, { signingDate: now });
  return (signed as unknown as { headers: Record<string, string> }).headers;
}
