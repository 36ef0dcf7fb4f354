import { loadConfig, type RuntimeConfig } from '../adapters/config';
import { snsClient } from '../adapters/sns-client';
import { taskHandler } from '../adapters/lambda-handler';
import { NotificationTopic } from '../adapters/sns';
import { emitApprovalRequested } from '../adapters/metrics';
import { formatApprovalRequest, type ApprovalRequestInput } from '../domain/approval-request';

/** RequestApproval: publish the approval request; the workflow waits for the task token. */
export async function requestApproval(input: ApprovalRequestInput, config: RuntimeConfig, topic: NotificationTopic): Promise<{ requested: true }> {
  await topic.publish(formatApprovalRequest(input, config));
  emitApprovalRequested();
  return { requested: true };
}

export const handler = taskHandler('request-approval', (input: ApprovalRequestInput) => {
  const config = loadConfig();
  return requestApproval(input, config, new NotificationTopic(snsClient(config.region), config.topicArn));
});
