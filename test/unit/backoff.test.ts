import fc from 'fast-check';
import {
  confirmation,
  confirmationBoundSeconds,
  pollDelaySeconds,
  pollTimes,
  type PollSettings,
} from '../../lambdas/domain/rotation/backoff';
import { parseSettings } from '../../lib/settings/settings';

/** The defaults (lib/settings/settings.ts): shortest wait 10 s, longest 300 s. */
const DEFAULTS: PollSettings = {
  shortestSeconds: parseSettings({}).pollInitialSeconds,
  maxSeconds: parseSettings({}).pollMaxSeconds,
};

/** The waits of the whole schedule until `totalSeconds` have elapsed (for docs, the CLI and tests). */
function pollSchedule(poll: PollSettings, totalSeconds: number): number[] {
  const times = pollTimes(poll, totalSeconds);
  return times.map((t, i) => t - (i === 0 ? 0 : times[i - 1]!));
}

describe('pollDelaySeconds', () => {
  it('waits the shortest time early, then 15 % of the elapsed time, up to the maximum', () => {
    // When
    const waits = [0, 30, 66, 67, 100, 600, 1999, 2000, 100_000].map((elapsed) => pollDelaySeconds(elapsed, DEFAULTS));

    // Then
    expect(DEFAULTS).toEqual({ shortestSeconds: 10, maxSeconds: 300 });
    expect(waits).toEqual([10, 10, 10, 10, 15, 90, 299, 300, 300]);
  });

  it('never waits past the deadline (plus one second, so the next look sees it passed)', () => {
    expect(pollDelaySeconds(600, DEFAULTS, 12)).toBe(13);
    expect(pollDelaySeconds(600, DEFAULTS, 12.2)).toBe(14);
    expect(pollDelaySeconds(0, DEFAULTS, 100)).toBe(10);
  });

  it('waits at least one whole second, even past the deadline, for a negative or non-finite elapsed time', () => {
    expect(pollDelaySeconds(600, DEFAULTS, -50)).toBe(1);
    expect(pollDelaySeconds(0, DEFAULTS, 0)).toBe(1);
    expect(pollDelaySeconds(-30, { shortestSeconds: 1, maxSeconds: 60 })).toBe(1);
    expect(pollDelaySeconds(Number.NaN, DEFAULTS)).toBe(10);
  });

  it('property: a whole number of seconds >= 1, within [shortest, max] and the deadline + 1, never above max(shortest, 15 % of elapsed)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 200_000, noNaN: true }),
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 3600 }),
        fc.double({ min: -100, max: 100_000, noNaN: true }),
        (elapsed, shortest, longest, toDeadline) => {
          const poll = { shortestSeconds: shortest, maxSeconds: Math.max(shortest, longest) };

          // When
          const wait = pollDelaySeconds(elapsed, poll, toDeadline);
          const later = pollDelaySeconds(elapsed + 1, poll);

          // Then
          expect(Number.isInteger(wait)).toBe(true);
          expect(wait).toBeGreaterThanOrEqual(1);
          expect(wait).toBeLessThanOrEqual(poll.maxSeconds);
          expect(wait).toBeLessThanOrEqual(Math.max(shortest, 0.15 * elapsed));
          expect(wait).toBeLessThanOrEqual(Math.max(1, Math.ceil(toDeadline) + 1));
          expect(later).toBeGreaterThanOrEqual(pollDelaySeconds(elapsed, poll));
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('the 15 % rule: a rotation of 5 s to 10 min is confirmed within max(10 s, 15 % of its duration)', () => {
  const durations = [5, 6, 9, 10, 11, 15, 20, 30, 45, 60, 66, 67, 90, 120, 180, 240, 300, 420, 599, 600];
  test.each(durations)('%i s rotation, default settings', (duration) => {
    // When
    const { delaySeconds, polls } = confirmation(duration, DEFAULTS);

    // Then
    expect(delaySeconds).toBeGreaterThanOrEqual(0);
    expect(delaySeconds).toBeLessThanOrEqual(confirmationBoundSeconds(duration));
    expect(polls).toBeGreaterThanOrEqual(1);
  });

  it('property: every duration from 5 s to 600 s (fractions included), for any shortest wait <= 10 s and maximum', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 5, max: 600, noNaN: true }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 10, max: 3600 }),
        (duration, shortest, longest) => {
          // When
          const { delaySeconds } = confirmation(duration, { shortestSeconds: shortest, maxSeconds: longest });

          // Then
          expect(delaySeconds).toBeLessThanOrEqual(Math.max(10, 0.15 * duration));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('the old doubling back-off (5 s doubling to 60 s) missed it between ~20 s and ~5 min: the check would catch it', () => {
    // The doubling schedule's looks: 5, 15, 35, 75, 135, 195, ...: a 76 s rotation waited 59 s.
    const doublingLooks = [5, 15, 35, 75, 135, 195, 255, 315];
    const firstLookAfter = (d: number) => doublingLooks.find((t) => t >= d)!;
    expect(firstLookAfter(76) - 76).toBeGreaterThan(confirmationBoundSeconds(76));
    // The new schedule does not.
    expect(confirmation(76, DEFAULTS).delaySeconds).toBeLessThanOrEqual(confirmationBoundSeconds(76));
  });

  it('a 60 s rotation takes at most 7 looks (7 x 3 states + 15 others = 36 transitions, under 40)', () => {
    expect(confirmation(60, DEFAULTS).polls).toBeLessThanOrEqual(7);
  });
});

describe('pollSchedule / pollTimes', () => {
  it('10 s waits for the first minute, then growing 15 % a look, capped at 300 s, covering the hour', () => {
    // When
    const waits = pollSchedule(DEFAULTS, 3600);
    const total = waits.reduce((a, b) => a + b, 0);

    // Then
    expect(waits.slice(0, 9)).toEqual([10, 10, 10, 10, 10, 10, 10, 10, 12]);
    expect(Math.max(...waits)).toBe(300);
    expect(total).toBeGreaterThanOrEqual(3600);
    expect(total - waits[waits.length - 1]).toBeLessThan(3600);
    expect(waits).toHaveLength(37);
  });

  it('is empty for no time at all', () => {
    expect(pollSchedule(DEFAULTS, 0)).toEqual([]);
    expect(pollTimes(DEFAULTS, 0)).toEqual([]);
  });

  it('property: the looks cover the total and stop right after; waits sum to the look times', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 60, max: 3600 }),
        fc.integer({ min: 1, max: 24 * 3600 }),
        (shortest, longest, total) => {
          // When
          const times = pollTimes({ shortestSeconds: shortest, maxSeconds: longest }, total);
          const waits = pollSchedule({ shortestSeconds: shortest, maxSeconds: longest }, total);

          // Then
          expect(times[times.length - 1]).toBeGreaterThanOrEqual(total);
          if (times.length > 1) expect(times[times.length - 2]).toBeLessThan(total);
          expect(waits.reduce((a, b) => a + b, 0)).toBe(times[times.length - 1]);
        },
      ),
      { numRuns: 200 },
    );
  });
});
