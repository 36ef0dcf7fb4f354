import type { RunEvent } from '../runner/runner';
import { readPath } from '../runner/distributed-map';

/**
 * The local runner's events (aws-local-stepfunctions' event log) as Step Functions execution
 * history events, in the shape GetExecutionHistory returns them (the SFN model's HistoryEvent:
 * `id`, `previousEventId`, `timestamp`, `type` and one `<type>EventDetails`), so that the CLI's
 * history reader (cli/live/history-events.ts) reads a sandbox execution as it reads a deployed one.
 *
 * What the runner does not tell, and how it is filled in:
 * - a Task's raw result and effective parameters are not in the runner's events: the task events
 *   (LambdaFunctionScheduled / TaskScheduled, ...Succeeded) carry the state's input and output;
 * - `previousEventId` follows one lane per Map iteration (the runner tags those events with the
 *   iteration's index) and the execution's own lane otherwise; Step Functions documents the field
 *   only as "the id of the previous event", and within one iteration this is that event.
 */

/** One history event on the wire (timestamps as epoch seconds, awsJson1_0's default). */
export interface WireHistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: number;
  type: string;
  [details: string]: unknown;
}

/** How a state of the deployed definition shows in history. */
interface StateInfo {
  /** The ASL Type as written (the runner runs some Wait states as Tasks). */
  type: string;
  /** Task states: a Lambda function ARN (LambdaFunction* events), or an integration (Task* events). */
  task?:
    | { kind: 'lambda'; resource: string; timeoutSeconds?: number }
    | {
        kind: 'integration';
        resourceType: string;
        resource: string;
        timeoutSeconds?: number;
        heartbeatSeconds?: number;
      };
  itemsPath?: string;
}

/** Every state of an ASL definition by name, Map processors and Parallel branches included. */
export function statesOf(definition: unknown): Map<string, StateInfo> {
  const out = new Map<string, StateInfo>();
  const visit = (machine: unknown) => {
    const states = (machine as { States?: Record<string, AslState> } | undefined)?.States ?? {};
    for (const [name, state] of Object.entries(states)) {
      out.set(name, {
        type: String(state.Type),
        ...taskOf(state),
        ...(state.Type === 'Map' ? { itemsPath: state.ItemsPath ?? '$' } : {}),
      });
      if (state.Type === 'Map') visit(state.ItemProcessor ?? state.Iterator);
      if (state.Type === 'Parallel') for (const branch of state.Branches ?? []) visit(branch);
    }
  };
  visit(definition);
  return out;
}

/** The fields of an ASL state the history needs. */
interface AslState {
  Type?: string;
  Resource?: unknown;
  TimeoutSeconds?: unknown;
  HeartbeatSeconds?: unknown;
  ItemsPath?: string;
  ItemProcessor?: unknown;
  Iterator?: unknown;
  Branches?: unknown[];
}

function taskOf(state: AslState): Pick<StateInfo, 'task'> {
  if (state.Type !== 'Task' || typeof state.Resource !== 'string') return {};
  const resource: string = state.Resource;
  const timeouts = { ...(typeof state.TimeoutSeconds === 'number' ? { timeoutSeconds: state.TimeoutSeconds } : {}) };
  if (/^arn:[^:]+:lambda:/.test(resource)) return { task: { kind: 'lambda', resource, ...timeouts } };
  // arn:aws:states:::lambda:invoke.waitForTaskToken -> resourceType "lambda", resource "invoke.waitForTaskToken"
  const m = /^arn:[^:]+:states:[^:]*:[^:]*:([^:]+):(.+)$/.exec(resource);
  return {
    task: {
      kind: 'integration',
      resourceType: m?.[1] ?? resource,
      resource: m?.[2] ?? resource,
      ...timeouts,
      ...(typeof state.HeartbeatSeconds === 'number' ? { heartbeatSeconds: state.HeartbeatSeconds } : {}),
    },
  };
}

const json = (v: unknown) => JSON.stringify(v ?? null);
const notTruncated = { truncated: false };

/** Builds one execution's history from its RunEvents, as they arrive. */
export class HistoryRecorder {
  readonly events: WireHistoryEvent[] = [];
  private readonly lanes = new Map<string, number>();
  /** The Map state each iteration lane belongs to (MapIteration events carry only the index). */
  private openMap: string | null = null;

  constructor(
    private readonly states: Map<string, StateInfo>,
    /** `now`: the execution's simulated clock (the runner's events carry its time); default the wall clock. */
    private readonly context: { roleArn: string; region: string; now?: () => number },
  ) {}

  private now(): number {
    return this.context.now?.() ?? Date.now();
  }

  /** The last event's id: what a terminal event added from outside (see `finish`) follows. */
  get lastId(): number {
    return this.events.length;
  }

  /** True once ExecutionSucceeded / Failed / TimedOut / Aborted is recorded. */
  get ended(): boolean {
    return /^Execution(Succeeded|Failed|TimedOut|Aborted)$/.test(this.events[this.events.length - 1]?.type ?? '');
  }

  /** A callback task handed its token over (the Lambda invoke returned): TaskSubmitted. */
  submitted(stateName: string, lane: number | undefined): void {
    const task = this.states.get(stateName)?.task;
    if (task?.kind !== 'integration') return;
    const details = {
      resourceType: task.resourceType,
      resource: task.resource,
      output: '{}',
      outputDetails: notTruncated,
    };
    this.add(laneOf(lane), this.now(), 'TaskSubmitted', 'taskSubmittedEventDetails', details);
  }

  push(e: RunEvent): void {
    const loose = e as RunEvent & { input?: unknown; output?: unknown };
    const lane = laneOf(e.index);
    const at = e.timestamp;
    const name = e.state?.name ?? '';
    const info = this.states.get(name);
    const type = info?.type ?? e.state?.type ?? 'Task';
    switch (e.type) {
      case 'ExecutionStarted':
        this.add('root', at, 'ExecutionStarted', 'executionStartedEventDetails', {
          input: json(loose.input),
          inputDetails: notTruncated,
          roleArn: this.context.roleArn,
        });
        return;
      case 'StateEntered':
        this.add(lane, at, `${type}StateEntered`, 'stateEnteredEventDetails', {
          name,
          input: json(e.state?.input),
          inputDetails: notTruncated,
        });
        if (type === 'Map') {
          this.openMap = name;
          const items = readPath(e.state?.input, info?.itemsPath ?? '$');
          this.add(
            lane,
            at,
            'MapStateStarted',
            'mapStateStartedEventDetails',
            Array.isArray(items) ? { length: items.length } : {},
          );
        }
        this.scheduleTask(lane, at, info, e.state?.input);
        return;
      case 'StateRetried':
        this.scheduleTask(lane, at, info, e.state?.input);
        return;
      case 'StateFailed':
        this.failTask(lane, at, info, e.Error ?? 'States.TaskFailed', e.Cause);
        return;
      case 'StateExited':
        this.succeedTask(lane, at, info, e.state?.output);
        if (type === 'Map') this.add(lane, at, 'MapStateSucceeded', null, {});
        this.add(lane, at, `${type}StateExited`, 'stateExitedEventDetails', {
          name,
          output: json(e.state?.output),
          outputDetails: notTruncated,
        });
        if (type === 'Map') this.openMap = null;
        return;
      case 'MapIterationStarted':
        // An iteration's lane starts from the Map's own lane.
        this.lanes.set(lane, this.lanes.get('root') ?? 0);
        this.add(lane, at, 'MapIterationStarted', 'mapIterationStartedEventDetails', {
          name: this.openMap ?? '',
          index: e.index ?? 0,
        });
        return;
      case 'MapIterationSucceeded':
      case 'MapIterationFailed': {
        const detailsName =
          e.type === 'MapIterationSucceeded' ? 'mapIterationSucceededEventDetails' : 'mapIterationFailedEventDetails';
        this.add(lane, at, e.type, detailsName, { name: this.openMap ?? '', index: e.index ?? 0 });
        this.lanes.set('root', this.lastId);
        return;
      }
      case 'MapRunStarted':
        this.add(lane, at, 'MapRunStarted', 'mapRunStartedEventDetails', { mapRunArn: e.mapRun?.mapRunArn ?? '' });
        return;
      case 'MapRunSucceeded':
        this.add(lane, at, 'MapRunSucceeded', null, {});
        return;
      case 'MapRunFailed':
        this.add(lane, at, 'MapRunFailed', 'mapRunFailedEventDetails', {
          error: e.Error ?? '',
          cause: causeOf(e.Cause),
        });
        return;
      case 'ExecutionSucceeded':
        this.add('root', at, 'ExecutionSucceeded', 'executionSucceededEventDetails', {
          output: json(loose.output),
          outputDetails: notTruncated,
        });
        return;
      case 'ExecutionFailed':
        // The runner ends an execution that outlived its TimeoutSeconds with States.Timeout: Step
        // Functions records that as ExecutionTimedOut.
        if (e.Error === 'States.Timeout') {
          this.add('root', at, 'ExecutionTimedOut', 'executionTimedOutEventDetails', {
            error: e.Error,
            cause: causeOf(e.Cause),
          });
          return;
        }
        this.add('root', at, 'ExecutionFailed', 'executionFailedEventDetails', {
          error: e.Error ?? '',
          cause: causeOf(e.Cause),
        });
        return;
      case 'ExecutionTerminated':
        this.add('root', at, 'ExecutionAborted', 'executionAbortedEventDetails', {});
        return;
      default:
        // WaitStarted, ApprovalDecided: the runner's own events, not Step Functions history.
        return;
    }
  }

  /** Adds the terminal event when the runner ended without one (e.g. it threw). */
  finish(status: 'SUCCEEDED' | 'FAILED', output: unknown, error: string | null, cause: string | null): void {
    if (this.ended) return;
    if (status === 'SUCCEEDED') this.push({ type: 'ExecutionSucceeded', timestamp: this.now(), output } as RunEvent);
    else
      this.push({
        type: 'ExecutionFailed',
        timestamp: this.now(),
        Error: error ?? 'States.Runtime',
        Cause: cause ?? '',
      });
  }

  private scheduleTask(lane: string, at: number, info: StateInfo | undefined, input: unknown): void {
    const task = info?.task;
    if (task?.kind === 'lambda') {
      const timeout = task.timeoutSeconds !== undefined ? { timeoutInSeconds: task.timeoutSeconds } : {};
      const details = { resource: task.resource, input: json(input), inputDetails: notTruncated, ...timeout };
      this.add(lane, at, 'LambdaFunctionScheduled', 'lambdaFunctionScheduledEventDetails', details);
      this.add(lane, at, 'LambdaFunctionStarted', null, {});
    } else if (task?.kind === 'integration') {
      this.add(lane, at, 'TaskScheduled', 'taskScheduledEventDetails', {
        resourceType: task.resourceType,
        resource: task.resource,
        region: this.context.region,
        parameters: json(input),
        ...(task.timeoutSeconds !== undefined ? { timeoutInSeconds: task.timeoutSeconds } : {}),
        ...(task.heartbeatSeconds !== undefined ? { heartbeatInSeconds: task.heartbeatSeconds } : {}),
      });
      this.add(lane, at, 'TaskStarted', 'taskStartedEventDetails', {
        resourceType: task.resourceType,
        resource: task.resource,
      });
    }
  }

  private succeedTask(lane: string, at: number, info: StateInfo | undefined, output: unknown): void {
    const task = info?.task;
    if (task?.kind === 'lambda') {
      this.add(lane, at, 'LambdaFunctionSucceeded', 'lambdaFunctionSucceededEventDetails', {
        output: json(output),
        outputDetails: notTruncated,
      });
    }
    if (task?.kind === 'integration') {
      const details = {
        resourceType: task.resourceType,
        resource: task.resource,
        output: json(output),
        outputDetails: notTruncated,
      };
      this.add(lane, at, 'TaskSucceeded', 'taskSucceededEventDetails', details);
    }
  }

  private failTask(lane: string, at: number, info: StateInfo | undefined, error: string, cause: unknown): void {
    const task = info?.task;
    if (task?.kind === 'lambda') {
      this.add(lane, at, 'LambdaFunctionFailed', 'lambdaFunctionFailedEventDetails', { error, cause: causeOf(cause) });
    } else if (task?.kind === 'integration') {
      const timedOut = error === 'States.Timeout' || error === 'States.HeartbeatTimeout';
      this.add(
        lane,
        at,
        timedOut ? 'TaskTimedOut' : 'TaskFailed',
        timedOut ? 'taskTimedOutEventDetails' : 'taskFailedEventDetails',
        {
          resourceType: task.resourceType,
          resource: task.resource,
          error,
          cause: causeOf(cause),
        },
      );
    } else if (info?.type === 'Map') {
      this.add(lane, at, 'MapStateFailed', null, {});
    }
  }

  private add(
    lane: string,
    at: number,
    type: string,
    detailsName: string | null,
    details: Record<string, unknown>,
  ): void {
    const id = this.events.length + 1;
    const previousEventId = this.lanes.get(lane) ?? this.lanes.get('root') ?? 0;
    this.events.push({
      id,
      previousEventId,
      timestamp: at / 1000,
      type,
      ...(detailsName ? { [detailsName]: details } : {}),
    });
    this.lanes.set(lane, id);
  }
}

function laneOf(index: number | undefined): string {
  return index === undefined ? 'root' : `iteration-${index}`;
}

function causeOf(cause: unknown): string {
  if (cause === undefined || cause === null) return '';
  return typeof cause === 'string' ? cause : JSON.stringify(cause);
}

/** The event as GetExecutionHistory returns it with includeExecutionData false: no input, output or parameters. */
export function withoutData(e: WireHistoryEvent): WireHistoryEvent {
  const out: WireHistoryEvent = { ...e };
  for (const [k, v] of Object.entries(e)) {
    if (!k.endsWith('EventDetails') || typeof v !== 'object' || v === null) continue;
    const { input: _i, output: _o, parameters: _p, ...rest } = v as Record<string, unknown>;
    out[k] = rest;
  }
  return out;
}
