import { loadConfig, type RuntimeConfig } from '../adapters/config';
import { snsClient } from '../adapters/sns-client';
import { dynamoClient } from '../adapters/dynamodb-client';
import { taskHandler } from '../adapters/lambda-handler';
import { Ledger } from '../adapters/ledger';
import { NotificationTopic } from '../adapters/notification/sns';
import { emitApprovalRequested } from '../adapters/metrics';
import { approvalIdOf, approvalOverdueAt } from '../domain/approvals/approval';
import { formatApprovalRequest, type ApprovalRequestInput } from '../domain/approvals/approval-request';
import { requireKeyArn } from '../domain/task-errors';

/**
 * RequestApproval: store the task token in the ledger under a short approval id (who asked, which
 * key and execution, until when), then publish the approval request naming the id only; the
 * workflow waits for the front door to answer with the token.
 */
export async function requestApproval(
  input: ApprovalRequestInput,
  config: RuntimeConfig,
  ledger: Ledger,
  topic: NotificationTopic,
  now = new Date(),
): Promise<{ requested: true; approvalId: string }> {
  const approvalId = approvalIdOf(input.token);
  await ledger.putApproval({
    approvalId,
    token: input.token,
    requestedBy: input.task.request.requestedBy,
    keyArn: requireKeyArn(input.task, 'RequestApproval'),
    executionArn: input.task.executionArn ?? 'unknown',
    expiresAt: new Date(now.getTime() + config.approvalTimeoutSeconds * 1000).toISOString(),
    overdueAt: approvalOverdueAt(now, config.approvalTimeoutSeconds),
    status: 'PENDING',
  });
  await topic.publish(formatApprovalRequest({ task: input.task, approvalId }, config));
  emitApprovalRequested();
  return { requested: true, approvalId };
}

export const handler = taskHandler('request-approval', (input: ApprovalRequestInput) => {
  const config = loadConfig();
  return requestApproval(
    input,
    config,
    new Ledger(config.ledgerTable, dynamoClient(config.region)),
    new NotificationTopic(snsClient(config.region), config.topicArn),
  );
});
