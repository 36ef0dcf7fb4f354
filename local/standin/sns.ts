import { randomUUID } from 'node:crypto';
import { ServiceError, xmlEscape } from './errors';

/**
 * SNS stand-in, AWS query protocol: the installed @aws-sdk/client-sns sends
 * `POST /` with `Content-Type: application/x-www-form-urlencoded` and a body like
 * `Action=Publish&Version=2010-03-31&TopicArn=...&MessageAttributes.entry.1.Name=a&
 * MessageAttributes.entry.1.Value.DataType=String&MessageAttributes.entry.1.Value.StringValue=v`
 * (captured from the real client). Responses are XML; errors are <ErrorResponse>.
 */

export const SNS_OPERATIONS = ['CreateTopic', 'Publish'] as const;
const XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/';
const MAX_MESSAGE_BYTES = 256 * 1024;
const MAX_ATTRIBUTES = 10;

export interface MessageAttribute {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string; // base64
}
export interface Published {
  topicArn: string;
  subject?: string;
  message: string;
  /** MessageStructure json: the message of each protocol (`default` always present). */
  messages?: Record<string, string>;
  attributes: Record<string, MessageAttribute>;
  at: number;
}

/**
 * MessageStructure json (Publish): "the value of the Message parameter must be a JSON object",
 * with "at least a top-level JSON key of \"default\" with a value that is a string"; values are
 * the per-protocol messages. Anything else is InvalidParameter, as SNS answers.
 */
function perProtocol(message: string, structure: unknown): Record<string, string> | undefined {
  if (structure === undefined) return undefined;
  if (structure !== 'json')
    throw new ServiceError('InvalidParameter', 'Invalid parameter: MessageStructure (the only value is json)');
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    throw new ServiceError(
      'InvalidParameter',
      'Invalid parameter: Message Structure - JSON message body failed to parse',
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new ServiceError(
      'InvalidParameter',
      'Invalid parameter: Message Structure - JSON message body failed to parse',
    );
  const entries = Object.entries(parsed as Record<string, unknown>);
  if (entries.some(([, v]) => typeof v !== 'string'))
    throw new ServiceError(
      'InvalidParameter',
      "Invalid parameter: Message Structure - each protocol's message must be a string",
    );
  if (!Object.hasOwn(parsed, 'default'))
    throw new ServiceError(
      'InvalidParameter',
      'Invalid parameter: Message Structure - No default entry in JSON message body',
    );
  return Object.fromEntries(entries) as Record<string, string>;
}

/** Flat query params -> the request as a plain object (MessageAttributes folded into a map). */
export function parseQuery(params: URLSearchParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const entries = new Map<string, Record<string, string>>();
  for (const [k, v] of params) {
    const m = /^(MessageAttributes|Attributes|Tags)\.(?:entry|member)\.(\d+)\.(.+)$/.exec(k);
    if (m) {
      const id = `${m[1]}.${m[2]}`;
      const e = entries.get(id) ?? {};
      e[m[3]] = v;
      entries.set(id, e);
    } else out[k] = v;
  }
  for (const [id, e] of entries) {
    const group = id.split('.')[0];
    const bucket = (out[group] ??= group === 'Tags' ? [] : {}) as Record<string, unknown> | unknown[];
    if (Array.isArray(bucket)) bucket.push({ Key: e.Key, Value: e.Value });
    else if (group === 'MessageAttributes') {
      const attr: MessageAttribute = { DataType: e['Value.DataType'] };
      if (e['Value.StringValue'] !== undefined) attr.StringValue = e['Value.StringValue'];
      if (e['Value.BinaryValue'] !== undefined) attr.BinaryValue = e['Value.BinaryValue'];
      bucket[e.Name] = attr;
    } else bucket[e.key] = e.value;
  }
  return out;
}

export class Sns {
  readonly topics = new Set<string>();
  readonly published: Published[] = [];

  constructor(private readonly account: string) {}

  createTopic(name: string, region: string): string {
    const arn = `arn:aws:sns:${region}:${this.account}:${name}`;
    this.topics.add(arn);
    return arn;
  }

  /** Returns the XML response body. */
  handle(op: string, input: Record<string, unknown>, region: string, requestId: string): string {
    let result: string;
    if (op === 'CreateTopic') {
      const name = typeof input.Name === 'string' ? input.Name : '';
      if (!/^[A-Za-z0-9_-]{1,256}$/.test(name)) {
        throw new ServiceError(
          'InvalidParameter',
          'Invalid parameter: Topic Name (1-256 letters, digits, hyphens and underscores; FIFO topics are not simulated)',
        );
      }
      result = `<TopicArn>${xmlEscape(this.createTopic(name, region))}</TopicArn>`;
    } else {
      result = `<MessageId>${this.publish(input, region)}</MessageId>`;
    }
    return `<${op}Response xmlns="${XMLNS}"><${op}Result>${result}</${op}Result><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${op}Response>`;
  }

  private publish(input: Record<string, unknown>, region: string): string {
    const topicArn = (input.TopicArn ?? input.TargetArn) as string | undefined;
    if (input.PhoneNumber !== undefined || !topicArn) {
      throw new ServiceError(
        'InvalidParameter',
        'Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter (SMS is not simulated)',
      );
    }
    if (!this.topics.has(topicArn)) {
      const r = topicArn.split(':')[3];
      if (r && r !== region)
        throw new ServiceError(
          'InvalidParameter',
          `Invalid parameter: TopicArn (the topic is in ${r}, the request was sent to ${region})`,
        );
      throw new ServiceError('NotFound', 'Topic does not exist');
    }
    const message = input.Message;
    if (typeof message !== 'string' || message.length === 0)
      throw new ServiceError('InvalidParameter', 'Invalid parameter: Empty message');
    const subject = input.Subject as string | undefined;
    if (subject !== undefined && !validSubject(subject))
      throw new ServiceError('InvalidParameter', 'Invalid parameter: Subject');
    const attributes = (input.MessageAttributes ?? {}) as Record<string, MessageAttribute>;
    const names = Object.keys(attributes);
    if (names.length > MAX_ATTRIBUTES) {
      throw new ServiceError(
        'ParameterValueInvalid',
        `Number of message attributes [${names.length}] exceeds the allowed maximum [${MAX_ATTRIBUTES}].`,
      );
    }
    let size = Buffer.byteLength(message);
    for (const [name, a] of Object.entries(attributes)) {
      validateAttribute(name, a);
      size +=
        Buffer.byteLength(name) +
        Buffer.byteLength(a.DataType) +
        Buffer.byteLength(a.StringValue ?? '') +
        (a.BinaryValue ? Buffer.from(a.BinaryValue, 'base64').length : 0);
    }
    if (size > MAX_MESSAGE_BYTES) throw new ServiceError('InvalidParameter', 'Invalid parameter: Message too long');
    const messages = perProtocol(message, input.MessageStructure);
    const id = randomUUID();
    this.published.push({
      topicArn,
      ...(subject !== undefined ? { subject } : {}),
      message,
      ...(messages ? { messages } : {}),
      attributes,
      at: Date.now(),
    });
    return id;
  }
}

/**
 * The current Publish rule (@aws-sdk/client-sns PublishInput.Subject): "Subjects must be UTF-8 text
 * with no line breaks or control characters, and less than 100 characters long." The older rule
 * (ASCII only, beginning with a letter, number or punctuation mark) no longer applies. Characters
 * are counted as code points; an empty subject is refused.
 */
function validSubject(subject: string): boolean {
  const length = [...subject].length;
  // \p{Cc}: C0/C1 control characters (line breaks included); U+2028/U+2029 are line breaks too.
  return length > 0 && length < 100 && !/[\p{Cc}\u2028\u2029]/u.test(subject);
}

function validateAttribute(name: string, a: MessageAttribute): void {
  const bad = (why: string) => new ServiceError('ParameterValueInvalid', `The message attribute '${name}' ${why}.`);
  if (
    !/^[A-Za-z0-9_.-]{1,256}$/.test(name) ||
    name.startsWith('.') ||
    name.endsWith('.') ||
    name.includes('..') ||
    /^(aws\.|amazon\.)/i.test(name)
  ) {
    throw bad('has an invalid name');
  }
  const base = (a.DataType ?? '').split('.')[0];
  const isArray = a.DataType === 'String.Array';
  if (!['String', 'Number', 'Binary'].includes(base))
    throw bad(
      `has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String`,
    );
  if (base === 'Binary') {
    if (!a.BinaryValue) throw bad('must contain non-empty message attribute value for message attribute type Binary');
    return;
  }
  if (a.StringValue === undefined || a.StringValue === '')
    throw bad(`must contain non-empty message attribute value for message attribute type ${a.DataType}`);
  if (base === 'Number' && !/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(a.StringValue))
    throw bad(`with type 'Number' must have a valid numeric value`);
  if (isArray) {
    let ok: boolean;
    try {
      ok = Array.isArray(JSON.parse(a.StringValue));
    } catch {
      ok = false;
    }
    if (!ok) throw bad(`with type 'String.Array' must be a JSON array`);
  }
}
