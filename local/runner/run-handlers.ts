/**
 * The real Lambda handlers, invoked in-process as Lambda would invoke them: the function's
 * environment and role, its remaining time on the execution's clock, errors as Step Functions sees them.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- ASL states and handler events are JSON of any shape */
import type { Context } from 'aws-lambda';
import type { HandlerName } from '../../lib/functions';
import { ENV } from '../../lambdas/adapters/config';
import type { AccountIam, Principal } from '../iam';
import { withInvocationEnvironment } from '../iam/invocation-env';
import { currentSimClock, installSimulatedClock } from './sim-clock';

type Handler = (event: any, context: Context) => Promise<unknown>;
let handlers: Record<HandlerName, Handler> | undefined;

/**
 * The Powertools settings of handlers run locally, set before any handler module loads (their
 * Logger and Metrics read them once, when created): logs silent unless
 * KMS_ROTATE_HANDLER_LOG_LEVEL says otherwise, EMF lines only with KMS_ROTATE_HANDLER_METRICS=print.
 * Everything local that loads handler code (this runner, the local front door) calls it first.
 */
export function prepareLocalHandlerEnvironment(): void {
  process.env.POWERTOOLS_LOG_LEVEL = process.env.KMS_ROTATE_HANDLER_LOG_LEVEL ?? 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = process.env.KMS_ROTATE_HANDLER_METRICS === 'print' ? 'false' : 'true';
}

/**
 * The real, unchanged Lambda handlers, by the name the template's metadata gives them, loaded on
 * first use so that their logger and metrics are created with the local settings (above).
 */
function loadHandlers(): Record<HandlerName, Handler> {
  if (!handlers) {
    prepareLocalHandlerEnvironment();
    installSimulatedClock();
    /* eslint-disable @typescript-eslint/no-require-imports -- loaded lazily, after the log level is set (see above) */
    handlers = {
      intake: require('../../lambdas/intake/handler').handler,
      'claim-request': require('../../lambdas/claim-request/handler').handler,
      assess: require('../../lambdas/assess/handler').handler,
      'request-approval': require('../../lambdas/request-approval/handler').handler,
      'lock-key': require('../../lambdas/lock-key/handler').handler,
      rotate: require('../../lambdas/rotate/handler').handler,
      'check-rotation': require('../../lambdas/check-rotation/handler').handler,
      record: require('../../lambdas/record/handler').handler,
      notify: require('../../lambdas/notify/handler').handler,
      'close-request': require('../../lambdas/close-request/handler').handler,
      'plan-reencryption': require('../../lambdas/plan-reencryption/handler').handler,
      'reencrypt-objects': require('../../lambdas/reencrypt-objects/handler').handler,
      'summarize-reencryption': require('../../lambdas/summarize-reencryption/handler').handler,
    };
    /* eslint-enable @typescript-eslint/no-require-imports */
  }
  return handlers;
}

/** Where a handler's AWS calls go: the account and Region, and the stand-in's endpoints. */
export interface InvocationTarget {
  account: string;
  region: string;
  endpoint: string;
  serviceEndpoints?: Record<string, string>;
}

/** The functions' environment with the simulated durations they compute with scaled. */
export function scaledEnvironment(env: Record<string, string>, speed: number): Record<string, string> {
  const scaled = { ...env };
  // Simulated durations the handlers compute with: divided by speed like every other wait.
  for (const name of [ENV.rotationTimeoutSeconds, ENV.executionTimeoutSeconds]) {
    const seconds = Number(env[name]);
    if (Number.isFinite(seconds)) scaled[name] = String(seconds / speed);
  }
  return scaled;
}

/**
 * Step Functions invokes a task's function with the state machine's role: without
 * lambda:InvokeFunction on it the task fails. The error name is the one Step Functions gives
 * Lambda service exceptions (Lambda.AWSLambdaException; the exact name for a 403 from Lambda is
 * not documented, so the strict answer: an error the workflow's Retry/Catch on Lambda errors sees).
 */
export function mayInvoke(iam: AccountIam, machineRole: Principal, functionArn: string): void {
  const decision = iam.authorize(machineRole, 'lambda:InvokeFunction', functionArn);
  if (decision.allowed) return;
  const error = new Error(
    JSON.stringify({
      errorType: 'AccessDeniedException',
      errorMessage: `${decision.message} (Service: Lambda, Status Code: 403)`,
    }),
  );
  error.name = 'Lambda.AWSLambdaException';
  throw error;
}

export async function invokeHandler(
  name: HandlerName,
  input: unknown,
  environment: Record<string, string>,
  opts: InvocationTarget,
  timeoutSeconds: number,
  role: Principal,
): Promise<unknown> {
  // The function's own timeout, on the execution's simulated clock when it has one (else real time):
  // what getRemainingTimeInMillis counts down.
  const clock = currentSimClock();
  const now = () => (clock ? clock.now() : Date.now());
  const deadline = now() + timeoutSeconds * 1000;
  const { POWERTOOLS_LOG_LEVEL: _ignored, ...functionEnv } = environment;
  // This invocation's environment only (local/iam/invocation-env.ts): Lambda's variables, the
  // endpoints of the stand-in, and the credentials of the function's role.
  const invocationEnv: Record<string, string> = {
    ...functionEnv,
    AWS_REGION: opts.region,
    AWS_ENDPOINT_URL: opts.endpoint,
    ...Object.fromEntries(
      Object.entries(opts.serviceEndpoints ?? {}).map(([service, url]) => [`AWS_ENDPOINT_URL_${service}`, url]),
    ),
    AWS_ACCESS_KEY_ID: role.accessKeyId,
    AWS_SECRET_ACCESS_KEY: role.secretAccessKey,
  };
  // No session token: a local role session signs with its key alone (a stale one from the shell would be sent and signed).
  invocationEnv.AWS_SESSION_TOKEN = '';
  const handler = loadHandlers()[name];
  const context = {
    functionName: `kms-incident-rotation-${name}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${opts.region}:${opts.account}:function:kms-incident-rotation-${name}`,
    memoryLimitInMB: '256',
    awsRequestId: `local-${Math.random().toString(16).slice(2)}`,
    logGroupName: `/aws/lambda/kms-incident-rotation-${name}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => Math.max(0, deadline - now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  } as Context;
  try {
    // A JSON round trip, as Lambda does: Dates become strings, undefined disappears.
    const result = await withInvocationEnvironment(invocationEnv, () => handler(structuredClone(input), context));
    return JSON.parse(JSON.stringify(result ?? null));
  } catch (error) {
    // What Step Functions sees from a Lambda function error: the error type as the error
    // name and a JSON cause with the type and message.
    const errorType = (error as Error)?.name || 'Error';
    const errorMessage = (error as Error)?.message ?? String(error);
    const failure = new Error(JSON.stringify({ errorType, errorMessage }));
    failure.name = errorType;
    throw failure;
  }
}
