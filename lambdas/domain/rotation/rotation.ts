import { pollDelaySeconds } from './backoff';
import type { KeyTask } from '../contracts';

/**
 * The rotation decisions of the Rotate and CheckRotation steps, pure: the guard that never
 * spends a second rotation, the deadline, the ConflictException back-off, which refusals skip
 * the key, and the completion rule. The handlers only read KMS and call these.
 */

/**
 * Seconds a Rotate waits, after RotateKeyOnDemand's answer was lost, before it reads the key again
 * to decide whether to call KMS again. KMS is eventually consistent and documents no bound (its
 * own example: NotFoundException right after CreateKey); a rotation started by the lost call must
 * show up in GetKeyRotationStatus, ListKeyRotations or DescribeKey within this delay. Used by the
 * workflow's wait too (lib/workflow.ts), so both sides agree.
 */
export const ROTATE_CONSISTENCY_DELAY_SECONDS = 60;

/**
 * Errors with which the Rotate FUNCTION itself ends when it timed out: whatever it sent to KMS
 * may have been performed. The workflow catches them on Rotate and waits the consistency delay
 * before Rotate runs again (with `rotateTimedOut` set), instead of retrying at once.
 * A function timeout reaches Step Functions as the error type Lambda gives it, `Sandbox.Timedout`
 * (Lambda guide, "Troubleshoot invocation issues": timeouts), while the Step Functions guide says
 * unhandled Lambda errors, timeouts included, show as `Lambda.Unknown`; which one a given
 * invocation shows is not documented, so both are caught. `States.Timeout`: the Task's own timeout.
 */
export const ROTATE_FUNCTION_TIMED_OUT_ERRORS = ['Sandbox.Timedout', 'Lambda.Unknown', 'States.Timeout'] as const;

/**
 * RotateKeyOnDemand errors after which nobody knows whether KMS performed the rotation: the
 * answer was lost (`RotateResponseLost`: SDK TimeoutError or a socket error, see
 * adapters/kms.ts) or KMS failed internally (5xx) after possibly starting it.
 */
export const ROTATE_ANSWER_UNKNOWN_ERRORS: readonly string[] = [
  'RotateResponseLost',
  'KMSInternalException',
  'DependencyTimeoutException',
];

/** The settings the rotation decisions use (a subset of the runtime config). */
export interface RotationTiming {
  rotationTimeoutSeconds: number;
  pollInitialSeconds: number;
  pollMaxSeconds: number;
}

/**
 * The rotation state KMS shows now (GetKeyRotationStatus + ListKeyRotations), and DescribeKey's
 * current key material when Rotate read it (after a lost answer, or when GetKeyRotationStatus
 * cannot see a running rotation): a changed material counts as a rotation too.
 */
export interface RotationState {
  onDemandRotationStartDate: Date | null;
  lastOnDemandRotation: Date | null;
  currentKeyMaterialId?: string | null;
}

/**
 * True when an earlier RotateKeyOnDemand of this task may have reached KMS without the task
 * hearing the answer: Rotate then confirms from every read before calling KMS again.
 */
export function rotateAttemptUnconfirmed(task: Pick<KeyTask, 'rotateAttemptedAt' | 'rotateTimedOut'>): boolean {
  return Boolean(task.rotateAttemptedAt || task.rotateTimedOut);
}

/** What CheckRotation sees: the rotation state plus DescribeKey's current key material. */
export interface RotationObservation extends RotationState {
  currentKeyMaterialId: string | null;
}

/** The deadline of a key's rotation (ISO) and the seconds left until it. */
export interface RotationClock {
  deadline: string;
  secondsLeft: number;
}

/**
 * True when KMS lists an ON_DEMAND rotation newer than the one seen before (none seen before:
 * any listed rotation is newer). The one definition both the Rotate guard and completion use.
 */
export function newerOnDemandRotation(lastOnDemandRotation: Date | null, previousRotationDate: string | null): boolean {
  const previous = previousRotationDate ? Date.parse(previousRotationDate) : -Infinity;
  return lastOnDemandRotation !== null && lastOnDemandRotation.getTime() > previous;
}

/**
 * The completion rule: no on-demand rotation in progress AND either a newer ON_DEMAND rotation
 * than the one seen before, or a different current key material.
 */
export function rotationConfirmed(
  seen: RotationObservation,
  before: { previousRotationDate: string | null; previousKeyMaterialId: string | null },
): boolean {
  if (seen.onDemandRotationStartDate) return false;
  const materialChanged =
    before.previousKeyMaterialId !== null &&
    seen.currentKeyMaterialId !== null &&
    seen.currentKeyMaterialId !== before.previousKeyMaterialId;
  return newerOnDemandRotation(seen.lastOnDemandRotation, before.previousRotationDate) || materialChanged;
}

/**
 * The wait before the next look, from the key's rotation clock: it started one rotation timeout
 * before the deadline (the first Rotate attempt, or joining a running rotation), so
 * ConflictException back-off and polls share one schedule and a stalled key costs the same
 * number of looks however the time was split between them (see lib/limits.ts).
 */
export function nextWaitSeconds(timing: RotationTiming, clock: Pick<RotationClock, 'secondsLeft'>): number {
  const elapsed = timing.rotationTimeoutSeconds - clock.secondsLeft;
  return pollDelaySeconds(
    elapsed,
    { shortestSeconds: timing.pollInitialSeconds, maxSeconds: timing.pollMaxSeconds },
    clock.secondsLeft,
  );
}

/** The task's deadline, or one rotation timeout from `now` when no step has set it yet. */
export function rotationClock(
  task: Pick<KeyTask, 'deadline'>,
  timing: Pick<RotationTiming, 'rotationTimeoutSeconds'>,
  now: Date,
): RotationClock {
  const deadline = task.deadline ?? new Date(now.getTime() + timing.rotationTimeoutSeconds * 1000).toISOString();
  return { deadline, secondsLeft: (Date.parse(deadline) - now.getTime()) / 1000 };
}

/** What Rotate does before calling KMS: join a rotation, give up, or rotate. */
export type RotatePlan = { action: 'DONE'; task: KeyTask } | { action: 'ROTATE'; clock: RotationClock };

/**
 * The Rotate guard, then the deadline. A rotation running now, or one completed since Assess
 * (a newer ON_DEMAND rotation listed, or — when DescribeKey was read — a different current key
 * material), is joined, never repeated: it may be ours, from an attempt whose answer was lost.
 * Past the deadline (ConflictException kept us waiting) no rotation is started.
 */
export function planRotation(task: KeyTask, seen: RotationState, timing: RotationTiming, now: Date): RotatePlan {
  const clock = rotationClock(task, timing, now);
  const { deadline, secondsLeft } = clock;
  const newer = newerOnDemandRotation(seen.lastOnDemandRotation, task.previousRotationDate);
  const materialChanged =
    seen.currentKeyMaterialId != null &&
    task.previousKeyMaterialId !== null &&
    seen.currentKeyMaterialId !== task.previousKeyMaterialId;
  const unconfirmed = rotateAttemptUnconfirmed(task);
  if (seen.onDemandRotationStartDate || newer || materialChanged) {
    const startedAt =
      seen.onDemandRotationStartDate ??
      (newer ? seen.lastOnDemandRotation : null) ??
      (task.rotateAttemptedAt ? new Date(task.rotateAttemptedAt) : now);
    return {
      action: 'DONE',
      task: {
        ...task,
        next: 'POLL',
        joined: true,
        deadline,
        rotationStartedAt: startedAt.toISOString(),
        detail: unconfirmed
          ? 'The answer to RotateKeyOnDemand was lost and KMS shows a rotation since the key was assessed (probably that one); joining it instead of rotating again.'
          : 'A rotation started or completed after the key was assessed; joining it instead of rotating again.',
        pollAttempt: 0,
        waitSeconds: nextWaitSeconds(timing, clock),
      },
    };
  }
  if (secondsLeft <= 0) {
    const minutes = Math.round(timing.rotationTimeoutSeconds / 60);
    return {
      action: 'DONE',
      task: {
        ...task,
        next: 'DONE',
        deadline,
        outcome: 'FAILED',
        reason: 'ROTATION_TIMEOUT',
        detail: unconfirmed
          ? `The answer to RotateKeyOnDemand was lost and KMS showed no rotation by the ${minutes} min timeout; it was not called again.`
          : `KMS kept refusing with ConflictException (an automatic rotation running or due) until the ${minutes} min timeout; no rotation was started.`,
      },
    };
  }
  return { action: 'ROTATE', clock };
}

/**
 * RotateKeyOnDemand's answer was lost (ROTATE_ANSWER_UNKNOWN_ERRORS): KMS may have started the
 * rotation. Record the attempt and wait the consistency delay (the workflow's Wait, never a
 * sleeping Lambda); the next Rotate confirms from every read that no rotation started before it
 * calls KMS again, and joins the rotation when one did.
 */
export function afterLostRotateAnswer(
  task: KeyTask,
  error: { name: string },
  clock: RotationClock,
  now: Date,
): KeyTask {
  return {
    ...task,
    next: 'WAIT_THEN_ROTATE',
    deadline: clock.deadline,
    rotateAttemptedAt: now.toISOString(),
    detail: `RotateKeyOnDemand's answer was lost (${error.name}); confirming after ${ROTATE_CONSISTENCY_DELAY_SECONDS} s whether it started a rotation before calling KMS again.`,
    waitSeconds: ROTATE_CONSISTENCY_DELAY_SECONDS,
  };
}

/** RotateKeyOnDemand was accepted: hand over to the poll loop. */
export function rotationStarted(task: KeyTask, timing: RotationTiming, clock: RotationClock, now: Date): KeyTask {
  return {
    ...task,
    next: 'POLL',
    deadline: clock.deadline,
    rotationStartedAt: now.toISOString(),
    rotateAttemptedAt: null,
    rotateTimedOut: null,
    detail: 'Rotation started.',
    pollAttempt: 0,
    waitSeconds: nextWaitSeconds(timing, clock),
  };
}

/** Refusals after which the key is skipped rather than failed: its state changed since Assess. */
export const SKIP_AFTER_ROTATE_REFUSAL: Readonly<
  Record<string, { reason: 'BUDGET_EXHAUSTED' | 'KEY_NOT_ENABLED' | 'NOT_FOUND'; detail: string }>
> = {
  LimitExceededException: {
    reason: 'BUDGET_EXHAUSTED',
    detail: 'KMS refused the rotation: the lifetime on-demand rotation limit is reached.',
  },
  DisabledException: { reason: 'KEY_NOT_ENABLED', detail: 'The key was disabled after it was assessed.' },
  NotFoundException: { reason: 'NOT_FOUND', detail: 'The key disappeared after it was assessed.' },
  KMSInvalidStateException: {
    reason: 'KEY_NOT_ENABLED',
    detail: 'The key changed state after it was assessed (e.g. scheduled for deletion).',
  },
};

/**
 * The refusals KMS may give (which one is not documented) for an imported-material key whose
 * staged PENDING_ROTATION material disappeared after Assess.
 */
export const STAGED_MATERIAL_GONE_ERRORS: readonly string[] = [
  'KMSInvalidStateException',
  'UnsupportedOperationException',
];

/**
 * What follows a RotateKeyOnDemand refusal: ConflictException (an automatic rotation running or
 * due within 20 minutes) waits with back-off and tries again; an enabled imported-material key
 * refused with a STAGED_MATERIAL_GONE_ERRORS error is SKIPPED IMPORTED_MATERIAL_NOT_STAGED (or,
 * after a lost answer, joined: the lost call may have taken the staged material); the refusals in
 * SKIP_AFTER_ROTATE_REFUSAL skip the key; anything else is null (the caller rethrows it, so Step
 * Functions retries or catches it by name).
 */
export function afterRotateRefusal(
  task: KeyTask,
  error: { name: string; message: string },
  timing: RotationTiming,
  clock: RotationClock,
  key: { importedAndEnabled: boolean } = { importedAndEnabled: false },
): KeyTask | null {
  if (key.importedAndEnabled && STAGED_MATERIAL_GONE_ERRORS.includes(error.name)) {
    if (rotateAttemptUnconfirmed(task)) {
      return {
        ...task,
        next: 'POLL',
        joined: true,
        deadline: clock.deadline,
        rotationStartedAt: task.rotateAttemptedAt ?? task.rotationStartedAt,
        detail: `KMS refused with ${error.name}: the staged key material is taken, probably by the rotation whose answer was lost; confirming it.`,
        pollAttempt: 0,
        waitSeconds: nextWaitSeconds(timing, clock),
      };
    }
    return {
      ...task,
      next: 'DONE',
      deadline: clock.deadline,
      outcome: 'SKIPPED',
      reason: 'IMPORTED_MATERIAL_NOT_STAGED',
      detail: `The staged key material disappeared after the key was assessed (KMS answered ${error.name}); import new material with ImportType NEW_KEY_MATERIAL to rotate.`,
    };
  }
  if (error.name === 'ConflictException') {
    const attempt = task.pollAttempt;
    return {
      ...task,
      next: 'WAIT_THEN_ROTATE',
      deadline: clock.deadline,
      detail: `Waiting: KMS reports a conflicting automatic rotation (${error.message}).`,
      pollAttempt: attempt + 1,
      waitSeconds: nextWaitSeconds(timing, clock),
    };
  }
  const skip = Object.hasOwn(SKIP_AFTER_ROTATE_REFUSAL, error.name) ? SKIP_AFTER_ROTATE_REFUSAL[error.name] : undefined;
  if (skip)
    return {
      ...task,
      next: 'DONE',
      deadline: clock.deadline,
      outcome: 'SKIPPED',
      reason: skip.reason,
      detail: skip.detail,
    };
  return null;
}

/**
 * CheckRotation's decision after one look: ROTATED when the completion rule holds, FAILED
 * ROTATION_TIMEOUT past the deadline, else another poll with back-off. `counts` are the
 * on-demand rotations used and left, as KMS lists them now.
 */
export function afterRotationCheck(
  task: KeyTask,
  seen: RotationObservation,
  counts: Pick<KeyTask, 'onDemandRotationsUsed' | 'onDemandRotationsRemaining'>,
  timing: RotationTiming,
  now: Date,
): KeyTask {
  if (rotationConfirmed(seen, task)) {
    return {
      ...task,
      ...counts,
      next: 'DONE',
      outcome: 'ROTATED',
      reason: null,
      currentKeyMaterialId: seen.currentKeyMaterialId,
      confirmedAt: now.toISOString(),
      detail: task.joined
        ? 'Joined a rotation that was already running; it completed.'
        : 'Rotated on demand; new key material is in use.',
    };
  }
  const clock = rotationClock(task, timing, now);
  if (clock.secondsLeft <= 0) {
    return {
      ...task,
      ...counts,
      next: 'DONE',
      outcome: 'FAILED',
      reason: 'ROTATION_TIMEOUT',
      detail: `The rotation started at ${task.rotationStartedAt} was not confirmed within ${Math.round(timing.rotationTimeoutSeconds / 60)} min; it may still complete.`,
    };
  }
  const attempt = task.pollAttempt + 1;
  return {
    ...task,
    ...counts,
    next: 'POLL',
    pollAttempt: attempt,
    waitSeconds: nextWaitSeconds(timing, clock),
  };
}
