import type { KeyTask } from '../domain/contracts';
import { loadConfig, type RuntimeConfig } from '../adapters/config';
import { kmsClient, kmsClientWithoutRetries } from '../adapters/kms-client';
import { taskHandler, logger } from '../adapters/lambda-handler';
import { KmsKeys } from '../adapters/kms';
import { parseKmsArn } from '../domain/arn';
import {
  afterLostRotateAnswer,
  afterRotateRefusal,
  planRotation,
  ROTATE_ANSWER_UNKNOWN_ERRORS,
  rotateAttemptUnconfirmed,
  rotationStarted,
  STAGED_MATERIAL_GONE_ERRORS,
} from '../domain/rotation/rotation';
import { requireKeyArn } from '../domain/task-errors';
import { emitRotationStarted } from '../adapters/metrics';
import { optedOutNow } from '../domain/rotation/eligibility';

/**
 * Rotate: the step that spends the budget. Reads the rotation state, lets the guard decide
 * (join, give up, or rotate), and sends RotateKeyOnDemand once (SDK retries off). The decisions
 * live in domain/rotation/rotation.ts.
 *
 * Lost answers: when KMS's answer to RotateKeyOnDemand is lost (RotateResponseLost, or a 5xx),
 * the task records `rotateAttemptedAt` and goes round the workflow's WaitBeforeRetryingRotation
 * for the consistency delay; when the function itself timed out, the workflow's Catch sets
 * `rotateTimedOut` and does the same. Either way the next Rotate also reads DescribeKey and
 * joins the rotation if the status, the rotation list or the current key material shows one.
 */
export async function rotate(task: KeyTask, config: RuntimeConfig, kms: KmsKeys, now = new Date()): Promise<KeyTask> {
  const keyArn = requireKeyArn(task, 'Rotate');
  const region = parseKmsArn(keyArn)?.region ?? config.region;
  if (task.approval) {
    // The key waited for a person (up to hours): its opt-out tag is read again before rotating.
    // (IAM denies RotateKeyOnDemand on opted-out keys too; this makes it a clear SKIPPED.)
    const optedOut = optedOutNow(await kms.listTags(keyArn, region), config.optOutTag);
    if (optedOut)
      return {
        ...task,
        next: 'DONE',
        outcome: 'SKIPPED',
        reason: 'OPTED_OUT',
        detail: `${optedOut} (tagged during the approval wait; not rotated).`,
      };
  }
  const history = await kms.rotationHistory(keyArn, region, false);
  // The key material tells what the status cannot: after a lost answer, or when the status is unknown.
  const readMaterial = rotateAttemptUnconfirmed(task) || !history.rotationStatusKnown;
  const currentKeyMaterialId = readMaterial
    ? ((await kms.describeKey(keyArn, region))?.CurrentKeyMaterialId ?? null)
    : undefined;
  const plan = planRotation(task, { ...history, currentKeyMaterialId }, config, now);
  if (plan.action === 'DONE') {
    if (plan.task.joined) logger.info('rotation already running or completed since assessment; joining', { keyArn });
    return plan.task;
  }
  try {
    await kms.rotateOnDemand(keyArn, region);
  } catch (error) {
    const refusal = error as Error;
    if (ROTATE_ANSWER_UNKNOWN_ERRORS.includes(refusal.name)) {
      logger.warn('RotateKeyOnDemand answer lost; confirming after the consistency delay', {
        keyArn,
        error: refusal.name,
      });
      return afterLostRotateAnswer(task, refusal, plan.clock, now);
    }
    // Which refusal an imported key whose staged material disappeared gets is not documented: look at the key.
    const meta = STAGED_MATERIAL_GONE_ERRORS.includes(refusal.name) ? await kms.describeKey(keyArn, region) : null;
    const importedAndEnabled = meta?.Origin === 'EXTERNAL' && meta.KeyState === 'Enabled';
    const next = afterRotateRefusal(task, refusal, config, plan.clock, { importedAndEnabled });
    if (next) return next;
    throw error;
  }
  logger.info('rotation started', { keyArn });
  emitRotationStarted();
  return rotationStarted(task, config, plan.clock, now);
}

// Kept across invocations; RotateKeyOnDemand gets the client without SDK retries.
const kms = new KmsKeys(kmsClient, kmsClientWithoutRetries);

export const handler = taskHandler('rotate', (task: KeyTask) => rotate(task, loadConfig(), kms), { callsKms: true });
