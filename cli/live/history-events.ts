import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { parseJson } from '../keys';
import { causeText, keyOf, num, obj, type TraceEvent } from './events';

/** The state (and key) an event belongs to, inherited along `previousEventId`. */
interface HistoryContext {
  state: string;
  key: string | null;
  failed: boolean;
  attempts: number;
}

/** History event types that say a task attempt failed. */
const TASK_FAILED = new Set([
  'TaskFailed',
  'TaskTimedOut',
  'TaskStartFailed',
  'TaskSubmitFailed',
  'LambdaFunctionFailed',
  'LambdaFunctionTimedOut',
  'LambdaFunctionStartFailed',
  'LambdaFunctionScheduleFailed',
]);
/** History event types that start a task attempt (a retry when the one before failed). */
const TASK_SCHEDULED = new Set(['TaskScheduled', 'LambdaFunctionScheduled']);

/**
 * Translates Step Functions execution history events. Events other than state entered/exited
 * carry no state name: each inherits the state of the event before it (`previousEventId`), which
 * is how a failure and its retry are tied to their state and key.
 */
export class HistoryTranslator {
  private readonly context = new Map<number, HistoryContext>();

  translate(e: HistoryEvent): TraceEvent[] {
    const id = e.id ?? 0;
    const at = e.timestamp?.getTime() ?? Date.now();
    const type = e.type ?? '';
    const before = e.previousEventId !== undefined ? this.context.get(e.previousEventId) : undefined;

    if (type.endsWith('StateEntered')) {
      const d = e.stateEnteredEventDetails;
      const input = parseJson(d?.input);
      const state = d?.name ?? '?';
      const key = keyOf(input) ?? (before?.state === state ? before.key : null);
      this.context.set(id, { state, key, failed: false, attempts: 1 });
      const stateType = type.slice(0, -'StateEntered'.length);
      if (stateType === 'Wait') {
        const seconds = num(obj(input)?.waitSeconds);
        return [{ kind: 'wait', at, state, key, seconds, realSeconds: seconds }];
      }
      return [{ kind: 'entered', at, state, type: stateType, key, input }];
    }
    if (type.endsWith('StateExited')) {
      const d = e.stateExitedEventDetails;
      const output = parseJson(d?.output);
      const state = d?.name ?? before?.state ?? '?';
      const key = keyOf(output) ?? (before?.state === state ? before.key : null);
      this.context.set(id, { state, key, failed: false, attempts: 1 });
      return [{ kind: 'exited', at, state, type: type.slice(0, -'StateExited'.length), key, output }];
    }
    if (TASK_FAILED.has(type)) {
      const d =
        e.taskFailedEventDetails ??
        e.lambdaFunctionFailedEventDetails ??
        e.taskTimedOutEventDetails ??
        e.lambdaFunctionTimedOutEventDetails ??
        e.taskStartFailedEventDetails ??
        e.taskSubmitFailedEventDetails ??
        e.lambdaFunctionStartFailedEventDetails ??
        e.lambdaFunctionScheduleFailedEventDetails;
      const ctx: HistoryContext = {
        state: before?.state ?? '?',
        key: before?.key ?? null,
        failed: true,
        attempts: before?.attempts ?? 1,
      };
      this.context.set(id, ctx);
      const error = d?.error ?? (type.endsWith('TimedOut') ? 'States.Timeout' : type);
      return [{ kind: 'error', at, state: ctx.state, key: ctx.key, error, cause: causeText(d?.cause) }];
    }
    if (TASK_SCHEDULED.has(type) && before?.failed) {
      const ctx: HistoryContext = { ...before, failed: false, attempts: before.attempts + 1 };
      this.context.set(id, ctx);
      return [{ kind: 'retried', at, state: ctx.state, key: ctx.key, attempt: ctx.attempts - 1 }];
    }
    if (before) this.context.set(id, before);
    switch (type) {
      case 'ExecutionStarted':
        return [{ kind: 'started', at }];
      case 'ExecutionSucceeded':
        return [{ kind: 'succeeded', at }];
      case 'ExecutionFailed':
        return [
          {
            kind: 'failed',
            at,
            status: 'FAILED',
            error: e.executionFailedEventDetails?.error ?? null,
            cause: causeText(e.executionFailedEventDetails?.cause),
          },
        ];
      case 'ExecutionTimedOut':
        return [
          {
            kind: 'failed',
            at,
            status: 'TIMED_OUT',
            error: e.executionTimedOutEventDetails?.error ?? null,
            cause: causeText(e.executionTimedOutEventDetails?.cause),
          },
        ];
      case 'ExecutionAborted':
        return [
          {
            kind: 'failed',
            at,
            status: 'ABORTED',
            error: e.executionAbortedEventDetails?.error ?? null,
            cause: causeText(e.executionAbortedEventDetails?.cause),
          },
        ];
      default:
        return [];
    }
  }
}
