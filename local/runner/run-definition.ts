/** One local execution of an ASL definition (runDefinition), with the rules the library leaves out. */
/* eslint-disable @typescript-eslint/no-explicit-any -- ASL states and handler events are JSON of any shape */
import { setTimeout as sleep } from 'node:timers/promises';
import { ExecutionError, ExecutionTimeoutError, StateMachine } from 'aws-local-stepfunctions';
import {
  DefinitionRefusedError,
  FatalStatesError,
  HISTORY_EVENT_LIMIT,
  PAYLOAD_LIMIT_BYTES,
  payloadBytes,
  resultPathConflict,
  waitSecondsOrThrow,
} from '../limits';
import { definitionProblems } from '../../lib/definition-check';
import {
  checkSupported,
  isDistributedMap,
  readPath,
  replaceByLocalTask,
  runMapRun,
  usesS3,
  type ChildRun,
  type MapRunHost,
} from './distributed-map';
import type { DefinitionRunOptions, DefinitionRunResult, RunEvent, RunMetrics } from './run-contract';
import { failedRun } from './run-outcome';
import { learnLibraryTimeout, simulatedTask } from './run-timeouts';
import { SimClock } from './sim-clock';
import { matchHeartbeatAsTimeout, selectorPathsMissing } from './state-rules';
import { LocalTaskTokens, replaceToken, TOKEN_PLACEHOLDER } from './task-tokens';

const WAIT_PLACEHOLDER = 'arn:aws:lambda:local:000000000000:function:kms-incident-rotation-scaled-wait';
/** The local task a Pass state with Parameters becomes, so that its effective parameters are measured. */
const PASS_PLACEHOLDER = 'arn:aws:lambda:local:000000000000:function:kms-incident-rotation-measured-pass';
/** Stands for `$$.Task.Token` until a callback task gets its own token (see TaskTokens). */
/** AWS's default TimeoutSeconds for a Task state (none in practice); the library's is 60 s. */
const AWS_DEFAULT_TASK_TIMEOUT_SECONDS = 99_999_999;
/** Node timers overflow past 2^31 ms; a longer local timeout is simply "never". */
const MAX_TIMER_SECONDS = 2_000_000;

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
 * - a Distributed Map's children run on their own simulated clock (local/runner/sim-clock.ts): their
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
 * - a Distributed Map becomes a local task that runs the map run (local/runner/distributed-map.ts):
 *   ItemReader listing, ItemSelector, ItemBatcher, child executions (each through runDefinition)
 *   at most MaxConcurrency at once, the failure threshold and ResultWriter;
 * - an execution that outlives the definition's TimeoutSeconds fails with `States.Timeout`.
 */
export async function runDefinition(opts: DefinitionRunOptions): Promise<DefinitionRunResult> {
  const speed = opts.speed ?? 1;
  await learnLibraryTimeout();
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
    // On a simulated clock the history's timestamps are simulated time, as the clock counts it
    // (the library and the runner stamp events with the wall clock).
    if (opts.clock) event.timestamp = opts.clock.now();
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
        const runMap = () =>
          runMapRun(name, map, input, {
            context: {
              Execution: { Id: opts.executionArn, Name: opts.executionName, StartTime: startTime, Input: opts.input },
            },
            s3: usesS3(map) ? opts.s3 : undefined,
            now: clock && (() => clock.now()),
            runChild: async (child) => {
              const run = await runChild(opts, speed, child);
              // The map run lasts, in simulated time, until its last child stopped on its own clock.
              clock?.advanceTo(run.stoppedAt);
              return run;
            },
            countHistory: (n) => guarded(() => count(n)),
            addChildMetrics: (child) => {
              metrics.stateTransitions += child.stateTransitions; // billed like the parent's
              metrics.largestPayloadBytes = Math.max(metrics.largestPayloadBytes, child.largestPayloadBytes);
            },
            emit,
          });
        const result = clock ? await clock.work(runMap) : await runMap();
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
    result = failedRun(error as Error, fatal as FatalStatesError | null, events, metrics, emit);
  } finally {
    ended = true;
    tokens.closeAll();
  }
  return result;
}

/**
 * A Distributed Map's child: its own execution on its own simulated clock, started at the
 * simulated time the map run gives it (its 5-minute cap starts with it), stopped on that clock.
 */
async function runChild(
  parent: DefinitionRunOptions,
  speed: number,
  child: Parameters<MapRunHost['runChild']>[0],
): Promise<ChildRun> {
  const clock = new SimClock(speed, child.startedAt);
  const run = await runDefinition({
    definition: child.definition,
    input: child.input,
    tasks: parent.tasks,
    callbacks: parent.callbacks,
    onTaskToken: parent.onTaskToken,
    speed,
    executionArn: child.executionArn,
    executionName: child.executionName,
    executionType: child.executionType,
    s3: parent.s3,
    alreadyValidated: true,
    clock,
  });
  return { ...run, stoppedAt: clock.now() };
}

/** Each state of a definition, nested ones (Map processors, Parallel branches) included. */
export function visitStates(definition: any, fn: (name: string, state: any) => void): void {
  for (const [name, state] of Object.entries<any>(definition.States ?? {})) {
    fn(name, state);
    if (state.ItemProcessor) visitStates(state.ItemProcessor, fn);
    if (state.Iterator) visitStates(state.Iterator, fn);
    for (const branch of state.Branches ?? []) visitStates(branch, fn);
  }
}
