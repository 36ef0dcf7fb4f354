import type { Paint, Writer } from '../io';
import { shortKey, type Home } from '../keys';
import { clean } from '../sanitise';
import { causeSuffix, clockTime, describeExit, duration, type ExitMemo } from './describe';
import { arrayLength, causeText, obj, str, type TraceEvent } from './events';
import { STATE } from '../../lambdas/domain/workflow-states';

/** States whose entering and leaving say nothing a person needs (routing only). */
const QUIET_TYPES = new Set(['Choice', 'Succeed']);

export interface LiveTraceOptions {
  /** Where trace lines go. */
  out: Writer;
  paint: Paint;
  /** A terminal for the status line (spinner, countdowns), or null for none. */
  status?: Writer | null;
  /** Keys in this account and Region are shown as `key/<id>`. */
  home?: Home | null;
  /**
   * Simulated seconds per real second (a local simulation): a wait is shown with its scaled length.
   * Event times are already simulated (the runner's history counts simulated time), so elapsed
   * times are their differences, never multiplied.
   */
  speed?: number;
  /** Wall clock in ms (tests). */
  clock?: () => number;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
/** Wide enough for every state name of the workflow but WaitBeforeRetryingRotation. */
const STATE_WIDTH = 20;

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
        if (e.type === 'Map' && e.state === STATE.reencryptTarget) {
          const unit = obj(obj(obj(e.input)?.reencryption)?.current);
          return this.line(
            e.at,
            e.state,
            str(unit?.keyArn) ?? null,
            `started: listing ${str(unit?.type) ?? ''} s3://${str(unit?.bucket) ?? ''}/${str(unit?.prefix) ?? ''}`,
          );
        }
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
          return this.line(
            e.at,
            e.state,
            e.key,
            p.red(`-> error ${str(caught.Error)}${causeSuffix(causeText(caught.Cause))}`),
          );
        }
        this.errors.delete(contextKey);
        return this.line(
          e.at,
          e.state,
          e.key,
          describeExit(e.state, e.type, e.output, this.opts.home ?? null, p, this.memo),
        );
      }
      case 'wait': {
        const real = e.realSeconds;
        const text =
          real === null
            ? 'waiting'
            : this.speed !== 1 && e.seconds !== null
              ? `waiting ${duration(real)} (scaled from ${duration(e.seconds)})`
              : `waiting ${duration(real)}`;
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
        return this.line(
          e.at,
          e.state,
          e.key,
          p.yellow(`retried after ${error ?? 'an error'}${e.attempt ? ` (retry ${e.attempt})` : ''}`),
        );
      }
      case 'approval': {
        const reason = e.reason ? ` (${clean(e.reason)})` : '';
        if (e.decision === 'timeout')
          return this.line(e.at, e.state, e.key, p.dim('nobody answers: the gate waits for its timeout'));
        const who = e.by ? clean(e.by) : 'someone';
        if (e.statusCode === 200)
          return this.line(
            e.at,
            e.state,
            e.key,
            `${e.decision === 'approve' ? p.green('approved') : p.yellow('denied')} by ${who}${reason}`,
          );
        return this.line(
          e.at,
          e.state,
          e.key,
          p.red(
            `${e.decision} by ${who} refused by the front door (${e.statusCode ?? 'no answer'}${e.message ? `: ${clean(e.message)}` : ''}); the gate keeps waiting`,
          ),
        );
      }
      case 'succeeded':
        return this.line(e.at, 'Execution', null, p.outcome('SUCCEEDED'));
      case 'failed':
        return this.line(
          e.at,
          'Execution',
          null,
          `${p.outcome(e.status)}${e.error ? ` ${e.error}` : ''}${causeSuffix(e.cause)}`,
        );
    }
  }

  private line(at: number, state: string, key: string | null, text: string): void {
    const elapsed = this.startedAt === null ? 0 : (at - this.startedAt) / 1000;
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
