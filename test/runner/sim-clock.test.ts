import { setTimeout as sleep } from 'node:timers/promises';
import { realClock } from '../../lambdas/adapters/reencryption/pacing';
import { installSimulatedClock, SimClock } from '../../local/runner/sim-clock';

/**
 * The children's simulated clock: `speed` compresses waiting, never work. What the Express cap,
 * the Tasks' timeouts and the functions' remaining time count (local/README.md).
 */

function busy(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // real work: the CPU is busy, nothing sleeps
  }
}

test("a handler's work counts 1:1 whatever the speed; its sleeps are compressed by speed", async () => {
  for (const speed of [10, 1000]) {
    const clock = new SimClock(speed, 0);
    await clock.work(async () => {
      busy(100);
      await clock.sleep(5_000);
    });
    const elapsed = clock.now();
    // 100 ms of work + 5 simulated seconds of sleep (+ the real time of the steps themselves, which
    // a loaded machine stretches). Work multiplied by the speed would be 6,100 at speed 10 and
    // 105,000 at 1000: the bounds leave room for scheduling noise and still catch that.
    expect(elapsed).toBeGreaterThanOrEqual(5_100);
    expect(elapsed).toBeLessThan(5_100 + (speed === 10 ? 800 : 20_000));
  }
});

test("work done while another call sleeps is not compressed past the sleeper's wake-up", async () => {
  const clock = new SimClock(1000, 0);
  await clock.work(async () => {
    await Promise.all([clock.sleep(1_000), (async () => busy(300))()]);
    busy(300);
  });
  // The 1 s sleep ends at 1 s; the 600 ms of work beyond it is not multiplied by 1000 (that would
  // be 600,000 ms): the bound leaves room for a loaded machine's scheduling noise.
  expect(clock.now()).toBeGreaterThanOrEqual(1_000);
  expect(clock.now()).toBeLessThan(1_000 + 30_000);
});

test('between handlers (retry intervals, the steps of the state machine) time passes at speed', async () => {
  const clock = new SimClock(100, 0);
  await sleep(50);
  expect(clock.now()).toBeGreaterThanOrEqual(5_000);
});

test('until() resolves true at the simulated deadline, false once stopped', async () => {
  const clock = new SimClock(1000, 0);
  expect(await clock.until(2_000)).toBe(true);
  expect(clock.now()).toBeGreaterThanOrEqual(2_000);
  let stop = false;
  const pending = clock.until(10_000_000, () => stop);
  stop = true;
  expect(await pending).toBe(false);
});

test("the handlers' clock (realClock) is the clock of the execution the call runs in, the real one elsewhere", async () => {
  installSimulatedClock();
  const clock = new SimClock(1000, Date.parse('2030-01-01T00:00:00Z'));
  const inside = await clock.work(async () => {
    await realClock.sleep(60_000); // a minute of pace: 60 real ms at speed 1000
    return realClock.now();
  });
  expect(inside).toBeGreaterThanOrEqual(Date.parse('2030-01-01T00:01:00Z'));
  expect(Math.abs(realClock.now() - Date.now())).toBeLessThan(1000);
});

test('a sleep never ends before its wake-up, however coarse the real clock', async () => {
  // Given: a clock at speed 1000, where a 2 ms real sleep stands for 2 simulated seconds.
  const clock = new SimClock(1000, 0);
  // When: many short sleeps, each of which Date.now() may measure a millisecond short.
  for (let i = 0; i < 200; i++) {
    const before = clock.now();
    await clock.sleep(2_000);
    // Then: each lasted at least its 2 simulated seconds.
    expect(clock.now() - before).toBeGreaterThanOrEqual(2_000);
  }
});

test("advanceTo moves the clock on to a later time (a map run's last child stop), never back", () => {
  const clock = new SimClock(1, 1_000);
  clock.advanceTo(3_600_000);
  const at = clock.now();
  expect(at).toBeGreaterThanOrEqual(3_600_000);
  clock.advanceTo(2_000);
  expect(clock.now()).toBeGreaterThanOrEqual(at);
});
