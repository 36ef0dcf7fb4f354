import type { KeyTask } from '../domain/contracts';
import { loadConfig, type RuntimeConfig } from '../adapters/config';
import { kmsClient, kmsClientWithoutRetries } from '../adapters/clients';
import { taskHandler, logger } from '../adapters/lambda-handler';
import { KmsKeys } from '../adapters/kms';
import { parseKmsArn } from '../domain/arn';
import { afterRotateRefusal, planRotation, rotationStarted } from '../domain/rotation';
import { requireKeyArn } from '../domain/task-errors';
import { optedOutNow } from '../domain/eligibility';

/**
 * Rotate: the step that spends the budget. Reads the rotation state, lets the guard decide
 * (join, give up, or rotate), and sends RotateKeyOnDemand once (SDK retries off: Step Functions
 * retries the whole task, behind the guard). The decisions live in domain/rotation.ts.
 */
export async function rotate(task: KeyTask, config: RuntimeConfig, kms: KmsKeys, now = new Date()): Promise<KeyTask> {
  const keyArn = requireKeyArn(task, 'Rotate');
  const region = parseKmsArn(keyArn)?.region ?? config.region;
  if (task.approval) {
    // The key waited for a person (up to hours): its opt-out tag is read again before rotating.
    // (IAM denies RotateKeyOnDemand on opted-out keys too; this makes it a clear SKIPPED.)
    const optedOut = optedOutNow(await kms.listTags(keyArn, region), config.optOutTag);
    if (optedOut) return { ...task, next: 'DONE', outcome: 'SKIPPED', reason: 'OPTED_OUT', detail: `${optedOut} (tagged during the approval wait; not rotated).` };
  }
  const plan = planRotation(task, await kms.rotationHistory(keyArn, region, false), config, now);
  if (plan.action === 'DONE') {
    if (plan.task.joined) logger.info('rotation already running or completed since assessment; joining', { keyArn });
    return plan.task;
  }
  try {
    await kms.rotateOnDemand(keyArn, region);
  } catch (error) {
    const next = afterRotateRefusal(task, error as Error, config, plan.clock);
    if (next) return next;
    throw error;
  }
  logger.info('rotation started', { keyArn });
  return rotationStarted(task, config, plan.clock, now);
}

// Kept across invocations; RotateKeyOnDemand gets the client without SDK retries.
const kms = new KmsKeys(kmsClient, kmsClientWithoutRetries);

export const handler = taskHandler('rotate', (task: KeyTask) => rotate(task, loadConfig(), kms));
