/**
 * Re-encryption (issue 11): the per-object decision and the report vocabulary. Pure: the adapter
 * (adapters/s3-reencrypt.ts) reads the facts (HeadObject, the Encryption SDK message header),
 * asks here what to do, does it, and records the outcome in a report built here.
 *
 * Rotating a KMS key does not change the data keys already issued; re-encrypting makes KMS (or
 * S3 on its behalf) issue NEW data keys for the affected objects.
 */

/** Which kind of data a target holds. */
export type ReencryptionKind = 's3-sse-kms' | 'envelope';

/** Why an object was not re-encrypted (counted in the report, never a failure). */
export type SkipReason = 'OTHER_KEY' | 'NOT_SSE_KMS' | 'ARCHIVED_NEEDS_RESTORE' | 'NOT_ENVELOPE';

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
  | { action: 'RE_ENCRYPT'; method: 'COPY' | 'MULTIPART_COPY' }
  | { action: 'SKIPPED'; reason: SkipReason };

/**
 * Decide for one SSE-KMS target object: re-encrypt it (single copy up to 5 GiB, multipart above)
 * or skip it with its reason. `keyArn` is the rotated key's ARN (S3 reports SSEKMSKeyId as an ARN).
 */
export function decideS3Object(facts: S3ObjectFacts, keyArn: string): S3Decision {
  // Only SSE-KMS (single layer). DSSE-KMS objects are also under KMS but are left to a person.
  if (facts.serverSideEncryption !== 'aws:kms') return { action: 'SKIPPED', reason: 'NOT_SSE_KMS' };
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
}

/** Decide for one envelope target object: re-encrypt when one of its data keys is under the rotated key. */
export function decideEnvelopeObject(facts: EnvelopeFacts, keyArn: string): { action: 'RE_ENCRYPT' } | { action: 'SKIPPED'; reason: SkipReason } {
  if (!facts.isMessage) return { action: 'SKIPPED', reason: 'NOT_ENVELOPE' };
  return facts.kmsKeyArns.includes(keyArn) ? { action: 'RE_ENCRYPT' } : { action: 'SKIPPED', reason: 'OTHER_KEY' };
}

/** How many failed keys a target report lists (the counts stay exact). */
export const MAX_LISTED_FAILURES = 20;

/** One target's part of the `reencryption` report (issue 11 "Report"). */
export interface TargetReport {
  type: ReencryptionKind;
  bucket: string;
  prefix: string;
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
  /** The bucket derives object keys from an S3 Bucket Key (see README for what that means). */
  bucketKeys: boolean;
  durationMs: number;
}

/** One object's outcome, as the adapter reports it. */
export type ObjectOutcome =
  | { key: string; result: 'REENCRYPTED'; bytes: number; oldVersionLeft: boolean; bucketKey: boolean }
  | { key: string; result: 'SKIPPED'; reason: SkipReason }
  | { key: string; result: 'CHANGED_DURING_RUN'; error: string }
  | { key: string; result: 'FAILED'; error: string };

/** An empty report for one target. */
export function emptyTargetReport(type: ReencryptionKind, bucket: string, prefix: string): TargetReport {
  return {
    type, bucket, prefix,
    objectsScanned: 0, objectsReencrypted: 0, objectsSkipped: 0, skippedByReason: {}, objectsFailed: 0, failures: [],
    objectsChangedDuringRun: 0, bytesReencrypted: 0, oldVersionsLeft: 0, bucketKeys: false, durationMs: 0,
  };
}

/**
 * Add one object's outcome to a target report (returns a new report). An object changed during
 * the run was not re-encrypted by us: it counts as failed (its new contents were written by
 * someone else, possibly with a data key made before the rotation) and as changed.
 */
export function recordOutcome(report: TargetReport, o: ObjectOutcome): TargetReport {
  const r: TargetReport = { ...report, skippedByReason: { ...report.skippedByReason }, failures: [...report.failures], objectsScanned: report.objectsScanned + 1 };
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
