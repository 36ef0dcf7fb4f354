import {
  isThrottle,
  isTransient,
  KmsPacer,
  retryThrottled,
  type Clock,
} from '../../lambdas/adapters/reencryption/pacing';
import { KMS_REQUESTS, reencryptionPacing } from '../../lambdas/domain/reencryption';

/** A fake clock: sleepers wake in time order; time jumps to each wake-up (no real waiting). */
function fakeClock(): Clock & { sleeps: number[]; drive<T>(work: Promise<T>): Promise<T> } {
  let now = 0;
  const sleeps: number[] = [];
  const timers: { at: number; wake: () => void }[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: (ms) => {
      sleeps.push(ms);
      return new Promise<void>((wake) => timers.push({ at: now + ms, wake }));
    },
    async drive(work) {
      let done = false;
      const result = work.finally(() => {
        done = true;
      });
      while (!done) {
        await new Promise((r) => setImmediate(r));
        timers.sort((a, b) => a.at - b.at);
        const next = timers.shift();
        if (next) {
          now = Math.max(now, next.at);
          next.wake();
        }
      }
      return result;
    },
  };
}

/** A seeded generator (mulberry32): the same latencies on every run. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The most requests in any half-open window [t, t + windowMs) of the sorted times. */
function busiestWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[j]! <= sorted[i]! - windowMs) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

/**
 * A whole map run on the fake clock: `slots` children at once (MaxConcurrency), each slot running
 * `childrenPerSlot` children one after the other, each child a batch of `objects` objects, 4 in
 * flight, each object a HEAD (1 KMS request) and a copy (2), paced at the child's share. KMS
 * receives each request at a random moment while its call is in flight (latency up to `latencyMs`):
 * the returned times are when KMS saw them.
 */
async function mapRunOnFakeClock(rate: number, latencyMs: number, objects = 12, childrenPerSlot = 3) {
  const clock = fakeClock();
  const random = seeded(18);
  const { maxConcurrency, childKmsRequestsPerSecond } = reencryptionPacing(rate);
  const seen: number[] = [];
  const call = async (requests: number) => {
    const latency = random() * latencyMs;
    const arrival = random() * latency;
    await clock.sleep(arrival);
    for (let i = 0; i < requests; i++) seen.push(clock.now());
    await clock.sleep(latency - arrival);
  };
  const child = async () => {
    const pacer = new KmsPacer(childKmsRequestsPerSecond, clock);
    let next = 0;
    const worker = async () => {
      while (next < objects) {
        next++;
        await pacer.paced(KMS_REQUESTS.checksumHead, () => call(KMS_REQUESTS.checksumHead));
        await pacer.paced(KMS_REQUESTS.copy, () => call(KMS_REQUESTS.copy));
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    await pacer.drain();
  };
  const slot = async () => {
    for (let i = 0; i < childrenPerSlot; i++) await child();
  };
  await clock.drive(Promise.all(Array.from({ length: maxConcurrency }, slot)));
  return { seen, elapsedMs: clock.now() };
}

describe('KmsPacer', () => {
  test.each([
    [100, 0],
    [100, 400],
    [105, 250],
    [7, 900],
  ])(
    'configured %d requests/s, calls up to %d ms long: no one-second window of the whole map run holds more',
    async (rate, latencyMs) => {
      const { seen } = await mapRunOnFakeClock(rate, latencyMs);
      expect(seen.length).toBeGreaterThan(rate * 3);
      expect(busiestWindow(seen, 1000)).toBeLessThanOrEqual(rate);
      expect(busiestWindow(seen, 10_000)).toBeLessThanOrEqual(rate * 10);
    },
  );

  test('with instant calls a child spends its whole share: the pace is the limit, not a fraction of it', async () => {
    const { seen, elapsedMs } = await mapRunOnFakeClock(100, 0, 100, 1);
    // 10 children x 100 objects x 3 requests at 100/s: 30 s, the drain's last second included.
    expect(seen).toHaveLength(3000);
    expect(elapsedMs).toBeLessThanOrEqual(31_000);
    expect(busiestWindow(seen, 1000)).toBe(100);
  });

  test('a call larger than a window is admitted alone and the window after it stays empty', async () => {
    const clock = fakeClock();
    const pacer = new KmsPacer(2, clock);
    const at: number[] = [];
    const send = (n: number) => pacer.paced(n, async () => void at.push(clock.now()));
    await clock.drive(Promise.all([send(1), send(5), send(1)]));
    expect(at).toEqual([0, 1000, 2000]);
  });
});

describe('retryThrottled', () => {
  test('throttles are retried with full-jitter exponential back-off and counted; lasting errors are not retried', async () => {
    const clock = fakeClock();
    let throttles = 0;
    let calls = 0;
    const out = await clock.drive(
      retryThrottled(
        async () => {
          if (++calls <= 3) throw Object.assign(new Error('x'), { name: 'SlowDown' });
          return 'ok';
        },
        () => throttles++,
        { maxAttempts: 5, baseMs: 100, capMs: 250 },
        clock,
        () => 1,
      ),
    );
    expect(out).toBe('ok');
    expect(throttles).toBe(3);
    expect(clock.sleeps).toEqual([100, 200, 250]);
    await expect(
      retryThrottled(
        async () => {
          throw Object.assign(new Error('boom'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
        },
        () => throttles++,
        undefined,
        clock,
      ),
    ).rejects.toThrow('boom');
    expect(throttles).toBe(3);
  });

  test.each<[string, unknown, boolean]>([
    ['KMS ThrottlingException', { name: 'ThrottlingException' }, true],
    ['S3 SlowDown', { name: 'SlowDown', $metadata: { httpStatusCode: 503 } }, true],
    ['HEAD 503 without body', { name: 'Unknown', $metadata: { httpStatusCode: 503 } }, true],
    [
      'Encryption SDK decrypt',
      {
        name: 'Error',
        message:
          'Unable to decrypt data key and one or more KMS CMKs had an error. \n  Error #1 \n ThrottlingException: You have exceeded the rate',
      },
      true,
    ],
    [
      '200 with an InternalError body (the client makes it 503)',
      { name: 'InternalError', $metadata: { httpStatusCode: 503 } },
      false,
    ],
    ['AccessDenied', { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }, false],
  ])('isThrottle: %s', (_, e, expected) => expect(isThrottle(e)).toBe(expected));

  test('a reset connection is retried with the same back-off, and not counted as a throttle', async () => {
    // Given: the first two attempts lose their connection the way Node's client reports it.
    const clock = fakeClock();
    let throttles = 0;
    let calls = 0;

    // When
    const out = await clock.drive(
      retryThrottled(
        async () => {
          if (++calls <= 2) throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
          return 'ok';
        },
        () => throttles++,
        { maxAttempts: 5, baseMs: 100, capMs: 250 },
        clock,
        () => 1,
      ),
    );

    // Then
    expect(out).toBe('ok');
    expect([calls, throttles]).toEqual([3, 0]);
    expect(clock.sleeps).toEqual([100, 200]);
  });

  test.each<[string, unknown, boolean]>([
    ['socket hang up', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), true],
    ['broken pipe', { name: 'Error', code: 'EPIPE' }, true],
    ['SDK timeout', { name: 'TimeoutError' }, true],
    [
      '200 with an InternalError body (the client makes it 503)',
      { name: 'InternalError', $metadata: { httpStatusCode: 503 } },
      true,
    ],
    ['502 from a front end', { name: 'Unknown', $metadata: { httpStatusCode: 502 } }, true],
    ['AccessDenied', { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }, false],
    ['412 PreconditionFailed', { name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } }, false],
    ['NoSuchKey', { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } }, false],
  ])('isTransient: %s', (_, e, expected) => expect(isTransient(e)).toBe(expected));
});
