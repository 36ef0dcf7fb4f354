import type { CaughtFailure, IncidentRequest, KeyTask, RunSummary } from '../domain/contracts';
import { loadConfig, type RuntimeConfig } from '../adapters/config';
import { snsClient } from '../adapters/sns-client';
import { taskHandler, logger } from '../adapters/lambda-handler';
import { NotificationTopic } from '../adapters/notification/sns';
import { Ledger } from '../adapters/ledger';
import { dynamoClient } from '../adapters/dynamodb-client';
import { summarise } from '../domain/rotation/summary';
import type { ReencryptionState } from '../domain/reencryption';
import { reencryptionFailed } from '../domain/reencryption/report';
import { formatNotification } from '../domain/notification/message';
import { emitNotification } from '../adapters/metrics';
import type { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { securityHubClient } from '../adapters/securityhub-client';
import { applyWorkflowUpdate } from '../adapters/notification/security-hub-workflow';
import { endUpdate } from '../domain/notification/security-hub-workflow';
import { chatNotification, perProtocolMessage } from '../domain/notification/chat-notification';

/** Bytes the message attributes add to a message's size (SNS counts them in the 256 KiB). */
function attributesBytes(attributes: Record<string, { DataType?: string; StringValue?: string }>): number {
  return Object.entries(attributes).reduce(
    (n, [k, v]) =>
      n + Buffer.byteLength(k) + Buffer.byteLength(v.DataType ?? '') + Buffer.byteLength(v.StringValue ?? ''),
    0,
  );
}

export interface NotifyInput {
  request: IncidentRequest;
  results: (KeyTask & CaughtFailure)[];
  executionArn?: string | null;
  startedAt?: string | null;
  /** The workflow's `$.reencryption`; absent or null when the branch had nothing to do. */
  reencryption?: ReencryptionState | null;
}

export interface NotifyOutput {
  /** The request, passed on (the state keeps it and the summary, not the per-key results). */
  request: IncidentRequest;
  summary: RunSummary;
  messageId: string;
  anyFailed: boolean;
  /**
   * The re-encryption ran and an object or a target failed: the workflow ends in
   * ReencryptionFailed (the rotation stands; the alarm fires). Kept by Notify's ResultSelector.
   */
  reencryptionFailed: boolean;
}

/**
 * Notify: one SNS message summarising every key, once per execution. Step Functions retries
 * Notify on any error, including after a publish whose response was lost (the function timed
 * out): the ledger's NOTIFY#<execution> marker, written after a successful publish and read
 * first, makes such a retry return the message already sent instead of publishing again. A
 * publish that fails throws (and is retried); one that never succeeds fails the execution.
 */
export async function notify(
  input: NotifyInput,
  config: RuntimeConfig,
  topic: NotificationTopic,
  ledger: Ledger,
  now = new Date(),
  hub?: () => SecurityHubClient,
): Promise<NotifyOutput> {
  const summary = summarise(input);
  const executionArn = input.executionArn ?? null;
  const sent = executionArn ? await ledger.sentNotification(executionArn) : null;
  if (sent) {
    logger.info('already notified; not publishing again', { executionArn, messageId: sent.messageId });
    return {
      request: input.request,
      summary,
      messageId: sent.messageId,
      anyFailed: summary.anyFailed,
      reencryptionFailed: reencryptionFailed(summary.reencryption),
    };
  }
  const email = formatNotification(summary, {
    region: config.region,
    rotationBudget: config.rotationBudget,
    requestedBy: input.request.requestedBy,
  });
  // With chatNotifications on: per-protocol messages, the e-mail text and the chat custom notification.
  const messageId = await topic.publish(
    config.chatNotifications
      ? {
          ...email,
          message: perProtocolMessage(
            email.message,
            chatNotification(summary, email.subject),
            attributesBytes(email.attributes),
          ),
          structure: 'json',
        }
      : email,
  );
  logger.info('notified', {
    outcome: summary.outcome,
    keys: summary.keys.length,
    reencryption: summary.reencryption?.mode ?? 'NONE',
    messageId,
  });
  // Only for a message really sent: a retry that finds the marker above counts nothing again.
  emitNotification(summary);
  if (executionArn) {
    try {
      await ledger.rememberNotification(executionArn, messageId, now);
    } catch (error) {
      // The message is out: failing now would make Step Functions publish it again.
      logger.warn('notification sent but not remembered; a retry of this step would publish again', {
        executionArn,
        error: (error as Error).name,
      });
    }
  }
  await closeSecurityHubLoop(input.request, summary, config, now, hub);
  return {
    request: input.request,
    summary,
    messageId,
    anyFailed: summary.anyFailed,
    reencryptionFailed: reencryptionFailed(summary.reencryption),
  };
}

/**
 * The run's Security Hub findings: RESOLVED or left NOTIFIED, with a note (one call, after the
 * notification went out and was remembered, so that a retry of Notify does not call again). The
 * result, and the start's, go into the summary (the execution output); a failure never fails the run.
 */
async function closeSecurityHubLoop(
  request: IncidentRequest,
  summary: RunSummary,
  config: RuntimeConfig,
  now: Date,
  hub?: () => SecurityHubClient,
): Promise<void> {
  const update = config.securityHubWorkflowUpdates ? endUpdate(request, summary, now) : null;
  const results = request.securityHubStart ? [request.securityHubStart] : [];
  if (update && hub) results.push(await applyWorkflowUpdate(hub(), update));
  if (results.length) summary.securityHub = results;
}

export const handler = taskHandler('notify', (input: NotifyInput) => {
  const config = loadConfig();
  return notify(
    input,
    config,
    new NotificationTopic(snsClient(config.region), config.topicArn),
    new Ledger(config.ledgerTable, dynamoClient(config.region)),
    new Date(),
    () => securityHubClient(config.region),
  );
});
