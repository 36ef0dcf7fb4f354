import type { KeyTask } from '../contracts';
import { subjectLine } from '../notification/message-subject';
import { oneLine } from '../text';

/** What the approval gate hands RequestApproval: the key's task and the token to answer with. */
export interface ApprovalRequestInput {
  task: KeyTask;
  token: string;
}

/** What the notification names instead of the token (tokens never leave the stack). */
export interface ApprovalNotice {
  task: KeyTask;
  approvalId: string;
}

/** The approval gate's choice on silence: skip the key (APPROVAL_DENIED) or rotate it anyway. */
export type ApprovalTimeoutAction = 'SKIP' | 'ROTATE';

/** The settings the request mentions: how long the gate waits and what silence does. */
export interface ApprovalRequestSettings {
  approvalTimeoutSeconds: number;
  approvalTimeoutAction: ApprovalTimeoutAction;
}

/** The approval request a person reads: what, why, how to approve or deny, and what silence does. Pure. */
export function formatApprovalRequest(input: ApprovalNotice, settings: ApprovalRequestSettings) {
  const { task, approvalId } = input;
  const key = task.keyArn ?? task.ref;
  const minutes = Math.round(settings.approvalTimeoutSeconds / 60);
  // The same subject rule as every notification (domain/notification/message.ts).
  const subject = subjectLine('[APPROVAL NEEDED] rotate', task.aliases[0] ?? key.split('/').pop() ?? 'key', ' ');
  const source =
    task.request.source === 'manual'
      ? `manual request: ${oneLine(task.request.reason, 200)}`
      : `${task.request.source} finding ${oneLine(task.request.findingId ?? '', 120)} (${oneLine(task.request.findingType ?? '', 120)})`;
  const message = [
    `Approval needed: rotate KMS key ${key} on demand.`,
    task.aliases.length
      ? `Aliases: ${task.aliases.map((a) => oneLine(a, 256)).join(', ')}${task.moreAliases > 0 ? ` and ${task.moreAliases} more` : ''}`
      : null,
    `Why: ${source}`,
    `Rotations: ${task.onDemandRotationsUsed ?? '?'} used, ${task.onDemandRotationsRemaining ?? '?'} left of the lifetime budget (a rotation can never be had back).`,
    task.request.requestedBy
      ? `Requested by: ${oneLine(task.request.requestedBy, 300)} (the approver must be someone else)`
      : null,
    task.request.breakGlass ? 'BREAK-GLASS request (forced).' : null,
    `The key is tagged for approval, so the workflow waits for a decision.`,
    '',
    'Approve:',
    `  kms-rotate approve ${approvalId}`,
    'Deny:',
    `  kms-rotate deny ${approvalId} --reason "<why>"`,
    '',
    `With no decision within ${minutes} min the workflow will ${settings.approvalTimeoutAction === 'ROTATE' ? 'ROTATE the key anyway' : 'NOT rotate the key (SKIPPED APPROVAL_DENIED)'}.`,
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
