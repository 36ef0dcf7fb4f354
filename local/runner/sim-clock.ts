import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as realSleep } from 'node:timers/promises';
import { realClock } from '../../lambdas/adapters/reencryption/pacing';

/**
 * Simulated time for an execution whose handlers do real work: `--speed` compresses WAITING, never
 * WORK. A handler's running time counts 1:1 (a handler that needs 2 s of CPU needs 2 simulated
 * seconds at any speed), and a wait of D simulated ms (a pace, a back-off, a retry interval, the
 * time between tasks) passes in D / speed real ms. So the Express cap, a Task's TimeoutSeconds and
 * a function's remaining time all count the same simulated time, and a run's outcome does not
 * depend on `--speed` (as long as the machine does the work at all).
 *
 * The clock runs at `speed` x real time while no handler runs; while handlers run, at 1 x, except
 * that a sleep in progress (a pace, a back-off) fast-forwards it to the sleep's wake-up time. Handlers reach it through realClock (lambdas/adapters/reencryption/pacing.ts), which the runner
 * points at the clock of the execution the call belongs to (AsyncLocalStorage); outside a
 * simulated execution realClock is the real clock.
 */
export class SimClock {
  private simAt: number;
  private realAt: number;
  private working = 0;
  /** The simulated wake-up time of each sleep in progress. */
  private readonly wakeUps: number[] = [];

  constructor(
    readonly speed: number,
    start = Date.now(),
  ) {
    if (!(speed > 0) || !Number.isFinite(speed))
      throw new Error(`SimClock: speed must be a positive number (got ${speed})`);
    this.simAt = start;
    this.realAt = Date.now();
  }

  /**
   * Move simulated time on by the real time since the last look: at `speed` while nothing runs
   * (between tasks: retry intervals, the library's own steps); while handlers run, at `speed` only
   * up to the latest wake-up of a sleep in progress (a sleeper fast-forwards the clock to when it
   * wakes, no further), and 1:1 beyond it, so work done meanwhile is never compressed past a wait.
   */
  private advance(): void {
    const real = Date.now();
    const elapsed = real - this.realAt;
    this.realAt = real;
    if (this.working === 0) {
      this.simAt += elapsed * this.speed;
      return;
    }
    const horizon = this.wakeUps.length ? Math.max(...this.wakeUps) : this.simAt;
    const fastForward = Math.min(elapsed * this.speed, Math.max(0, horizon - this.simAt));
    this.simAt += fastForward + (elapsed - fastForward / this.speed);
  }

  /** Simulated epoch milliseconds. */
  now(): number {
    this.advance();
    return this.simAt;
  }

  /** Sleep `ms` simulated milliseconds (ms / speed real). */
  async sleep(ms: number): Promise<void> {
    this.advance();
    const wakeUp = this.simAt + Math.max(0, ms);
    this.wakeUps.push(wakeUp);
    try {
      await realSleep(Math.max(0, ms) / this.speed);
      // Never before the wake-up: Date.now() counts whole milliseconds, so a real sleep of a few
      // ms can measure one short, which at speed 1000 is a simulated second early. Sleep on until
      // the clock gets there rather than setting it there: a clock set forward a millisecond at
      // each early timer runs ahead of real time (and, at speed 1, of the stand-in's clock), so a
      // pacer on it would send a request a window's worth early by the stand-in's count.
      for (let left = wakeUp - this.now(); left > 0; left = wakeUp - this.now()) await realSleep(left / this.speed);
    } finally {
      this.advance();
      this.wakeUps.splice(this.wakeUps.indexOf(wakeUp), 1);
    }
  }

  /** Run a handler: its running time counts 1:1, its sleeps (through realClock) at speed. */
  async work<T>(fn: () => Promise<T>): Promise<T> {
    this.advance();
    this.working++;
    try {
      return await simClocks.run(this, fn);
    } finally {
      this.advance();
      this.working--;
    }
  }

  /**
   * Move simulated time on to `at` if it is behind (never back): a parent execution whose map run
   * ended when its last child stopped, on the children's own clocks.
   */
  advanceTo(at: number): void {
    this.advance();
    this.simAt = Math.max(this.simAt, at);
  }

  /** Resolves true once simulated time reaches `at`, or false as soon as `stop()` says so (checked at each wake-up). */
  async until(at: number, stop: () => boolean = () => false): Promise<boolean> {
    for (;;) {
      if (stop()) return false;
      const left = at - this.now();
      if (left <= 0) return true;
      // The clock runs at most `speed` x: this is the earliest real time it can get there.
      await realSleep(Math.min(Math.max(1, left / this.speed), 50), undefined, { ref: false });
    }
  }
}

/** The simulated clock of the execution a handler call belongs to. */
const simClocks = new AsyncLocalStorage<SimClock>();

/** The clock of the current call's execution, if it is a simulated one. */
export function currentSimClock(): SimClock | undefined {
  return simClocks.getStore();
}

const wallNow = realClock.now;
const wallSleep = realClock.sleep;
/**
 * Point the handlers' clock (realClock) at the simulated clock of the execution each call runs in,
 * the real clock elsewhere. Idempotent; the runner calls it before it runs any handler.
 */
export function installSimulatedClock(): void {
  realClock.now = () => simClocks.getStore()?.now() ?? wallNow();
  realClock.sleep = (ms: number) => simClocks.getStore()?.sleep(ms) ?? wallSleep(ms);
}
