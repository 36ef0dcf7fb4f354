import { pollDelaySeconds } from './backoff';
import type { KeyTask } from './contracts';

/**
 * The rotation decisions of the Rotate and CheckRotation steps, pure: the guard that never
 * spends a second rotation, the deadline, the ConflictException back-off, which refusals skip
 * the key, and the completion rule. The handlers only read KMS and call these.
 */

/** The settings the rotation decisions use (a subset of the runtime config). */
export interface RotationTiming {
  rotationTimeoutSeconds: number;
  pollInitialSeconds: number;
  pollMaxSeconds: number;
}

/** The rotation state KMS shows now (GetKeyRotationStatus + ListKeyRotations). */
export interface RotationState {
  onDemandRotationStartDate: Date | null;
  lastOnDemandRotation: Date | null;
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
export function rotationConfirmed(seen: RotationObservation, before: { previousRotationDate: string | null; previousKeyMaterialId: string | null }): boolean {
  if (seen.onDemandRotationStartDate) return false;
  const materialChanged =
    before.previousKeyMaterialId !== null && seen.currentKeyMaterialId !== null && seen.currentKeyMaterialId !== before.previousKeyMaterialId;
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
  return pollDelaySeconds(elapsed, { shortestSeconds: timing.pollInitialSeconds, maxSeconds: timing.pollMaxSeconds }, clock.secondsLeft);
}

/** The task's deadline, or one rotation timeout from `now` when no step has set it yet. */
export function rotationClock(task: Pick<KeyTask, 'deadline'>, timing: Pick<RotationTiming, 'rotationTimeoutSeconds'>, now: Date): RotationClock {
  const deadline = task.deadline ?? new Date(now.getTime() + timing.rotationTimeoutSeconds * 1000).toISOString();
  return { deadline, secondsLeft: (Date.parse(deadline) - now.getTime()) / 1000 };
}

/** What Rotate does before calling KMS: join a rotation, give up, or rotate. */
export type RotatePlan = { action: 'DONE'; task: KeyTask } | { action: 'ROTATE'; clock: RotationClock };

/**
 * The Rotate guard, then the deadline. A rotation running now, or one completed since Assess
 * (possibly ours, if an earlier attempt's response was lost), is joined, never repeated. Past the
 * deadline (ConflictException kept us waiting) no rotation is started.
 */
export function planRotation(task: KeyTask, seen: RotationState, timing: RotationTiming, now: Date): RotatePlan {
  const clock = rotationClock(task, timing, now);
  const { deadline, secondsLeft } = clock;
  if (seen.onDemandRotationStartDate || newerOnDemandRotation(seen.lastOnDemandRotation, task.previousRotationDate)) {
    return {
      action: 'DONE',
      task: {
        ...task,
        next: 'POLL',
        joined: true,
        deadline,
        rotationStartedAt: (seen.onDemandRotationStartDate ?? seen.lastOnDemandRotation)!.toISOString(),
        detail: 'A rotation started or completed after the key was assessed; joining it instead of rotating again.',
        pollAttempt: 0,
        waitSeconds: nextWaitSeconds(timing, clock),
      },
    };
  }
  if (secondsLeft <= 0) {
    return {
      action: 'DONE',
      task: {
        ...task,
        next: 'DONE',
        deadline,
        outcome: 'FAILED',
        reason: 'ROTATION_TIMEOUT',
        detail: `KMS kept refusing with ConflictException (an automatic rotation running or due) until the ${Math.round(timing.rotationTimeoutSeconds / 60)} min timeout; no rotation was started.`,
      },
    };
  }
  return { action: 'ROTATE', clock };
}

/** RotateKeyOnDemand was accepted: hand over to the poll loop. */
export function rotationStarted(task: KeyTask, timing: RotationTiming, clock: RotationClock, now: Date): KeyTask {
  return {
    ...task,
    next: 'POLL',
    deadline: clock.deadline,
    rotationStartedAt: now.toISOString(),
    detail: 'Rotation started.',
    pollAttempt: 0,
    waitSeconds: nextWaitSeconds(timing, clock),
  };
}

/** Refusals after which the key is skipped rather than failed: its state changed since Assess. */
export const SKIP_AFTER_ROTATE_REFUSAL: Readonly<Record<string, { reason: 'BUDGET_EXHAUSTED' | 'KEY_NOT_ENABLED' | 'NOT_FOUND'; detail: string }>> = {
  LimitExceededException: { reason: 'BUDGET_EXHAUSTED', detail: 'KMS refused the rotation: the lifetime on-demand rotation limit is reached.' },
  DisabledException: { reason: 'KEY_NOT_ENABLED', detail: 'The key was disabled after it was assessed.' },
  NotFoundException: { reason: 'NOT_FOUND', detail: 'The key disappeared after it was assessed.' },
  KMSInvalidStateException: { reason: 'KEY_NOT_ENABLED', detail: 'The key changed state after it was assessed (e.g. scheduled for deletion).' },
};

/**
 * What follows a RotateKeyOnDemand refusal: ConflictException (an automatic rotation running or
 * due within 20 minutes) waits with back-off and tries again; the refusals in
 * SKIP_AFTER_ROTATE_REFUSAL skip the key; anything else is null (the caller rethrows it, so Step
 * Functions retries or catches it by name).
 */
export function afterRotateRefusal(task: KeyTask, error: { name: string; message: string }, timing: RotationTiming, clock: RotationClock): KeyTask | null {
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
  if (skip) return { ...task, next: 'DONE', deadline: clock.deadline, outcome: 'SKIPPED', reason: skip.reason, detail: skip.detail };
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
      detail: task.joined ? 'Joined a rotation that was already running; it completed.' : 'Rotated on demand; new key material is in use.',
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
