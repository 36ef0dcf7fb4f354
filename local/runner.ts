import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { S3Client } from '@aws-sdk/client-s3';
import { CreateGrantCommand, KMSClient, RetireGrantCommand } from '@aws-sdk/client-kms';
import { ExecutionError, ExecutionTimeoutError, StateMachine } from 'aws-local-stepfunctions';
import type { Context } from 'aws-lambda';
import type { HandlerName } from '../lib/functions';
import { ENV } from '../lambdas/adapters/config';
import { APPROVAL_DENIED, APPROVE, encodeDenial } from '../lambdas/domain/approval';
import { extractWorkflow, type CfnTemplate } from './template';
import type { IntakeMode } from '../lambdas/domain/intake/intake';
import {
  DefinitionRefusedError,
  FatalStatesError,
  HISTORY_EVENT_LIMIT,
  PAYLOAD_LIMIT_BYTES,
  payloadBytes,
  resultPathConflict,
  waitSecondsOrThrow,
} from './limits';
import { definitionProblems } from '../lib/definition-check';
import {
  checkSupported,
  isDistributedMap,
  readPath,
  replaceByLocalTask,
  runMapRun,
  usesS3,
  type MapRunSummary,
} from './distributed-map';
import { createAccountIam, type AccountIam, type Principal } from './iam';
import { withInvocationEnvironment } from './iam/invocation-env';
import { physicalResources } from './iam/resources';
import { currentSimClock, installSimulatedClock, SimClock } from './sim-clock';
import { parseWorld } from './world';

type Handler = (event: any, context: Context) => Promise<unknown>;
/** Who approves or denies in a local run (the world file decides). */
const LOCAL_APPROVER = 'local-approver (world file)';
let handlers: Record<HandlerName, Handler> | undefined;

/**
 * The real, unchanged Lambda handlers, by the name the template's metadata gives them. Loaded on
 * first use so that the handlers' logger is created with the local log level (default SILENT:
 * the trace is the runner's job; set KMS_ROTATE_HANDLER_LOG_LEVEL=INFO to see handler logs) and
 * their metrics off (KMS_ROTATE_HANDLER_METRICS=print prints the EMF lines on stdout).
 */
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

function loadHandlers(): Record<HandlerName, Handler> {
  if (!handlers) {
    prepareLocalHandlerEnvironment();
    installSimulatedClock();
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
      'plan-reencryption': require('../lambdas/plan-reencryption/handler').handler,
      'reencrypt-objects': require('../lambdas/reencrypt-objects/handler').handler,
      'summarize-reencryption': require('../lambdas/summarize-reencryption/handler').handler,
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
  /** Set on a Distributed Map's MapRunStarted / MapRunSucceeded / MapRunFailed: its items, batches and children. */
  mapRun?: MapRunSummary;
  /** Set on ApprovalAnswered (simulations): who answered the gate, how, and what the front door said. */
  approval?: {
    decision: string;
    by: string | null;
    reason: string | null;
    statusCode: number | null;
    message: string | null;
  };
}

export interface LocalRunOptions {
  template: CfnTemplate;
  /** Which of the template's two machines runs (default automatic). */
  mode?: IntakeMode;
  input: unknown;
  account: string;
  region: string;
  /** The stand-in's endpoint (http://127.0.0.1:port); every AWS SDK call of the handlers goes there. */
  endpoint: string;
  /** Per-service endpoints that differ (e.g. { DYNAMODB: dynalite's endpoint }). */
  serviceEndpoints?: Record<string, string>;
  /**
   * The approval gate's decision for a key (a task-token task cannot be answered locally by a
   * person): approve, deny, or let it time out. Default: timeout. Ignored when onTaskToken is set.
   * An approve sent here is a token alone (no front door, no ledger answer): LockKey refuses it.
   */
  decideApproval?: (task: { ref: string; keyArn: string | null }) => 'approve' | 'deny' | 'timeout';
  /** Answers callback tasks (e.g. through the local front door); replaces decideApproval. */
  onTaskToken?: DefinitionRunOptions['onTaskToken'];
  /** Physical ids for template resources, e.g. { [topicLogicalId]: topicArn }. */
  resources?: Record<string, string>;
  /**
   * The account's IAM (local/iam), shared with the stand-in the handlers call: each handler runs
   * with its function role's credentials, and the state machine's role must be allowed to invoke
   * each function. Default: the template's IAM for this account (the stand-in must then have been
   * given the same template, or it will not know the roles' access keys).
   */
  iam?: AccountIam;
  /** Divides simulated time: waits, retry intervals, callback and execution timeouts, the rotation timeout. */
  speed?: number;
  executionName?: string;
  onEvent?: (event: RunEvent) => void;
}

export interface LocalRunResult extends DefinitionRunResult {
  executionArn: string;
}

const WAIT_PLACEHOLDER = 'arn:aws:lambda:local:000000000000:function:kms-incident-rotation-scaled-wait';
/** The local task a Pass state with Parameters becomes, so that its effective parameters are measured. */
const PASS_PLACEHOLDER = 'arn:aws:lambda:local:000000000000:function:kms-incident-rotation-measured-pass';
/** Stands for `$$.Task.Token` until a callback task gets its own token (see TaskTokens). */
const TOKEN_PLACEHOLDER = '__local_task_token__';
/** AWS's default TimeoutSeconds for a Task state (none in practice); the library's is 60 s. */
const AWS_DEFAULT_TASK_TIMEOUT_SECONDS = 99_999_999;
/** Node timers overflow past 2^31 ms; a longer local timeout is simply "never". */
const MAX_TIMER_SECONDS = 2_000_000;

/** Counts a run produces, as Step Functions would count them for the same execution. */
export interface RunMetrics {
  /** Events in the execution's history (limit 25,000). */
  historyEvents: number;
  /** Billed state transitions (each state entered, and each retry). */
  stateTransitions: number;
  /** The largest state input, output, task parameters or result seen (UTF-8 bytes of JSON). */
  largestPayloadBytes: number;
}

/**
 * The callback side of `.waitForTaskToken` tasks, as the Step Functions API offers it: each task
 * gets its own token, usable once; unknown or used tokens are refused as AWS refuses them.
 */
export interface TaskTokens {
  sendTaskSuccess(token: string, output: unknown): void;
  sendTaskFailure(token: string, error?: string, cause?: string): void;
  sendTaskHeartbeat(token: string): void;
}

/** What a callback task was given: its state, its token and the payload sent with it. */
export interface CallbackTask {
  stateName: string;
  token: string;
  payload: unknown;
}

export interface DefinitionRunOptions {
  /** The ASL definition; not modified. */
  definition: any;
  input: unknown;
  /** Request-response Task states by name: the function that runs for them (real time). */
  tasks: Record<string, (input: unknown) => Promise<unknown>>;
  /** `.waitForTaskToken` Task states by name: what runs when the task starts (the token is in `input`). */
  callbacks?: Record<string, (input: unknown) => Promise<unknown>>;
  /** Told about each callback task once it started; answer through `tokens`. */
  onTaskToken?: (task: CallbackTask, tokens: TaskTokens) => void;
  /** Divides simulated time: waits, retry intervals, callback timeouts and the execution timeout. */
  speed?: number;
  executionArn: string;
  executionName: string;
  /** STANDARD (default): 25,000 history events at most. EXPRESS (a Distributed Map's children): no history limit. */
  executionType?: 'STANDARD' | 'EXPRESS';
  /** S3 for a Distributed Map's ItemReader / ResultWriter; required only when the definition has one. */
  s3?: S3Client;
  /** Set for a Distributed Map's children: their processor was validated with the parent's definition (validation costs ~0.2 s). */
  alreadyValidated?: boolean;
  /**
   * The execution's simulated clock (local/sim-clock.ts; a Distributed Map's children get one each):
   * the execution's TimeoutSeconds (the Express cap), its Tasks' TimeoutSeconds and its handlers'
   * remaining time count simulated time, handlers' running time 1:1. Absent: waits are divided by
   * speed and request-response tasks time out in real time.
   */
  clock?: SimClock;
  onEvent?: (event: RunEvent) => void;
}

export interface DefinitionRunResult {
  status: 'SUCCEEDED' | 'FAILED';
  output: unknown;
  error: string | null;
  cause: string | null;
  events: RunEvent[];
  metrics: RunMetrics;
}

/**
 * Run the state machine definition taken from the synthesized template with
 * aws-local-stepfunctions. Task states call the real handlers in-process with the environment
 * the template gives each function; the handlers' AWS SDK clients talk to the stand-in.
 * See runDefinition for what the runner adds to the library so that it fails where AWS fails.
 */
export async function runLocally(opts: LocalRunOptions): Promise<LocalRunResult> {
  const speed = opts.speed ?? 1;
  const mode = opts.mode ?? 'automatic';
  // Role ARNs in the definition (the per-run grant's grantee) resolve as local/iam names the roles.
  const roleArns = Object.fromEntries(
    Object.entries(physicalResources(opts.template, opts.account, opts.region, opts.resources)).filter(
      ([id]) => id.endsWith('.Arn') && opts.template.Resources[id.slice(0, -4)]?.Type === 'AWS::IAM::Role',
    ),
  );
  const { definition, functions } = extractWorkflow(
    opts.template,
    { account: opts.account, region: opts.region, resources: { ...roleArns, ...opts.resources } },
    mode,
  );
  const executionName = opts.executionName ?? `local-${Date.now()}`;
  const machineName = mode === 'manual' ? 'KmsIncidentRotationManual' : 'KmsIncidentRotation';
  const executionArn = `arn:aws:states:${opts.region}:${opts.account}:execution:${machineName}:${executionName}`;

  const iam =
    opts.iam ??
    createAccountIam({
      template: opts.template,
      world: parseWorld({ account: opts.account, region: opts.region }, 'the runner'),
      account: opts.account,
      region: opts.region,
      resources: opts.resources,
    });
  const machineRole = iam.principals.stateMachineRole(mode);
  const tasks: DefinitionRunOptions['tasks'] = {};
  const callbacks: NonNullable<DefinitionRunOptions['callbacks']> = {};
  visitStates(definition, (name, state) => {
    if (state.Type !== 'Task') return;
    if (typeof state.Resource === 'string' && state.Resource.endsWith(':lambda:invoke.waitForTaskToken')) {
      const functionArn = state.Parameters?.FunctionName;
      const callbackFn = functions.get(functionArn);
      if (!callbackFn)
        throw new Error(`Task state ${name} invokes ${functionArn}, which is not a function of the template`);
      const environment = scaledEnvironment(callbackFn.environment, speed);
      const role = iam.principals.functionRole(callbackFn.handler);
      callbacks[name] = (input: any) => {
        mayInvoke(iam, machineRole, functionArn);
        return invokeHandler(callbackFn.handler, input.Payload, environment, opts, callbackFn.timeoutSeconds, role);
      };
      return;
    }
    if (typeof state.Resource === 'string' && state.Resource.startsWith(KMS_SDK_INTEGRATION)) {
      tasks[name] = kmsSdkTask(state.Resource.slice(KMS_SDK_INTEGRATION.length), opts, machineRole);
      return;
    }
    const fn = functions.get(state.Resource);
    if (!fn) throw new Error(`Task state ${name} invokes ${state.Resource}, which is not a function of the template`);
    const environment = scaledEnvironment(fn.environment, speed);
    const role = iam.principals.functionRole(fn.handler);
    tasks[name] = (input: unknown) => {
      mayInvoke(iam, machineRole, state.Resource);
      return invokeHandler(fn.handler, input, environment, opts, fn.timeoutSeconds, role);
    };
  });

  // A Distributed Map's ItemReader and ResultWriter read and write S3 as the state machine's role.
  const s3 = new S3Client({
    endpoint: opts.serviceEndpoints?.S3 ?? opts.endpoint,
    region: opts.region,
    forcePathStyle: true,
    credentials: { accessKeyId: machineRole.accessKeyId, secretAccessKey: machineRole.secretAccessKey },
  });
  const run = await runDefinition({
    definition,
    input: opts.input,
    tasks,
    callbacks,
    speed,
    executionArn,
    executionName,
    s3,
    onEvent: opts.onEvent,
    onTaskToken:
      opts.onTaskToken ??
      ((task, tokens) => {
        const payload = task.payload as { task?: { ref: string; keyArn: string | null } };
        const decision = payload.task ? (opts.decideApproval?.(payload.task) ?? 'timeout') : 'timeout';
        opts.onEvent?.({
          type: 'ApprovalDecided',
          timestamp: Date.now(),
          state: { name: task.stateName, type: 'Task' },
          Cause: decision,
        });
        // Answered asynchronously, as a person would (never inside the task's own start).
        setImmediate(() => {
          try {
            // A token alone, without the front door: LockKey finds no answer in the ledger and refuses it
            // (SKIPPED APPROVAL_DENIED); approvals that count go through the local front door (local/simulate.ts).
            if (decision === 'approve') tokens.sendTaskSuccess(task.token, { decision: APPROVE, by: LOCAL_APPROVER });
            else if (decision === 'deny')
              tokens.sendTaskFailure(
                task.token,
                APPROVAL_DENIED,
                encodeDenial(LOCAL_APPROVER, 'denied in the world file'),
              );
            // 'timeout': nobody answers; the task's TimeoutSeconds (scaled) ends it with States.Timeout.
          } catch {
            // The execution ended before the answer (e.g. it failed elsewhere): nothing to answer.
          }
        });
      }),
  });
  s3.destroy();
  return { ...run, executionArn };
}

/**
 * Run an ASL definition with aws-local-stepfunctions, adding what the library leaves out so that
 * an execution fails offline where it would fail in AWS (each rule in local/README.md):
 * - the definition is validated as written, first against what CreateStateMachine refuses
 *   (lib/definition-check.ts: DefinitionRefusedError before any state runs), then by the library;
 *   the run then uses a copy with simulated time scaled;
 * - Wait `SecondsPath` becomes a local task that sleeps seconds/speed, after checking the value is a
 *   non-negative integer (else `States.Runtime`, uncatchable); `Seconds` waits are scaled;
 * - Retry: IntervalSeconds and MaxDelaySeconds divided by speed; BackoffRate and JitterStrategy
 *   as written (the library applies them);
 * - a Distributed Map's children run on their own simulated clock (local/sim-clock.ts): their
 *   TimeoutSeconds (the Express cap), their Tasks' TimeoutSeconds and the functions' remaining
 *   time count handlers' work 1:1 and waits at speed;
 * - Task TimeoutSeconds elsewhere: request-response tasks keep theirs (their handlers run in real time);
 *   callback tasks get theirs, and HeartbeatSeconds, divided by speed; a task without one gets
 *   AWS's default (none in practice), not the library's 60 s;
 * - `.waitForTaskToken` tasks get a unique token each, answered through TaskTokens;
 * - 256 KiB on every state's input and output and every task's and Pass state's effective
 *   parameters (even when ResultPath null discards them) and result (`States.DataLimitExceeded`,
 *   uncatchable), and 25,000 history events per execution;
 * - a state's or catcher's ResultPath that would have to replace a value that is not an object
 *   fails with `States.Runtime` (uncatchable), where the library would overwrite it;
 * - a missed heartbeat (`States.HeartbeatTimeout`) also matches retriers and catchers naming
 *   `States.Timeout`, and not those naming `States.TaskFailed`;
 * - a Distributed Map becomes a local task that runs the map run (local/distributed-map.ts):
 *   ItemReader listing, ItemSelector, ItemBatcher, child executions (each through runDefinition)
 *   at most MaxConcurrency at once, the failure threshold and ResultWriter;
 * - an execution that outlives the definition's TimeoutSeconds fails with `States.Timeout`.
 */
export async function runDefinition(opts: DefinitionRunOptions): Promise<DefinitionRunResult> {
  const speed = opts.speed ?? 1;
  timeoutPrototype ??= await libraryTimeoutPrototype();
  if (!opts.alreadyValidated) {
    // What CreateStateMachine refuses (lib/definition-check.ts), then the library's own validation,
    // both on the definition exactly as written (ARNs excepted: local functions have none).
    const problems = definitionProblems(opts.definition, opts.executionType ?? 'STANDARD');
    if (problems.length > 0) throw new DefinitionRefusedError(problems);
    new StateMachine(opts.definition, { validationOptions: { checkArn: false } });
  }
  // A JSON copy, not structuredClone: the library treats only objects of this realm's
  // Object.prototype as payload templates (structuredClone's belong to Node's main realm under jest).
  const definition = JSON.parse(JSON.stringify(opts.definition));

  const events: RunEvent[] = [];
  const metrics: RunMetrics = { historyEvents: 0, stateTransitions: 0, largestPayloadBytes: 0 };
  let fatal: FatalStatesError | null = null;
  /** Set once the execution exists: failFatally may run before (on the execution input). */
  const control: { abort?: () => void } = {};
  const failFatally = (error: FatalStatesError): never => {
    fatal ??= error;
    setImmediate(() => control.abort?.());
    throw fatal;
  };
  const failFatallyOn = (error: FatalStatesError | null) => {
    if (error) failFatally(error);
  };
  const measure = (value: unknown, what: string) => {
    const bytes = payloadBytes(value);
    if (bytes > metrics.largestPayloadBytes) metrics.largestPayloadBytes = bytes;
    if (bytes > PAYLOAD_LIMIT_BYTES) {
      failFatally(
        new FatalStatesError(
          'States.DataLimitExceeded',
          `The ${what} has ${bytes} bytes, over the ${PAYLOAD_LIMIT_BYTES}-byte limit (256 KiB).`,
        ),
      );
    }
  };
  const count = (historyEvents: number) => {
    metrics.historyEvents += historyEvents;
    // Event 25,000 may only be ExecutionSucceeded: anything that would need more ends the run.
    // Express executions keep no such history (a Distributed Map's Express children).
    if (opts.executionType !== 'EXPRESS' && metrics.historyEvents >= HISTORY_EVENT_LIMIT) {
      failFatally(
        new FatalStatesError(
          'States.Runtime',
          `The execution exceeded the history limit of ${HISTORY_EVENT_LIMIT} events.`,
        ),
      );
    }
  };
  const emit = (event: RunEvent) => {
    events.push(event);
    opts.onEvent?.(event);
  };
  const guarded = (fn: () => void) => {
    try {
      fn();
    } catch (error) {
      if (!(error instanceof FatalStatesError)) throw error;
    }
  };

  const handlers: Record<string, (input: any) => Promise<any>> = {};
  const waitOverrides: Record<string, number> = {};
  const tokens = new LocalTaskTokens();
  const clock = opts.clock;
  const startMs = clock ? clock.now() : Date.now();
  const startTime = new Date(startMs).toISOString();
  /** States that are Distributed Maps as written (the working copy has local tasks in their place). */
  const distributedMaps = new Set<string>();
  /** Pass states with Parameters, which the working copy runs as local tasks (see below). */
  const measuredPasses = new Set<string>();
  /** Each state as written, by name: its ResultPath and catchers are checked against its input. */
  const asWritten = new Map<string, any>();
  visitStates(opts.definition, (name, state) => asWritten.set(name, state));
  /** States whose error a catcher just handled: their exit applies the catcher's ResultPath, not theirs. */
  const caught = new Map<string, number>();
  visitStates(definition, (name, state) => {
    for (const retrier of state.Retry ?? []) {
      retrier.IntervalSeconds = (retrier.IntervalSeconds ?? 1) / speed;
      if (retrier.MaxDelaySeconds !== undefined) retrier.MaxDelaySeconds /= speed;
    }
    for (const handler of [...(state.Retry ?? []), ...(state.Catch ?? [])]) matchHeartbeatAsTimeout(handler);
    if (state.Type === 'Pass' && state.Parameters !== undefined) {
      // The library builds a Pass state's Parameters and never measures them; with ResultPath null
      // they are not even in the output. Step Functions limits the effective input after
      // Parameters to 256 KiB like any payload (States.DataLimitExceeded), so the working copy
      // runs the Pass as a local task that measures them; Result, if any, still replaces them.
      const result = state.Result;
      delete state.Result;
      state.Type = 'Task';
      state.Resource = PASS_PLACEHOLDER;
      state.TimeoutSeconds = MAX_TIMER_SECONDS; // a Pass has no timeout
      measuredPasses.add(name);
      handlers[name] = async (input: unknown) => {
        if (fatal) throw fatal;
        measure(input, `parameters of Pass state ${name}`);
        return result === undefined ? input : result;
      };
      return;
    }
    if (isDistributedMap(state)) {
      checkSupported(name, state, Boolean(opts.s3));
      // The visitor meets the Map before its ItemProcessor, so the processor is still as written:
      // runDefinition scales it for each child. The local task has no ItemProcessor to visit.
      const map = replaceByLocalTask(state);
      state.TimeoutSeconds = MAX_TIMER_SECONDS; // a Map has no timeout
      distributedMaps.add(name);
      handlers[name] = async (input: unknown) => {
        if (fatal) throw fatal;
        const result = await runMapRun(name, map, input, {
          context: {
            Execution: { Id: opts.executionArn, Name: opts.executionName, StartTime: startTime, Input: opts.input },
          },
          s3: usesS3(map) ? opts.s3 : undefined,
          runChild: (child) =>
            runDefinition({
              definition: child.definition,
              input: child.input,
              tasks: opts.tasks,
              callbacks: opts.callbacks,
              onTaskToken: opts.onTaskToken,
              speed,
              executionArn: child.executionArn,
              executionName: child.executionName,
              executionType: child.executionType,
              s3: opts.s3,
              alreadyValidated: true,
              // Each child counts its own simulated time: its 5-minute cap starts with it.
              clock: new SimClock(speed),
            }),
          countHistory: (n) => guarded(() => count(n)),
          addChildMetrics: (child) => {
            metrics.stateTransitions += child.stateTransitions; // billed like the parent's
            metrics.largestPayloadBytes = Math.max(metrics.largestPayloadBytes, child.largestPayloadBytes);
          },
          emit,
        });
        if (fatal) throw fatal;
        measure(result, `result of Map ${name}`);
        return result;
      };
      return;
    }
    if (state.Type === 'Wait' && typeof state.Seconds === 'number')
      waitOverrides[name] = (state.Seconds * 1000) / speed;
    if (state.Type === 'Wait' && typeof state.SecondsPath === 'string') {
      const path = state.SecondsPath;
      delete state.SecondsPath;
      state.Type = 'Task';
      state.Resource = WAIT_PLACEHOLDER;
      state.TimeoutSeconds = MAX_TIMER_SECONDS; // a Wait has no timeout
      handlers[name] = async (input: any) => {
        const seconds = waitSecondsOrThrow(readPath(input, path), name, path);
        emit({
          type: 'WaitStarted',
          timestamp: Date.now(),
          state: { name, type: 'Wait', input },
          waitSeconds: seconds,
        });
        await sleep((seconds * 1000) / speed);
        return input;
      };
      return;
    }
    if (state.Type !== 'Task') return;
    const callback = opts.callbacks?.[name];
    const task = opts.tasks[name];
    if (callback) {
      const timeout = state.TimeoutSeconds ?? AWS_DEFAULT_TASK_TIMEOUT_SECONDS;
      state.TimeoutSeconds = Math.min(timeout / speed, MAX_TIMER_SECONDS);
      const heartbeatMs = state.HeartbeatSeconds === undefined ? null : (state.HeartbeatSeconds * 1000) / speed;
      delete state.HeartbeatSeconds;
      handlers[name] = async (input: unknown) => {
        if (fatal) throw fatal;
        measure(input, `parameters of task ${name}`);
        count(4); // TaskScheduled, TaskStarted, TaskSubmitted, TaskSucceeded|Failed|TimedOut
        const token = tokens.issue(name, heartbeatMs, state.TimeoutSeconds * 1000);
        const payload = replaceToken(input, token);
        try {
          await callback(payload);
        } catch (error) {
          tokens.forget(token);
          throw error;
        }
        opts.onTaskToken?.(
          { stateName: name, token, payload: (payload as { Payload?: unknown }).Payload ?? payload },
          tokens,
        );
        const result = await tokens.outcome(token);
        measure(result, `result of task ${name}`);
        if (state.ResultSelector) failFatallyOn(selectorPathsMissing(state.ResultSelector, result, name));
        return result;
      };
    } else if (task) {
      // With a simulated clock the Task's TimeoutSeconds counts simulated time (below), not the library's real timer.
      const simTimeoutSeconds = clock && typeof state.TimeoutSeconds === 'number' ? state.TimeoutSeconds : undefined;
      if (clock && typeof state.TimeoutSeconds === 'number') state.TimeoutSeconds = MAX_TIMER_SECONDS;
      if (state.TimeoutSeconds === undefined && state.TimeoutSecondsPath === undefined)
        state.TimeoutSeconds = MAX_TIMER_SECONDS;
      handlers[name] = async (input: unknown) => {
        if (fatal) throw fatal;
        measure(input, `parameters of task ${name}`);
        count(3); // LambdaFunctionScheduled, LambdaFunctionStarted, LambdaFunctionSucceeded|Failed
        const result = clock
          ? await simulatedTask(clock, () => task(input), simTimeoutSeconds, name)
          : await task(input);
        measure(result, `result of task ${name}`);
        if (state.ResultSelector) failFatallyOn(selectorPathsMissing(state.ResultSelector, result, name));
        return result;
      };
    } else {
      throw new Error(`Task state ${name} has no local handler`);
    }
  });
  // The execution's TimeoutSeconds: on the simulated clock when there is one (watched below), else scaled for the library.
  const executionTimeoutSeconds =
    clock && typeof definition.TimeoutSeconds === 'number' ? definition.TimeoutSeconds : undefined;
  if (executionTimeoutSeconds !== undefined) delete definition.TimeoutSeconds;
  else if (typeof definition.TimeoutSeconds === 'number') definition.TimeoutSeconds /= speed;

  const machine = new StateMachine(definition, { validationOptions: { noValidate: true } });
  const execution = machine.run(opts.input as any, {
    overrides: { taskResourceLocalHandlers: handlers, waitTimeOverrides: waitOverrides },
    noThrowOnAbort: true,
    context: {
      Execution: { Id: opts.executionArn, Name: opts.executionName, StartTime: startTime, Input: opts.input as any },
      Task: { Token: TOKEN_PLACEHOLDER },
    },
  });
  control.abort = () => execution.abort();
  let ended = false;
  let simTimedOut = false;
  if (clock && executionTimeoutSeconds !== undefined) {
    void clock
      .until(startMs + executionTimeoutSeconds * 1000, () => ended)
      .then((reached) => {
        if (!reached || ended) return;
        simTimedOut = true;
        execution.abort();
      });
  }
  guarded(() => {
    measure(opts.input, 'execution input');
    count(1); // ExecutionStarted
  });

  const draining = (async () => {
    for await (const event of execution.eventLogs) {
      const e = event as RunEvent;
      guarded(() => {
        switch (e.type) {
          case 'StateEntered':
            if (e.state) e.state.type = writtenType(e.state.name, e.state.type); // as written, not the local task
            metrics.stateTransitions += 1;
            count(e.state?.type === 'Map' ? 2 : 1); // <Type>StateEntered (+ MapStateStarted)
            measure(e.state?.input, `input of state ${e.state?.name}`);
            break;
          case 'StateExited':
            if (e.state) e.state.type = writtenType(e.state.name, e.state.type);
            count(e.state?.type === 'Map' ? 2 : 1); // <Type>StateExited (+ MapStateSucceeded)
            if (e.state && !takeCaught(e.state.name))
              failFatallyOn(resultPathConflict(e.state.input, asWritten.get(e.state.name)?.ResultPath, e.state.name));
            measure(e.state?.output, `output of state ${e.state?.name}`);
            break;
          case 'StateCaught': {
            // The catcher's ResultPath places the error output into the state's raw input.
            const name = e.state?.name ?? '';
            caught.set(name, (caught.get(name) ?? 0) + 1);
            failFatallyOn(
              resultPathConflict(
                e.state?.input,
                (e as { catch?: { catcher?: { ResultPath?: unknown } } }).catch?.catcher?.ResultPath,
                name,
              ),
            );
            break;
          }
          case 'StateFailed':
            // The library's own (catchable) error for a ResultPath on an input that is not an object.
            if (e.Error === 'States.ResultPathMatchFailure') {
              failFatallyOn(
                resultPathConflict(e.state?.input, asWritten.get(e.state?.name ?? '')?.ResultPath, e.state?.name ?? ''),
              );
            }
            break;
          case 'StateRetried':
            metrics.stateTransitions += 1;
            break;
          case 'MapIterationStarted':
          case 'MapIterationSucceeded':
          case 'MapIterationFailed':
            count(1);
            break;
        }
      });
      emit(e);
    }
  })();

  /** The type a trace shows: a Distributed Map or a measured Pass as written, not their local task. */
  function writtenType(name: string, type: string): string {
    if (distributedMaps.has(name)) return 'Map';
    return measuredPasses.has(name) ? 'Pass' : type;
  }
  function takeCaught(name: string): boolean {
    const n = caught.get(name) ?? 0;
    if (n > 0) caught.set(name, n - 1);
    return n > 0;
  }

  let result: DefinitionRunResult;
  try {
    const output = await execution.result;
    await draining;
    if (fatal) throw fatal;
    // Past the execution's TimeoutSeconds in simulated time (the run was aborted): States.Timeout, as below.
    if (simTimedOut) throw new ExecutionTimeoutError();
    metrics.historyEvents += 1; // ExecutionSucceeded (event 25,000 may be this one)
    result = { status: 'SUCCEEDED', output, error: null, cause: null, events, metrics };
  } catch (error) {
    if (
      !(error instanceof ExecutionError) &&
      !(error instanceof FatalStatesError) &&
      !(error instanceof ExecutionTimeoutError)
    )
      throw error;
    await draining;
    metrics.historyEvents += 1; // ExecutionFailed
    const failure = fatal as FatalStatesError | null;
    if (!failure && error instanceof ExecutionTimeoutError) {
      // The definition's TimeoutSeconds (scaled): States.Timeout, as Step Functions ends the execution.
      emit({
        type: 'ExecutionFailed',
        timestamp: Date.now(),
        Error: 'States.Timeout',
        Cause: 'The execution timed out.',
      });
      result = {
        status: 'FAILED',
        output: null,
        error: 'States.Timeout',
        cause: 'The execution timed out.',
        events,
        metrics,
      };
    } else if (failure) {
      emit({ type: 'ExecutionFailed', timestamp: Date.now(), Error: failure.name, Cause: failure.message });
      result = { status: 'FAILED', output: null, error: failure.name, cause: failure.message, events, metrics };
    } else {
      const failed = [...events].reverse().find((e) => e.type === 'ExecutionFailed');
      result = {
        status: 'FAILED',
        output: null,
        error: failed?.Error ?? (error as Error).name,
        cause: failed?.Cause === undefined ? (error as Error).message : String(failed.Cause),
        events,
        metrics,
      };
    }
  } finally {
    ended = true;
    tokens.closeAll();
  }
  return result;
}

/**
 * A request-response task on a simulated clock: the handler's running time counts 1:1 and its
 * sleeps at speed (SimClock.work); past the Task's TimeoutSeconds in simulated time the task fails
 * with States.Timeout, as Step Functions stops waiting (the handler's late answer is dropped).
 */
async function simulatedTask(
  clock: SimClock,
  run: () => Promise<unknown>,
  timeoutSeconds: number | undefined,
  stateName: string,
): Promise<unknown> {
  const work = clock.work(run);
  if (timeoutSeconds === undefined) return work;
  let settled = false;
  const deadline = clock.now() + timeoutSeconds * 1000;
  const timedOut = clock
    .until(deadline, () => settled)
    .then((reached) => {
      if (reached)
        throw asTimeout(
          named(
            'States.Timeout',
            `Task ${stateName} ran longer than its TimeoutSeconds (${timeoutSeconds} simulated seconds)`,
          ),
        );
      return new Promise<never>(() => undefined);
    });
  try {
    return await Promise.race([work, timedOut]);
  } finally {
    settled = true;
    work.catch(() => undefined); // a late failure after the timeout is nobody's to observe
  }
}

/**
 * Step Functions fails a state (States.Runtime, which no Catch handles) when a ResultSelector path
 * matches nothing in the task's result; aws-local-stepfunctions would drop the field silently.
 * Simple paths (`$.a.b`) are checked; a value that is present but null matches.
 */
function selectorPathsMissing(selector: unknown, result: unknown, stateName: string): FatalStatesError | null {
  if (!selector || typeof selector !== 'object') return null;
  for (const [field, value] of Object.entries(selector)) {
    if (
      field.endsWith('.$') &&
      typeof value === 'string' &&
      /^\$(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(value) &&
      !hasPath(result, value)
    ) {
      return new FatalStatesError(
        'States.Runtime',
        `An error occurred while executing the state '${stateName}'. The JSONPath '${value}' specified for the field '${field}' could not be found in the input '${JSON.stringify(result ?? null).slice(0, 200)}'`,
      );
    }
    if (!field.endsWith('.$')) {
      const nested = selectorPathsMissing(value, result, stateName);
      if (nested) return nested;
    }
  }
  return null;
}

function hasPath(value: unknown, path: string): boolean {
  let current: unknown = value;
  for (const key of path.slice(2).split('.')) {
    if (current === null || typeof current !== 'object' || !(key in current)) return false;
    current = (current as Record<string, unknown>)[key];
  }
  return true;
}

/**
 * A missed heartbeat fails the task with `States.HeartbeatTimeout`, and a retrier or catcher naming
 * `States.Timeout` matches it too: the guide's error names say States.Timeout is "a Task state
 * either ran longer than the TimeoutSeconds value, or failed to send a heartbeat for a period
 * longer than the HeartbeatSeconds value". The library matches names exactly, so the working copy's
 * handler (validated as written before) names both.
 */
function matchHeartbeatAsTimeout(handler: { ErrorEquals?: unknown }): void {
  const errors = handler.ErrorEquals;
  if (Array.isArray(errors) && errors.includes('States.Timeout') && !errors.includes('States.HeartbeatTimeout'))
    errors.push('States.HeartbeatTimeout');
}

/**
 * The prototype of the library's own `States.Timeout` error (not exported), which its
 * `States.TaskFailed` wildcard skips. The guide: States.TaskFailed "matches any known error name
 * except for States.Timeout", and States.Timeout covers a missed heartbeat; so a heartbeat timeout
 * must not be matched by States.TaskFailed either (whether AWS matches it is not documented
 * further: the strict answer). Found once by timing out a one-state machine.
 */
let timeoutPrototype: object | undefined;

async function libraryTimeoutPrototype(): Promise<object> {
  const probe = new StateMachine(
    {
      StartAt: 'Probe',
      States: {
        Probe: {
          Type: 'Task',
          Resource: 'arn:aws:lambda:us-east-1:000000000000:function:probe',
          TimeoutSeconds: 0.001,
          End: true,
        },
      },
    },
    { validationOptions: { noValidate: true } },
  );
  const execution = probe.run({}, { overrides: { taskResourceLocalHandlers: { Probe: () => sleep(20) } } });
  try {
    await execution.result;
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof Error && cause.name === 'States.Timeout') return Object.getPrototypeOf(cause) as object;
  }
  throw new Error(
    'aws-local-stepfunctions did not time out a task as expected: the runner cannot tell timeouts from task failures',
  );
}

/** A Step Functions timeout error for the library: caught by States.Timeout, never by States.TaskFailed. */
function asTimeout(error: Error): Error {
  if (timeoutPrototype) Object.setPrototypeOf(error, timeoutPrototype);
  return error;
}

/** The task tokens of one local execution (see TaskTokens). */
class LocalTaskTokens implements TaskTokens {
  private readonly open = new Map<
    string,
    {
      state: string;
      settle: Promise<unknown>;
      resolve: (v: unknown) => void;
      reject: (e: Error) => void;
      heartbeatMs: number | null;
      timer?: NodeJS.Timeout;
      deadline?: NodeJS.Timeout;
    }
  >();

  private readonly timedOut = new Set<string>();

  /** A new token for a task of `state`; it times out (the library fails the task) after `timeoutMs`. */
  issue(state: string, heartbeatMs: number | null, timeoutMs: number): string {
    const token = `local-${state}-${randomUUID()}`;
    let resolve!: (v: unknown) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<unknown>((ok, fail) => {
      resolve = ok;
      reject = fail;
    });
    promise.catch(() => undefined); // observed by outcome(); never an unhandled rejection
    const deadline = setTimeout(() => {
      this.forget(token);
      this.timedOut.add(token);
    }, timeoutMs);
    deadline.unref();
    this.open.set(token, { state, settle: promise, resolve, reject, heartbeatMs, deadline });
    this.armHeartbeat(token);
    return token;
  }

  outcome(token: string): Promise<unknown> {
    const entry = this.open.get(token);
    if (!entry) return Promise.reject(new Error(`no open task for token ${token}`));
    return entry.settle;
  }

  forget(token: string): void {
    const entry = this.open.get(token);
    if (entry?.timer) clearTimeout(entry.timer);
    if (entry?.deadline) clearTimeout(entry.deadline);
    this.open.delete(token);
  }

  sendTaskSuccess(token: string, output: unknown): void {
    const bytes = payloadBytes(output);
    if (bytes > PAYLOAD_LIMIT_BYTES)
      throw named('InvalidOutput', `output has ${bytes} bytes, over ${PAYLOAD_LIMIT_BYTES}`);
    const entry = this.take(token);
    entry.resolve(JSON.parse(JSON.stringify(output ?? null)));
  }

  sendTaskFailure(token: string, error = '', cause = ''): void {
    const entry = this.take(token);
    entry.reject(named(error || 'States.TaskFailed', cause));
  }

  sendTaskHeartbeat(token: string): void {
    if (!this.open.has(token)) throw this.unknown(token);
    this.armHeartbeat(token);
  }

  closeAll(): void {
    for (const token of [...this.open.keys()]) this.forget(token);
  }

  private take(token: string) {
    const entry = this.open.get(token);
    if (!entry) throw this.unknown(token);
    this.forget(token);
    return entry;
  }

  private unknown(token: string): Error {
    // Step Functions: a token that is not a token is InvalidToken; one whose task ended is
    // TaskDoesNotExist, or TaskTimedOut when it timed out.
    if (this.timedOut.has(token)) return named('TaskTimedOut', 'Task Timed Out');
    return token.startsWith('local-')
      ? named('TaskDoesNotExist', 'Task does not exist anymore')
      : named('InvalidToken', 'Invalid token');
  }

  private armHeartbeat(token: string): void {
    const entry = this.open.get(token);
    if (!entry || entry.heartbeatMs === null) return;
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = setTimeout(() => {
      this.forget(token);
      entry.reject(asTimeout(named('States.HeartbeatTimeout', `no heartbeat within ${entry.heartbeatMs} ms (scaled)`)));
    }, entry.heartbeatMs);
  }
}

function named(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

function replaceToken(value: unknown, token: string): unknown {
  if (value === TOKEN_PLACEHOLDER) return token;
  if (Array.isArray(value)) return value.map((v) => replaceToken(v, token));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceToken(v, token)]));
  return value;
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
function mayInvoke(iam: AccountIam, machineRole: Principal, functionArn: string): void {
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

async function invokeHandler(
  name: HandlerName,
  input: unknown,
  environment: Record<string, string>,
  opts: LocalRunOptions,
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

function visitStates(definition: any, fn: (name: string, state: any) => void): void {
  for (const [name, state] of Object.entries<any>(definition.States ?? {})) {
    fn(name, state);
    if (state.ItemProcessor) visitStates(state.ItemProcessor, fn);
    if (state.Iterator) visitStates(state.Iterator, fn);
    for (const branch of state.Branches ?? []) visitStates(branch, fn);
  }
}

/** Step Functions' AWS SDK integration for KMS: `arn:aws:states:::aws-sdk:kms:<action>`. */
const KMS_SDK_INTEGRATION = 'arn:aws:states:::aws-sdk:kms:';
/** The KMS actions the definitions call through the SDK integration (the per-run grant). */
const KMS_SDK_COMMANDS: Record<string, (input: any) => CreateGrantCommand | RetireGrantCommand> = {
  createGrant: (input) => new CreateGrantCommand(input),
  retireGrant: (input) => new RetireGrantCommand(input),
};

/**
 * An SDK-integration task: the KMS call made as the state machine's role (signed, so the stand-in
 * authorizes it), its output the API's answer; a failure is named `Kms.<ErrorName>`, as Step
 * Functions names the errors of the SDK integrations.
 */
function kmsSdkTask(action: string, opts: LocalRunOptions, machineRole: Principal): (input: any) => Promise<unknown> {
  const command = KMS_SDK_COMMANDS[action];
  if (!command) throw new Error(`the runner does not implement the SDK integration kms:${action}`);
  const client = new KMSClient({
    endpoint: opts.serviceEndpoints?.KMS ?? opts.endpoint,
    region: opts.region,
    maxAttempts: 1,
    credentials: { accessKeyId: machineRole.accessKeyId, secretAccessKey: machineRole.secretAccessKey },
  });
  return async (input: any) => {
    try {
      const { $metadata: _metadata, ...output } = await client.send(command(input) as CreateGrantCommand);
      return output;
    } catch (e) {
      const err = e as Error;
      throw Object.assign(new Error(err.message), { name: `Kms.${err.name}` });
    }
  };
}
