import { dynamoClient } from '../adapters/dynamodb-client';
import { ENV } from '../adapters/config';
import { logger, taskHandler } from '../adapters/lambda-handler';
import { Ledger } from '../adapters/ledger';
import { emitApprovalsOverdue } from '../adapters/metrics';

/**
 * ApprovalWatch (EventBridge schedule, every 5 minutes; not a workflow task): counts approvals
 * nobody has answered past half their window and emits ApprovalsOverdue, which pages at >= 1
 * (lib/observability/observability.ts) while half the window is still left to decide.
 */
export async function watchApprovals(ledger: Ledger, now = new Date()): Promise<{ overdue: number }> {
  const overdue = await ledger.countOverdueApprovals(now);
  emitApprovalsOverdue(overdue);
  if (overdue > 0) logger.warn('approvals waiting past half their window', { overdue });
  return { overdue };
}

export const handler = taskHandler('approval-watch', () => {
  // Only the ledger is needed: read its name alone instead of the task functions' whole config.
  const region = process.env.AWS_REGION ?? '';
  return watchApprovals(new Ledger(process.env[ENV.ledgerTable] ?? '', dynamoClient(region)));
});
