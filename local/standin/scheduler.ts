/**
 * Wall-clock timers for simulated background work (rotations completing). Every timer is unref'd
 * (it never keeps the process alive) and `clear()` cancels them all (StandIn.close()).
 *
 * The stand-in ALSO settles due events lazily at the start of every request, so a request that
 * arrives a few milliseconds after a completion time sees the completed state even if the timer
 * callback has not run yet; the timers only make state change without any request.
 */
export class Scheduler {
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  /** Longest delay setTimeout accepts; later events are settled lazily only. */
  static readonly MAX_DELAY_MS = 2 ** 31 - 1;

  at(timeMs: number, fn: () => void): void {
    if (this.closed) return;
    const delay = Math.max(0, timeMs - Date.now());
    if (delay > Scheduler.MAX_DELAY_MS) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.closed) fn();
    }, delay);
    t.unref();
    this.timers.add(t);
  }

  get pending(): number {
    return this.timers.size;
  }

  clear(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
