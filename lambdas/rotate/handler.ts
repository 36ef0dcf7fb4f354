import { RotateKeyOnDemandCommand } from '@aws-sdk/client-kms';
import { kmsClientWithoutRetries } from '../adapters/clients';
import type { KeyTask } from '../domain/contracts';
import { loadConfig, type RuntimeConfig } from '../adapters/config';
import { taskHandler, logger } from '../adapters/lambda-handler';
import { rotationHistory } from '../adapters/kms';
import { parseKmsArn } from '../domain/arn';
import { pollDelaySeconds } from '../domain/backoff';

// RotateKeyOnDemand goes through a client with SDK retries off (see kmsClientWithoutRetries):
// Step Functions retries the whole task, and this handler first checks whether a rotation has
// started or completed since Assess looked (the guard).

/** Errors after which the key is skipped rather than failed: its state changed since Assess. */
const SKIP_ON: Record<string, { reason: 'BUDGET_EXHAUSTED' | 'KEY_NOT_ENABLED' | 'NOT_FOUND'; detail: string }> = {
  LimitExceededException: { reason: 'BUDGET_EXHAUSTED', detail: 'KMS refused the rotation: the lifetime on-demand rotation limit is reached.' },
  DisabledException: { reason: 'KEY_NOT_ENABLED', detail: 'The key was disabled after it was assessed.' },
  NotFoundException: { reason: 'NOT_FOUND', detail: 'The key disappeared after it was assessed.' },
  KMSInvalidStateException: { reason: 'KEY_NOT_ENABLED', detail: 'The key changed state after it was assessed (e.g. scheduled for deletion).' },
};

export async function rotate(task: KeyTask, config: RuntimeConfig, now = new Date()): Promise<KeyTask> {
  const keyArn = task.keyArn;
  if (!keyArn) throw new Error('Rotate called without a key ARN');
  const region = parseKmsArn(keyArn)?.region ?? config.region;
  const deadline = task.deadline ?? new Date(now.getTime() + config.rotationTimeoutSeconds * 1000).toISOString();
  const secondsLeft = (Date.parse(deadline) - now.getTime()) / 1000;

  // Guard: never spend a second rotation. A rotation running now, or one completed since Assess
  // (possibly ours, if an earlier attempt's response was lost), is joined, not repeated.
  const history = await rotationHistory(keyArn, region, false);
  const previous = task.previousRotationDate ? Date.parse(task.previousRotationDate) : -Infinity;
  const newer = history.lastOnDemandRotation && history.lastOnDemandRotation.getTime() > previous;
  if (history.onDemandRotationStartDate || newer) {
    logger.info('rotation already running or completed since assessment; joining', { keyArn });
    return {
      ...task,
      next: 'POLL',
      joined: true,
      deadline,
      rotationStartedAt: (history.onDemandRotationStartDate ?? history.lastOnDemandRotation)!.toISOString(),
      detail: 'A rotation started or completed after the key was assessed; joining it instead of rotating again.',
      pollAttempt: 0,
      waitSeconds: pollDelaySeconds(0, config.pollInitialSeconds, config.pollMaxSeconds, secondsLeft),
    };
  }

  if (secondsLeft <= 0) {
    return {
      ...task,
      next: 'DONE',
      deadline,
      outcome: 'FAILED',
      reason: 'ROTATION_TIMEOUT',
      detail: `KMS kept refusing with ConflictException (an automatic rotation running or due) until the ${Math.round(config.rotationTimeoutSeconds / 60)} min timeout; no rotation was started.`,
    };
  }

  try {
    await kmsClientWithoutRetries(region).send(new RotateKeyOnDemandCommand({ KeyId: keyArn }));
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'ConflictException') {
      // An automatic rotation is running or due within 20 minutes: wait and try again.
      const attempt = task.pollAttempt;
      return {
        ...task,
        next: 'WAIT_THEN_ROTATE',
        deadline,
        detail: `Waiting: KMS reports a conflicting automatic rotation (${(error as Error).message}).`,
        pollAttempt: attempt + 1,
        waitSeconds: pollDelaySeconds(attempt, config.pollInitialSeconds, config.pollMaxSeconds, secondsLeft),
      };
    }
    const skip = SKIP_ON[name];
    if (skip) return { ...task, next: 'DONE', deadline, outcome: 'SKIPPED', reason: skip.reason, detail: skip.detail };
    throw error;
  }

  logger.info('rotation started', { keyArn });
  return {
    ...task,
    next: 'POLL',
    deadline,
    rotationStartedAt: now.toISOString(),
    detail: 'Rotation started.',
    pollAttempt: 0,
    waitSeconds: pollDelaySeconds(0, config.pollInitialSeconds, config.pollMaxSeconds, secondsLeft),
  };
}

export const handler = taskHandler('rotate', (task: KeyTask) => rotate(task, loadConfig()));
