import type { IncomingMessage } from 'node:http';
import { defaultKeyPolicy, SignatureRefused, type AccountIam, type Principal } from '../iam';
import {
  kmsChecks,
  s3Checks,
  keyContext,
  encryptionContextKeys,
  type AuthorizationCheck,
  type KeyFacts,
} from '../iam/requests';
import type { World } from '../world';
import { ServiceError, type Service } from './errors';
import type { KmsKeys, KeyRec } from './kms-keys';
import { parseCiphertext } from './kms-keys';
import type { KmsGrants } from './kms-grants';
import type { S3 } from './s3';
import type { LockVisibility } from './s3-object-lock';
import { LOCK_READ_ACTIONS } from '../iam/s3-object-lock-checks';

/**
 * Authentication and authorization of every stand-in request against the account's IAM
 * (local/iam): the SigV4 signature verified with the caller's secret, then each action the
 * request needs evaluated with the caller's identity policies and the resource's policy (key
 * policy, bucket policy, topic policy). A refusal is the service's own error, in AWS's form.
 */

const JSON_AUTH_ERRORS: Record<SignatureRefused['reason'], [code: string, status: number]> = {
  missing: ['MissingAuthenticationTokenException', 403],
  'unknown-key': ['UnrecognizedClientException', 403],
  mismatch: ['InvalidSignatureException', 403],
  incomplete: ['IncompleteSignatureException', 403],
  expired: ['InvalidSignatureException', 403],
  scope: ['InvalidSignatureException', 403],
  'content-sha256': ['InvalidSignatureException', 403],
};

/** The SigV4 signing name of a service where it differs from the stand-in's name for it. */
const SIGNING_NAME: Partial<Record<Service, string>> = { accessanalyzer: 'access-analyzer' };

/** Authentication failures as each protocol answers them (KMS JSON, SNS query, S3 REST). */
const AUTH_ERRORS: Record<Service, Record<SignatureRefused['reason'], [code: string, status: number]>> = {
  kms: {
    missing: ['MissingAuthenticationTokenException', 400],
    'unknown-key': ['UnrecognizedClientException', 400],
    mismatch: ['InvalidSignatureException', 400],
    incomplete: ['IncompleteSignatureException', 400],
    expired: ['InvalidSignatureException', 400],
    scope: ['InvalidSignatureException', 400],
    'content-sha256': ['InvalidSignatureException', 400],
  },
  sns: {
    missing: ['MissingAuthenticationToken', 403],
    'unknown-key': ['InvalidClientTokenId', 403],
    mismatch: ['SignatureDoesNotMatch', 403],
    incomplete: ['IncompleteSignature', 400],
    expired: ['SignatureDoesNotMatch', 403],
    scope: ['SignatureDoesNotMatch', 403],
    'content-sha256': ['SignatureDoesNotMatch', 403],
  },
  // restJson1 services answer authentication failures with the common AWS JSON errors (403).
  guardduty: JSON_AUTH_ERRORS,
  securityhub: JSON_AUTH_ERRORS,
  accessanalyzer: JSON_AUTH_ERRORS,
  s3: {
    missing: ['AccessDenied', 403],
    'unknown-key': ['InvalidAccessKeyId', 403],
    mismatch: ['SignatureDoesNotMatch', 403],
    incomplete: ['AuthorizationHeaderMalformed', 400],
    expired: ['RequestTimeTooSkewed', 403],
    scope: ['AuthorizationHeaderMalformed', 400],
    'content-sha256': ['XAmzContentSHA256Mismatch', 400],
  },
};

const S3_MESSAGES: Partial<Record<string, string>> = {
  InvalidAccessKeyId: 'The AWS Access Key Id you provided does not exist in our records.',
  SignatureDoesNotMatch:
    'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  AccessDenied: 'Access Denied',
};

/** The S3 objects' tags and bucket policies, and the keys, as authorization needs them. */
export class StandInAuthz {
  /** The caller of the S3 request being served (S3 calls KMS on its behalf, synchronously). */
  private s3Caller: Principal | undefined;
  /** The KMS grants: an authorization path next to key policy and IAM (kms-grants.ts). */
  grants: KmsGrants | undefined;

  constructor(
    readonly iam: AccountIam,
    private readonly world: World,
    private readonly keys: KmsKeys,
    private readonly s3: S3,
    private readonly topicPolicies: Map<string, unknown>,
  ) {}

  /** Verifies the request's signature; a refusal is the service's error. */
  async authenticate(service: Service, req: IncomingMessage, body: Buffer): Promise<Principal> {
    try {
      return await this.iam.verify(
        { method: req.method ?? 'GET', url: new URL(req.url ?? '/', 'http://stand-in'), headers: req.headers, body },
        SIGNING_NAME[service] ?? service,
      );
    } catch (e) {
      if (!(e instanceof SignatureRefused)) throw e;
      const [code, status] = AUTH_ERRORS[service][e.reason];
      throw new ServiceError(code, service === 's3' ? (S3_MESSAGES[code] ?? e.message) : e.message, status);
    }
  }

  /** KMS: every action the operation needs, with the key's policy. */
  kms(caller: Principal, op: string, input: Record<string, unknown>, region: string): void {
    const tokens = this.grants?.checkTokens(input.GrantTokens) ?? [];
    if (op === 'RetireGrant' && this.grants) {
      // Authorized by the grant alone (kms-grants.ts), not by key policy or IAM.
      const grant = this.grants.find(input, region, op);
      if (!this.grants.mayRetire(grant, caller))
        throw new ServiceError(
          'AccessDeniedException',
          `${caller.arn} is not the retiring principal of grant ${grant.grantId} on ${grant.keyArn}, nor its grantee with RetireGrant, nor its account.`,
          400,
        );
      return;
    }
    const checks = kmsChecks(
      op,
      input,
      caller.account,
      (id) => this.keyFacts(id, region, op),
      (blob) => this.keyOfCiphertext(blob, region),
      region,
    );
    for (const check of checks) {
      if (this.grantAllows(caller, check, tokens)) continue;
      this.enforce(caller, check, (message) => new ServiceError('AccessDeniedException', message, 400));
    }
  }

  /** A live grant on the check's key allows its action for the caller (kms-grants.ts). */
  private grantAllows(caller: Principal, check: AuthorizationCheck, tokens: readonly string[]): boolean {
    if (!this.grants || !check.action.startsWith('kms:')) return false;
    const ctx = Object.fromEntries(
      Object.entries(check.context ?? {})
        .filter(([k, v]) => k.startsWith('kms:EncryptionContext:') && typeof v === 'string')
        .map(([k, v]) => [k.slice('kms:EncryptionContext:'.length), v as string]),
    );
    return this.grants.allows(caller, check.action.slice(4), check.resource, ctx, tokens);
  }

  /**
   * S3: the object/bucket actions; the KMS calls S3 makes follow in `viaS3`. For HEAD/GET, also
   * which Object Lock fields the answer may carry (the caller's s3:GetObjectRetention /
   * s3:GetObjectLegalHold on the object; a refusal there hides the headers, it fails nothing).
   */
  s3Request(
    caller: Principal,
    facts: {
      operation: string;
      bucket: string;
      key: string;
      query: URLSearchParams;
      headers: IncomingMessage['headers'];
      body: Buffer;
    },
  ): LockVisibility | undefined {
    const bodyTags = facts.operation === 'PutObjectTagging' ? tagsOfXml(facts.body.toString('utf8')) : undefined;
    const checks = s3Checks(
      {
        ...facts,
        tagsOf: (b, k, v) => this.s3.objectTags(b, k, v),
        policyOf: (b) => this.world.buckets.find((x) => x.name === b)?.policy,
      },
      bodyTags,
    );
    // S3's AccessDenied names the resource in quotes (its messages since 2024).
    for (const check of checks)
      this.enforce(
        caller,
        check,
        (message) =>
          new ServiceError(
            'AccessDenied',
            message.replace(` on resource: ${check.resource}`, ` on resource: "${check.resource}"`),
            403,
          ),
      );
    if (facts.operation !== 'HeadObject' && facts.operation !== 'GetObject') return undefined;
    const resource = `arn:aws:s3:::${facts.bucket}/${facts.key}`;
    const policy = this.world.buckets.find((x) => x.name === facts.bucket)?.policy;
    const may = (action: string) => this.iam.authorize(caller, action, resource, {}, policy).allowed;
    return { retention: may(LOCK_READ_ACTIONS.retention), legalHold: may(LOCK_READ_ACTIONS.legalHold) };
  }

  /** Runs `serve` (an S3 request) with `caller` as the principal of the KMS calls S3 makes. */
  asS3Caller<T>(caller: Principal, serve: () => T): T {
    this.s3Caller = caller;
    try {
      return serve();
    } finally {
      this.s3Caller = undefined;
    }
  }

  /**
   * A KMS call S3 makes for an SSE-KMS object: evaluated as the requester with kms:ViaService =
   * s3.<region>.amazonaws.com (KMS condition keys reference), against the key policy and the
   * requester's identity policies. S3 relays a refusal as 403 AccessDenied with KMS's message
   * (s3.ts kmsToS3). Outside a request (seeding the world, test helpers) there is no caller.
   */
  viaS3(
    op: 'GenerateDataKey' | 'Decrypt',
    keyId: string,
    region: string,
    encryptionContext: Record<string, string>,
  ): void {
    const caller = this.s3Caller;
    if (!caller) return;
    const key = this.keyFacts(keyId, region, op);
    if (!key) return;
    const context = {
      ...keyContext(key, caller.account),
      ...encryptionContextKeys(encryptionContext),
      'kms:ViaService': `s3.${region}.amazonaws.com`,
    };
    this.enforce(
      caller,
      { action: `kms:${op}`, resource: key.arn, context, resourcePolicy: key.policy },
      (message) => new ServiceError('AccessDeniedException', message, 400),
    );
  }

  /** SNS Publish: sns:Publish on the topic with the topic's policy. */
  sns(caller: Principal, op: string, input: Record<string, unknown>): void {
    if (op !== 'Publish' && op !== 'CreateTopic') throw new Error(`local/iam: no authorization mapping for SNS ${op}`);
    if (op === 'CreateTopic') {
      this.enforce(
        caller,
        {
          action: 'sns:CreateTopic',
          resource: `arn:aws:sns:${this.iam.region}:${this.iam.account}:${String(input.Name ?? '')}`,
          context: {},
        },
        (m) => new ServiceError('AuthorizationError', m, 403),
      );
      return;
    }
    const topicArn = String(input.TopicArn ?? input.TargetArn ?? '');
    if (!topicArn) return;
    this.enforce(
      caller,
      { action: 'sns:Publish', resource: topicArn, context: {}, resourcePolicy: this.topicPolicies.get(topicArn) },
      (m) => new ServiceError('AuthorizationError', m, 403),
    );
    // An encrypted topic: SNS generates and decrypts a data key under the topic's KMS key as the
    // publisher (kms:ViaService sns), so the publisher needs both rights on the key, and the key
    // policy must allow them; SNS answers a refusal as KMSAccessDenied.
    const topicKey = this.iam.topicKeys.get(topicArn);
    if (!topicKey) return;
    const context = { 'kms:CallerAccount': caller.account, 'kms:ViaService': `sns.${this.iam.region}.amazonaws.com` };
    for (const action of ['kms:GenerateDataKey', 'kms:Decrypt']) {
      this.enforce(
        caller,
        { action, resource: topicKey.keyArn, context, resourcePolicy: topicKey.policy },
        (m) => new ServiceError('KMSAccessDenied', m, 400),
      );
    }
  }

  /**
   * A finding source's action on its resource (the Service Authorization Reference's resource
   * types: GuardDuty GetFindings on the detector, Security Hub GetFindings and BatchUpdateFindings
   * on the hub, Access Analyzer GetFinding on the analyzer); refused as AccessDeniedException (403).
   */
  findingSource(
    caller: Principal,
    action: string,
    resource: string,
    context: Record<string, string | string[]> = {},
  ): void {
    this.enforce(caller, { action, resource, context }, (m) => new ServiceError('AccessDeniedException', m, 403));
  }

  private enforce(caller: Principal, check: AuthorizationCheck, refuse: (message: string) => ServiceError): void {
    const decision = this.iam.authorize(caller, check.action, check.resource, check.context, check.resourcePolicy);
    if (!decision.allowed) throw refuse(decision.message);
  }

  private facts(rec: KeyRec): KeyFacts {
    return {
      arn: rec.arn,
      account: rec.w.account,
      tags: Object.fromEntries(rec.tags),
      aliases: rec.w.aliases,
      policy: rec.w.policy ?? defaultKeyPolicy(rec.w.account),
    };
  }

  private keyFacts(keyId: unknown, region: string, op: string): KeyFacts | undefined {
    if (typeof keyId !== 'string' || keyId === '') return undefined;
    try {
      return this.facts(this.keys.resolve(keyId, region, true, op));
    } catch {
      return undefined; // KMS answers NotFoundException / InvalidArnException for it (the handler does)
    }
  }

  private keyOfCiphertext(blob: unknown, region: string): KeyFacts | undefined {
    if (typeof blob !== 'string') return undefined;
    try {
      const parsed = parseCiphertext(Buffer.from(blob, 'base64'));
      return this.keyFacts(`arn:aws:kms:${region}:${parsed.account}:key/${parsed.keyId}`, region, 'Decrypt');
    } catch {
      return undefined;
    }
  }
}

function tagsOfXml(xml: string): Record<string, string> {
  return Object.fromEntries(
    [...xml.matchAll(/<Tag>([\s\S]*?)<\/Tag>/g)].map((m) => [
      /<Key>([\s\S]*?)<\/Key>/.exec(m[1])?.[1] ?? '',
      /<Value>([\s\S]*?)<\/Value>/.exec(m[1])?.[1] ?? '',
    ]),
  );
}
