import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';

/** One structured logger per function; POWERTOOLS_SERVICE_NAME / POWERTOOLS_LOG_LEVEL apply. */
export const logger = new Logger({ serviceName: 'kms-incident-rotation' });

/**
 * Wrap a task's logic as a Lambda handler: structured logs with the Lambda context, and the
 * logic stays a plain async function that tests call directly. Errors propagate with their
 * `name`, which Step Functions sees as the error name (Retry/Catch match on it).
 */
export function taskHandler<I, O>(task: string, fn: (input: I, context: Context) => Promise<O>) {
  return middy(async (input: I, context: Context) => {
    logger.appendKeys({ task });
    return fn(input, context);
  }).use(injectLambdaContext(logger, { resetKeys: true }));
}
