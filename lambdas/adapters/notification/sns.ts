import { PublishCommand, type MessageAttributeValue, type SNSClient } from '@aws-sdk/client-sns';

/** One message for people: the subject line, the body and the attributes subscriptions filter on. */
export interface TopicMessage {
  subject: string;
  message: string;
  attributes: Record<string, MessageAttributeValue>;
  /** `json`: `message` is a JSON object of per-protocol messages (SNS MessageStructure). */
  structure?: 'json';
}

/**
 * The notification topic: SNS Publish behind one method, with the client passed in (a handler
 * keeps its client across invocations; tests mock SNSClient). Errors propagate with their SDK
 * name, so Step Functions retries or catches them.
 */
export class NotificationTopic {
  constructor(
    private readonly client: SNSClient,
    readonly topicArn: string,
  ) {}

  /** Publish one message; returns the SNS message id ('' when SNS gives none). */
  async publish({ subject, message, attributes, structure }: TopicMessage): Promise<string> {
    const out = await this.client.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: subject,
        Message: message,
        MessageAttributes: attributes,
        ...(structure ? { MessageStructure: structure } : {}),
      }),
    );
    return out.MessageId ?? '';
  }
}
