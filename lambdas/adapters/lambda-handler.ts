import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { emitKmsThrottled, metrics } from './metrics';

/** One structured logger per function; POWERTOOLS_SERVICE_NAME / POWERTOOLS_LOG_LEVEL apply. */
export const logger = new Logger({ serviceName: 'kms-incident-rotation' });

/** The keys that tie a log line to its incident (docs/operating.md: one incident's lines in order). */
export interface CorrelationKeys {
  executionArn?: string;
  requestId?: string;
  keyArn?: string;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * The correlation keys a task's input carries, whatever its shape: a key's task (executionArn,
 * request.requestId, keyArn or else the reference as named), the approval gate's `{ task, token }`,
 * or the execution-wide inputs of Claim, Notify and Close. A raw finding (Intake) has none; Intake
 * appends the request id once it has computed it.
 */
export function correlationKeys(input: unknown): CorrelationKeys {
  if (!input || typeof input !== 'object') return {};
  const outer = input as Record<string, unknown>;
  const task = (outer.task && typeof outer.task === 'object' ? outer.task : outer) as Record<string, unknown>;
  const request = (task.request && typeof task.request === 'object' ? task.request : {}) as Record<string, unknown>;
  const keys: CorrelationKeys = {
    executionArn: text(task.executionArn) ?? text(outer.executionArn),
    requestId: text(request.requestId),
    keyArn: text(task.keyArn) ?? text(task.ref),
  };
  return Object.fromEntries(Object.entries(keys).filter(([, v]) => v !== undefined));
}

export interface TaskHandlerOptions {
  /** The task calls KMS: a ThrottlingException it lets through is counted (KmsThrottled). */
  callsKms?: boolean;
}

/**
 * Wrap a task's logic as a Lambda handler: structured logs with the Lambda context and the
 * incident's correlation keys on every line, metrics flushed once per invocation (EMF, also when
 * the task throws), and the logic stays a plain async function that tests call directly. Errors
 * propagate with their `name`, which Step Functions sees as the error name (Retry/Catch match on it).
 */
export function taskHandler<I, O>(
  task: string,
  fn: (input: I, context: Context) => Promise<O>,
  options: TaskHandlerOptions = {},
) {
  return middy(async (input: I, context: Context) => {
    logger.appendKeys({ task, ...correlationKeys(input) });
    try {
      return await fn(input, context);
    } catch (error) {
      if (options.callsKms && (error as Error)?.name === 'ThrottlingException') emitKmsThrottled();
      throw error;
    }
  })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics));
}
