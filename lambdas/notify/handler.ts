import type { CaughtFailure, IncidentRequest, KeyTask, RunSummary } from '../domain/contracts';
import { loadConfig, type RuntimeConfig } from '../adapters/config';
import { snsClient } from '../adapters/sns-client';
import { taskHandler, logger } from '../adapters/lambda-handler';
import { NotificationTopic } from '../adapters/sns';
import { Ledger } from '../adapters/ledger';
import { dynamoClient } from '../adapters/dynamodb-client';
import { summarise } from '../domain/summary';
import type { ReencryptionState } from '../domain/reencryption';
import { reencryptionFailed } from '../domain/reencryption-report';
import { formatNotification } from '../domain/message';
import { emitNotification } from '../adapters/metrics';

export interface NotifyInput {
  request: IncidentRequest;
  results: (KeyTask & CaughtFailure)[];
  executionArn?: string | null;
  startedAt?: string | null;
  /** The workflow's `$.reencryption` (issue 11); absent or null when the branch had nothing to do. */
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
export async function notify(input: NotifyInput, config: RuntimeConfig, topic: NotificationTopic, ledger: Ledger, now = new Date()): Promise<NotifyOutput> {
  const summary = summarise(input);
  const executionArn = input.executionArn ?? null;
  const sent = executionArn ? await ledger.sentNotification(executionArn) : null;
  if (sent) {
    logger.info('already notified; not publishing again', { executionArn, messageId: sent.messageId });
    return { request: input.request, summary, messageId: sent.messageId, anyFailed: summary.anyFailed, reencryptionFailed: reencryptionFailed(summary.reencryption) };
  }
  const messageId = await topic.publish(
    formatNotification(summary, { region: config.region, rotationBudget: config.rotationBudget, requestedBy: input.request.requestedBy }),
  );
  logger.info('notified', { outcome: summary.outcome, keys: summary.keys.length, reencryption: summary.reencryption?.mode ?? 'NONE', messageId });
  // Only for a message really sent: a retry that finds the marker above counts nothing again.
  emitNotification(summary);
  if (executionArn) {
    try {
      await ledger.rememberNotification(executionArn, messageId, now);
    } catch (error) {
      // The message is out: failing now would make Step Functions publish it again.
      logger.warn('notification sent but not remembered; a retry of this step would publish again', { executionArn, error: (error as Error).name });
    }
  }
  return { request: input.request, summary, messageId, anyFailed: summary.anyFailed, reencryptionFailed: reencryptionFailed(summary.reencryption) };
}

export const handler = taskHandler('notify', (input: NotifyInput) => {
  const config = loadConfig();
  return notify(input, config, new NotificationTopic(snsClient(config.region), config.topicArn), new Ledger(config.ledgerTable, dynamoClient(config.region)));
});
