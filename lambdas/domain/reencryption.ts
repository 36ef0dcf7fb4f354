/**
 * Re-encryption: the per-object decision and the report vocabulary. Pure: the adapter
 * (adapters/s3-reencrypt.ts) reads the facts (HeadObject, the Encryption SDK message header),
 * asks here what to do, does it, and records the outcome in a report built here.
 *
 * Rotating a KMS key does not change the data keys already issued; re-encrypting makes KMS (or
 * S3 on its behalf) issue NEW data keys for the affected objects.
 */

import { parseKmsArn } from './arn';
import type { IncidentRequest } from './contracts';
import { cut, oneLine, parseCause } from './text';

/** Which kind of data a target holds. */
export const REENCRYPTION_KINDS = ['s3-sse-kms', 'envelope'] as const;
export type ReencryptionKind = (typeof REENCRYPTION_KINDS)[number];

/** A bucket/prefix to re-encrypt and how its objects are encrypted (prefix '' = the whole bucket). */
export interface ReencryptTargetSpec {
  type: ReencryptionKind;
  bucket: string;
  prefix: string;
}

/** Where a target came from: the manual request, the finding (buckets it names), or setting `reEncryptTargets`. */
export type TargetOrigin = 'request' | 'finding' | 'setting';

/** One unit of work: one target for one rotated key (an `s3-sse-kms` target on a shared bucket is scanned once per key). */
export interface ReencryptionUnit extends ReencryptTargetSpec {
  keyArn: string;
  origin: TargetOrigin;
}

/** Why a target was refused before any work (the rotation itself is never held back by it). */
export type RefusalReason =
  /** The bucket is not in setting `reEncryptBuckets` (IAM names only those). */
  | 'BUCKET_NOT_ALLOWED'
  /** The key was not rotated by this execution (skipped, failed, dry run): re-encrypting gives no new key material. */
  | 'KEY_NOT_ROTATED'
  /** More than MAX_REENCRYPTION_UNITS units in one execution. */
  | 'TOO_MANY_TARGETS'
  /** A re-encrypt-only request, and the key's newest key material was created before `exposedAt`: rotate first. */
  | 'MATERIAL_PREDATES_EXPOSURE';

export interface RefusedTarget extends ReencryptTargetSpec {
  keyArn: string | null;
  origin: TargetOrigin;
  reason: RefusalReason;
  /** One sentence for people. */
  detail: string;
}

/** The re-encryption settings (lib/settings.ts), as the workflow hands them to PlanReencryption (in its payload, not the environment: 4 KB). */
export interface ReencryptionSettings {
  /** `reEncryptBuckets`: the only buckets the stack may touch. */
  buckets: string[];
  /** `reEncryptTargets`: per key ARN or alias name (`alias/x`), the targets of every rotation of that key. */
  targets: Record<string, ReencryptTargetSpec[]>;
  /** `autoReEncrypt`: finding-triggered runs re-encrypt (true) or only report what they would do (false). */
  auto: boolean;
  /** `reEncryptKmsRequestsPerSecond`: the branch's KMS request rate bound. */
  kmsRequestsPerSecond: number;
  /** `reEncryptUpgradeEnvelopeSuite`: rewrite non-committing Encryption SDK messages in a committing suite (absent: false). */
  upgradeEnvelopeSuite?: boolean;
}

/**
 * NONE: nothing to re-encrypt (no target, or every target refused). RUN: the Distributed Map runs
 * `units` one after the other. REPORT_ONLY: a finding-triggered run with `autoReEncrypt` false, or
 * a dry run: `units` are what would run; nothing is touched.
 */
export type ReencryptionMode = 'NONE' | 'RUN' | 'REPORT_ONLY';

/** Most units one execution runs (the per-target reports travel in the state: 256 KiB). */
export const MAX_REENCRYPTION_UNITS = 20;
/** Most refusals listed in the state and the report (the rest are counted in `refusedMore`). */
export const MAX_LISTED_REFUSALS = 20;
/**
 * Longest target prefix. S3 keys reach 1,024 bytes, but a prefix travels in the state several
 * times per target (unit, report, refusal): 256 keeps the worst case of 20 targets well inside
 * 256 KiB (test/unit/reencryption-limits.test.ts).
 */
export const MAX_PREFIX_LENGTH = 256;
/**
 * UTF-8 bytes the listed failures of all target reports may take in the state together: a
 * target's first 20 failures are listed while this lasts; the counts stay exact and the ledger
 * entry of each target keeps its 20.
 */
export const LISTED_FAILURES_BUDGET_BYTES = 32 * 1024;

/**
 * What the workflow carries at `$.reencryption` from PlanReencryption to Notify. The loop:
 * Choice MoreToReencrypt (`remaining > 0`) -> Distributed Map ReencryptTarget on `current`
 * (ResultPath `$.reencryption.mapRun`, Catch -> `$.reencryption.mapRunError`) ->
 * SummarizeReencryption (reads the ResultWriter files, appends `current`'s report, advances
 * index/remaining/current, clears mapRun/mapRunError) -> MoreToReencrypt.
 * Every field is always present (null until known) so that JSONPath never misses.
 */
export interface ReencryptionState {
  mode: ReencryptionMode;
  units: ReencryptionUnit[];
  /** The first MAX_LISTED_REFUSALS refusals (a bucket refusal once per target, keyArn null). */
  refused: RefusedTarget[];
  /** Refusals beyond those listed. */
  refusedMore: number;
  index: number;
  /** Units still to run (RUN only; 0 otherwise): the Choice compares it. */
  remaining: number;
  /** units[index] while remaining > 0, else null: the Distributed Map reads bucket and prefix from it. */
  current: ReencryptionUnit | null;
  /** Pacing for the batches (BatchInput): KMS requests per second each child may spend. */
  childKmsRequestsPerSecond: number;
  reports: TargetReport[];
  mapRun: { MapRunArn?: string; ResultWriterDetails?: { Bucket: string; Key: string } } | null;
  mapRunError: { Error: string; Cause?: string } | null;
  /**
   * Set by the workflow when PlanReencryption or SummarizeReencryption itself failed after its
   * retries: the branch stopped there and Notify reports it (the execution then fails).
   */
  branchError?: { Error: string; Cause?: string } | null;
}

/**
 * The state with nothing planned: what the workflow puts at `$.reencryption` when
 * PlanReencryption itself failed (with `branchError` added), so Notify reads the same shape.
 */
export const NOTHING_PLANNED: Readonly<ReencryptionState> = Object.freeze({
  mode: 'NONE',
  units: [],
  refused: [],
  refusedMore: 0,
  index: 0,
  remaining: 0,
  current: null,
  childKmsRequestsPerSecond: 0,
  reports: [],
  mapRun: null,
  mapRunError: null,
});

/** Each Distributed Map item after ItemSelector (from the S3 ListObjectsV2 reader's Key/Size/Etag). */
export interface ReencryptItem {
  key: string;
  size: number;
  etag: string;
}

/** What one child execution's ReencryptObjects task receives (ItemBatcher's shape, and the child's start). */
export interface ReencryptBatchInput {
  /** `upgradeEnvelopeSuite`: setting `reEncryptUpgradeEnvelopeSuite` (absent: false, legacy suites are kept). */
  BatchInput: {
    unit: ReencryptionUnit;
    kmsRequestsPerSecond: number;
    upgradeEnvelopeSuite?: boolean;
    /** An envelope unit's per-run KMS grant token on the rotated key (lib/reencryption-grant.ts); null otherwise. */
    grantToken?: string | null;
  };
  Items: ReencryptItem[];
  /** The child execution's `$$.Execution.StartTime` (ISO): its Express deadline counts from here, not from the function's start. */
  childStartedAt?: string;
}

/** An Express execution (each Distributed Map child) runs at most 5 minutes from its own start (Step Functions, "Standard vs Express"). */
export const EXPRESS_CHILD_MS = 300_000;

/** The run's re-encryption, as the notification, `simulate --json` and the CLI report it. */
export interface ReencryptionSummary {
  mode: ReencryptionMode;
  objectsScanned: number;
  objectsReencrypted: number;
  objectsSkipped: number;
  objectsFailed: number;
  /** Any object failed, any target's map run failed, or any target was refused. */
  actionRequired: boolean;
  /**
   * What set `actionRequired`, counted by reason (objects, versions, targets): a skip reason that
   * left data under the exposed key, OLDER_VERSIONS, OBJECT_FAILED, CHANGED_DURING_RUN,
   * TARGET_FAILED, a refusal reason, BRANCH_FAILED. Empty when no action is required; always
   * set by summarizeReencryption (optional only for summaries written before it existed).
   */
  actionRequiredByReason?: Record<string, number>;
  targets: TargetReport[];
  refused: RefusedTarget[];
  /** Refusals beyond those listed (absent: none). */
  refusedMore?: number;
  /** The branch itself failed (planning or summarising): `Error: Cause`, bounded. Absent: it did not. */
  error?: string;
  /** REPORT_ONLY: what would have run. */
  planned: ReencryptionUnit[];
}

/**
 * KMS requests each step of a re-encryption causes, S3's requests on the bucket's behalf included
 * (docs/reencryption.md, "KMS requests per object", has the table with its sources). Every attempt costs them again.
 * - checksumHead: HeadObject with ChecksumMode ENABLED on an SSE-KMS object with a checksum: S3
 *   decrypts to return it ("you must have permission to use the kms:Decrypt action", HeadObject).
 * - copy: CopyObject of an SSE-KMS object under SSE-KMS: Decrypt the source's data key, GenerateDataKey for the copy.
 * - multipartCreate: CreateMultipartUpload under SSE-KMS: GenerateDataKey for the upload.
 * - partCopy: each UploadPartCopy decrypts the source's data key (Decrypt).
 * - sseKmsRead: GetObject of an SSE-KMS object (an envelope stored in an SSE-KMS bucket): Decrypt.
 * - sseKmsWrite: PutObject under SSE-KMS: GenerateDataKey.
 * - esdkDecrypt: the Encryption SDK's KMS keyring decrypts one data key (Decrypt).
 * - esdkEncrypt: GenerateDataKey for the first wrapping key, plus one Encrypt per further wrapping key.
 */
export const KMS_REQUESTS = {
  checksumHead: 1,
  copy: 2,
  multipartCreate: 1,
  partCopy: 1,
  sseKmsRead: 1,
  sseKmsWrite: 1,
  esdkDecrypt: 1,
  esdkEncrypt: 1,
  esdkEncryptPerExtraWrappingKey: 1,
} as const;

/**
 * KMS requests one object costs at most, per kind, as the batches are sized (reencryptionPacing,
 * lib/limits.ts). SSE-KMS copy: checksum HEAD + copy = 3. Envelope in an SSE-KMS bucket, one
 * wrapping key: read (S3 Decrypt) + SDK Decrypt + SDK GenerateDataKey + write (S3 GenerateDataKey)
 * + verifying read (S3 Decrypt) + verifying SDK Decrypt = 6. Objects above this (multipart copies:
 * 2 + one per part; messages with more wrapping keys: one Encrypt each) are charged per request as
 * they go, and the child's deadline stops starting objects: the batch is then smaller, never faster.
 */
export const KMS_REQUESTS_PER_OBJECT: Record<ReencryptionKind, number> = {
  's3-sse-kms': KMS_REQUESTS.checksumHead + KMS_REQUESTS.copy,
  envelope:
    KMS_REQUESTS.sseKmsRead +
    KMS_REQUESTS.esdkDecrypt +
    KMS_REQUESTS.esdkEncrypt +
    KMS_REQUESTS.sseKmsWrite +
    KMS_REQUESTS.sseKmsRead +
    KMS_REQUESTS.esdkDecrypt,
};

/** The KMS rate one child execution is paced to at most (it works objects a few at a time). */
export const CHILD_KMS_REQUESTS_PER_SECOND = 10;
/** How long one batch should take at its pace (the child is Express: 5 minutes at most). */
export const BATCH_TARGET_SECONDS = 120;
/** Step Functions' Distributed Map allows up to 10,000 concurrent children; we stay far below. */
const MAX_CHILD_CONCURRENCY = 1000;

/**
 * How the Distributed Map is paced from `reEncryptKmsRequestsPerSecond`: concurrency x per-child
 * rate = the bound; a batch is as many objects as a child does in BATCH_TARGET_SECONDS at its
 * rate for the costliest kind (envelope, KMS_REQUESTS_PER_OBJECT).
 */
export function reencryptionPacing(kmsRequestsPerSecond: number): {
  maxConcurrency: number;
  childKmsRequestsPerSecond: number;
  maxItemsPerBatch: number;
} {
  const maxConcurrency = Math.min(
    MAX_CHILD_CONCURRENCY,
    Math.max(1, Math.ceil(kmsRequestsPerSecond / CHILD_KMS_REQUESTS_PER_SECOND)),
  );
  const childKmsRequestsPerSecond = kmsRequestsPerSecond / maxConcurrency;
  const costliest = Math.max(...Object.values(KMS_REQUESTS_PER_OBJECT));
  const maxItemsPerBatch = Math.max(
    1,
    Math.min(1000, Math.floor((childKmsRequestsPerSecond * BATCH_TARGET_SECONDS) / costliest)),
  );
  return { maxConcurrency, childKmsRequestsPerSecond, maxItemsPerBatch };
}

/** Why an object was not re-encrypted (counted in the report, never a failure). */
export type SkipReason =
  | 'OTHER_KEY'
  | 'NOT_SSE_KMS'
  | 'ARCHIVED_NEEDS_RESTORE'
  | 'NOT_ENVELOPE'
  /** SSE-C: encrypted with a customer-provided key; S3 reads it only with that key, which we never hold. Left untouched. */
  | 'SSE_C'
  /** Under a multi-Region replica of the rotated key (same `mrk-` id, another Region): left untouched, action required. */
  | 'MULTI_REGION_REPLICA'
  /** Envelope left untouched: another KMS key wrapping its data key refused the function's Encrypt, so a rewrite would drop that reader. */
  | 'WRAPPING_KEY_UNUSABLE'
  /** Envelope left untouched: a data key is wrapped by a non-KMS provider (raw AES/RSA key, hierarchical keyring) the function cannot wrap for again. */
  | 'NON_KMS_WRAPPING_KEY'
  /** Envelope left untouched: larger than MAX_ENVELOPE_BYTES, which the function re-encrypts in memory (lambdas/adapters/reencrypt-envelope.ts). */
  | 'ENVELOPE_TOO_LARGE';

/**
 * The skip reasons that leave NO data under the rotated key (another key, no KMS at all, not an
 * Encryption SDK message). Every other reason, including any added later, means the object was
 * left untouched under the exposed key material: strict by default, it sets action required.
 */
export const SKIPS_WITHOUT_ACTION: ReadonlySet<string> = new Set<SkipReason>([
  'OTHER_KEY',
  'NOT_SSE_KMS',
  'NOT_ENVELOPE',
]);

/** Whether a skipped object still has data under the exposed key material (a person must act). */
export function skipNeedsAction(reason: string): boolean {
  return !SKIPS_WITHOUT_ACTION.has(reason);
}

/**
 * Whether `objectKeyArn` is a multi-Region replica of `keyArn`: the same `mrk-` key id, partition
 * and account, another Region (KMS: related multi-Region keys share key id and key material, and
 * rotating the primary rotates the material of its replicas; S3 reports the replica's own ARN for
 * a bucket in the replica's Region).
 */
export function isReplicaOf(objectKeyArn: string | undefined, keyArn: string): boolean {
  const o = objectKeyArn ? parseKmsArn(objectKeyArn) : null;
  const k = parseKmsArn(keyArn);
  if (!o || !k || o.resourceType !== 'key' || k.resourceType !== 'key' || !k.resource.startsWith('mrk-')) return false;
  return o.resource === k.resource && o.partition === k.partition && o.account === k.account && o.region !== k.region;
}

/** Largest object CopyObject copies in one request (5 GiB); larger ones need a multipart copy. */
export const MAX_SINGLE_COPY_BYTES = 5 * 1024 ** 3;

/**
 * Storage classes whose objects must be restored before CopyObject can read them (S3 answers
 * `InvalidObjectState`). GLACIER_IR (Instant Retrieval) is read directly, so it is copied like
 * STANDARD. INTELLIGENT_TIERING objects need a restore only in the opt-in Archive Access / Deep
 * Archive Access tiers, which HeadObject reports as `ArchiveStatus`.
 */
const ARCHIVE_CLASSES = new Set(['GLACIER', 'DEEP_ARCHIVE']);

/** HeadObject facts the decision needs for an SSE-KMS object. */
export interface S3ObjectFacts {
  /** `aws:kms`, `aws:kms:dsse`, `AES256`, ... (HeadObject ServerSideEncryption). */
  serverSideEncryption?: string;
  /** The key ARN S3 reports (HeadObject SSEKMSKeyId). */
  sseKmsKeyId?: string;
  /** Absent means STANDARD (HeadObject omits it). */
  storageClass?: string;
  /** `ARCHIVE_ACCESS` / `DEEP_ARCHIVE_ACCESS` for INTELLIGENT_TIERING objects in an archive tier. */
  archiveStatus?: string;
  /** Whether a restored copy is available (HeadObject Restore: `ongoing-request="false"`). */
  restored?: boolean;
  sizeBytes: number;
}

/** What to do with one object. */
export type S3Decision =
  { action: 'RE_ENCRYPT'; method: 'COPY' | 'MULTIPART_COPY' } | { action: 'SKIPPED'; reason: SkipReason };

/**
 * Decide for one SSE-KMS target object: re-encrypt it (single copy up to 5 GiB, multipart above)
 * or skip it with its reason. `keyArn` is the rotated key's ARN (S3 reports SSEKMSKeyId as an ARN).
 */
export function decideS3Object(facts: S3ObjectFacts, keyArn: string): S3Decision {
  // SSE-KMS and DSSE-KMS (two layers, the KMS one the same): both hold a data key under the KMS key.
  if (facts.serverSideEncryption !== 'aws:kms' && facts.serverSideEncryption !== 'aws:kms:dsse')
    return { action: 'SKIPPED', reason: 'NOT_SSE_KMS' };
  // An object under a replica of the rotated multi-Region key is under the same exposed material.
  if (isReplicaOf(facts.sseKmsKeyId, keyArn)) return { action: 'SKIPPED', reason: 'MULTI_REGION_REPLICA' };
  if (facts.sseKmsKeyId !== keyArn) return { action: 'SKIPPED', reason: 'OTHER_KEY' };
  const archived = ARCHIVE_CLASSES.has(facts.storageClass ?? 'STANDARD') || facts.archiveStatus !== undefined;
  if (archived && !facts.restored) return { action: 'SKIPPED', reason: 'ARCHIVED_NEEDS_RESTORE' };
  return { action: 'RE_ENCRYPT', method: facts.sizeBytes > MAX_SINGLE_COPY_BYTES ? 'MULTIPART_COPY' : 'COPY' };
}

/** Facts about an envelope object: whether it parsed as an Encryption SDK message, and its EDKs. */
export interface EnvelopeFacts {
  isMessage: boolean;
  /** Key ARNs named by the message's `aws-kms` encrypted data keys. */
  kmsKeyArns: string[];
  /** Provider ids of the message's other encrypted data keys (raw keyrings' namespaces, `aws-kms-hierarchy`, `aws-kms-rsa`). */
  otherProviderIds?: string[];
  /** The object is larger than the function re-encrypts (its header may still be read). */
  tooLarge?: boolean;
}

/** Decide for one envelope target object: re-encrypt when one of its data keys is under the rotated key. */
export function decideEnvelopeObject(
  facts: EnvelopeFacts,
  keyArn: string,
): { action: 'RE_ENCRYPT' } | { action: 'SKIPPED'; reason: SkipReason } {
  if (!facts.isMessage) return { action: 'SKIPPED', reason: 'NOT_ENVELOPE' };
  if (!facts.kmsKeyArns.includes(keyArn)) return { action: 'SKIPPED', reason: 'OTHER_KEY' };
  // A rewrite wraps the new data key only with KMS keys: a raw-key reader would lose access.
  if ((facts.otherProviderIds ?? []).length > 0) return { action: 'SKIPPED', reason: 'NON_KMS_WRAPPING_KEY' };
  return facts.tooLarge ? { action: 'SKIPPED', reason: 'ENVELOPE_TOO_LARGE' } : { action: 'RE_ENCRYPT' };
}

/** How many failed keys a target report lists (the counts stay exact). */
export const MAX_LISTED_FAILURES = 20;

/** One target's part of the `reencryption` report; also one batch's (summed per target). */
export interface TargetReport {
  type: ReencryptionKind;
  bucket: string;
  prefix: string;
  /** The rotated key whose objects this target re-encrypts ('' in a batch report before it is known). */
  keyArn: string;
  origin: TargetOrigin;
  /** COMPLETED: the map run finished (objects may still have failed: objectsFailed). FAILED: the map run itself failed (`error`). */
  status: 'COMPLETED' | 'FAILED';
  error: string | null;
  /** Throttled S3/KMS requests retried with back-off (never a failure on their own). */
  throttlesRetried: number;
  /** Child executions (batches) run, and those that failed (their objects count as failed). */
  batches: number;
  batchesFailed: number;
  objectsScanned: number;
  objectsReencrypted: number;
  objectsSkipped: number;
  skippedByReason: Partial<Record<SkipReason, number>>;
  objectsFailed: number;
  /** The first MAX_LISTED_FAILURES failed keys with their errors. */
  failures: { key: string; error: string }[];
  /** Objects changed by someone else during the run (conditional write refused); not overwritten. */
  objectsChangedDuringRun: number;
  bytesReencrypted: number;
  /** Previous versions (versioned bucket) that keep their old data keys: never deleted. */
  oldVersionsLeft: number;
  /**
   * Older (noncurrent) versions still under the rotated key after the run, counted with
   * ListObjectVersions for every scanned object (those this run made noncurrent included): never
   * deleted, action required. Absent in reports made before it was counted.
   */
  olderVersionsUnderKey?: number;
  /** The bucket derives object keys from an S3 Bucket Key (see docs/reencryption.md for what that means). */
  bucketKeys: boolean;
  durationMs: number;
}

/** One object's outcome, as the adapter reports it; `olderVersionsUnderKey`: its noncurrent versions under the rotated key. */
export type ObjectOutcome = (
  | { key: string; result: 'REENCRYPTED'; bytes: number; oldVersionLeft: boolean; bucketKey: boolean }
  | { key: string; result: 'SKIPPED'; reason: SkipReason }
  | { key: string; result: 'CHANGED_DURING_RUN'; error: string }
  | { key: string; result: 'FAILED'; error: string }
) & { olderVersionsUnderKey?: number };

/** An empty report for one target. */
export function emptyTargetReport(
  type: ReencryptionKind,
  bucket: string,
  prefix: string,
  keyArn = '',
  origin: TargetOrigin = 'request',
): TargetReport {
  return {
    type,
    bucket,
    prefix,
    keyArn,
    origin,
    status: 'COMPLETED',
    error: null,
    throttlesRetried: 0,
    batches: 0,
    batchesFailed: 0,
    objectsScanned: 0,
    objectsReencrypted: 0,
    objectsSkipped: 0,
    skippedByReason: {},
    objectsFailed: 0,
    failures: [],
    objectsChangedDuringRun: 0,
    bytesReencrypted: 0,
    oldVersionsLeft: 0,
    olderVersionsUnderKey: 0,
    bucketKeys: false,
    durationMs: 0,
  };
}

/**
 * Add one object's outcome to a target report (returns a new report). An object changed during
 * the run was not re-encrypted by us: it counts as failed (its new contents were written by
 * someone else, possibly with a data key made before the rotation) and as changed.
 */
export function recordOutcome(report: TargetReport, o: ObjectOutcome): TargetReport {
  const r: TargetReport = {
    ...report,
    skippedByReason: { ...report.skippedByReason },
    failures: [...report.failures],
    objectsScanned: report.objectsScanned + 1,
  };
  if (o.olderVersionsUnderKey) r.olderVersionsUnderKey = (r.olderVersionsUnderKey ?? 0) + o.olderVersionsUnderKey;
  switch (o.result) {
    case 'REENCRYPTED':
      r.objectsReencrypted++;
      r.bytesReencrypted += o.bytes;
      if (o.oldVersionLeft) r.oldVersionsLeft++;
      if (o.bucketKey) r.bucketKeys = true;
      break;
    case 'SKIPPED':
      r.objectsSkipped++;
      r.skippedByReason[o.reason] = (r.skippedByReason[o.reason] ?? 0) + 1;
      break;
    case 'CHANGED_DURING_RUN':
      r.objectsChangedDuringRun++;
      r.objectsFailed++;
      if (r.failures.length < MAX_LISTED_FAILURES) r.failures.push({ key: o.key, error: o.error });
      break;
    case 'FAILED':
      r.objectsFailed++;
      if (r.failures.length < MAX_LISTED_FAILURES) r.failures.push({ key: o.key, error: o.error });
      break;
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Planning (PlanReencryption) and summing (SummarizeReencryption). Below the fixed contracts.
// ---------------------------------------------------------------------------------------------

/** Longest error text and object key a report lists (20 reports must fit the 256 KiB state). */
export const MAX_REPORT_ERROR_CHARS = 300;
export const MAX_REPORT_KEY_CHARS = 256;

/** What PlanReencryption needs of each key's result (a KeyResult has these fields). */
export interface RotatedKeyFacts {
  keyArn: string | null;
  outcome: string;
  /** The skip reason, when SKIPPED (a manual re-run inside the cooldown: RECENTLY_ROTATED). */
  reason?: string | null;
  /** Alias names (`alias/orders`). */
  aliases: string[];
}

/** Whether setting `reEncryptTargets`' map key names this key: its ARN, its id, one of its alias names or alias ARNs. */
function settingNamesKey(settingKey: string, key: { keyArn: string; aliases: string[] }): boolean {
  if (settingKey === key.keyArn) return true;
  if (settingKey.startsWith('alias/')) return key.aliases.includes(settingKey);
  const keyArn = parseKmsArn(key.keyArn);
  const named = parseKmsArn(settingKey);
  if (!keyArn) return false;
  if (!named) return settingKey === keyArn.resource; // a bare key id
  if (named.partition !== keyArn.partition || named.region !== keyArn.region || named.account !== keyArn.account)
    return false;
  return named.resourceType === 'alias'
    ? key.aliases.includes(`alias/${named.resource}`)
    : named.resource === keyArn.resource;
}

const unitId = (u: ReencryptTargetSpec & { keyArn: string | null }) =>
  JSON.stringify([u.type, u.bucket, u.prefix, u.keyArn]);
const where = (t: ReencryptTargetSpec) => `${t.type} s3://${t.bucket}/${t.prefix}`;

/**
 * PlanReencryption: the units to run (each ROTATED key x each target of the request or finding,
 * and each of setting `reEncryptTargets` that names the key by ARN or alias), de-duplicated by
 * (type, bucket, prefix, key); the targets refused before any work, each with its reason; and the
 * mode. Pure: the handler passes the workflow's request, key results and settings.
 */
export function planReencryption(
  request: Pick<IncidentRequest, 'source' | 'dryRun' | 'reEncryptTargets'>,
  results: RotatedKeyFacts[],
  settings: ReencryptionSettings,
  pacing: { childKmsRequestsPerSecond: number } = reencryptionPacing(settings.kmsRequestsPerSecond),
): ReencryptionState {
  // A dry run rotates nothing: its DRY_RUN keys are the ones that would rotate, so their targets
  // are what would run (REPORT_ONLY below); a real run re-encrypts only under keys it rotated.
  // A manual request may also name a key rotated on demand within the cooldown (SKIPPED
  // RECENTLY_ROTATED): its current material is already new, so re-encrypting makes new data keys
  // without spending a rotation. That is how on-call re-runs a re-encryption that failed. A
  // finding's repeat never does (GuardDuty repeats findings; each would re-encrypt again).
  const wouldRotate = request.dryRun ? 'DRY_RUN' : 'ROTATED';
  const reRun = (r: RotatedKeyFacts) =>
    !request.dryRun && request.source === 'manual' && r.outcome === 'SKIPPED' && r.reason === 'RECENTLY_ROTATED';
  // REENCRYPT_ONLY: a re-encrypt-only request whose key's current material post-dates the
  // exposure (Assess checked it): planned as a rotated key, without a rotation.
  const current = (r: RotatedKeyFacts) =>
    r.outcome === wouldRotate || (!request.dryRun && r.outcome === 'REENCRYPT_ONLY') || reRun(r);
  const rotated = results.filter(
    (r): r is RotatedKeyFacts & { keyArn: string } => current(r) && typeof r.keyArn === 'string' && r.keyArn !== '',
  );
  const requested = request.reEncryptTargets ?? [];
  const refused: RefusedTarget[] = [];
  const refusedIds = new Set<string>();
  let refusedMore = 0;
  // A bucket refusal does not depend on the key: one per target, not one per key x target. The
  // list is bounded (the state and the notification carry it); the rest are counted.
  const refuse = (r: RefusedTarget) => {
    const keyed = r.reason === 'BUCKET_NOT_ALLOWED' ? { ...r, keyArn: null } : r;
    const id = JSON.stringify([keyed.reason, keyed.origin, unitId(keyed)]);
    if (refusedIds.has(id)) return;
    refusedIds.add(id);
    if (refused.length < MAX_LISTED_REFUSALS) refused.push(keyed);
    else refusedMore++;
  };
  const spec = (t: ReencryptTargetSpec): ReencryptTargetSpec => ({
    type: t.type,
    bucket: t.bucket,
    prefix: t.prefix ?? '',
  });

  if (!rotated.length) {
    const predates = results.some((r) => r.outcome === 'SKIPPED' && r.reason === 'MATERIAL_PREDATES_EXPOSURE');
    for (const t of requested) {
      if (predates) {
        refuse({
          ...spec(t),
          keyArn: null,
          origin: t.origin,
          reason: 'MATERIAL_PREDATES_EXPOSURE',
          detail: `${where(spec(t))} was not re-encrypted: the key's newest key material predates the exposure; rotate the key first (kms-rotate start --reencrypt ...).`,
        });
      } else {
        refuse({
          ...spec(t),
          keyArn: null,
          origin: t.origin,
          reason: 'KEY_NOT_ROTATED',
          detail: `${where(spec(t))} was not re-encrypted: no key was rotated by this execution, so new data keys would come from the same key material.`,
        });
      }
    }
  }
  const candidates: ReencryptionUnit[] = [];
  for (const key of rotated) {
    for (const t of requested) candidates.push({ ...spec(t), keyArn: key.keyArn, origin: t.origin });
    for (const [settingKey, targets] of Object.entries(settings.targets)) {
      if (settingNamesKey(settingKey, key))
        for (const t of targets) candidates.push({ ...spec(t), keyArn: key.keyArn, origin: 'setting' });
    }
  }
  const seen = new Set<string>();
  const units: ReencryptionUnit[] = [];
  for (const c of candidates) {
    if (seen.has(unitId(c))) continue;
    seen.add(unitId(c));
    if (!settings.buckets.includes(c.bucket)) {
      refuse({
        ...c,
        reason: 'BUCKET_NOT_ALLOWED',
        detail: `${where(c)} was refused: bucket ${c.bucket} is not in setting reEncryptBuckets, so the stack may not touch it.`,
      });
    } else if (units.length >= MAX_REENCRYPTION_UNITS) {
      refuse({
        ...c,
        reason: 'TOO_MANY_TARGETS',
        detail: `${where(c)} was refused: one execution re-encrypts at most ${MAX_REENCRYPTION_UNITS} targets; start another run for the rest.`,
      });
    } else {
      units.push(c);
    }
  }
  const mode: ReencryptionMode = !units.length
    ? 'NONE'
    : request.dryRun || (request.source !== 'manual' && !settings.auto)
      ? 'REPORT_ONLY'
      : 'RUN';
  const run = mode === 'RUN';
  return {
    mode,
    units,
    refused,
    refusedMore,
    index: 0,
    remaining: run ? units.length : 0,
    current: run ? units[0]! : null,
    childKmsRequestsPerSecond: pacing.childKmsRequestsPerSecond,
    reports: [],
    mapRun: null,
    mapRunError: null,
  };
}

/** One failure as a report lists it: the key and the error cut to their bounds. */
export function boundedFailure(key: string, error: string): { key: string; error: string } {
  return { key: cut(key, MAX_REPORT_KEY_CHARS), error: oneLine(error, MAX_REPORT_ERROR_CHARS) };
}

/**
 * Sum batch reports into one target report: counts add, skips add per reason, failures are
 * concatenated up to MAX_LISTED_FAILURES (the counts stay exact), Bucket Keys if any batch saw
 * them. `into` gives the target's identity, status and error; durationMs stays `into`'s (the
 * caller sets the map run's).
 */
export function mergeReports(into: TargetReport, ...batches: TargetReport[]): TargetReport {
  const r: TargetReport = { ...into, skippedByReason: { ...into.skippedByReason }, failures: [...into.failures] };
  for (const b of batches) {
    r.throttlesRetried += b.throttlesRetried;
    r.batches += b.batches;
    r.batchesFailed += b.batchesFailed;
    r.objectsScanned += b.objectsScanned;
    r.objectsReencrypted += b.objectsReencrypted;
    r.objectsSkipped += b.objectsSkipped;
    r.objectsFailed += b.objectsFailed;
    r.objectsChangedDuringRun += b.objectsChangedDuringRun;
    r.bytesReencrypted += b.bytesReencrypted;
    r.oldVersionsLeft += b.oldVersionsLeft;
    if (b.olderVersionsUnderKey) r.olderVersionsUnderKey = (r.olderVersionsUnderKey ?? 0) + b.olderVersionsUnderKey;
    r.bucketKeys ||= b.bucketKeys;
    for (const [reason, n] of Object.entries(b.skippedByReason) as [SkipReason, number][])
      r.skippedByReason[reason] = (r.skippedByReason[reason] ?? 0) + n;
    for (const f of b.failures)
      if (r.failures.length < MAX_LISTED_FAILURES) r.failures.push(boundedFailure(f.key, f.error));
  }
  return r;
}

/**
 * A child execution (batch) that failed or never ran: each of its items is scanned and failed
 * with the child's error (a re-run picks them up).
 */
export function failedBatchReport(unit: ReencryptionUnit, itemKeys: string[], error: string): TargetReport {
  let r: TargetReport = {
    ...emptyTargetReport(unit.type, unit.bucket, unit.prefix, unit.keyArn, unit.origin),
    batches: 1,
    batchesFailed: 1,
  };
  for (const key of itemKeys) r = recordOutcome(r, { result: 'FAILED', ...boundedFailure(key, error) });
  return r;
}

/** `Error: Cause` of a caught Step Functions error, on one line and bounded. */
export function stepFunctionsError(e: { Error: string; Cause?: string }): string {
  const cause = parseCause(e.Cause ?? null).message;
  return oneLine(cause ? `${e.Error}: ${cause}` : e.Error, MAX_REPORT_ERROR_CHARS);
}

/**
 * The state after one unit's report: the report appended, index/remaining/current advanced,
 * mapRun/mapRunError cleared for the next unit.
 */
export function advanceReencryption(state: ReencryptionState, report: TargetReport): ReencryptionState {
  const index = state.index + 1;
  const remaining = Math.max(0, state.remaining - 1);
  // The failures listed across all reports share one budget (the state is limited to 256 KiB).
  let left = LISTED_FAILURES_BUDGET_BYTES - state.reports.reduce((n, r) => n + failuresBytes(r.failures), 0);
  const failures: TargetReport['failures'] = [];
  for (const f of report.failures) {
    const bytes = failuresBytes([f]);
    if (bytes > left) break;
    failures.push(f);
    left -= bytes;
  }
  const kept = failures.length === report.failures.length ? report : { ...report, failures };
  return {
    ...state,
    reports: [...state.reports, kept],
    index,
    remaining,
    current: remaining > 0 ? (state.units[index] ?? null) : null,
    mapRun: null,
    mapRunError: null,
  };
}

function failuresBytes(failures: TargetReport['failures']): number {
  return failures.reduce((n, f) => n + Buffer.byteLength(f.key) + Buffer.byteLength(f.error) + 20, 0);
}
