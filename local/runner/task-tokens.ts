/** The task tokens of one local execution: each `.waitForTaskToken` task gets its own, usable once. */
import { randomUUID } from 'node:crypto';
import { PAYLOAD_LIMIT_BYTES, payloadBytes } from '../limits';
import type { TaskTokens } from './run-contract';
import { asTimeout, named } from './run-timeouts';

/** Stands for `$$.Task.Token` until a callback task gets its own token (see TaskTokens). */
export const TOKEN_PLACEHOLDER = '__local_task_token__';

/** The task tokens of one local execution (see TaskTokens). */
export class LocalTaskTokens implements TaskTokens {
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

/** The input with every TOKEN_PLACEHOLDER replaced by the task's token. */
export function replaceToken(value: unknown, token: string): unknown {
  if (value === TOKEN_PLACEHOLDER) return token;
  if (Array.isArray(value)) return value.map((v) => replaceToken(v, token));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceToken(v, token)]));
  return value;
}
