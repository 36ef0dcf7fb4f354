import fc from 'fast-check';
import { pollDelaySeconds } from '../../lambdas/domain/backoff';

/** The waits pollDelaySeconds gives until `totalSeconds` have elapsed, as the workflow's poll loop takes them. */
function pollSchedule(initialSeconds: number, maxSeconds: number, totalSeconds: number): number[] {
  const waits: number[] = [];
  let elapsed = 0;
  for (let attempt = 0; elapsed < totalSeconds && attempt < 10_000; attempt++) {
    const wait = pollDelaySeconds(attempt, initialSeconds, maxSeconds, totalSeconds - elapsed);
    waits.push(wait);
    elapsed += wait;
  }
  return waits;
}

describe('pollDelaySeconds', () => {
  it('doubles from the initial wait up to the maximum', () => {
    // Act
    const waits = [0, 1, 2, 3, 4, 5, 6, 20].map((attempt) => pollDelaySeconds(attempt, 5, 60));

    // Assess
    expect(waits).toEqual([5, 10, 20, 40, 60, 60, 60, 60]);
  });

  it('treats a negative attempt as the first', () => {
    expect(pollDelaySeconds(-3, 5, 60)).toBe(5);
  });

  it('stays finite for huge attempt numbers', () => {
    expect(pollDelaySeconds(10_000, 5, 900)).toBe(900);
  });

  it('never waits past the deadline (plus one second, so the next poll sees it passed)', () => {
    // Act / Assess
    expect(pollDelaySeconds(4, 5, 60, 12)).toBe(13);
    expect(pollDelaySeconds(4, 5, 60, 12.2)).toBe(14);
    expect(pollDelaySeconds(0, 5, 60, 100)).toBe(5);
  });

  it('waits at least one second, even past the deadline or with a zero initial wait', () => {
    expect(pollDelaySeconds(3, 5, 60, -50)).toBe(1);
    expect(pollDelaySeconds(0, 5, 60, 0)).toBe(1);
    expect(pollDelaySeconds(0, 0, 60)).toBe(1);
  });

  it('returns whole seconds for fractional settings (SecondsPath needs an integer)', () => {
    expect(pollDelaySeconds(0, 2.4, 60)).toBe(2);
    expect(pollDelaySeconds(1, 2.4, 60)).toBe(5);
  });

  it('property: integer, >= 1, <= max(maxSeconds, 1), within the deadline + 1, never shrinking with the attempt', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 1, max: 600 }),
        fc.integer({ min: 1, max: 3600 }),
        fc.double({ min: -100, max: 10_000, noNaN: true }),
        (attempt, initial, max, toDeadline) => {
          // Act
          const wait = pollDelaySeconds(attempt, initial, max, toDeadline);
          const unbounded = pollDelaySeconds(attempt, initial, max);
          const nextUnbounded = pollDelaySeconds(attempt + 1, initial, max);

          // Assess
          expect(Number.isInteger(wait)).toBe(true);
          expect(wait).toBeGreaterThanOrEqual(1);
          expect(wait).toBeLessThanOrEqual(Math.max(1, max));
          expect(wait).toBeLessThanOrEqual(Math.max(1, Math.ceil(toDeadline) + 1));
          expect(wait).toBeLessThanOrEqual(unbounded);
          expect(nextUnbounded).toBeGreaterThanOrEqual(unbounded);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('pollSchedule', () => {
  it('starts 5, 10, 20, 40, 60, 60 and covers the whole hour', () => {
    // Act
    const waits = pollSchedule(5, 60, 3600);
    const total = waits.reduce((a, b) => a + b, 0);

    // Assess
    expect(waits.slice(0, 6)).toEqual([5, 10, 20, 40, 60, 60]);
    expect(total).toBeGreaterThanOrEqual(3600);
    // It stops as soon as the hour is covered: without the last wait it was not yet.
    expect(total - waits[waits.length - 1]).toBeLessThan(3600);
    expect(waits.every((w) => Number.isInteger(w) && w >= 1 && w <= 60)).toBe(true);
  });

  it('is empty for no time at all', () => {
    expect(pollSchedule(5, 60, 0)).toEqual([]);
  });

  it('property: covers the total and stops right after', () => {
    fc.assert(
      // max >= 10 s keeps a day under pollSchedule's 10,000-attempt safety cap.
      fc.property(fc.integer({ min: 1, max: 120 }), fc.integer({ min: 10, max: 900 }), fc.integer({ min: 1, max: 24 * 3600 }), (initial, max, total) => {
        // Act
        const waits = pollSchedule(initial, max, total);
        const sum = waits.reduce((a, b) => a + b, 0);

        // Assess
        expect(sum).toBeGreaterThanOrEqual(total);
        expect(sum - waits[waits.length - 1]).toBeLessThan(total);
      }),
      { numRuns: 200 },
    );
  });
});
