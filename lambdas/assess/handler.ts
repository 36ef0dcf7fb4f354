import type { KeyTask } from '../domain/contracts';
import { loadConfig, type RuntimeConfig } from '../adapters/config';
import { taskHandler } from '../adapters/lambda-handler';
import { assessKey } from '../domain/rotation/eligibility';
import { inspectKey } from '../adapters/inspect';
import { kmsClient } from '../adapters/kms-client';
import { KmsKeys } from '../adapters/kms';
import { capAliases, newKeyTask } from '../domain/rotation/key-task';
import { parseKmsArn } from '../domain/arn';
import { assessReencryptOnly, type ReencryptOnlyDecision } from '../domain/reencryption/reencrypt-only';

/**
 * Assess: look the key up and decide ROTATE, JOIN (a rotation is already running), DRY_RUN or
 * SKIPPED with a reason. Spends nothing.
 */
export async function assess(
  item: Pick<KeyTask, 'ref' | 'request' | 'executionArn'>,
  config: RuntimeConfig,
  kms: KmsKeys,
  now = new Date(),
): Promise<KeyTask> {
  const task = newKeyTask(item);
  if (task.request.duplicateOf) {
    // Exactly-once per finding: not even looked up again.
    return {
      ...task,
      keyArn: parseKmsArn(task.ref)?.resourceType === 'key' ? task.ref : null,
      next: 'DONE',
      outcome: 'SKIPPED',
      reason: 'DUPLICATE_FINDING',
      detail: `This finding was already handled by execution ${task.request.duplicateOf}.`,
    };
  }
  if (task.request.notConfirmed) {
    // A finding its source does not hold: the keys it names are not even looked up.
    return {
      ...task,
      keyArn: parseKmsArn(task.ref)?.resourceType === 'key' ? task.ref : null,
      next: 'DONE',
      outcome: 'SKIPPED',
      reason: 'FINDING_NOT_CONFIRMED',
      detail: task.request.notConfirmed,
    };
  }
  const inspection = await inspectKey(kms, task.ref, config);
  if (!inspection.found) {
    return {
      ...task,
      keyArn: inspection.keyArn,
      next: 'DONE',
      outcome: 'SKIPPED',
      reason: 'NOT_FOUND',
      detail: inspection.detail,
    };
  }
  const { facts } = inspection;
  const ctx = {
    accountId: config.accountId,
    source: task.request.source,
    dryRun: task.request.dryRun || config.dryRun,
    force: task.request.force,
    rotationBudget: config.rotationBudget,
    automaticReserve: config.automaticReserve,
    cooldownSeconds: config.cooldownSeconds,
    optOutTag: config.optOutTag,
    forceMinIntervalSeconds: config.forceMinIntervalSeconds,
    forceDailyCap: config.forceDailyCap,
    dailyRotationCap: config.dailyRotationCap,
    now,
  };
  const only = task.request.reEncryptOnly;
  const decision = only
    ? reencryptOnlyAsDecision(
        assessReencryptOnly({ ...facts, newestMaterialDate: facts.newestMaterialDate ?? null }, ctx, only),
      )
    : assessKey(facts, ctx);
  const used = facts.onDemandRotationsUsed;
  // Another account's key is never looked up: its rotation counts are unknown, not 0 used.
  const counted = facts.account === config.accountId;
  const known: KeyTask = {
    ...task,
    keyArn: inspection.keyArn,
    via: inspection.via,
    ...capAliases(inspection.aliases),
    detail: decision.detail,
    onDemandRotationsUsed: counted ? used : null,
    onDemandRotationsRemaining: counted ? Math.max(0, config.rotationBudget - used) : null,
    previousRotationDate: facts.lastOnDemandRotation?.toISOString() ?? null,
    previousKeyMaterialId: facts.currentKeyMaterialId,
    currentKeyMaterialId: facts.currentKeyMaterialId,
  };
  switch (decision.action) {
    case 'SKIP':
      return { ...known, next: 'DONE', outcome: 'SKIPPED', reason: decision.reason };
    case 'DRY_RUN':
      return { ...known, next: 'DONE', outcome: 'DRY_RUN', reason: null };
    case 'JOIN':
      return {
        ...known,
        next: 'POLL',
        joined: true,
        rotationStartedAt: facts.onDemandRotationStartDate!.toISOString(),
        deadline: new Date(now.getTime() + config.rotationTimeoutSeconds * 1000).toISOString(),
        pollAttempt: 0,
        waitSeconds: config.pollInitialSeconds,
      };
    case 'ROTATE':
      return { ...known, next: 'ROTATE' };
    case 'APPROVAL':
      return { ...known, next: 'APPROVAL' };
    case 'REENCRYPT_ONLY':
      // No Lock, no Rotate: the re-encryption branch plans this key as it would a rotated one.
      return { ...known, next: 'DONE', outcome: 'REENCRYPT_ONLY', reason: null };
  }
}

/** A re-encrypt-only decision in assessKey's shape (DRY_RUN never joins a rotation). */
function reencryptOnlyAsDecision(
  d: ReencryptOnlyDecision,
): ReturnType<typeof assessKey> | Extract<ReencryptOnlyDecision, { action: 'REENCRYPT_ONLY' }> {
  return d.action === 'DRY_RUN' ? { ...d, wouldJoin: false } : d;
}

const kms = new KmsKeys(kmsClient);

export const handler = taskHandler(
  'assess',
  (item: Pick<KeyTask, 'ref' | 'request' | 'executionArn'>) => assess(item, loadConfig(), kms),
  { callsKms: true },
);
