import { PublishCommand } from '@aws-sdk/client-sns';
import type { KeyTask } from '../domain/contracts';
import { loadConfig, type RuntimeConfig } from '../adapters/config';
import { snsClient } from '../adapters/clients';
import { taskHandler } from '../adapters/lambda-handler';
import { oneLine } from '../domain/summary';

export interface ApprovalRequestInput {
  task: KeyTask;
  token: string;
}

/** The approval request a person reads: what, why, how to approve or deny, and what silence does. Pure. */
export function formatApprovalRequest(input: ApprovalRequestInput, config: Pick<RuntimeConfig, 'approvalTimeoutSeconds' | 'region'>, timeoutAction: string) {
  const { task, token } = input;
  const key = task.keyArn ?? task.ref;
  const minutes = Math.round(config.approvalTimeoutSeconds / 60);
  const subject = oneLine(`[APPROVAL NEEDED] rotate ${task.aliases[0] ?? key.split('/').pop() ?? 'key'}`, 99);
  const source = task.request.source === 'manual' ? `manual request: ${oneLine(task.request.reason, 200)}` : `${task.request.source} finding ${oneLine(task.request.findingId ?? '', 120)} (${oneLine(task.request.findingType ?? '', 120)})`;
  const message = [
    `Approval needed: rotate KMS key ${key} on demand.`,
    task.aliases.length ? `Aliases: ${task.aliases.join(', ')}` : null,
    `Why: ${source}`,
    `Rotations: ${task.onDemandRotationsUsed ?? '?'} used, ${task.onDemandRotationsRemaining ?? '?'} left of the lifetime budget (a rotation can never be had back).`,
    `The key is tagged for approval, so the workflow waits for a decision.`,
    '',
    'Approve:',
    `  kms-rotate approve '${token}'`,
    'Deny:',
    `  kms-rotate deny '${token}' --reason "why"`,
    '',
    `With no decision within ${minutes} min the workflow will ${timeoutAction === 'ROTATE' ? 'ROTATE the key anyway' : 'NOT rotate the key (SKIPPED APPROVAL_DENIED)'}.`,
    `Execution: ${task.executionArn ?? 'unknown'}`,
  ]
    .filter((line) => line !== null)
    .join('\n');
  return {
    subject,
    message,
    attributes: {
      outcome: { DataType: 'String' as const, StringValue: 'APPROVAL_NEEDED' },
      source: { DataType: 'String' as const, StringValue: task.request.source },
      severity: { DataType: 'String' as const, StringValue: task.request.severityLabel ?? 'NONE' },
      actionRequired: { DataType: 'String' as const, StringValue: 'true' },
      duplicate: { DataType: 'String' as const, StringValue: 'false' },
    },
  };
}

/** RequestApproval: publish the approval request; the workflow waits for the task token. */
export async function requestApproval(input: ApprovalRequestInput, config: RuntimeConfig, timeoutAction: string): Promise<{ requested: true }> {
  const { subject, message, attributes } = formatApprovalRequest(input, config, timeoutAction);
  await snsClient(config.region).send(new PublishCommand({ TopicArn: config.topicArn, Subject: subject, Message: message, MessageAttributes: attributes }));
  return { requested: true };
}

export const handler = taskHandler('request-approval', (input: ApprovalRequestInput) =>
  requestApproval(input, loadConfig(), process.env.APPROVAL_TIMEOUT_ACTION ?? 'SKIP'),
);
