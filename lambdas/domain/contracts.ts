/**
 * The contracts every part of the product shares: the outcome vocabulary and its reasons, the
 * normalised incident request that Intake produces, the per-key task that flows through the
 * Map iteration, and the per-key result that notifications, the ledger and the CLI report.
 */

import type { ReencryptionSummary, ReencryptTargetSpec, ReencryptOnly } from './reencryption/vocabulary';
import type { WorkflowUpdateResult } from './notification/security-hub-update';

/** REENCRYPT_ONLY: a re-encrypt-only request went ahead without a rotation (the key's material already post-dates the exposure). */
export const OUTCOMES = ['ROTATED', 'DRY_RUN', 'SKIPPED', 'FAILED', 'REENCRYPT_ONLY'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export const SKIP_REASONS = [
  'NOT_FOUND',
  'AWS_MANAGED',
  'UNSUPPORTED_KEY_SPEC',
  'CUSTOM_KEY_STORE',
  'IMPORTED_MATERIAL_NOT_STAGED',
  'KEY_NOT_ENABLED',
  'FOREIGN_ACCOUNT',
  'OPTED_OUT',
  'RECENTLY_ROTATED',
  'DUPLICATE_FINDING',
  'BUDGET_RESERVE',
  'BUDGET_EXHAUSTED',
  'APPROVAL_DENIED',
  // A re-encrypt-only request, and the key's newest material was created before the exposure: rotate first.
  'MATERIAL_PREDATES_EXPOSURE',
  'FINDING_NOT_CONFIRMED',
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

export const FAIL_REASONS = ['ROTATION_TIMEOUT', 'ACCESS_DENIED', 'THROTTLED', 'KMS_ERROR', 'INTERNAL'] as const;
export type FailReason = (typeof FAIL_REASONS)[number];

export type Reason = SkipReason | FailReason;

/** Where a request came from. `manual` is an on-call engineer (CLI or console). */
export const SOURCES = ['guardduty', 'securityhub', 'access-analyzer', 'manual'] as const;
export type RequestSource = (typeof SOURCES)[number];

/** What Intake makes of a finding event or a manual request. */
export interface IncidentRequest {
  /** Stable id of this request: a hash of the finding id, or a random id for manual requests. */
  requestId: string;
  source: RequestSource;
  /** GuardDuty `detail.id`, ASFF `Id`, Access Analyzer `detail.id`; null for manual requests. */
  findingId: string | null;
  /** e.g. `UnauthorizedAccess:IAMUser/...`; null for manual requests. */
  findingType: string | null;
  /** Numeric severity (GuardDuty 1.0-10.0), when the source has one. */
  severity: number | null;
  /** LOW | MEDIUM | HIGH | CRITICAL (| INFORMATIONAL), when known. */
  severityLabel: string | null;
  /** Why: the finding title or the on-call engineer's reason. */
  reason: string;
  /** Key references, de-duplicated and sorted: key ARNs, alias ARNs, or (manual) ids/aliases. */
  keys: string[];
  dryRun: boolean;
  /** Skip the cooldown and allow the reserve: only ever true for a break-glass request. */
  force: boolean;
  /**
   * Came through the front door's break-glass route (its own IAM right): marked in the ledger and
   * the notification, and bounded by forceMinIntervalMinutes / forceDailyCap.
   */
  breakGlass: boolean;
  /** IAM principal that asked (manual requests: verified by the front door from the request context). */
  requestedBy: string | null;
  /** Account and Region the finding arose in (the envelope's), when known. */
  account: string | null;
  region: string | null;
  /**
   * Set by ClaimRequest when this finding was already handled (or is being handled) by another
   * execution: its ARN. Every key then ends SKIPPED DUPLICATE_FINDING.
   */
  duplicateOf?: string | null;
  /**
   * Set by Intake when the finding's source service (GuardDuty, Security Hub, Access Analyzer)
   * does not hold the finding the event describes: why, in one sentence. Every key the event
   * named then ends SKIPPED FINDING_NOT_CONFIRMED without being looked at. Null otherwise.
   */
  notConfirmed?: string | null;
  /**
   * The Security Hub findings the run acts on, as Security Hub confirmed them (Id and ProductArn):
   * the findings whose workflow status the run updates. Absent for other sources.
   */
  securityHubFindings?: { Id: string; ProductArn: string }[];
  /** What ClaimRequest's Security Hub update (NOTIFIED at the start) did; absent when none was made. */
  securityHubStart?: WorkflowUpdateResult | null;
  /**
   * Data to re-encrypt after the rotation: a manual request's `reEncrypt.targets`
   * (origin `request`) or the buckets a finding names (origin `finding`, type `s3-sse-kms`, the
   * whole bucket). Absent when there are none; setting `reEncryptTargets` is added by
   * PlanReencryption, not here.
   */
  reEncryptTargets?: (ReencryptTargetSpec & { origin: 'request' | 'finding' })[];
  /**
   * A manual re-encrypt-only request (never rotates; domain/reencryption/reencrypt-only.ts): the exposure time.
   * Set to null by ClaimRequest when absent, so the per-key iteration always has it.
   */
  reEncryptOnly?: ReencryptOnly | null;
}

/**
 * The request fields one key's iteration needs (Assess, the approval request, LockKey, Record):
 * each key's state carries these, not the whole request (no key list, no envelope details).
 */
export const KEY_REQUEST_FIELDS = [
  'requestId',
  'source',
  'findingId',
  'findingType',
  'severityLabel',
  'reason',
  'dryRun',
  'force',
  'breakGlass',
  'requestedBy',
  'duplicateOf',
  'reEncryptOnly',
  'notConfirmed',
] as const satisfies readonly (keyof IncidentRequest)[];
/** What one key's iteration knows of its request. */
export type KeyRequest = Pick<IncidentRequest, (typeof KEY_REQUEST_FIELDS)[number]>;

/** The step the per-key iteration takes next (Choice states route on it). */
export type NextStep = 'APPROVAL' | 'ROTATE' | 'WAIT_THEN_ROTATE' | 'POLL' | 'DONE';

/**
 * One key's state as it flows through the Map iteration. Every per-key Lambda takes it and
 * returns it (updated); every field is always present (null until known) so that JSONPath
 * references never miss.
 */
export interface KeyTask {
  /** The reference as the finding or request named it. */
  ref: string;
  request: KeyRequest;
  /** The execution handling this key (owner of its lock, author of its audit entry). */
  executionArn?: string | null;
  next: NextStep;
  /** The key that is (or would be) rotated: for a replica, its primary. */
  keyArn: string | null;
  /** The replica named by the finding when `keyArn` is its primary; else null. */
  via: string | null;
  /** The key's first MAX_ALIASES aliases (domain/rotation/key-task.ts); `moreAliases` counts the rest. */
  aliases: string[];
  moreAliases: number;
  outcome: Outcome | null;
  reason: Reason | null;
  /** One sentence for people: why this outcome. */
  detail: string | null;
  onDemandRotationsUsed: number | null;
  onDemandRotationsRemaining: number | null;
  /** Newest ON_DEMAND rotation date seen before we rotated (ISO), to recognise the new one. */
  previousRotationDate: string | null;
  previousKeyMaterialId: string | null;
  currentKeyMaterialId: string | null;
  /** True when we joined an on-demand rotation that was already running. */
  joined: boolean;
  rotationStartedAt: string | null;
  /**
   * When Rotate last sent RotateKeyOnDemand without learning whether KMS performed it (the answer
   * was lost): the next Rotate confirms, after a consistency delay, that no rotation started
   * before it calls KMS again. Null once an answer was heard.
   */
  rotateAttemptedAt: string | null;
  /** Set by the workflow when the Rotate function itself timed out (its call may have reached KMS). */
  rotateTimedOut?: { Error: string; Cause?: string } | null;
  /** ISO time after which the rotation counts as timed out. */
  deadline: string | null;
  confirmedAt: string | null;
  /** Polls made so far, and the wait before the next one (whole seconds, for SecondsPath). */
  pollAttempt: number;
  waitSeconds: number;
  /** The execution that holds this key's rotation lock while we rotate (LockKey), else null. */
  lockOwner?: string | null;
  /**
   * Set by the approval gate: what the front door sent with SendTaskSuccess (only an explicit
   * `decision: 'approve'` lets the key go on; see lambdas/domain/approvals/approval.ts).
   */
  approval?: { decision: 'approve'; by: string | null; reason?: string | null } | null;
  /** Set when the approval gate ended without an approval (denied or timed out). */
  approvalError?: { Error: string; Cause?: string } | null;
  /** Set when the audit entry could not be written (Record failed after its retries). */
  recordError?: { Error: string; Cause?: string } | null;
}

/** What a key's iteration ends with after a Catch: see lib/workflow.ts. */
export interface CaughtFailure {
  failure?: { outcome: 'FAILED'; reason: FailReason };
  error?: { Error: string; Cause?: string };
}

/** One key's line in the summary: the workflow output, the notification and `--json` output. */
export interface KeyResult {
  ref: string;
  keyArn: string | null;
  via: string | null;
  aliases: string[];
  /** Aliases beyond those listed ("and N more"); absent counts as 0. */
  moreAliases?: number;
  outcome: Outcome;
  reason: Reason | null;
  detail: string | null;
  onDemandRotationsUsed: number | null;
  onDemandRotationsRemaining: number | null;
  previousKeyMaterialId: string | null;
  currentKeyMaterialId: string | null;
  joined: boolean;
  rotationStartedAt: string | null;
  confirmedAt: string | null;
  /** Who approved (verified identity) and why, for keys that went through the approval gate. */
  approvedBy: string | null;
  approvalReason: string | null;
}

/** The whole execution's summary, produced by Notify. */
export interface RunSummary extends Pick<
  IncidentRequest,
  'requestId' | 'source' | 'findingId' | 'findingType' | 'severity' | 'severityLabel' | 'reason' | 'dryRun'
> {
  /** A forced run through the break-glass route (absent in summaries written before it existed). */
  breakGlass?: boolean;
  executionArn: string | null;
  startedAt: string | null;
  /** Worst outcome across keys: FAILED > ROTATED > DRY_RUN > SKIPPED (NONE when no key). */
  outcome: Outcome | 'NONE';
  anyFailed: boolean;
  keys: KeyResult[];
  /** What the re-encryption branch did (or would do); null when it had nothing to consider. */
  reencryption?: ReencryptionSummary | null;
  /** The Security Hub workflow updates of the run (start, end), when its finding came from Security Hub. */
  securityHub?: WorkflowUpdateResult[];
}
