import type { KeyTask } from '../domain/contracts';
import { loadConfig, type RuntimeConfig } from '../adapters/config';
import { kmsClient } from '../adapters/kms-client';
import { taskHandler } from '../adapters/lambda-handler';
import { KmsKeys } from '../adapters/kms';
import { parseKmsArn } from '../domain/arn';
import { afterRotationCheck } from '../domain/rotation/rotation';
import { requireKeyArn } from '../domain/task-errors';

/**
 * CheckRotation: one look at the key (rotation status and history; DescribeKey's key material
 * once nothing is running) and the completion rule's verdict from domain/rotation/rotation.ts.
 */
export async function checkRotation(
  task: KeyTask,
  config: RuntimeConfig,
  kms: KmsKeys,
  now = new Date(),
): Promise<KeyTask> {
  const keyArn = requireKeyArn(task, 'CheckRotation');
  const region = parseKmsArn(keyArn)?.region ?? config.region;
  const history = await kms.rotationHistory(keyArn, region, false);
  const meta = history.onDemandRotationStartDate ? null : await kms.describeKey(keyArn, region);
  const used = history.onDemandRotationsUsed;
  return afterRotationCheck(
    task,
    {
      onDemandRotationStartDate: history.onDemandRotationStartDate,
      lastOnDemandRotation: history.lastOnDemandRotation,
      currentKeyMaterialId: meta?.CurrentKeyMaterialId ?? null,
    },
    { onDemandRotationsUsed: used, onDemandRotationsRemaining: Math.max(0, config.rotationBudget - used) },
    config,
    now,
  );
}

const kms = new KmsKeys(kmsClient);

export const handler = taskHandler('check-rotation', (task: KeyTask) => checkRotation(task, loadConfig(), kms), {
  callsKms: true,
});
