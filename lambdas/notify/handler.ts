import type { CaughtFailure, IncidentRequest, KeyTask, RunSummary } from '../domain/contracts';
import { loadConfig, type RuntimeConfig } from '../adapters/config';
import { snsClient } from '../adapters/clients';
import { taskHandler, logger } from '../adapters/lambda-handler';
import { NotificationTopic } from '../adapters/sns';
import { summarise } from '../domain/summary';
import { formatNotification } from '../domain/message';

export interface NotifyInput {
  request: IncidentRequest;
  results: (KeyTask & CaughtFailure)[];
  executionArn?: string | null;
  startedAt?: string | null;
}

export interface NotifyOutput {
  summary: RunSummary;
  messageId: string;
  anyFailed: boolean;
}

/** Notify: one SNS message summarising every key. A publish failure throws (and is retried). */
export async function notify(input: NotifyInput, config: RuntimeConfig, topic: NotificationTopic): Promise<NotifyOutput> {
  const summary = summarise(input);
  const messageId = await topic.publish(
    formatNotification(summary, { region: config.region, rotationBudget: config.rotationBudget, requestedBy: input.request.requestedBy }),
  );
  logger.info('notified', { outcome: summary.outcome, keys: summary.keys.length, messageId });
  return { summary, messageId, anyFailed: summary.anyFailed };
}

export const handler = taskHandler('notify', (input: NotifyInput) => {
  const config = loadConfig();
  return notify(input, config, new NotificationTopic(snsClient(config.region), config.topicArn));
});
