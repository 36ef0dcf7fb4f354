/**
 * The run's re-encryption as people read it: the workflow's
 * `$.reencryption` state summed into a ReencryptionSummary for the notification, the execution
 * output, `simulate --json` and the CLI. Pure.
 */
import { skipNeedsAction } from './decisions';
import { stepFunctionsError } from './outcomes';
import type { ReencryptionState, ReencryptionSummary, TargetReport } from './vocabulary';

/**
 * What a person does for each action-required reason (the notification and the CLI print it). A
 * reason not listed here (one added later) gets ACTION_ADVICE_DEFAULT: never silently "fine".
 */
export const ACTION_ADVICE: Readonly<Record<string, string>> = {
  ARCHIVED_NEEDS_RESTORE:
    'archived objects (GLACIER, DEEP_ARCHIVE, Intelligent-Tiering archive tiers) are still under the exposed key material: restore them (RestoreObject), ' +
    'then re-encrypt them with kms-rotate reencrypt once the restore is done (no rotation is spent).',
  MULTI_REGION_REPLICA:
    'objects under a multi-Region replica of the key (same mrk- id, another Region) were left untouched: the replica shares the rotated material, ' +
    "so re-encrypt them from the replica's Region with kms-rotate reencrypt using the replica key ARN.",
  OLDER_VERSIONS:
    'older versions in a versioned bucket keep their old data keys under the exposed material (the workflow never deletes versions): ' +
    'delete them (a NoncurrentVersionExpiration lifecycle rule, or by hand) once nobody needs them, or accept the exposure.',
  OBJECT_FAILED:
    'objects failed and keep their old data keys: fix the cause named in the failures, then re-encrypt them with kms-rotate reencrypt.',
  CHANGED_DURING_RUN:
    'objects were changed by someone else during the run and were not overwritten: check which key their new contents use, and re-encrypt them if it is the rotated one.',
  TARGET_FAILED:
    "a target's map run failed: its objects may be partly re-encrypted; re-run it with kms-rotate reencrypt.",
  BUCKET_NOT_ALLOWED:
    'a requested bucket is not in the reEncryptBuckets setting: add it (a deployment) and re-encrypt it with kms-rotate reencrypt.',
  KEY_NOT_ROTATED: 'the key was not rotated, so nothing was re-encrypted: rotate it, then re-encrypt.',
  TOO_MANY_TARGETS: 'more targets than one execution runs: re-encrypt the rest with another kms-rotate reencrypt.',
  MATERIAL_PREDATES_EXPOSURE:
    "the key's newest key material is older than the exposure: rotate the key first (kms-rotate start), which re-encrypts as well.",
  REFUSED_NOT_LISTED:
    'more targets were refused than the report lists: read the execution output and the ledger, and re-encrypt what was refused.',
  OBJECT_LOCK_UNREADABLE:
    'objects with Object Lock settings the function may not read were left untouched (a rewrite would drop the retention or legal hold): ' +
    'allow ReencryptObjects s3:GetObjectRetention and s3:GetObjectLegalHold on them (check the bucket policy), then re-encrypt them with kms-rotate reencrypt.',
  BRANCH_FAILED:
    'the re-encryption stopped before it finished: targets not reported were not re-encrypted; run them again with kms-rotate reencrypt.',
  GRANT_NOT_RETIRED:
    "a KMS grant this run created for ReencryptObjects' role could not be retired and still allows Decrypt and GenerateDataKey on the rotated key: " +
    'revoke it with the aws kms revoke-grant command listed under "KMS grants not retired".',
};
/** Advice for a reason ACTION_ADVICE does not know. */
export const ACTION_ADVICE_DEFAULT =
  'objects were left untouched under the exposed key material: see the README section "Re-encrypting affected data" for this reason, fix it, then re-encrypt them.';

/** What a person does for one action-required reason. */
export function actionAdvice(reason: string): string {
  return Object.prototype.hasOwnProperty.call(ACTION_ADVICE, reason) ? ACTION_ADVICE[reason]! : ACTION_ADVICE_DEFAULT;
}

const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);

/**
 * Everything that still needs a person, counted by reason: skipped objects whose reason left data
 * under the exposed key (any reason outside SKIPS_WITHOUT_ACTION), older versions under the key,
 * failed and changed objects, failed map runs, refusals a person asked for or left over, and the
 * branch's own failure.
 */
export function actionRequiredByReason(
  targets: readonly TargetReport[],
  refused: ReencryptionState['refused'],
  refusedMore: number,
  branchFailed: boolean,
): Record<string, number> {
  const out: Record<string, number> = {};
  const add = (reason: string, count: number) => {
    if (count > 0) out[reason] = (out[reason] ?? 0) + count;
  };
  for (const t of targets) {
    for (const [reason, c] of Object.entries(t.skippedByReason ?? {})) if (skipNeedsAction(reason)) add(reason, n(c));
    // Reports made before versions were counted only know the versions this run left behind.
    add('OLDER_VERSIONS', t.olderVersionsUnderKey === undefined ? n(t.oldVersionsLeft) : n(t.olderVersionsUnderKey));
    add('OBJECT_FAILED', n(t.objectsFailed) - n(t.objectsChangedDuringRun));
    add('CHANGED_DURING_RUN', n(t.objectsChangedDuringRun));
    add('TARGET_FAILED', t.status === 'FAILED' ? 1 : 0);
  }
  for (const r of refused)
    if (r.origin === 'request' || r.reason === 'TOO_MANY_TARGETS' || r.reason === 'MATERIAL_PREDATES_EXPOSURE')
      add(r.reason, 1);
  // Refusals beyond those listed: their reasons are not kept, so they count (strictly) as needing a look.
  add('REFUSED_NOT_LISTED', n(refusedMore));
  add('BRANCH_FAILED', branchFailed ? 1 : 0);
  return out;
}

/**
 * Summarise the re-encryption branch of one execution. Null when there is nothing to say (no
 * state, or mode NONE with no refused target). Totals are summed over the target reports;
 * `actionRequired` when any object failed, any target's map run FAILED, a target someone asked
 * for (origin `request`) was refused, or targets were left over (TOO_MANY_TARGETS). A finding's
 * bucket outside `reEncryptBuckets` is reported, not an action: the stack was set up not to touch
 * it. `planned` lists what would run (REPORT_ONLY only).
 */
export function summarizeReencryption(state: ReencryptionState | null | undefined): ReencryptionSummary | null {
  if (!state || typeof state !== 'object') return null;
  const targets = Array.isArray(state.reports) ? state.reports : [];
  const refused = Array.isArray(state.refused) ? state.refused : [];
  const refusedMore = Number.isFinite(state.refusedMore) && state.refusedMore > 0 ? state.refusedMore : 0;
  const branch = state.branchError && typeof state.branchError === 'object' ? state.branchError : null;
  const error = branch
    ? oneLineBounded(`${String(branch.Error ?? 'Error')}: ${String(branch.Cause ?? '')}`)
    : undefined;
  const grants = grantsNotRetired(state);
  if (state.mode === 'NONE' && refused.length === 0 && !error && grants.length === 0) return null;
  const sum = (field: 'objectsScanned' | 'objectsReencrypted' | 'objectsSkipped' | 'objectsFailed') =>
    targets.reduce((total, t) => total + (Number.isFinite(t[field]) ? t[field] : 0), 0);
  const objectsFailed = sum('objectsFailed');
  const byReason = actionRequiredByReason(targets, refused, refusedMore, !!error);
  if (grants.length > 0) byReason.GRANT_NOT_RETIRED = grants.length;
  return {
    mode: state.mode,
    objectsScanned: sum('objectsScanned'),
    objectsReencrypted: sum('objectsReencrypted'),
    objectsSkipped: sum('objectsSkipped'),
    objectsFailed,
    actionRequired: Object.keys(byReason).length > 0,
    actionRequiredByReason: byReason,
    targets,
    refused,
    ...(refusedMore ? { refusedMore } : {}),
    ...(error ? { error } : {}),
    planned: state.mode === 'REPORT_ONLY' && Array.isArray(state.units) ? state.units : [],
    ...(grants.length > 0 ? { grantsNotRetired: grants } : {}),
  };
}

/**
 * The grants left in place: those of the summarised units, and the one of the unit whose
 * SummarizeReencryption failed (still in `grantNotRetired` when Notify reads the state).
 */
function grantsNotRetired(state: ReencryptionState): NonNullable<ReencryptionSummary['grantsNotRetired']> {
  const listed = Array.isArray(state.grantsNotRetired) ? state.grantsNotRetired : [];
  return [...listed, ...(state.grantNotRetired ? [state.grantNotRetired] : [])]
    .filter((g) => g && typeof g === 'object')
    .map((g) => ({
      grantId: String(g.grantId),
      keyArn: String(g.keyArn),
      error: stepFunctionsError(g.error && typeof g.error === 'object' ? g.error : { Error: 'Unknown' }),
    }));
}

/**
 * True when the re-encryption that ran did not fully succeed (RUN mode, and an object or a
 * target's map run failed): the execution then fails so the alarm fires (the rotation stands).
 * A refused target or a REPORT_ONLY plan is reported (actionRequired) but fails nothing; the
 * branch's own failure (`error`) fails the execution too.
 */
export function reencryptionFailed(summary: ReencryptionSummary | null | undefined): boolean {
  if (summary?.error) return true; // the branch itself failed (planning or summarising)
  if (!summary || summary.mode !== 'RUN') return false;
  return summary.objectsFailed > 0 || summary.targets.some((t) => t.status === 'FAILED');
}

/** The branch error as one bounded line (a Lambda error's Cause is JSON with a stack trace). */
function oneLineBounded(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 500 ? `${line.slice(0, 499)}…` : line;
}
