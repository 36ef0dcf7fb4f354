import { setTimeout as sleep } from 'node:timers/promises';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import type { Context } from 'aws-lambda';
import type { HandlerName } from '../lib/functions';
import { ENV } from '../lambdas/adapters/config';
import { extractWorkflow, type CfnTemplate } from './template';

type Handler = (event: any, context: Context) => Promise<unknown>;
let handlers: Record<HandlerName, Handler> | undefined;

/**
 * The real, unchanged Lambda handlers, by the name the template's metadata gives them. Loaded on
 * first use so that the handlers' logger is created with the local log level (default SILENT:
 * the trace is the runner's job; set KMS_ROTATE_HANDLER_LOG_LEVEL=INFO to see handler logs).
 */
function loadHandlers(): Record<HandlerName, Handler> {
  if (!handlers) {
    process.env.POWERTOOLS_LOG_LEVEL = process.env.KMS_ROTATE_HANDLER_LOG_LEVEL ?? 'SILENT';
    /* eslint-disable @typescript-eslint/no-require-imports -- loaded lazily, after the log level is set (see above) */
    handlers = {
      intake: require('../lambdas/intake/handler').handler,
      'claim-request': require('../lambdas/claim-request/handler').handler,
      assess: require('../lambdas/assess/handler').handler,
      'request-approval': require('../lambdas/request-approval/handler').handler,
      'lock-key': require('../lambdas/lock-key/handler').handler,
      rotate: require('../lambdas/rotate/handler').handler,
      'check-rotation': require('../lambdas/check-rotation/handler').handler,
      record: require('../lambdas/record/handler').handler,
      notify: require('../lambdas/notify/handler').handler,
      'close-request': require('../lambdas/close-request/handler').handler,
    };
    /* eslint-enable @typescript-eslint/no-require-imports */
  }
  return handlers;
}

/** One event of a local execution (aws-local-stepfunctions' event log, re-exported loosely). */
export interface RunEvent {
  type: string;
  timestamp: number;
  state?: { name: string; type: string; input?: unknown; output?: unknown };
  index?: number;
  Error?: string;
  Cause?: unknown;
  retry?: { attempt: number };
  /** Set on the Wait states the runner scales: the seconds the definition asked for. */
  waitSeconds?: number;
}

export interface LocalRunOptions {
  template: CfnTemplate;
  input: unknown;
  account: string;
  region: string;
  /** The stand-in's endpoint (http://127.0.0.1:port); every AWS SDK call of the handlers goes there. */
  endpoint: string;
  /** Per-service endpoints that differ (e.g. { DYNAMODB: dynalite's endpoint }). */
  serviceEndpoints?: Record<string, string>;
  /**
   * The approval gate's decision for a key (a task-token task cannot be answered locally by a
   * person): approve, deny, or let it time out. Default: timeout.
   */
  decideApproval?: (task: { ref: string; keyArn: string | null }) => 'approve' | 'deny' | 'timeout';
  /** Physical ids for template resources, e.g. { [topicLogicalId]: topicArn }. */
  resources?: Record<string, string>;
  /** Divides every wait, retry interval and the rotation timeout. */
  speed?: number;
  executionName?: string;
  onEvent?: (event: RunEvent) => void;
}

export interface LocalRunResult {
  status: 'SUCCEEDED' | 'FAILED';
  output: unknown;
  error: string | null;
  cause: string | null;
  events: RunEvent[];
  executionArn: string;
}

const WAIT_PLACEHOLDER = 'arn:aws:lambda:local:000000000000:function:kms-incident-rotation-scaled-wait';

/**
 * Run the state machine definition taken from the synthesized template with
 * aws-local-stepfunctions. Task states call the real handlers in-process with the environment
 * the template gives each function; the handlers' AWS SDK clients talk to the stand-in.
 *
 * One deliberate change to the definition: Wait states with SecondsPath become local tasks that
 * sleep seconds/speed (the library can only override a Wait with a fixed time), so the poll
 * back-off keeps its shape at any speed.
 */
export async function runLocally(opts: LocalRunOptions): Promise<LocalRunResult> {
  const speed = opts.speed ?? 1;
  const { definition, functions } = extractWorkflow(opts.template, {
    account: opts.account,
    region: opts.region,
    resources: opts.resources,
  });
  const executionName = opts.executionName ?? `local-${Date.now()}`;
  const executionArn = `arn:aws:states:${opts.region}:${opts.account}:execution:KmsIncidentRotation:${executionName}`;

  const taskHandlers: Record<string, (input: any) => Promise<any>> = {};
  const retryIntervals: Record<string, number> = {};
  const waitSeconds = new Map<string, string>();
  const events: RunEvent[] = [];
  const emit = (event: RunEvent) => {
    events.push(event);
    opts.onEvent?.(event);
  };

  visitStates(definition, (name, state) => {
    if (state.Type === 'Wait' && typeof state.SecondsPath === 'string') {
      waitSeconds.set(name, state.SecondsPath);
      const path = state.SecondsPath;
      delete state.SecondsPath;
      state.Type = 'Task';
      state.Resource = WAIT_PLACEHOLDER;
      taskHandlers[name] = async (input: any) => {
        const seconds = Number(readPath(input, path));
        emit({ type: 'WaitStarted', timestamp: Date.now(), state: { name, type: 'Wait', input }, waitSeconds: seconds });
        await sleep((seconds * 1000) / speed);
        return input;
      };
    }
    if (state.Type !== 'Task' || state.Resource === WAIT_PLACEHOLDER) return;
    if (typeof state.Resource === 'string' && state.Resource.endsWith(':lambda:invoke.waitForTaskToken')) {
      const callbackFn = functions.get(state.Parameters?.FunctionName);
      if (!callbackFn) throw new Error(`Task state ${name} invokes ${state.Parameters?.FunctionName}, which is not a function of the template`);
      const environment = scaledEnvironment(callbackFn.environment, speed);
      taskHandlers[name] = async (input: { Payload: { task: any; token: string } }) => {
        await invokeHandler(callbackFn.handler, input.Payload, environment, opts);
        const decision = opts.decideApproval?.(input.Payload.task) ?? 'timeout';
        emit({ type: 'ApprovalDecided', timestamp: Date.now(), state: { name, type: 'Task' }, Cause: decision });
        if (decision === 'approve') return { decision: 'approve', by: 'local-approver (world file)' };
        const error = new Error(decision === 'deny' ? JSON.stringify({ by: 'local-approver (world file)', reason: 'denied in the world file' }) : 'No decision before the approval timeout');
        error.name = decision === 'deny' ? 'APPROVAL_DENIED' : 'States.Timeout';
        throw error;
      };
      return;
    }
    const fn = functions.get(state.Resource);
    if (!fn) throw new Error(`Task state ${name} invokes ${state.Resource}, which is not a function of the template`);
    if (state.Retry) retryIntervals[name] = Math.max(1, Math.round(1000 / speed));
    const environment = scaledEnvironment(fn.environment, speed);
    taskHandlers[name] = (input: unknown) => invokeHandler(fn.handler, input, environment, opts);
  });

  const machine = new StateMachine(definition, { validationOptions: { checkArn: false } });
  const execution = machine.run(opts.input as any, {
    overrides: { taskResourceLocalHandlers: taskHandlers, retryIntervalOverrides: retryIntervals },
    context: {
      Execution: { Id: executionArn, Name: executionName, StartTime: new Date().toISOString(), Input: opts.input as any },
      Task: { Token: `local-task-token-${executionName}` },
    },
  });
  const draining = (async () => {
    for await (const event of execution.eventLogs) emit(event as RunEvent);
  })();

  let result: LocalRunResult;
  try {
    const output = await execution.result;
    result = { status: 'SUCCEEDED', output, error: null, cause: null, events, executionArn };
  } catch (error) {
    if (!(error instanceof ExecutionError)) throw error;
    await draining;
    const failed = [...events].reverse().find((e) => e.type === 'ExecutionFailed');
    result = {
      status: 'FAILED',
      output: null,
      error: failed?.Error ?? (error as Error).name,
      cause: failed?.Cause === undefined ? (error as Error).message : String(failed.Cause),
      events,
      executionArn,
    };
  }
  await draining;
  return result;
}

/** The output a state produced, the last time it exited (e.g. Notify's summary). */
export function lastOutputOf(events: RunEvent[], stateName: string): unknown {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    if (e.type === 'StateExited' && e.state?.name === stateName) return e.state.output;
  }
  return undefined;
}

function scaledEnvironment(env: Record<string, string>, speed: number): Record<string, string> {
  const scaled = { ...env };
  const timeout = Number(env[ENV.rotationTimeoutSeconds]);
  if (Number.isFinite(timeout)) scaled[ENV.rotationTimeoutSeconds] = String(timeout / speed);
  return scaled;
}

async function invokeHandler(name: HandlerName, input: unknown, environment: Record<string, string>, opts: LocalRunOptions): Promise<unknown> {
  const { POWERTOOLS_LOG_LEVEL: _ignored, ...functionEnv } = environment;
  Object.assign(process.env, functionEnv, {
    AWS_REGION: opts.region,
    AWS_ENDPOINT_URL: opts.endpoint,
    ...Object.fromEntries(Object.entries(opts.serviceEndpoints ?? {}).map(([service, url]) => [`AWS_ENDPOINT_URL_${service}`, url])),
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'local',
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
  });
  const context = {
    functionName: `kms-incident-rotation-${name}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${opts.region}:${opts.account}:function:kms-incident-rotation-${name}`,
    memoryLimitInMB: '256',
    awsRequestId: `local-${Math.random().toString(16).slice(2)}`,
    logGroupName: `/aws/lambda/kms-incident-rotation-${name}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  } as Context;
  try {
    // A JSON round trip, as Lambda does: Dates become strings, undefined disappears.
    return JSON.parse(JSON.stringify((await loadHandlers()[name](structuredClone(input), context)) ?? null));
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

function visitStates(definition: any, fn: (name: string, state: any) => void): void {
  for (const [name, state] of Object.entries<any>(definition.States ?? {})) {
    fn(name, state);
    if (state.ItemProcessor) visitStates(state.ItemProcessor, fn);
    if (state.Iterator) visitStates(state.Iterator, fn);
    for (const branch of state.Branches ?? []) visitStates(branch, fn);
  }
}

function readPath(input: unknown, path: string): unknown {
  // Only the simple `$.a.b` paths the product's Wait states use.
  return path
    .replace(/^\$\.?/, '')
    .split('.')
    .filter(Boolean)
    .reduce<any>((v, k) => (v == null ? undefined : v[k]), input);
}
