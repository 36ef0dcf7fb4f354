import { createHash } from 'node:crypto';
import { SignatureRefused, type AccountIam } from '../iam';

/**
 * Who may call the sandbox's own services (sts, states, cloudformation) and what they may do:
 * `verify` checks a request's SigV4 signature for a service and names the signing principal;
 * `authorize` decides one action on one resource. `accountAccess` answers both with the offline
 * account's IAM (local/iam); tests may pass another.
 */
export interface SandboxAccess {
  verify(
    request: SignedRequest,
    service: string,
  ): Promise<{ principal: SandboxPrincipal } | { refused: { code: string; message: string } }>;
  authorize(
    principal: SandboxPrincipal,
    action: string,
    resource: string,
  ): { allowed: true } | { allowed: false; message: string };
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

/**
 * The principal id STS gives an assumed role's session: `<role id>:<session name>`. Role ids are
 * opaque (AROA + 17 characters); the sandbox derives a stable one from the role's ARN.
 */
export function userIdOf(arn: string, account: string): string {
  const assumed = /^arn:[^:]+:sts::\d{12}:assumed-role\/([^/]+)\/(.+)$/.exec(arn);
  const id = (prefix: string, seed: string) =>
    `${prefix}${createHash('sha256').update(seed).digest('hex').toUpperCase().slice(0, 17)}`;
  if (assumed) return `${id('AROA', `${account}/${assumed[1]}`)}:${assumed[2]}`;
  if (/:user\//.test(arn)) return id('AIDA', arn);
  return id('AROA', arn);
}

/** AWS's error codes for a refused signature: the query protocol's (STS, CloudFormation) and the JSON protocols' (Step Functions). */
const REFUSALS: Record<SignatureRefused['reason'], { query: string; json: string }> = {
  missing: { query: 'MissingAuthenticationToken', json: 'MissingAuthenticationTokenException' },
  'unknown-key': { query: 'InvalidClientTokenId', json: 'UnrecognizedClientException' },
  mismatch: { query: 'SignatureDoesNotMatch', json: 'InvalidSignatureException' },
  incomplete: { query: 'IncompleteSignature', json: 'IncompleteSignatureException' },
  // AWS answers an expired signature with the mismatch code and "Signature expired" in the message.
  expired: { query: 'SignatureDoesNotMatch', json: 'InvalidSignatureException' },
  scope: { query: 'SignatureDoesNotMatch', json: 'InvalidSignatureException' },
  'content-sha256': { query: 'SignatureDoesNotMatch', json: 'InvalidSignatureException' },
};

/**
 * The sandbox's services under the account's IAM (local/iam): the signature verified for the
 * service and the sandbox's Region against every principal of the account, each action
 * evaluated with the caller's policies.
 */
export function accountAccess(iam: AccountIam): SandboxAccess {
  return {
    async verify(request, service) {
      try {
        const url = new URL(request.path, `http://${request.headers.host ?? '127.0.0.1'}`);
        const p = await iam.verify(
          { method: request.method, url, headers: request.headers, body: request.body },
          service,
          { region: iam.region },
        );
        return {
          principal: { arn: p.arn, account: p.account, userId: userIdOf(p.arn, p.account), accessKeyId: p.accessKeyId },
        };
      } catch (error) {
        if (!(error instanceof SignatureRefused)) throw error;
        const codes = REFUSALS[error.reason];
        return { refused: { code: service === 'states' ? codes.json : codes.query, message: error.message } };
      }
    },
    authorize(principal, action, resource) {
      const p = iam.principals.byAccessKey(principal.accessKeyId);
      if (!p) return { allowed: false, message: `no principal signs with ${principal.accessKeyId}` };
      const decision = iam.authorize(p, action, resource);
      return decision.allowed ? { allowed: true } : { allowed: false, message: decision.message };
    },
  };
}
