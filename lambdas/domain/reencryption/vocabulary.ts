/**
 * Re-encryption vocabulary: targets, units, refusals, settings, the state the workflow carries,
 * the per-target report and the per-object outcome. Types and limits only, importing nothing, so
 * contracts.ts can name them without an import cycle (the planning, the decisions and the report
 * arithmetic live in sibling modules).
 *
 * Rotating a KMS key does not change the data keys already issued; re-encrypting makes KMS (or
 * S3 on its behalf) issue NEW data keys for the affected objects.
 */

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

/**
 * The re-encryption settings the state machine definition hands PlanReencryption in its payload
 * (lib/settings/settings.ts reencryptionTargetSettings): the one exception to the environment
 * transport (domain/function-environment.ts), because 100 bucket names and the targets can exceed
 * Lambda's 4 KB of environment variables.
 */
export interface ReencryptionTargetSettings {
  /** `reEncryptBuckets`: the only buckets the stack may touch. */
  buckets: string[];
  /** `reEncryptTargets`: per key ARN or alias name (`alias/x`), the targets of every rotation of that key. */
  targets: Record<string, ReencryptTargetSpec[]>;
}

/** What PlanReencryption decides with: the targets from its payload, `auto` from its environment. */
export interface ReencryptionSettings extends ReencryptionTargetSettings {
  /** `autoReEncrypt`: finding-triggered runs re-encrypt (true) or only report what they would do (false). */
  auto: boolean;
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
  reports: TargetReport[];
  mapRun: { MapRunArn?: string; ResultWriterDetails?: { Bucket: string; Key: string } } | null;
  mapRunError: { Error: string; Cause?: string } | null;
  /**
   * Set by the workflow when PlanReencryption or SummarizeReencryption itself failed after its
   * retries: the branch stopped there and Notify reports it (the execution then fails).
   */
  branchError?: { Error: string; Cause?: string } | null;
  /**
   * The unit just run left its KMS grant in place (RetireReencryptionGrant failed after its
   * retries): set by the workflow's ReencryptionGrantNotRetired state, moved into
   * `grantsNotRetired` by SummarizeReencryption. Read only by functions, so it may be absent.
   */
  grantNotRetired?: GrantNotRetired | null;
  /** Every unit's grant that could not be retired, for Notify (absent: none). */
  grantsNotRetired?: GrantNotRetired[];
}

/**
 * A per-unit KMS grant (lib/reencryption/reencryption-grant.ts) that RetireGrant did not delete:
 * it still lets ReencryptObjects' role use the rotated key until someone retires or revokes it.
 */
export interface GrantNotRetired {
  /** CreateGrant's GrantId. */
  grantId: string;
  /** The key the grant is on: the unit's rotated key. */
  keyArn: string;
  /** RetireGrant's error as Step Functions caught it. */
  error: { Error: string; Cause?: string };
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

/**
 * What one child execution's ReencryptObjects task receives (ItemBatcher's shape, and the child's
 * start): only what varies per execution and unit. The per-child KMS rate and the suite upgrade
 * are settings, read from the function's environment (adapters/config.ts loadReencryptObjectsConfig).
 */
export interface ReencryptBatchInput {
  BatchInput: {
    unit: ReencryptionUnit;
    /** An envelope unit's per-run KMS grant token on the rotated key (lib/reencryption/reencryption-grant.ts); null otherwise. */
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
  /** KMS grants of this run that could not be retired, with RetireGrant's error on one line (absent: none). */
  grantsNotRetired?: { grantId: string; keyArn: string; error: string }[];
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
  /** Envelope left untouched: larger than MAX_ENVELOPE_BYTES, which the function re-encrypts in memory (lambdas/adapters/reencryption/reencrypt-envelope.ts). */
  | 'ENVELOPE_TOO_LARGE'
  /**
   * SSE-KMS object left untouched: KMS refused S3's request for its data key. Possible causes: an
   * additional encryption context S3 does not return (a copy would drop it), or a key policy or
   * grant that does not let the function use the key through S3.
   */
  | 'KMS_ACCESS_DENIED'
  /**
   * Left untouched: S3 hid the version's Object Lock retention or legal hold from the function
   * (403 on GetObjectRetention / GetObjectLegalHold, e.g. a bucket policy), so a rewrite would drop it.
   */
  | 'OBJECT_LOCK_UNREADABLE';

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

/** Longest error text and object key a report lists (20 reports must fit the 256 KiB state). */
export const MAX_REPORT_ERROR_CHARS = 300;
export const MAX_REPORT_KEY_CHARS = 256;

/** The request's re-encrypt-only part, as the per-key iteration carries it (null: a normal request). */
export interface ReencryptOnly {
  /** ISO 8601 time from which the key material may have been exposed. */
  exposedAt: string;
}
