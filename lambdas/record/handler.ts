import type { CaughtFailure, KeyTask } from '../domain/contracts';
import { loadConfig, type RuntimeConfig } from '../adapters/config';
import { taskHandler } from '../adapters/lambda-handler';
import { Ledger } from '../adapters/ledger';
import { dynamoClient } from '../adapters/dynamodb-client';
import { toKeyResult } from '../domain/rotation/summary';
import { approvalOutcome, isExplicitApproval } from '../domain/approvals/approval';
import { emitKeyResult } from '../adapters/metrics';

export type RecordInput = KeyTask & CaughtFailure;

/**
 * Record: the last step of every key's iteration, on every path. Settles the key's outcome
 * (errors caught by the state machine become FAILED with a reason), writes the audit entry,
 * and releases the key's rotation lock if this execution holds it.
 */
export async function record(
  input: RecordInput,
  config: RuntimeConfig,
  ledger: Ledger,
  now = new Date(),
): Promise<KeyTask> {
  const settled: RecordInput = { ...input, ...(approvalOutcome(input, config) ?? {}) };
  const result = toKeyResult(settled);
  const { error: _error, failure: _failure, ...task } = settled;
  // Every KeyResult field is set: the state machine keeps exactly those as the key's result.
  const final: KeyTask = { ...task, ...result, moreAliases: result.moreAliases ?? 0, next: 'DONE' };
  const executionArn = input.executionArn ?? 'unknown';
  const approved = isExplicitApproval(input.approval) ? input.approval : null;
  if (final.keyArn) {
    await ledger.recordOutcome({
      keyArn: final.keyArn,
      at: now.toISOString(),
      outcome: result.outcome,
      reason: result.reason,
      detail: result.detail,
      source: input.request.source,
      requestId: input.request.requestId,
      findingId: input.request.findingId,
      findingType: input.request.findingType,
      requestedBy: input.request.requestedBy,
      breakGlass: input.request.breakGlass === true,
      approvedBy: approved?.by ?? null,
      approvalReason: approved?.reason ?? null,
      executionArn,
      via: result.via,
      previousKeyMaterialId: result.previousKeyMaterialId,
      currentKeyMaterialId: result.currentKeyMaterialId,
      onDemandRotationsUsed: result.onDemandRotationsUsed,
      rotationStartedAt: result.rotationStartedAt,
      confirmedAt: result.confirmedAt,
    });
    if (input.lockOwner) await ledger.releaseKeyLock(final.keyArn, input.lockOwner);
  }
  // After the audit entry: a retried Record counts the key again only if the entry was written twice.
  emitKeyResult(result);
  return { ...final, lockOwner: null };
}

export const handler = taskHandler('record', (input: RecordInput) => {
  const config = loadConfig();
  return record(input, config, new Ledger(config.ledgerTable, dynamoClient(config.region)));
});
