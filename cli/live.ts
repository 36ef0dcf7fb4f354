import type { HistoryEvent } from '@aws-sdk/client-sfn';
import type { RunEvent } from '../local/runner';
import type { Paint, Writer } from './io';
import { shortKey, parseJson, type Home } from './keys';

/**
 * The live view of an execution, shared by `simulate` (the local runner's events) and
 * `watch`/`start`/`drill` (Step Functions execution history), so both read the same:
 *
 *     00:03  Assess            key/1234abcd-...  -> ROTATE (Eligible; rotating leaves 22 of 25 ...)
 *
 * Each source is first translated into TraceEvents; LiveTrace renders them. On a terminal, a
 * status line (spinner, wait countdowns, "next check in") sits below the trace and is cleared
 * before every trace line.
 */
export type TraceEvent =
  | { kind: 'started'; at: number }
  | { kind: 'entered'; at: number; state: string; type: string; key: string | null; input: unknown }
  | { kind: 'exited'; at: number; state: string; type: string; key: string | null; output: unknown }
  /** A Wait state: `seconds` as the definition asked, `realSeconds` as it actually lasts (scaled locally). */
  | { kind: 'wait'; at: number; state: string; key: string | null; seconds: number | null; realSeconds: number | null }
  | { kind: 'error'; at: number; state: string; key: string | null; error: string; cause: string | null }
  | { kind: 'retried'; at: number; state: string; key: string | null; attempt: number | null }
  | { kind: 'succeeded'; at: number }
  | { kind: 'failed'; at: number; status: string; error: string | null; cause: string | null };

/** Wait states of the workflow (lib/workflow.ts STATE); the local runner runs them as tasks. */
const KNOWN_WAIT_STATES = ['WaitForRotation', 'WaitBeforeRetryingRotation'];
/** States whose entering and leaving say nothing a person needs (routing only). */
const QUIET_TYPES = new Set(['Choice', 'Succeed']);

type Loose = Record<string, unknown> | undefined;
const obj = (v: unknown): Loose => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The key a per-key state works on: the reference as named (stable across the key's states). */
function keyOf(v: unknown): string | null {
  const o = obj(v);
  return str(o?.ref) ?? str(o?.keyArn);
}

function causeText(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  const parsed = obj(parseJson(text));
  return str(parsed?.errorMessage) ?? text;
}

/** Translates the local runner's events (aws-local-stepfunctions logs + WaitStarted). */
export class LocalEventTranslator {
  private readonly keysByIndex = new Map<number, string>();
  private readonly waitStates = new Set(KNOWN_WAIT_STATES);
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
        return [{ kind: 'exited', at, state: name, type, key: keyOf(e.state?.output) ?? keyOf(e.state?.input) ?? indexKey, output: e.state?.output }];
      case 'WaitStarted': {
        this.waitStates.add(name);
        const seconds = num(e.waitSeconds);
        const key = keyOf(e.state?.input) ?? indexKey;
        const wait: TraceEvent = { kind: 'wait', at, state: name, key, seconds, realSeconds: seconds === null ? null : seconds / this.speed };
        const id = `${name}|${key ?? ''}`;
        const enteredAt = this.enteredWaits.get(id);
        if (enteredAt !== undefined) {
          this.enteredWaits.delete(id);
          return [{ ...wait, at: enteredAt }];
        }
        this.pendingWaits.set(id, wait);
        return [];
      }
      case 'StateFailed':
        return [{ kind: 'error', at, state: name, key: keyOf(e.state?.input) ?? indexKey, error: e.Error ?? 'Error', cause: causeText(e.Cause) }];
      case 'StateRetried':
        return [{ kind: 'retried', at, state: name, key: keyOf(e.state?.input) ?? indexKey, attempt: e.retry?.attempt ?? null }];
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

interface HistoryContext {
  state: string;
  key: string | null;
  failed: boolean;
  attempts: number;
}

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
      const d = e.taskFailedEventDetails ?? e.lambdaFunctionFailedEventDetails ?? e.taskTimedOutEventDetails ?? e.lambdaFunctionTimedOutEventDetails ?? e.taskStartFailedEventDetails ?? e.taskSubmitFailedEventDetails ?? e.lambdaFunctionStartFailedEventDetails ?? e.lambdaFunctionScheduleFailedEventDetails;
      const ctx: HistoryContext = { state: before?.state ?? '?', key: before?.key ?? null, failed: true, attempts: before?.attempts ?? 1 };
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
        return [{ kind: 'failed', at, status: 'FAILED', error: e.executionFailedEventDetails?.error ?? null, cause: causeText(e.executionFailedEventDetails?.cause) }];
      case 'ExecutionTimedOut':
        return [{ kind: 'failed', at, status: 'TIMED_OUT', error: e.executionTimedOutEventDetails?.error ?? null, cause: causeText(e.executionTimedOutEventDetails?.cause) }];
      case 'ExecutionAborted':
        return [{ kind: 'failed', at, status: 'ABORTED', error: e.executionAbortedEventDetails?.error ?? null, cause: causeText(e.executionAbortedEventDetails?.cause) }];
      default:
        return [];
    }
  }
}

export interface LiveTraceOptions {
  /** Where trace lines go. */
  out: Writer;
  paint: Paint;
  /** A terminal for the status line (spinner, countdowns), or null for none. */
  status?: Writer | null;
  /** Keys in this account and Region are shown as `key/<id>`. */
  home?: Home | null;
  /** Simulated seconds per real second: elapsed times are shown in simulated time. */
  speed?: number;
  /** Wall clock in ms (tests). */
  clock?: () => number;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
/** Wide enough for every state name of the workflow but WaitBeforeRetryingRotation. */
const STATE_WIDTH = 20;

/** mm:ss, or h:mm:ss from an hour on. */
export function clockTime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const two = (n: number) => String(n).padStart(2, '0');
  const h = Math.floor(s / 3600);
  return h > 0 ? `${h}:${two(Math.floor((s % 3600) / 60))}:${two(s % 60)}` : `${two(Math.floor(s / 60))}:${two(s % 60)}`;
}

/** 5s, 0.5s, 2m 30s. */
export function duration(seconds: number): string {
  if (seconds < 10 && !Number.isInteger(seconds)) return `${Number(seconds.toFixed(seconds < 1 ? 2 : 1))}s`;
  const s = Math.round(seconds);
  return s < 120 ? `${s}s` : `${Math.floor(s / 60)}m${s % 60 ? ` ${s % 60}s` : ''}`;
}

/** Renders TraceEvents as lines, with a status line on a terminal. */
export class LiveTrace {
  private startedAt: number | null = null;
  private readonly speed: number;
  private readonly clock: () => number;
  private readonly errors = new Map<string, string>();
  private readonly waits = new Map<string, { label: string; until: number }>();
  private activity: (() => string) | null = null;
  private readonly memo: ExitMemo = { details: new Set(), notified: false };
  private timer: NodeJS.Timeout | null = null;
  private frame = 0;
  private statusShown = false;

  constructor(private readonly opts: LiveTraceOptions) {
    this.speed = opts.speed && opts.speed > 0 ? opts.speed : 1;
    this.clock = opts.clock ?? Date.now;
  }

  /** The start of the execution (elapsed times count from it). */
  setStart(at: number): void {
    this.startedAt ??= at;
  }

  push(events: TraceEvent | TraceEvent[]): void {
    for (const e of Array.isArray(events) ? events : [events]) this.render(e);
  }

  /** A status text shown next to the spinner (watch: "RUNNING, next check in 4s"); null clears it. */
  setActivity(text: (() => string) | null): void {
    this.activity = text;
    this.redrawStatus();
  }

  /** Stops the spinner and clears the status line. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.clearStatus();
  }

  private render(e: TraceEvent): void {
    const p = this.opts.paint;
    if (e.kind === 'started') {
      this.setStart(e.at);
      return;
    }
    this.setStart(e.at);
    const contextKey = 'state' in e ? `${e.state}|${e.key ?? ''}` : '';
    if ('state' in e && e.kind !== 'wait') this.waits.delete(contextKey);
    switch (e.kind) {
      case 'entered': {
        if (QUIET_TYPES.has(e.type) || e.type === 'Wait' || e.type === 'Pass') return;
        if (e.type === 'Fail') return this.line(e.at, e.state, e.key, p.red('failing the execution'));
        if (e.type === 'Map') {
          const n = arrayLength(obj(obj(e.input)?.request)?.keys);
          return this.line(e.at, e.state, null, n === null ? 'started' : `started: ${n} key${n === 1 ? '' : 's'}`);
        }
        return this.line(e.at, e.state, e.key, p.dim('started'));
      }
      case 'exited': {
        if (QUIET_TYPES.has(e.type) || e.type === 'Wait' || e.type === 'Fail') return;
        const caught = obj(obj(e.output)?.error);
        if (caught && str(caught.Error) && this.errors.has(contextKey)) {
          this.errors.delete(contextKey);
          return this.line(e.at, e.state, e.key, p.red(`-> error ${str(caught.Error)}${causeSuffix(causeText(caught.Cause))}`));
        }
        this.errors.delete(contextKey);
        return this.line(e.at, e.state, e.key, describeExit(e.state, e.type, e.output, this.opts.home ?? null, p, this.memo));
      }
      case 'wait': {
        const real = e.realSeconds;
        const text =
          real === null ? 'waiting' : this.speed !== 1 && e.seconds !== null ? `waiting ${duration(real)} (scaled from ${duration(e.seconds)})` : `waiting ${duration(real)}`;
        this.line(e.at, e.state, e.key, p.dim(text));
        if (real !== null && this.opts.status) {
          const label = `${e.state}${e.key ? ` ${shortKey(e.key, this.opts.home)}` : ''}`;
          // A real wait ends at its history timestamp plus its length (we may learn of it late);
          // a local one is scaled and starts now.
          const until = (this.speed === 1 ? e.at : this.clock()) + real * 1000;
          this.waits.set(contextKey, { label, until });
          this.redrawStatus();
        }
        return;
      }
      case 'error':
        this.errors.set(contextKey, e.error);
        return;
      case 'retried': {
        const error = this.errors.get(contextKey);
        this.errors.delete(contextKey);
        return this.line(e.at, e.state, e.key, p.yellow(`retried after ${error ?? 'an error'}${e.attempt ? ` (retry ${e.attempt})` : ''}`));
      }
      case 'succeeded':
        return this.line(e.at, 'Execution', null, p.outcome('SUCCEEDED'));
      case 'failed':
        return this.line(e.at, 'Execution', null, `${p.outcome(e.status)}${e.error ? ` ${e.error}` : ''}${causeSuffix(e.cause)}`);
    }
  }

  private line(at: number, state: string, key: string | null, text: string): void {
    const elapsed = this.startedAt === null ? 0 : ((at - this.startedAt) / 1000) * this.speed;
    const p = this.opts.paint;
    const keyPart = key ? `${shortKey(key, this.opts.home)}  ` : '';
    this.clearStatus();
    this.opts.out.write(`  ${p.dim(clockTime(elapsed))}  ${p.bold(state.padEnd(STATE_WIDTH))} ${keyPart}${text}\n`);
    this.redrawStatus();
  }

  private statusText(): string | null {
    const now = this.clock();
    const parts: string[] = [];
    for (const [k, w] of this.waits) {
      const left = (w.until - now) / 1000;
      if (left <= 0) this.waits.delete(k);
      else parts.push(`${w.label}: ${Math.ceil(left)}s left`);
    }
    const activity = this.activity?.();
    if (activity) parts.unshift(activity);
    return parts.length ? parts.join('  |  ') : null;
  }

  private redrawStatus(): void {
    const status = this.opts.status;
    if (!status) return;
    const text = this.statusText();
    if (text === null) {
      this.clearStatus();
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      return;
    }
    status.write(`\r\u001b[K${SPINNER[this.frame % SPINNER.length]} ${text}`);
    this.statusShown = true;
    if (!this.timer) {
      this.timer = setInterval(() => {
        this.frame += 1;
        this.redrawStatus();
      }, 120);
      this.timer.unref();
    }
  }

  private clearStatus(): void {
    if (this.statusShown && this.opts.status) this.opts.status.write('\r\u001b[K');
    this.statusShown = false;
  }
}

function arrayLength(v: unknown): number | null {
  return Array.isArray(v) ? v.length : null;
}

function causeSuffix(cause: string | null): string {
  if (!cause) return '';
  const line = cause.split('\n')[0]!;
  return ` - ${line.length > 200 ? `${line.slice(0, 199)}…` : line}`;
}

/** What was already said, so that states passing a key's task along do not repeat it. */
export interface ExitMemo {
  details: Set<string>;
  notified: boolean;
}

/** What a state's output says happened, in a few words. */
export function describeExit(state: string, type: string, output: unknown, home: Home | null, p: Paint, memo: ExitMemo = { details: new Set(), notified: false }): string {
  const o = obj(output);
  const detailSuffix = (detail: unknown): string => {
    const d = str(detail);
    const id = `${str(o?.ref) ?? ''}|${d}`;
    if (!d || memo.details.has(id)) return '';
    memo.details.add(id);
    return ` (${d.length > 160 ? `${d.slice(0, 159)}…` : d})`;
  };
  if (state.startsWith('Failed_')) {
    const reason = str(obj(o?.failure)?.reason) ?? state.slice('Failed_'.length);
    return p.outcome(`FAILED ${reason}`);
  }
  if (type === 'Map') {
    const n = arrayLength(o?.results);
    return n === null ? '-> done' : `-> ${n} key${n === 1 ? '' : 's'} done`;
  }
  const request = obj(o?.request);
  if (state === 'Intake' && request) {
    const keys = Array.isArray(request.keys) ? request.keys.filter((k): k is string => typeof k === 'string') : [];
    const list = keys.slice(0, 3).map((k) => shortKey(k, home)).join(', ');
    return `-> ${keys.length} key${keys.length === 1 ? '' : 's'}${list ? `: ${list}${keys.length > 3 ? ', ...' : ''}` : ''}`;
  }
  const notification = obj(o?.notification);
  if (notification && !memo.notified) {
    memo.notified = true;
    const outcome = str(obj(notification.summary)?.outcome);
    return `-> notification sent${outcome ? `: ${p.outcome(outcome)}` : ''}`;
  }
  const next = str(o?.next);
  if (next) {
    const keyArn = str(o?.keyArn);
    const resolved = keyArn && keyArn !== str(o?.ref) ? ` [${shortKey(keyArn, home)}]` : '';
    const wait = num(o?.waitSeconds);
    switch (next) {
      case 'ROTATE':
        return `-> ${p.green('ROTATE')}${resolved}${detailSuffix(o?.detail)}`;
      case 'POLL':
        if (state === 'CheckRotation') return `-> not confirmed yet (check ${num(o?.pollAttempt) ?? '?'})${wait !== null ? `, next check in ${duration(wait)}` : ''}`;
        if (o?.joined === true) return `-> ${p.cyan('JOIN')}: an on-demand rotation is already running${resolved}`;
        return '-> rotation started';
      case 'WAIT_THEN_ROTATE':
        return `-> ${p.yellow('KMS busy')} (automatic rotation running or due)${wait !== null ? `; trying again in ${duration(wait)}` : ''}`;
      case 'DONE': {
        const outcome = str(o?.outcome);
        const reason = str(o?.reason);
        return outcome ? `-> ${p.outcome(`${outcome}${reason ? ` ${reason}` : ''}`)}${resolved}${detailSuffix(o?.detail)}` : '-> done';
      }
    }
  }
  return '-> done';
}
