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
import type { CaughtFailure, KeyTask } from '../contracts';
import { oneLine, parseCause } from '../text';

/** The error name a denial is sent with (SendTaskFailure `error`), caught by the state machine. */
export const APPROVAL_DENIED = 'APPROVAL_DENIED';

/** The one decision value that lets a key past the approval gate (the Choice after RequestApproval tests it). */
export const APPROVE = 'approve';

/** What SendTaskSuccess carries for an approval (`$.approval` in the key's task). */
export interface ApprovalGranted {
  decision: typeof APPROVE;
  by: string | null;
  reason?: string | null;
  /** The approval answered (LockKey reads the ledger's record of it). */
  approvalId?: string;
  /** The front door's answer id, as the ledger holds it: proves the output is the front door's. */
  answerId?: string;
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
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    (value as Record<string, unknown>).decision === APPROVE
  );
}

/** Who denied, and why (the SendTaskFailure `cause`). */
export interface ApprovalDenial {
  by: string | null;
  reason: string | null;
}

/**
 * The SendTaskSuccess `output` for an approval by `by` (the verified caller ARN), with an optional
 * reason, naming the approval and the front door's answer id (LockKey checks both in the ledger).
 */
export function encodeApproval(by: string, reason: string | null, approvalId: string, answerId: string): string {
  return JSON.stringify({ decision: APPROVE, by, reason, approvalId, answerId } satisfies ApprovalGranted);
}

/** What LockKey compares: the ledger's APPROVAL# record as the front door left it. */
export interface LedgerApproval {
  requestedBy: string | null;
  keyArn: string;
  executionArn: string;
  expiresAt: string;
  status: string;
  answer?: { answerId: string; decision: string; by: string; person: string; at: string; reason: string | null } | null;
}

/** A verified approval: who approved (from the ledger, not from the token's output) and why. */
export interface VerifiedApproval {
  by: string;
  reason: string | null;
}

/**
 * A token alone approves nothing: the approval the gate received must be the front door's answer
 * as the ledger holds it — the same approval id, key and execution, decision approve, by a person
 * other than the requester, answered within the approval's lifetime. Returns the verified approver,
 * or why the approval does not count (the key is then SKIPPED APPROVAL_DENIED).
 * `personKeyOf` maps an ARN to the two-person rule's key (domain/approvals/people.ts).
 */
export function verifyApproval(
  received: ApprovalGranted,
  ledger: LedgerApproval | null,
  task: { keyArn: string; executionArn: string },
  personKeyOf: (arn: string | null) => string | null,
): VerifiedApproval | { refused: string } {
  const id = received.approvalId;
  if (typeof id !== 'string' || !APPROVAL_ID_PATTERN.test(id) || typeof received.answerId !== 'string') {
    return {
      refused:
        'the approval did not come from the front door (no approval id and answer id): a SendTaskSuccess by someone else',
    };
  }
  if (!ledger) return { refused: `approval ${id} is not in the ledger` };
  if (ledger.executionArn !== task.executionArn || ledger.keyArn !== task.keyArn)
    return { refused: `approval ${id} belongs to another key or execution` };
  const answer = ledger.answer;
  if (!answer || answer.answerId !== received.answerId) {
    return {
      refused: `approval ${id} was not answered through the front door with this answer (the ledger holds ${answer ? 'another answer' : 'no answer'})`,
    };
  }
  if (answer.decision !== APPROVE)
    return { refused: `approval ${id} was answered ${oneLine(answer.decision, 20)} in the ledger` };
  if (ledger.status !== 'PENDING' && ledger.status !== 'APPROVED')
    return { refused: `approval ${id} is ${oneLine(ledger.status, 20)} in the ledger` };
  if (!(Date.parse(answer.at) <= Date.parse(ledger.expiresAt))) {
    return { refused: `approval ${id} was answered at ${answer.at}, after its window closed (${ledger.expiresAt})` };
  }
  const approver = personKeyOf(answer.by);
  if (!approver || approver !== answer.person)
    return { refused: `approval ${id} was answered by ${oneLine(answer.by, 300)}, who is not a person` };
  if (ledger.requestedBy !== null) {
    const requester = personKeyOf(ledger.requestedBy);
    if (!requester)
      return {
        refused: `approval ${id}: the requester ${oneLine(ledger.requestedBy, 300)} is not a person, so the two-person rule cannot hold`,
      };
    if (requester === approver)
      return {
        refused: `approval ${id} was answered by the requester (${approver}) under another session: two-person rule`,
      };
  }
  return { by: answer.by, reason: answer.reason };
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
export function approvalOutcome(
  task: KeyTask & CaughtFailure,
  config: { approvalTimeoutSeconds: number },
): Partial<KeyTask> | null {
  const error = task.approvalError;
  const answered: unknown = task.approval;
  // Record reached straight from the gate (still `next: APPROVAL`, nothing caught) with anything
  // but an explicit approve: e.g. `{"decision":"deny"}` or `null` sent as a success.
  const fromGate = !error && !task.error && !task.failure && task.next === 'APPROVAL';
  if (fromGate && !isExplicitApproval(answered)) {
    // A success that is not an explicit approve (e.g. `{"decision":"deny"}` sent as a success).
    const decision =
      answered !== null && typeof answered === 'object' && !Array.isArray(answered)
        ? (answered as Record<string, unknown>).decision
        : answered;
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
    return {
      outcome: 'SKIPPED',
      reason: 'APPROVAL_DENIED',
      next: 'DONE',
      detail: `Denied by ${by ?? 'an approver'}${reason ? `: ${reason}` : ''}.`,
    };
  }
  if (error.Error === 'States.Timeout' || error.Error === 'States.HeartbeatTimeout') {
    const minutes = Math.round(config.approvalTimeoutSeconds / 60);
    return {
      outcome: 'SKIPPED',
      reason: 'APPROVAL_DENIED',
      next: 'DONE',
      detail: `No approval decision within ${minutes} min; the key was not rotated.`,
    };
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
