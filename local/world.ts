import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { AlgorithmSuiteIdentifier } from '@aws-crypto/client-node';
import { settingsObject } from '../lib/settings';
import { QUOTA_NAMES, SHARED_SYMMETRIC_OPERATIONS, SHARED_SYMMETRIC_QUOTA } from './standin/quotas';

/**
 * The simulated AWS account that the local stand-in (local/standin) serves: KMS keys, S3
 * buckets, injected faults, and the settings / approvals used by local runs.
 *
 * Every field but a key's `id` and a bucket's `name` / an object's `key` has a default. Unknown
 * fields are an error. Errors are a WorldError naming the file, the JSON path and what was expected.
 */

const KEY_SPECS = [
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
const ENVELOPE_SUITES: readonly number[] = Object.values(AlgorithmSuiteIdentifier).filter(
  (v): v is number => typeof v === 'number',
);

const accountId = z.string().regex(/^\d{12}$/, 'a 12-digit AWS account id');
const regionName = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS Region name such as us-east-1');
const aliasName = z.string().regex(/^alias\/[a-zA-Z0-9/_-]{1,250}$/, 'an alias name such as alias/orders');
const keyArnPattern = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):key\/(.+)$/;

const keySchema = z
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

const objectSchema = z
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
  })
  .strict();

const bucketSchema = z
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
    /** The bucket policy (a JSON policy document). Default: none (only identity policies grant). */
    policy: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

const faultSchema = z
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
const kmsBehaviourSchema = z
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
const personSchema = z
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

const worldSchema = z
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

/** The default people of an account: two on-call engineers and one with break-glass as well. */
export function defaultPeople(account: string): Record<string, WorldPerson> {
  const person = (name: string, role: string, n: number, breakGlass: boolean): WorldPerson => ({
    arn: `arn:aws:sts::${account}:assumed-role/${role}/${name}`,
    accessKeyId: `AKIALOCAL${name.toUpperCase().padEnd(11, 'X')}${n}`,
    secretAccessKey: `local-secret-of-${name}-not-a-real-key`,
    breakGlass,
    // Each signs in through the identity provider, which sets the source identity to the user name.
    sourceIdentity: name,
  });
  return {
    alice: person('alice', 'OnCall', 1, false),
    bob: person('bob', 'OnCall', 2, false),
    carol: person('carol', 'BreakGlass', 3, true),
  };
}

type RawWorld = z.infer<typeof worldSchema>;
export type WorldKey = Omit<z.infer<typeof keySchema>, 'account' | 'region'> & { account: string; region: string };
export type WorldBucket = Omit<z.infer<typeof bucketSchema>, 'region'> & { region: string };
export type WorldFault = z.infer<typeof faultSchema>;
export type KmsBehaviour = z.infer<typeof kmsBehaviourSchema>;
/** Only the settings the world file actually names (no defaults filled in), so they can be merged over others. */
export type WorldSettings = RawWorld['settings'];
export type World = Omit<RawWorld, 'keys' | 'buckets' | 'people'> & {
  keys: WorldKey[];
  buckets: WorldBucket[];
  people: Record<string, WorldPerson>;
};

/** A world-file problem: names the file, the JSON path of each bad field and what was expected. */
export class WorldError extends Error {
  constructor(
    readonly where: string,
    readonly problems: string[],
  ) {
    super(`Invalid world ${where}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'WorldError';
  }
}

export function keyArnOf(k: { region: string; account: string; id: string }): string {
  return `arn:aws:kms:${k.region}:${k.account}:key/${k.id}`;
}

/** A key with every default applied (used by the stand-in's CreateKey, so defaults live in one place). */
export function defaultWorldKey(id: string, account: string, region: string): WorldKey {
  return { ...keySchema.parse({ id }), account, region };
}

/** JSON path as written in a world file: keys[0].keySpec */
function jsonPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(root)';
}

function describe(error: z.ZodError): string[] {
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((k) => `${jsonPath([...issue.path, k])}: unknown field`)
      : [`${jsonPath(issue.path)}: ${issue.message}`],
  );
}

/** Validate a parsed world document. `where` names its origin (a file path) in errors. */
export function parseWorld(raw: unknown, where: string): World {
  const result = worldSchema.safeParse(raw ?? {});
  if (!result.success) throw new WorldError(where, describe(result.error));
  const w = result.data;
  // settings: keep only the names the file gives (partial() still fills defaults in zod 4).
  const given = ((raw ?? {}) as { settings?: Record<string, unknown> }).settings ?? {};
  const settings = Object.fromEntries(Object.entries(w.settings).filter(([k]) => k in given)) as WorldSettings;
  const keys: WorldKey[] = w.keys.map((k) => ({ ...k, account: k.account ?? w.account, region: k.region ?? w.region }));
  const buckets: WorldBucket[] = w.buckets.map((b) => ({ ...b, region: b.region ?? w.region }));
  const problems = crossChecks(keys, buckets);
  w.faults.forEach((f, i) => {
    if (f.afterPerforming && f.service !== 'kms')
      problems.push(`faults[${i}].afterPerforming: only KMS faults can answer after performing`);
  });
  const people = w.people ?? defaultPeople(w.account);
  if (w.requester !== undefined && !people[w.requester])
    problems.push(`requester: ${JSON.stringify(w.requester)} is not one of people`);
  for (const [name, person] of Object.entries(people)) {
    // STS sets a source identity and a path only on role sessions (AssumeRole*); IAM users and
    // GetFederationToken sessions have neither.
    const isRoleSession = /^arn:aws[a-z-]*:sts::\d{12}:assumed-role\/[^/]+\/[^/]+$/.test(person.arn);
    if (person.sourceIdentity !== undefined && !isRoleSession) {
      problems.push(
        `people.${name}.sourceIdentity: only a role session (arn:aws:sts::<account>:assumed-role/<role>/<session>) carries a source identity`,
      );
    }
    if (person.rolePath !== undefined && !isRoleSession)
      problems.push(`people.${name}.rolePath: only a role session has a role path`);
  }
  for (const [key, given] of Object.entries(w.approvals)) {
    (Array.isArray(given) ? given : [given]).forEach((approval, i) => {
      const at = Array.isArray(given) ? `approvals.${key}[${i}]` : `approvals.${key}`;
      if (typeof approval === 'object' && approval.by !== undefined && !people[approval.by])
        problems.push(`${at}.by: ${JSON.stringify(approval.by)} is not one of people`);
    });
  }
  if (problems.length) throw new WorldError(where, problems);
  return { ...w, settings, keys, buckets, people };
}

function crossChecks(keys: WorldKey[], buckets: WorldBucket[]): string[] {
  const problems: string[] = [];
  const arns = new Map<string, number>();
  const aliases = new Map<string, number>();
  keys.forEach((k, i) => {
    const at = `keys[${i}]`;
    const arn = keyArnOf(k);
    if (arns.has(arn)) problems.push(`${at}.id: duplicate key ${arn} (same as keys[${arns.get(arn)}])`);
    arns.set(arn, i);
    k.aliases.forEach((a, j) => {
      const scoped = `${k.account}/${k.region}/${a}`;
      if (aliases.has(scoped))
        problems.push(`${at}.aliases[${j}]: alias ${a} already used in ${k.region} by keys[${aliases.get(scoped)}]`);
      aliases.set(scoped, i);
      if (a.startsWith('alias/aws/') && k.keyManager !== 'AWS')
        problems.push(`${at}.aliases[${j}]: alias/aws/ is reserved for AWS managed keys`);
    });
    if (k.multiRegionKeyType === 'REPLICA') {
      if (!k.multiRegion) problems.push(`${at}.multiRegion: expected true for a REPLICA key`);
      const m = k.primaryArn ? keyArnPattern.exec(k.primaryArn) : null;
      if (!m) problems.push(`${at}.primaryArn: expected the primary key's ARN for a REPLICA key`);
      else {
        if (m[3] !== k.id)
          problems.push(`${at}.primaryArn: a replica has the same key id as its primary (expected key/${k.id})`);
        if (m[2] !== k.account)
          problems.push(`${at}.primaryArn: a replica is in the same account as its primary (${k.account})`);
        if (m[1] === k.region) problems.push(`${at}.primaryArn: a replica is in a different Region from its primary`);
      }
    } else if (k.primaryArn !== null) {
      problems.push(`${at}.primaryArn: only a REPLICA key has primaryArn (expected null)`);
    }
    if (k.onDemandRotationsUsed === 0 && k.lastOnDemandRotationMinutesAgo !== null) {
      problems.push(`${at}.lastOnDemandRotationMinutesAgo: expected null when onDemandRotationsUsed is 0`);
    }
    if (k.onDemandRotationsUsed < 2 && k.onDemandRotationSpacingMinutes !== 24 * 60) {
      problems.push(
        `${at}.onDemandRotationSpacingMinutes: spaces two or more seeded rotations (onDemandRotationsUsed >= 2)`,
      );
    }
    if (k.pendingImportedMaterial && k.origin !== 'EXTERNAL') {
      problems.push(`${at}.pendingImportedMaterial: only keys with origin EXTERNAL have imported key material`);
    }
    if (k.stagedMaterialLostBeforeRotate && !k.pendingImportedMaterial) {
      problems.push(
        `${at}.stagedMaterialLostBeforeRotate: only a key with pendingImportedMaterial has staged material to lose`,
      );
    }
    if (k.automaticRotationDueWithinMinutes !== null && (k.origin !== 'AWS_KMS' || k.keySpec !== 'SYMMETRIC_DEFAULT')) {
      problems.push(
        `${at}.automaticRotationDueWithinMinutes: automatic rotation exists only for SYMMETRIC_DEFAULT keys with origin AWS_KMS`,
      );
    }
  });
  // A replica whose primary is in the world shares the primary's rotation history.
  keys.forEach((k, i) => {
    if (k.multiRegionKeyType !== 'REPLICA' || !k.primaryArn || !arns.has(k.primaryArn)) return;
    const primary = keys[arns.get(k.primaryArn)!];
    if (!primary.multiRegion)
      problems.push(`keys[${i}].primaryArn: keys[${arns.get(k.primaryArn)}] is not a multi-Region key`);
    for (const f of [
      'onDemandRotationsUsed',
      'lastOnDemandRotationMinutesAgo',
      'onDemandRotationSpacingMinutes',
      'rotationInProgress',
      'automaticRotationDueWithinMinutes',
      'pendingImportedMaterial',
    ] as const) {
      const dflt = {
        onDemandRotationsUsed: 0,
        lastOnDemandRotationMinutesAgo: null,
        onDemandRotationSpacingMinutes: 24 * 60,
        rotationInProgress: false,
        automaticRotationDueWithinMinutes: null,
        pendingImportedMaterial: false,
      }[f];
      if (k[f] !== dflt)
        problems.push(
          `keys[${i}].${f}: a replica shares its primary's key material and rotations; set it on the primary (${k.primaryArn})`,
        );
    }
  });
  const names = new Map<string, number>();
  buckets.forEach((b, i) => {
    if (names.has(b.name))
      problems.push(`buckets[${i}].name: duplicate bucket ${b.name} (same as buckets[${names.get(b.name)}])`);
    names.set(b.name, i);
    const seen = new Set<string>();
    b.objects.forEach((o, j) => {
      if (seen.has(o.key)) problems.push(`buckets[${i}].objects[${j}].key: duplicate object key ${o.key}`);
      seen.add(o.key);
      if (o.body !== undefined && o.sizeBytes !== undefined)
        problems.push(`buckets[${i}].objects[${j}].sizeBytes: give either body or sizeBytes, not both`);
      if (o.envelopeKeyId !== undefined && o.sizeBytes !== undefined)
        problems.push(`buckets[${i}].objects[${j}].envelopeKeyId: an envelope object needs a body, not sizeBytes`);
      if (o.sseC && (o.kmsKeyId !== undefined || o.envelopeKeyId !== undefined))
        problems.push(
          `buckets[${i}].objects[${j}].sseC: an SSE-C object has no KMS key (drop kmsKeyId / envelopeKeyId)`,
        );
      if (o.dsse && o.kmsKeyId === undefined)
        problems.push(
          `buckets[${i}].objects[${j}].dsse: a DSSE-KMS object needs kmsKeyId (the KMS key of its data key)`,
        );
      if (o.previousVersions?.length && !b.versioning) {
        problems.push(
          `buckets[${i}].objects[${j}].previousVersions: only a versioned bucket keeps older versions (set buckets[${i}].versioning to true)`,
        );
      }
      problems.push(...envelopeProblems(o, `buckets[${i}].objects[${j}]`));
    });
  });
  return problems;
}

/** Problems of an object's envelope fields (envelopeKeyIds, envelopeSuite), each naming its field. */
function envelopeProblems(o: z.infer<typeof objectSchema>, where: string): string[] {
  const problems: string[] = [];
  if (o.envelopeKeyIds !== undefined) {
    if (o.envelopeKeyId !== undefined)
      problems.push(`${where}.envelopeKeyIds: give envelopeKeyId (one key) or envelopeKeyIds (several), not both`);
    if (o.sizeBytes !== undefined)
      problems.push(`${where}.envelopeKeyIds: an envelope object needs a body, not sizeBytes`);
    if (new Set(o.envelopeKeyIds).size !== o.envelopeKeyIds.length)
      problems.push(`${where}.envelopeKeyIds: a key is listed twice`);
  }
  if (o.envelopeSuite !== undefined) {
    if (o.envelopeKeyId === undefined && o.envelopeKeyIds === undefined)
      problems.push(`${where}.envelopeSuite: only an envelope object (envelopeKeyId or envelopeKeyIds) has a suite`);
    if (!ENVELOPE_SUITES.includes(o.envelopeSuite))
      problems.push(
        `${where}.envelopeSuite: ${o.envelopeSuite} is not an Encryption SDK algorithm suite id (one of ${ENVELOPE_SUITES.join(', ')})`,
      );
  }
  return problems;
}

/** Read and validate a world file. A missing/unreadable file or invalid JSON is a WorldError naming the path. */
export function loadWorldFile(path: string): World {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new WorldError(path, [`cannot read the file: ${(e as Error).message}`]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new WorldError(path, [`invalid JSON: ${(e as Error).message}`]);
  }
  return parseWorld(raw, path);
}
