import type { KeyTask } from '../domain/contracts';
import { loadConfig, type RuntimeConfig } from '../adapters/config';
import { taskHandler } from '../adapters/lambda-handler';
import { describeKey, rotationHistory } from '../adapters/kms';
import { parseKmsArn } from '../domain/arn';
import { pollDelaySeconds } from '../domain/backoff';

export interface RotationObservation {
  onDemandRotationStartDate: Date | null;
  lastOnDemandRotation: Date | null;
  currentKeyMaterialId: string | null;
}

/**
 * The completion rule: no on-demand rotation in progress AND either a newer ON_DEMAND rotation
 * than the one seen before, or a different current key material. Pure.
 */
export function rotationConfirmed(seen: RotationObservation, before: { previousRotationDate: string | null; previousKeyMaterialId: string | null }): boolean {
  if (seen.onDemandRotationStartDate) return false;
  const previous = before.previousRotationDate ? Date.parse(before.previousRotationDate) : -Infinity;
  const newerRotation = seen.lastOnDemandRotation !== null && seen.lastOnDemandRotation.getTime() > previous;
  const materialChanged =
    before.previousKeyMaterialId !== null && seen.currentKeyMaterialId !== null && seen.currentKeyMaterialId !== before.previousKeyMaterialId;
  return newerRotation || materialChanged;
}

export async function checkRotation(task: KeyTask, config: RuntimeConfig, now = new Date()): Promise<KeyTask> {
  const keyArn = task.keyArn;
  if (!keyArn) throw new Error('CheckRotation called without a key ARN');
  const region = parseKmsArn(keyArn)?.region ?? config.region;
  const history = await rotationHistory(keyArn, region, false);
  const meta = history.onDemandRotationStartDate ? null : await describeKey(keyArn, region);
  const seen: RotationObservation = {
    onDemandRotationStartDate: history.onDemandRotationStartDate,
    lastOnDemandRotation: history.lastOnDemandRotation,
    currentKeyMaterialId: meta?.CurrentKeyMaterialId ?? null,
  };
  const used = history.onDemandRotationsUsed;
  const counts = { onDemandRotationsUsed: used, onDemandRotationsRemaining: Math.max(0, config.rotationBudget - used) };

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

  const deadline = task.deadline ? Date.parse(task.deadline) : now.getTime() + config.rotationTimeoutSeconds * 1000;
  const secondsLeft = (deadline - now.getTime()) / 1000;
  if (secondsLeft <= 0) {
    return {
      ...task,
      ...counts,
      next: 'DONE',
      outcome: 'FAILED',
      reason: 'ROTATION_TIMEOUT',
      detail: `The rotation started at ${task.rotationStartedAt} was not confirmed within ${Math.round(config.rotationTimeoutSeconds / 60)} min; it may still complete.`,
    };
  }
  const attempt = task.pollAttempt + 1;
  return {
    ...task,
    ...counts,
    next: 'POLL',
    pollAttempt: attempt,
    waitSeconds: pollDelaySeconds(attempt, config.pollInitialSeconds, config.pollMaxSeconds, secondsLeft),
  };
}

export const handler = taskHandler('check-rotation', (task: KeyTask) => checkRotation(task, loadConfig()));
