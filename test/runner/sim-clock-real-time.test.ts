import { SimClock } from '../../local/runner/sim-clock';

test('at speed 1 the simulated clock never runs ahead of real time, however many timers fire early', async () => {
  // Given: a clock at speed 1, the stand-in's own pace (it counts real time x speed).
  const start = Date.now();
  const clock = new SimClock(1, start);
  // When: a handler sleeps many times for a millisecond or three (a pacer's waits), each timer
  // possibly firing a millisecond early by Date.now().
  await clock.work(async () => {
    for (let i = 0; i < 800; i++) await clock.sleep(1 + (i % 3));
  });
  // Then: the clock is where real time is (a whole-millisecond reading apart at most), not ahead
  // by the early timers added up.
  expect(clock.now() - Date.now()).toBeLessThanOrEqual(1);
});
