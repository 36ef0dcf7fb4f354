/**
 * The run's re-encryption as people read it (issue 11 "Report"): the workflow's
 * `$.reencryption` state summed into a ReencryptionSummary for the notification, the execution
 * output, `simulate --json` and the CLI. Pure.
 */
import type { ReencryptionState, ReencryptionSummary } from './reencryption';

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
  const error = branch ? oneLineBounded(`${String(branch.Error ?? 'Error')}: ${String(branch.Cause ?? '')}`) : undefined;
  if (state.mode === 'NONE' && refused.length === 0 && !error) return null;
  const sum = (field: 'objectsScanned' | 'objectsReencrypted' | 'objectsSkipped' | 'objectsFailed') =>
    targets.reduce((total, t) => total + (Number.isFinite(t[field]) ? t[field] : 0), 0);
  const objectsFailed = sum('objectsFailed');
  return {
    mode: state.mode,
    objectsScanned: sum('objectsScanned'),
    objectsReencrypted: sum('objectsReencrypted'),
    objectsSkipped: sum('objectsSkipped'),
    objectsFailed,
    actionRequired: !!error || objectsFailed > 0 || targets.some((t) => t.status === 'FAILED') || refused.some((r) => r.origin === 'request' || r.reason === 'TOO_MANY_TARGETS'),
    targets,
    refused,
    ...(refusedMore ? { refusedMore } : {}),
    ...(error ? { error } : {}),
    planned: state.mode === 'REPORT_ONLY' && Array.isArray(state.units) ? state.units : [],
  };
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
