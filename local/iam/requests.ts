/**
 * The IAM questions an AWS request asks, per operation, as the Service Authorization Reference
 * lists them: the action(s), the resource ARN(s) and the request context the service adds. The
 * stand-in asks them of local/iam before serving a request. Keys that AWS documents for an action
 * but that no request of the stand-in carries are not set (a condition on them then never matches,
 * the strict answer).
 */

import { randomUUID } from 'node:crypto';
import { lockOperationChecks, lockWriteChecks, lockWriteKeys } from './s3-object-lock-checks';

/** The default key policy KMS gives a key created without one: the account may delegate with IAM policies. */
export function defaultKeyPolicy(account: string): unknown {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'Enable IAM User Permissions',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${account}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
    ],
  };
}

/** A request's key policy; a malformed one is refused by KMS itself later (MalformedPolicyDocumentException), so the default stands in here. */
function policyOrDefault(policy: string, account: string): unknown {
  try {
    return JSON.parse(policy);
  } catch {
    return defaultKeyPolicy(account);
  }
}

/** One authorization a request needs. */
export interface AuthorizationCheck {
  action: string;
  resource: string;
  context: Record<string, string | string[]>;
  resourcePolicy?: unknown;
}

/** What the stand-in knows about a KMS key, for authorization. */
export interface KeyFacts {
  arn: string;
  account: string;
  tags: Record<string, string>;
  aliases: string[];
  policy: unknown;
}

type Input = Record<string, unknown>;

/** `aws:RequestTag/<k>` and `aws:TagKeys` of KMS `Tags: [{ TagKey, TagValue }]`. */
function requestTags(tags: unknown): Record<string, string | string[]> {
  if (!Array.isArray(tags) || tags.length === 0) return {};
  const out: Record<string, string | string[]> = {};
  for (const t of tags as { TagKey?: unknown; TagValue?: unknown }[]) {
    if (typeof t?.TagKey === 'string') out[`aws:RequestTag/${t.TagKey}`] = String(t.TagValue ?? '');
  }
  out['aws:TagKeys'] = (tags as { TagKey?: unknown }[]).map((t) => String(t?.TagKey));
  return out;
}

/** `kms:EncryptionContext:<k>` and `kms:EncryptionContextKeys` (KMS condition keys reference). */
export function encryptionContextKeys(ctx: unknown): Record<string, string | string[]> {
  if (!ctx || typeof ctx !== 'object') return {};
  const entries = Object.entries(ctx as Record<string, unknown>);
  if (entries.length === 0) return {};
  const out: Record<string, string | string[]> = Object.fromEntries(
    entries.map(([k, v]) => [`kms:EncryptionContext:${k}`, String(v)]),
  );
  out['kms:EncryptionContextKeys'] = entries.map(([k]) => k);
  return out;
}

/** The context of a request on a key: its tags, aliases, the caller's account, the alias used. */
export function keyContext(
  key: KeyFacts,
  callerAccount: string,
  keyIdParam?: unknown,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = { 'kms:CallerAccount': callerAccount };
  for (const [k, v] of Object.entries(key.tags)) out[`aws:ResourceTag/${k}`] = v;
  if (key.aliases.length) out['kms:ResourceAliases'] = key.aliases;
  if (typeof keyIdParam === 'string' && /(^|:)alias\//.test(keyIdParam))
    out['kms:RequestAlias'] = keyIdParam.replace(/^arn:[^:]+:kms:[^:]+:\d{12}:/, '');
  return out;
}

/** The operations whose resource is the key named by `KeyId`. */
const KEY_OPERATIONS = new Set([
  'ListGrants',
  'RevokeGrant',
  'DescribeKey',
  'ListResourceTags',
  'GetKeyRotationStatus',
  'RotateKeyOnDemand',
  'ListKeyRotations',
  'ScheduleKeyDeletion',
  'TagResource',
  'Encrypt',
  'GenerateDataKey',
  'Decrypt',
]);
const CRYPTO_OPERATIONS = new Set(['Encrypt', 'GenerateDataKey', 'Decrypt']);

/**
 * KMS: `kms:<Op>` on the key's ARN (an alias resolved to its key) with the key policy, or on `*`
 * for CreateKey, ListAliases and ListKeys; ReEncrypt needs kms:ReEncryptFrom on the source key and
 * kms:ReEncryptTo on the destination key. A key that does not resolve asks nothing here: KMS then
 * answers NotFoundException (the stand-in's handler does).
 */
export function kmsChecks(
  op: string,
  input: Input,
  callerAccount: string,
  keyOf: (keyId: unknown) => KeyFacts | undefined,
  keyOfCiphertext: (blob: unknown) => KeyFacts | undefined,
  region = '*',
): AuthorizationCheck[] {
  const base = { 'kms:CallerAccount': callerAccount };
  if (op === 'CreateKey') return createKeyChecks(input, base, callerAccount, region);
  if (op === 'ListAliases') return [{ action: 'kms:ListAliases', resource: '*', context: base }];
  if (op === 'ListKeys') return [{ action: 'kms:ListKeys', resource: '*', context: base }];
  if (op === 'ReEncrypt') {
    const source = input.SourceKeyId !== undefined ? keyOf(input.SourceKeyId) : keyOfCiphertext(input.CiphertextBlob);
    const destination = keyOf(input.DestinationKeyId);
    const checks: AuthorizationCheck[] = [];
    if (source)
      checks.push({
        action: 'kms:ReEncryptFrom',
        resource: source.arn,
        context: {
          ...keyContext(source, callerAccount, input.SourceKeyId),
          ...encryptionContextKeys(input.SourceEncryptionContext),
        },
        resourcePolicy: source.policy,
      });
    if (destination)
      checks.push({
        action: 'kms:ReEncryptTo',
        resource: destination.arn,
        context: {
          ...keyContext(destination, callerAccount, input.DestinationKeyId),
          ...encryptionContextKeys(input.DestinationEncryptionContext),
        },
        resourcePolicy: destination.policy,
      });
    return checks;
  }
  // RetireGrant is authorized by the grant itself (local/standin/kms-grants.ts), not by policies.
  if (op === 'RetireGrant') return [];
  if (op === 'CreateGrant') return createGrantChecks(input, base, callerAccount, keyOf(input.KeyId));
  if (!KEY_OPERATIONS.has(op)) throw new Error(`local/iam: no authorization mapping for KMS ${op}`);
  const key =
    op === 'Decrypt' && input.KeyId === undefined ? keyOfCiphertext(input.CiphertextBlob) : keyOf(input.KeyId);
  if (!key) return [];
  const context = {
    ...keyContext(key, callerAccount, input.KeyId),
    ...(CRYPTO_OPERATIONS.has(op) ? encryptionContextKeys(input.EncryptionContext) : {}),
    ...(op === 'TagResource' ? requestTags(input.Tags) : {}),
  };
  return [{ action: `kms:${op}`, resource: key.arn, context, resourcePolicy: key.policy }];
}

/**
 * CreateGrant: kms:CreateGrant on the key with the grant's condition keys (KMS condition keys
 * reference): kms:GranteePrincipal, kms:RetiringPrincipal (when named), kms:GrantOperations (the
 * multi-valued list, for ForAllValues/ForAnyValue), kms:GrantConstraintType (when constrained)
 * and kms:GrantIsForAWSResource, false: the stand-in's callers are never an AWS service acting
 * for a resource.
 */
function createGrantChecks(
  input: Input,
  base: Record<string, string>,
  callerAccount: string,
  key: KeyFacts | undefined,
): AuthorizationCheck[] {
  if (!key) return [];
  const context: Record<string, string | string[]> = {
    ...keyContext(key, callerAccount, input.KeyId),
    ...base,
    'kms:GrantIsForAWSResource': 'false',
  };
  if (typeof input.GranteePrincipal === 'string') context['kms:GranteePrincipal'] = input.GranteePrincipal;
  if (typeof input.RetiringPrincipal === 'string') context['kms:RetiringPrincipal'] = input.RetiringPrincipal;
  if (Array.isArray(input.Operations)) context['kms:GrantOperations'] = input.Operations.map(String);
  const constraints = input.Constraints as Record<string, unknown> | undefined;
  const type = ['EncryptionContextSubset', 'EncryptionContextEquals'].find((t) => constraints?.[t] !== undefined);
  if (type) context['kms:GrantConstraintType'] = type;
  return [{ action: 'kms:CreateGrant', resource: key.arn, context, resourcePolicy: key.policy }];
}

/**
 * CreateKey: kms:CreateKey on `*` with the request's kms:KeySpec, kms:KeyUsage, kms:KeyOrigin,
 * kms:MultiRegion and kms:BypassPolicyLockoutSafetyCheck (KMS condition keys reference), each
 * set only when the request names it (a condition on a member the request leaves out then does
 * not match: the strict reading, as AWS does not document whether defaults fill them), and the
 * request tags. With Tags, also kms:TagResource in an identity policy covering every key of the
 * account and Region (KMS developer guide, "Controlling access to tags"): checked on a key id
 * nobody holds, which a statement naming particular keys does not match.
 */
function createKeyChecks(
  input: Input,
  base: Record<string, string>,
  callerAccount: string,
  region: string,
): AuthorizationCheck[] {
  const members: [string, string][] = [
    ['KeySpec', 'kms:KeySpec'],
    ['KeyUsage', 'kms:KeyUsage'],
    ['Origin', 'kms:KeyOrigin'],
    ['MultiRegion', 'kms:MultiRegion'],
    ['BypassPolicyLockoutSafetyCheck', 'kms:BypassPolicyLockoutSafetyCheck'],
  ];
  const context: Record<string, string | string[]> = { ...base, ...requestTags(input.Tags) };
  for (const [member, key] of members) if (input[member] !== undefined) context[key] = String(input[member]);
  const checks: AuthorizationCheck[] = [{ action: 'kms:CreateKey', resource: '*', context }];
  if (Array.isArray(input.Tags) && input.Tags.length) {
    // A key id nobody holds stands for "any key": iam-simulate matches a wildcard in the REQUEST's
    // resource against a statement naming one key (key/* would pass such a statement). KMS checks
    // the new key's own policy too, which at creation is the request's Policy or the default
    // (root of the account): identity policies count only when it delegates to IAM.
    const anyKey = `arn:aws:kms:${region}:${callerAccount}:key/${randomUUID()}`;
    const resourcePolicy =
      typeof input.Policy === 'string' ? policyOrDefault(input.Policy, callerAccount) : defaultKeyPolicy(callerAccount);
    checks.push({
      action: 'kms:TagResource',
      resource: anyKey,
      context: { ...base, ...requestTags(input.Tags) },
      resourcePolicy,
    });
  }
  return checks;
}

/** What the stand-in knows about an S3 request, for authorization. */
export interface S3RequestFacts {
  operation: string;
  bucket: string;
  key: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  /** The tags of an existing object (`s3:ExistingObjectTag/<k>`), by bucket/key/version. */
  tagsOf(bucket: string, key: string, versionId: string | null): Record<string, string> | undefined;
  /** A bucket's policy, if it has one. */
  policyOf(bucket: string): unknown;
  /** The request body (PutObjectRetention / PutObjectLegalHold condition keys). */
  body?: Buffer;
}

const header = (h: S3RequestFacts['headers'], name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

/** `s3:RequestObjectTag/<k>` and `s3:RequestObjectTagKeys` of an `x-amz-tagging` header or a Tagging body. */
function requestObjectTags(tags: Record<string, string> | undefined): Record<string, string | string[]> {
  if (!tags || Object.keys(tags).length === 0) return {};
  const out: Record<string, string | string[]> = Object.fromEntries(
    Object.entries(tags).map(([k, v]) => [`s3:RequestObjectTag/${k}`, v]),
  );
  out['s3:RequestObjectTagKeys'] = Object.keys(tags);
  return out;
}

function existingTags(tags: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(tags ?? {}).map(([k, v]) => [`s3:ExistingObjectTag/${k}`, v]));
}

/** The object a CopyObject / UploadPartCopy reads: `x-amz-copy-source` as S3 parses it. */
export function copySourceOf(
  raw: string | undefined,
): { bucket: string; key: string; versionId: string | null } | undefined {
  if (!raw) return undefined;
  let decoded = raw;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    /* as sent */
  }
  const [path, versionId] = decoded.replace(/^\//, '').split('?versionId=');
  const slash = path.indexOf('/');
  if (slash <= 0) return undefined;
  return { bucket: path.slice(0, slash), key: path.slice(slash + 1), versionId: versionId ?? null };
}

/**
 * S3 (Service Authorization Reference, "Actions defined by Amazon S3", and the operations'
 * permission sections): HeadObject/GetObject -> s3:GetObject (s3:GetObjectVersion with a
 * versionId); PutObject, CreateMultipartUpload, UploadPart, CompleteMultipartUpload -> s3:PutObject
 * (and s3:PutObjectTagging when the request sets tags); CopyObject / UploadPartCopy -> read of the
 * source + s3:PutObject on the destination; AbortMultipartUpload -> s3:AbortMultipartUpload;
 * Get/PutObjectTagging -> s3:Get/PutObject(Version)Tagging; ListObjectsV2 -> s3:ListBucket on the
 * bucket. Object ARNs are arn:aws:s3:::bucket/key; the bucket's policy is the resource policy.
 */
export function s3Checks(req: S3RequestFacts, requestTagging?: Record<string, string>): AuthorizationCheck[] {
  const { bucket, key, query, headers } = req;
  const objectArn = (b: string, k: string) => `arn:aws:s3:::${b}/${k}`;
  const versionId = query.get('versionId');
  const on = (
    action: string,
    b: string,
    k: string | null,
    context: Record<string, string | string[]> = {},
  ): AuthorizationCheck => ({
    action,
    resource: k === null ? `arn:aws:s3:::${b}` : objectArn(b, k),
    context,
    resourcePolicy: req.policyOf(b),
  });
  const sse = (): Record<string, string> => {
    const out: Record<string, string> = {};
    const alg = header(headers, 'x-amz-server-side-encryption');
    const kmsKey = header(headers, 'x-amz-server-side-encryption-aws-kms-key-id');
    if (alg) out['s3:x-amz-server-side-encryption'] = alg;
    if (kmsKey) out['s3:x-amz-server-side-encryption-aws-kms-key-id'] = kmsKey;
    return out;
  };
  const taggingHeader = header(headers, 'x-amz-tagging');
  const headerTags = taggingHeader ? Object.fromEntries(new URLSearchParams(taggingHeader)) : undefined;
  // A write that sets an ACL (x-amz-acl / x-amz-grant-*) also needs s3:PutObjectAcl (S3 actions reference, PutObject).
  const putAcl = () =>
    Object.keys(headers).some((h) => h === 'x-amz-acl' || h.startsWith('x-amz-grant-'))
      ? [on('s3:PutObjectAcl', bucket, key)]
      : [];
  const putTags = (tags: Record<string, string> | undefined) =>
    tags && Object.keys(tags).length ? [on('s3:PutObjectTagging', bucket, key, requestObjectTags(tags))] : [];
  const readSource = (): AuthorizationCheck[] => {
    const src = copySourceOf(header(headers, 'x-amz-copy-source'));
    if (!src) return [];
    return [
      on(
        src.versionId ? 's3:GetObjectVersion' : 's3:GetObject',
        src.bucket,
        src.key,
        existingTags(req.tagsOf(src.bucket, src.key, src.versionId)),
      ),
    ];
  };
  // Object Lock: its own operations, and the rights a write that sets lock fields needs (s3-object-lock-checks.ts).
  const onObject = (action: string, context: Record<string, string> = {}) => on(action, bucket, key, context);
  const lockOps = lockOperationChecks(req.operation, headers, req.body, onObject);
  if (lockOps) return lockOps;
  const lock = () => lockWriteChecks(headers, onObject);
  switch (req.operation) {
    case 'ListObjectsV2': {
      const context: Record<string, string> = {};
      for (const [param, name] of [
        ['prefix', 's3:prefix'],
        ['delimiter', 's3:delimiter'],
        ['max-keys', 's3:max-keys'],
      ] as const) {
        const v = query.get(param);
        if (v !== null) context[name] = v;
      }
      return [on('s3:ListBucket', bucket, null, context)];
    }
    case 'ListObjectVersions':
      return [on('s3:ListBucketVersions', bucket, null)];
    case 'GetBucketVersioning':
      return [on('s3:GetBucketVersioning', bucket, null)];
    case 'HeadObject':
    case 'GetObject':
      return [
        on(
          versionId ? 's3:GetObjectVersion' : 's3:GetObject',
          bucket,
          key,
          existingTags(req.tagsOf(bucket, key, versionId)),
        ),
      ];
    case 'PutObject':
    case 'CreateMultipartUpload':
      return [
        on('s3:PutObject', bucket, key, { ...sse(), ...requestObjectTags(headerTags), ...lockWriteKeys(headers) }),
        ...putTags(headerTags),
        ...putAcl(),
        ...lock(),
      ];
    case 'UploadPart':
    case 'CompleteMultipartUpload':
      return [on('s3:PutObject', bucket, key)];
    case 'CopyObject': {
      const replaceTags = header(headers, 'x-amz-tagging-directive') === 'REPLACE' ? headerTags : undefined;
      return [
        ...readSource(),
        on('s3:PutObject', bucket, key, { ...sse(), ...requestObjectTags(replaceTags), ...lockWriteKeys(headers) }),
        ...putTags(replaceTags),
        ...putAcl(),
        ...lock(),
      ];
    }
    case 'UploadPartCopy':
      return [...readSource(), on('s3:PutObject', bucket, key)];
    case 'AbortMultipartUpload':
      return [on('s3:AbortMultipartUpload', bucket, key)];
    case 'GetObjectAcl':
      return [
        on(
          versionId ? 's3:GetObjectVersionAcl' : 's3:GetObjectAcl',
          bucket,
          key,
          existingTags(req.tagsOf(bucket, key, versionId)),
        ),
      ];
    case 'GetObjectTagging':
      return [
        on(
          versionId ? 's3:GetObjectVersionTagging' : 's3:GetObjectTagging',
          bucket,
          key,
          existingTags(req.tagsOf(bucket, key, versionId)),
        ),
      ];
    case 'PutObjectTagging':
      return [
        on(versionId ? 's3:PutObjectVersionTagging' : 's3:PutObjectTagging', bucket, key, {
          ...existingTags(req.tagsOf(bucket, key, versionId)),
          ...requestObjectTags(requestTagging),
        }),
      ];
    default:
      // Operations the stand-in does not implement answer NotImplementedByStandIn; nothing to ask.
      return [];
  }
}
