import { z } from 'zod';
import { AlgorithmSuiteIdentifier } from '@aws-crypto/client-node';
import { settingsObject } from '../lib/settings/settings';
import { QUOTA_NAMES, SHARED_SYMMETRIC_OPERATIONS, SHARED_SYMMETRIC_QUOTA } from './standin/quotas';

/**
 * The world file's schema (zod): what each field means and its default. Cross-field rules are in
 * world-checks.ts, defaults computed from other fields in world-defaults.ts, parsing in world.ts.
 *
 * The simulated AWS account that the local stand-in (local/standin) serves: KMS keys, S3
 * buckets, injected faults, and the settings / approvals used by local runs.
 *
 * Every field but a key's `id` and a bucket's `name` / an object's `key` has a default. Unknown
 * fields are an error. Errors are a WorldError naming the file, the JSON path and what was expected.
 */

/** KMS KeySpec values (the KMS API model's enum): the world's keys and CreateKey's input share them. */
export const KEY_SPECS = [
  'SYMMETRIC_DEFAULT',
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'ECC_NIST_P256',
  'ECC_NIST_P384',
  'ECC_NIST_P521',
  'ECC_SECG_P256K1',
  'ECC_NIST_EDWARDS25519',
  'HMAC_224',
  'HMAC_256',
  'HMAC_384',
  'HMAC_512',
  'SM2',
  'ML_DSA_44',
  'ML_DSA_65',
  'ML_DSA_87',
  'ML_KEM_512',
  'ML_KEM_768',
  'ML_KEM_1024',
] as const;
const KEY_USAGES = [
  'ENCRYPT_DECRYPT',
  'SIGN_VERIFY',
  'GENERATE_VERIFY_MAC',
  'KEY_AGREEMENT',
  'ENCAPSULATE_DECAPSULATE',
] as const;
const ORIGINS = ['AWS_KMS', 'EXTERNAL', 'AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE'] as const;
const KEY_STATES = [
  'Creating',
  'Enabled',
  'Disabled',
  'PendingDeletion',
  'PendingReplicaDeletion',
  'PendingImport',
  'Unavailable',
  'Updating',
] as const;

/** The Encryption SDK's algorithm suite ids (its message format's suite registry). */
export const ENVELOPE_SUITES: readonly number[] = Object.values(AlgorithmSuiteIdentifier).filter(
  (v): v is number => typeof v === 'number',
);

const accountId = z.string().regex(/^\d{12}$/, 'a 12-digit AWS account id');
const regionName = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS Region name such as us-east-1');
const aliasName = z.string().regex(/^alias\/[a-zA-Z0-9/_-]{1,250}$/, 'an alias name such as alias/orders');
export const keyArnPattern = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):key\/(.+)$/;

export const keySchema = z
  .object({
    id: z.string().min(1),
    /** Default: the world's account. A different account makes a key the caller cannot use. */
    account: accountId.optional(),
    aliases: z.array(aliasName).default([]),
    keySpec: z.enum(KEY_SPECS).default('SYMMETRIC_DEFAULT'),
    keyUsage: z.enum(KEY_USAGES).default('ENCRYPT_DECRYPT'),
    keyManager: z.enum(['CUSTOMER', 'AWS']).default('CUSTOMER'),
    origin: z.enum(ORIGINS).default('AWS_KMS'),
    keyState: z.enum(KEY_STATES).default('Enabled'),
    /** Default: the world's Region. */
    region: regionName.optional(),
    multiRegion: z.boolean().default(false),
    multiRegionKeyType: z.enum(['PRIMARY', 'REPLICA']).default('PRIMARY'),
    primaryArn: z.string().regex(keyArnPattern, 'a KMS key ARN').nullable().default(null),
    onDemandRotationsUsed: z.number().int().min(0).default(0),
    lastOnDemandRotationMinutesAgo: z.number().min(0).nullable().default(null),
    /** Minutes between the seeded on-demand rotations (the newest at lastOnDemandRotationMinutesAgo): less than a day seeds several in 24 h. */
    onDemandRotationSpacingMinutes: z
      .number()
      .min(1)
      .max(365 * 24 * 60)
      .default(24 * 60),
    rotationInProgress: z.boolean().default(false),
    automaticRotationDueWithinMinutes: z.number().min(0).nullable().default(null),
    pendingImportedMaterial: z.boolean().default(false),
    rotationSeconds: z.number().min(0).default(20),
    /**
     * EXTERNAL keys with pendingImportedMaterial: the staged material disappears just before the
     * first RotateKeyOnDemand on the key is served (as if someone deleted it between Assess and
     * Rotate); KMS then answers `kmsBehaviour.stagedMaterialGoneError`.
     */
    stagedMaterialLostBeforeRotate: z.boolean().default(false),
    tags: z.record(z.string(), z.string()).default({}),
    /**
     * The key policy (a JSON policy document). Default: the policy KMS gives a key created
     * without one, which lets the account's IAM policies grant access (local/iam).
     */
    policy: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export const objectSchema = z
  .object({
    key: z.string().min(1).max(1024),
    /** UTF-8 body. Default "hello" unless sizeBytes is given. */
    body: z.string().optional(),
    /** A synthetic size (no body), for objects too large to hold, e.g. > 5 GB multipart tests. */
    sizeBytes: z.number().int().min(0).optional(),
    /** Key id, key ARN, alias name or alias ARN. Default: the bucket's defaultKmsKeyId, else SSE-S3. */
    kmsKeyId: z.string().min(1).optional(),
    /** Storage class, default STANDARD (GLACIER / DEEP_ARCHIVE objects need a restore before CopyObject reads them). */
    storageClass: z
      .enum([
        'STANDARD',
        'STANDARD_IA',
        'ONEZONE_IA',
        'INTELLIGENT_TIERING',
        'GLACIER_IR',
        'GLACIER',
        'DEEP_ARCHIVE',
        'REDUCED_REDUNDANCY',
      ])
      .optional(),
    /**
     * Key id, key ARN or alias: the object is an AWS Encryption SDK message of `body` under this
     * key (stored with the bucket's server-side encryption, like any object).
     */
    envelopeKeyId: z.string().min(1).optional(),
    /**
     * Key ids, key ARNs or aliases (any account of the world): the object is one Encryption SDK
     * message whose data key is wrapped for each, in this order (the first generates it), as for a
     * DR key or another account's reader. Give this or `envelopeKeyId`, not both.
     */
    envelopeKeyIds: z.array(z.string().min(1)).min(1).optional(),
    /** The envelope's algorithm suite id as a number (e.g. 888 for 0x0378, the 1.x default). Default: the SDK's default, 1400 (0x0578). */
    envelopeSuite: z.number().int().optional(),
    /** Object tags (kept by re-encryption: CopyObject copies them, a multipart copy passes them on). */
    tags: z.record(z.string(), z.string()).optional(),
    /**
     * User metadata (`x-amz-meta-<name>`). S3 stores names lower-case; names and values travel as
     * HTTP headers, so printable US-ASCII only (S3 User Guide, "Working with object metadata").
     */
    metadata: z
      .record(
        z.string().regex(/^[a-z0-9!#$%&'*+.^_`|~-]+$/, 'a lower-case metadata name (HTTP header token characters)'),
        z.string().regex(/^[\x20-\x7e]*$/, 'printable US-ASCII'),
      )
      .optional(),
    /** Content-Type. Default text/plain for a body, application/octet-stream otherwise. */
    contentType: z
      .string()
      .regex(/^[\x21-\x7e]+\/[\x20-\x7e]+$/, 'a media type such as text/csv')
      .optional(),
    /** Cache-Control. */
    cacheControl: z
      .string()
      .regex(/^[\x20-\x7e]+$/, 'printable US-ASCII')
      .optional(),
    /** The checksum algorithm the object was stored with (HeadObject with ChecksumMode ENABLED answers it). */
    checksumAlgorithm: z.enum(['CRC32', 'CRC32C', 'SHA1', 'SHA256', 'CRC64NVME']).optional(),
    /** DSSE-KMS (`aws:kms:dsse`) under `kmsKeyId` instead of SSE-KMS. */
    dsse: z.boolean().optional(),
    /**
     * Object ACL grants besides the owner's FULL_CONTROL, by permission, each grantee as S3's
     * x-amz-grant-* headers write it: `id="<canonical id>"`, `uri="<group URI>"` or `emailAddress="<address>"`.
     */
    grants: z
      .partialRecord(
        z.enum(['READ', 'READ_ACP', 'WRITE_ACP', 'FULL_CONTROL']),
        z
          .array(z.string().regex(/^(id|uri|emailAddress)="[^"]+"$/, 'id="...", uri="..." or emailAddress="..."'))
          .min(1),
      )
      .optional(),
    /** SSE-C: encrypted with a customer-provided key nobody here holds (reads without it are refused, as S3 does). */
    sseC: z.boolean().optional(),
    /**
     * Older versions of this key, oldest first, written before the object itself (the bucket must
     * be versioned). Each is SSE-KMS under its `kmsKeyId` (default: as for the object), body default "hello".
     */
    previousVersions: z
      .array(z.object({ kmsKeyId: z.string().min(1).optional(), body: z.string().optional() }).strict())
      .optional(),
    /**
     * An additional SSE-KMS encryption context the writer gave (PutObject / CopyObject
     * `x-amz-server-side-encryption-context`), besides S3's own `aws:s3:arn`. S3 passes it to KMS
     * on every read but never returns it on HEAD/GET (S3 model: HeadObjectOutput and
     * GetObjectOutput have no SSEKMSEncryptionContext), so a reader cannot copy it onto a new object.
     */
    encryptionContext: z
      .record(
        z
          .string()
          .min(1)
          .regex(/^(?!aws:)/i, 'a key not starting with aws: (reserved for AWS)'),
        z.string(),
      )
      .optional(),
    /** Object Lock retention of the object (the bucket must have objectLock.enabled). */
    retention: z
      .object({ mode: z.enum(['GOVERNANCE', 'COMPLIANCE']), retainUntil: z.iso.datetime({ offset: true }) })
      .strict()
      .optional(),
    /** Object Lock legal hold ON (the bucket must have objectLock.enabled). */
    legalHold: z.boolean().optional(),
  })
  .strict();

export const bucketSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name (3-63 lowercase letters, digits, . and -)'),
    /** Default: the world's Region. */
    region: regionName.optional(),
    /** Default SSE-KMS key (key id, key ARN, alias name or alias ARN). Absent: SSE-S3 (AES256). */
    defaultKmsKeyId: z.string().min(1).optional(),
    bucketKeyEnabled: z.boolean().default(false),
    versioning: z.boolean().default(false),
    objects: z.array(objectSchema).default([]),
    /**
     * S3 Object Lock: only on a versioned bucket (S3 User Guide, "Object Lock considerations").
     * `defaultRetention` applies to new versions written without their own retention.
     */
    objectLock: z
      .object({
        enabled: z.boolean(),
        defaultRetention: z
          .object({ mode: z.enum(['GOVERNANCE', 'COMPLIANCE']), days: z.number().int().min(1) })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    /**
     * S3 Object Ownership. Default BucketOwnerEnforced, the default for new buckets since April
     * 2023: ACLs are disabled (a write with ACL headers is refused, GetObjectAcl answers the owner
     * only). ObjectWriter and BucketOwnerPreferred keep ACLs.
     */
    objectOwnership: z
      .enum(['BucketOwnerEnforced', 'BucketOwnerPreferred', 'ObjectWriter'])
      .default('BucketOwnerEnforced'),
    /** The bucket policy (a JSON policy document). Default: none (only identity policies grant). */
    policy: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export const faultSchema = z
  .object({
    service: z.enum(['kms', 'sns', 's3', 'guardduty', 'securityhub', 'accessanalyzer']),
    operation: z.string().min(1),
    error: z.string().min(1),
    times: z.number().int().min(1),
    /**
     * Perform the operation, then answer `error` instead of its result (a lost answer: the caller
     * cannot tell that it happened). `error: "NoResponse"` closes the connection without any answer.
     */
    afterPerforming: z.boolean().default(false),
    /**
     * S3 only: answer HTTP 200 with the `<Error>` in the body, as S3 can for CopyObject,
     * UploadPartCopy and CompleteMultipartUpload once it has started answering.
     */
    okWithErrorBody: z.boolean().default(false),
  })
  .strict();

/**
 * KMS behaviours AWS does not document: one switch each, so that tests run the product against
 * both plausible answers (local/standin/README.md).
 */
export const kmsBehaviourSchema = z
  .object({
    /** GetKeyRotationStatus on an EXTERNAL-origin key: answers as for any key, or refuses. */
    getKeyRotationStatusOnImported: z.enum(['answers', 'UnsupportedOperationException']).default('answers'),
    /** RotateKeyOnDemand while an on-demand rotation runs: refused, or accepted and a second rotation spent. */
    rotateWhileOnDemandRunning: z.enum(['ConflictException', 'accepted']).default('ConflictException'),
    /**
     * Eventual consistency: for this many seconds (divided by speed) after an accepted
     * RotateKeyOnDemand, GetKeyRotationStatus, ListKeyRotations and DescribeKey show the key as
     * it was before the call.
     */
    readAfterRotateDelaySeconds: z.number().min(0).default(0),
    /** RotateKeyOnDemand on an EXTERNAL key without staged (PENDING_ROTATION) material. */
    stagedMaterialGoneError: z
      .enum(['KMSInvalidStateException', 'UnsupportedOperationException'])
      .default('KMSInvalidStateException'),
  })
  .strict();

/**
 * A person of the simulated account: the access key the CLI signs with (the local front door
 * verifies SigV4 with it), the IAM principal it stands for, and whether the break-glass policy is
 * attached (everyone has the on-call policy).
 */
export const personSchema = z
  .object({
    arn: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:(sts|iam)::\d{12}:.+$/,
        'an IAM principal ARN such as arn:aws:sts::111122223333:assumed-role/OnCall/alice',
      ),
    accessKeyId: z.string().regex(/^[A-Z0-9]{16,128}$/, 'an access key id (16-128 upper-case letters and digits)'),
    secretAccessKey: z.string().min(16),
    breakGlass: z.boolean().default(false),
    /**
     * The session's `sts:SourceIdentity` (role sessions only), as the identity provider or the role's
     * trust policy set it; the front door's resource policy requires it equal to the session name
     * outside IAM Identity Center. Absent: a plain role session (or an Identity Center one).
     */
    sourceIdentity: z
      .string()
      .regex(/^[\w+=,.@-]{2,64}$/, 'a source identity: 2-64 letters, digits or _+=,.@-')
      .optional(),
    /**
     * The role's IAM path (`aws:PrincipalArn` includes it). Default: `/aws-reserved/sso.amazonaws.com/`
     * for an `AWSReservedSSO_*` role (IAM Identity Center's), `/` for any other.
     */
    rolePath: z
      .string()
      .regex(/^\/([\w+=,.@-]+\/)*$/, 'an IAM path such as / or /teams/security/')
      .optional(),
    /**
     * More identity policies of this person, besides the stack's on-call policy (and break-glass):
     * names of the template's managed policies (logical id, with or without its hash) or policy documents.
     */
    policies: z.array(z.union([z.string().min(1), z.record(z.string(), z.unknown())])).optional(),
  })
  .strict();

/** What happens at a key's approval gate: a decision, or one given by a named person with a reason. */
const approvalAnswerSchema = z.union([
  z.enum(['approve', 'deny', 'timeout']),
  z
    .object({
      decision: z.enum(['approve', 'deny', 'timeout']),
      /** A person of `people`: who answers (default: the first person who did not ask). */
      by: z.string().min(1).optional(),
      reason: z.string().min(1).optional(),
    })
    .strict(),
]);
/** One answer, or answers tried in order: the next is sent when the front door refused the one before. */
const approvalSchema = z.union([approvalAnswerSchema, z.array(approvalAnswerSchema).min(1).max(5)]);

/** Quota names a world may set: a symmetric cryptographic operation is refused with the quota it really draws on. */
function checkQuotaNames(quotas: Record<string, number>, ctx: z.RefinementCtx): void {
  for (const name of Object.keys(quotas)) {
    if (QUOTA_NAMES.includes(name)) continue;
    const message = SHARED_SYMMETRIC_OPERATIONS.includes(name)
      ? `KMS has no quota of its own for ${name}: it shares "${SHARED_SYMMETRIC_QUOTA}" with the other symmetric cryptographic operations; set that`
      : `unknown field (quotas: ${QUOTA_NAMES.join(', ')})`;
    ctx.addIssue({ code: 'custom', path: [name], message });
  }
}

export const worldSchema = z
  .object({
    account: accountId.default('111122223333'),
    region: regionName.default('us-east-1'),
    keys: z.array(keySchema).default([]),
    buckets: z.array(bucketSchema).default([]),
    faults: z.array(faultSchema).default([]),
    kmsBehaviour: kmsBehaviourSchema.default(kmsBehaviourSchema.parse({})),
    settings: settingsObject.partial().strict().default({}),
    approvals: z.record(z.string(), approvalSchema).default({}),
    /**
     * KMS request quotas (requests per simulated second, per account and Region) that replace the
     * documented ones, e.g. {"RotateKeyOnDemand": 5, "CryptographicOperationsSymmetric": 100}; see
     * local/standin/quotas.ts. Decrypt, GenerateDataKey, ... have no quota of their own in KMS.
     */
    quotas: z.record(z.string(), z.number().positive().finite()).superRefine(checkQuotaNames).default({}),
    /** Who may use the local front door (default: alice and bob on call, carol also break-glass). */
    people: z.record(z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'a short lower-case name'), personSchema).optional(),
    /** The person manual requests come from (default: the first person; a forced one: the first with break-glass). */
    requester: z.string().min(1).optional(),
    /**
     * A finding event is NOT filed with its source service (GuardDuty, Security Hub, Access
     * Analyzer), which then answers "not found" when Intake confirms it: a hand-made finding.
     * Default: every finding event run is filed first, as the service that sent it holds it.
     */
    unconfirmedFindings: z.boolean().default(false),
  })
  .strict();

export type WorldPerson = z.infer<typeof personSchema>;

/** The world document as the schema parses it (before per-key and per-bucket defaults). */
export type RawWorld = z.infer<typeof worldSchema>;
export type WorldKey = Omit<z.infer<typeof keySchema>, 'account' | 'region'> & { account: string; region: string };
/** A bucket; objectOwnership may be absent in buckets made in code (BucketOwnerEnforced, as S3's default). */
export type WorldBucket = Omit<z.infer<typeof bucketSchema>, 'region' | 'objectOwnership'> & {
  region: string;
  objectOwnership?: z.infer<typeof bucketSchema>['objectOwnership'];
};
export type WorldFault = z.infer<typeof faultSchema>;
export type KmsBehaviour = z.infer<typeof kmsBehaviourSchema>;
/** Only the settings the world file actually names (no defaults filled in), so they can be merged over others. */
export type WorldSettings = RawWorld['settings'];
export type World = Omit<RawWorld, 'keys' | 'buckets' | 'people'> & {
  keys: WorldKey[];
  buckets: WorldBucket[];
  people: Record<string, WorldPerson>;
};
