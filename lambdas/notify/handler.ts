import { PublishCommand } from '@aws-sdk/client-sns';
import type { CaughtFailure, IncidentRequest, KeyTask, RunSummary } from '../domain/contracts';
import { loadConfig, type RuntimeConfig } from '../adapters/config';
import { snsClient } from '../adapters/clients';
import { taskHandler, logger } from '../adapters/lambda-handler';
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
export async function notify(input: NotifyInput, config: RuntimeConfig): Promise<NotifyOutput> {
  const summary = summarise(input);
  const { subject, message, attributes } = formatNotification(summary, {
    region: config.region,
    rotationBudget: config.rotationBudget,
    requestedBy: input.request.requestedBy,
  });
  const out = await snsClient(config.region).send(
    new PublishCommand({ TopicArn: config.topicArn, Subject: subject, Message: message, MessageAttributes: attributes }),
  );
  logger.info('notified', { outcome: summary.outcome, keys: summary.keys.length, messageId: out.MessageId });
  return { summary, messageId: out.MessageId ?? '', anyFailed: summary.anyFailed };
}

export const handler = taskHandler('notify', (input: NotifyInput) => notify(input, loadConfig()));
