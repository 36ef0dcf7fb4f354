/**
 * The approval decision: what a person (`kms-rotate approve|deny`) or the local runner sends back
 * with the approval gate's task token, and how Record reads it. One codec, imported by every side,
 * so the sender and the reader cannot drift apart. Pure.
 *
 * - approve: SendTaskSuccess with `output` = `encodeApproval(by)`; the state machine stores it in
 *   `$.approval`.
 * - deny: SendTaskFailure with `error` = APPROVAL_DENIED and `cause` = `encodeDenial(by, reason)`;
 *   the state machine catches it into `$.approvalError`.
 * - silence: the task times out (`States.Timeout`), caught into `$.approvalError` too.
 */
import type { CaughtFailure, KeyTask } from './contracts';
import { parseCause } from './text';

/** The error name a denial is sent with (SendTaskFailure `error`), caught by the state machine. */
export const APPROVAL_DENIED = 'APPROVAL_DENIED';

/** What SendTaskSuccess carries for an approval (`$.approval` in the key's task). */
export interface ApprovalGranted {
  decision: 'approve';
  by: string | null;
}

/** Who denied, and why (the SendTaskFailure `cause`). */
export interface ApprovalDenial {
  by: string | null;
  reason: string | null;
}

/** The SendTaskSuccess `output` for an approval by `by` (a caller ARN, or a name locally). */
export function encodeApproval(by: string): string {
  return JSON.stringify({ decision: 'approve', by } satisfies ApprovalGranted);
}

/** The SendTaskFailure `cause` for a denial by `by`, saying why. */
export function encodeDenial(by: string, reason: string): string {
  return JSON.stringify({ by, reason });
}

/**
 * Reads a denial's cause. A cause that is not our JSON (someone called SendTaskFailure by hand)
 * still yields its text as the reason, never an exception.
 */
export function decodeDenial(cause: string | undefined | null): ApprovalDenial {
  try {
    const parsed: unknown = JSON.parse(cause ?? '{}');
    const o = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
    return { by: typeof o.by === 'string' ? o.by : null, reason: typeof o.reason === 'string' ? o.reason : null };
  } catch {
    return { by: null, reason: parseCause(cause).message };
  }
}

/**
 * Turns the approval gate's ending into an outcome: a denial (APPROVAL_DENIED, with who and why)
 * or silence past the approval timeout. Null when the gate did not end without approval.
 */
export function approvalOutcome(task: KeyTask & CaughtFailure, config: { approvalTimeoutSeconds: number }): Partial<KeyTask> | null {
  const error = task.approvalError;
  if (!error) return null;
  if (error.Error === APPROVAL_DENIED) {
    const { by, reason } = decodeDenial(error.Cause);
    return { outcome: 'SKIPPED', reason: 'APPROVAL_DENIED', next: 'DONE', detail: `Denied by ${by ?? 'an approver'}${reason ? `: ${reason}` : ''}.` };
  }
  if (error.Error === 'States.Timeout' || error.Error === 'States.HeartbeatTimeout') {
    const minutes = Math.round(config.approvalTimeoutSeconds / 60);
    return { outcome: 'SKIPPED', reason: 'APPROVAL_DENIED', next: 'DONE', detail: `No approval decision within ${minutes} min; the key was not rotated.` };
  }
  return null;
}
