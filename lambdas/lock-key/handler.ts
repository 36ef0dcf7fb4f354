import type { KeyTask } from '../domain/contracts';
import { requireKeyArn } from '../domain/task-errors';
import { loadConfig, type RuntimeConfig } from '../adapters/config';
import { taskHandler, logger } from '../adapters/lambda-handler';
import { Ledger } from '../adapters/ledger';
import { dynamoClient } from '../adapters/dynamodb-client';
import { emitApprovalUnverified } from '../adapters/metrics';
import { isExplicitApproval, verifyApproval } from '../domain/approvals/approval';
import { personKeyOf } from '../domain/approvals/people';

/** Extra lease beyond the rotation timeout, so a slow poll never outlives its lock. */
const LEASE_MARGIN_SECONDS = 600;

/**
 * A key that went through the approval gate (it carries `approval`) goes on only when the ledger
 * shows the front door's answer (domain/approvals/approval.ts verifyApproval): a SendTaskSuccess by anyone
 * else holding the token ends SKIPPED APPROVAL_DENIED, counted in ApprovalsUnverified (it pages
 * like a failed execution). The task's approver becomes the ledger's, never the output's.
 * Null: no approval to check (no gate, or silence with approvalTimeoutAction ROTATE).
 */
async function checkApproval(
  task: KeyTask,
  keyArn: string,
  ledger: Pick<Ledger, 'getApproval'>,
): Promise<KeyTask | null> {
  if (task.approval === undefined || task.approval === null) return null;
  const received = isExplicitApproval(task.approval) ? task.approval : { decision: 'approve' as const, by: null };
  const record = typeof received.approvalId === 'string' ? await ledger.getApproval(received.approvalId) : null;
  const verdict = verifyApproval(
    received,
    record,
    { keyArn, executionArn: task.executionArn ?? 'unknown' },
    personKeyOf,
  );
  if ('refused' in verdict) {
    logger.warn("approval refused: not the front door's answer", { keyArn, refused: verdict.refused });
    emitApprovalUnverified();
    const detail = `The approval does not count: ${verdict.refused}; the key was not rotated.`;
    return { ...task, approval: null, next: 'DONE', outcome: 'SKIPPED', reason: 'APPROVAL_DENIED', detail };
  }
  return { ...task, approval: { ...received, by: verdict.by, reason: verdict.reason } };
}

/**
 * LockKey: one rotation per key at a time, across executions. The lock is a conditional write
 * with a lease (released by Record on every path; an expired lease can be taken over). A key
 * already locked by another execution (or another iteration of this one) is being rotated
 * right now: SKIPPED RECENTLY_ROTATED.
 */
export async function lockKey(
  given: KeyTask,
  config: RuntimeConfig,
  ledger: Ledger,
  now = new Date(),
): Promise<KeyTask> {
  const keyArn = requireKeyArn(given, 'LockKey');
  const checked = await checkApproval(given, keyArn, ledger);
  if (checked?.next === 'DONE') return checked;
  const task = checked ?? given;
  // Re-encrypt only (approved, or the approval timed out with approvalTimeoutAction ROTATE): no
  // rotation, so no lock and never Rotate; the re-encryption branch runs on the current material.
  if (task.request.reEncryptOnly) {
    return {
      ...task,
      next: 'DONE',
      outcome: 'REENCRYPT_ONLY',
      reason: null,
      detail: `Approved: re-encrypt only, no rotation spent (exposure ${task.request.reEncryptOnly.exposedAt}).`,
    };
  }
  // One owner per key iteration, not per execution: a finding that names the same key twice
  // (say by alias and by ARN) must not rotate it twice within one execution either.
  const owner = `${task.executionArn ?? task.request.requestId}#${task.ref}`;
  const lock = await ledger.acquireKeyLock(keyArn, owner, now, config.rotationTimeoutSeconds + LEASE_MARGIN_SECONDS);
  if (lock.acquired) return { ...task, lockOwner: owner, next: 'ROTATE' };
  logger.info('key locked by another execution', { keyArn, owner: lock.owner });
  return {
    ...task,
    next: 'DONE',
    outcome: 'SKIPPED',
    reason: 'RECENTLY_ROTATED',
    detail: `This key is being rotated right now by ${lock.owner.split('#')[0]} (lock held until ${lock.leaseUntil}); not rotating it twice.`,
  };
}

export const handler = taskHandler('lock-key', (task: KeyTask) => {
  const config = loadConfig();
  return lockKey(task, config, new Ledger(config.ledgerTable, dynamoClient(config.region)));
});
