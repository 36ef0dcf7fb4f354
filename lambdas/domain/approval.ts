/**
 * The approval decision: what the front door (lambdas/front-door, for `kms-rotate approve|deny
 * <approval-id>`) sends back with the approval gate's task token, and how Record reads it. One
 * codec, imported by every side, so the sender and the reader cannot drift apart. Pure.
 *
 * People never see the token: RequestApproval stores it in the ledger under `APPROVAL#<id>` (id =
 * `approvalIdOf(token)`) and the notification carries the id only.
 *
 * - approve: SendTaskSuccess with `output` = `encodeApproval(by, reason)`; the state machine stores
 *   it in `$.approval`, and a Choice lets the key go on ONLY when `$.approval.decision` is exactly
 *   `approve` (anything else that arrives as a success ends SKIPPED APPROVAL_DENIED).
 * - deny: SendTaskFailure with `error` = APPROVAL_DENIED and `cause` = `encodeDenial(by, reason)`;
 *   the state machine catches it into `$.approvalError`.
 * - silence: the task times out (`States.Timeout`), caught into `$.approvalError` too.
 */
import { createHash } from 'node:crypto';
import type { CaughtFailure, KeyTask } from './contracts';
import { oneLine, parseCause } from './text';

/** The error name a denial is sent with (SendTaskFailure `error`), caught by the state machine. */
export const APPROVAL_DENIED = 'APPROVAL_DENIED';

/** The one decision value that lets a key past the approval gate (the Choice after RequestApproval tests it). */
export const APPROVE = 'approve';

/** What SendTaskSuccess carries for an approval (`$.approval` in the key's task). */
export interface ApprovalGranted {
  decision: typeof APPROVE;
  by: string | null;
  reason?: string | null;
}

/** Approval ids: `ap-` and 20 hex characters (what `kms-rotate approve|deny` takes). */
export const APPROVAL_ID_PATTERN = /^ap-[0-9a-f]{20}$/;

/**
 * The short id people use for an approval: derived from the task token, so a retried
 * RequestApproval (same token) writes the same ledger item and publishes the same id. The id is
 * not a secret: answering needs the front door's IAM right and a second person.
 */
export function approvalIdOf(token: string): string {
  return `ap-${createHash('sha256').update(token).digest('hex').slice(0, 20)}`;
}

/** True only for an explicit approval: `{ decision: 'approve' }` (what lets the key go on). */
export function isExplicitApproval(value: unknown): value is ApprovalGranted {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && (value as Record<string, unknown>).decision === APPROVE;
}

/** Who denied, and why (the SendTaskFailure `cause`). */
export interface ApprovalDenial {
  by: string | null;
  reason: string | null;
}

/** The SendTaskSuccess `output` for an approval by `by` (the verified caller ARN), with an optional reason. */
export function encodeApproval(by: string, reason: string | null = null): string {
  return JSON.stringify({ decision: APPROVE, by, reason } satisfies ApprovalGranted);
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
  const answered: unknown = task.approval;
  // Record reached straight from the gate (still `next: APPROVAL`, nothing caught) with anything
  // but an explicit approve: e.g. `{"decision":"deny"}` or `null` sent as a success.
  const fromGate = !error && !task.error && !task.failure && task.next === 'APPROVAL';
  if (fromGate && !isExplicitApproval(answered)) {
    // A success that is not an explicit approve (e.g. `{"decision":"deny"}` sent as a success).
    const decision = answered !== null && typeof answered === 'object' && !Array.isArray(answered) ? (answered as Record<string, unknown>).decision : answered;
    return {
      outcome: 'SKIPPED',
      reason: 'APPROVAL_DENIED',
      next: 'DONE',
      detail: `The approval gate got ${oneLine(JSON.stringify(decision ?? null) ?? 'nothing', 60)} instead of an explicit approve; the key was not rotated.`,
    };
  }
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

/**
 * The ledger's sparse index of approvals nobody has answered yet: RequestApproval writes
 * `partitionKey` = `partitionValue` on the `APPROVAL#` item, the front door removes it when it
 * records an answer. `answerBy` (the end of the approval window) is its sort key, so a Query
 * reads only approvals whose window is still open; `overdueAt` (half the window) is projected.
 * The partition value starts with `APPROVAL#` so IAM's dynamodb:LeadingKeys can name it.
 */
export const PENDING_APPROVALS_INDEX = {
  name: 'PendingApprovals',
  partitionKey: 'pendingApproval',
  partitionValue: 'APPROVAL#PENDING',
  sortKey: 'answerBy',
  overdueAttribute: 'overdueAt',
} as const;

/**
 * When an approval requested at `requestedAt` with a window of `timeoutSeconds` becomes overdue:
 * half its window gone with no answer (the ApprovalsOverdue alarm pages then, while there is still
 * half the window left to decide).
 */
export function approvalOverdueAt(requestedAt: Date, timeoutSeconds: number): string {
  return new Date(requestedAt.getTime() + (timeoutSeconds * 1000) / 2).toISOString();
}
