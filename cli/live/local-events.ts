import type { RunEvent } from '../../local/runner/runner';
import { WAIT_STATES } from '../../lambdas/domain/workflow-states';
import { causeText, keyOf, num, type TraceEvent } from './events';

/** Translates the local runner's events (aws-local-stepfunctions logs + WaitStarted). */
export class LocalEventTranslator {
  private readonly keysByIndex = new Map<number, string>();
  private readonly waitStates = new Set<string>(WAIT_STATES);
  /**
   * WaitStarted is emitted from inside the run while the library's own events are delivered
   * asynchronously, so it can arrive before the previous state's exit: each wait is shown when
   * its state is entered, whichever of the two comes first.
   */
  private readonly pendingWaits = new Map<string, TraceEvent>();
  private readonly enteredWaits = new Map<string, number>();

  constructor(private readonly speed = 1) {}

  translate(e: RunEvent): TraceEvent[] {
    const at = e.timestamp;
    const name = e.state?.name ?? '';
    const indexKey = e.index !== undefined ? (this.keysByIndex.get(e.index) ?? null) : null;
    const type = this.waitStates.has(name) ? 'Wait' : (e.state?.type ?? '');
    switch (e.type) {
      case 'ExecutionStarted':
        return [{ kind: 'started', at }];
      case 'MapIterationStarted': {
        const key = keyOf((e as { input?: unknown }).input);
        if (key && e.index !== undefined) this.keysByIndex.set(e.index, key);
        return [];
      }
      case 'StateEntered': {
        const key = keyOf(e.state?.input) ?? indexKey;
        if (type === 'Wait') {
          const id = `${name}|${key ?? ''}`;
          const wait = this.pendingWaits.get(id);
          this.pendingWaits.delete(id);
          if (wait) return [{ ...wait, at }];
          this.enteredWaits.set(id, at);
          return [];
        }
        return [{ kind: 'entered', at, state: name, type, key, input: e.state?.input }];
      }
      case 'StateExited':
        return [
          {
            kind: 'exited',
            at,
            state: name,
            type,
            key: keyOf(e.state?.output) ?? keyOf(e.state?.input) ?? indexKey,
            output: e.state?.output,
          },
        ];
      case 'WaitStarted': {
        this.waitStates.add(name);
        const seconds = num(e.waitSeconds);
        const key = keyOf(e.state?.input) ?? indexKey;
        const wait: TraceEvent = {
          kind: 'wait',
          at,
          state: name,
          key,
          seconds,
          realSeconds: seconds === null ? null : seconds / this.speed,
        };
        const id = `${name}|${key ?? ''}`;
        const enteredAt = this.enteredWaits.get(id);
        if (enteredAt !== undefined) {
          this.enteredWaits.delete(id);
          return [{ ...wait, at: enteredAt }];
        }
        this.pendingWaits.set(id, wait);
        return [];
      }
      case 'ApprovalAnswered': {
        const a = e.approval;
        if (!a) return [];
        return [
          {
            kind: 'approval',
            at,
            state: name,
            key: keyOf(e.state?.input) ?? indexKey,
            decision: a.decision,
            by: a.by,
            reason: a.reason,
            statusCode: a.statusCode,
            message: a.message,
          },
        ];
      }
      case 'StateFailed':
        return [
          {
            kind: 'error',
            at,
            state: name,
            key: keyOf(e.state?.input) ?? indexKey,
            error: e.Error ?? 'Error',
            cause: causeText(e.Cause),
          },
        ];
      case 'StateRetried':
        return [
          {
            kind: 'retried',
            at,
            state: name,
            key: keyOf(e.state?.input) ?? indexKey,
            attempt: e.retry?.attempt ?? null,
          },
        ];
      case 'ExecutionSucceeded':
        return [{ kind: 'succeeded', at }];
      case 'ExecutionFailed':
        return [{ kind: 'failed', at, status: 'FAILED', error: e.Error ?? null, cause: causeText(e.Cause) }];
      case 'ExecutionTerminated':
        return [{ kind: 'failed', at, status: 'ABORTED', error: null, cause: null }];
      default:
        return [];
    }
  }
}
