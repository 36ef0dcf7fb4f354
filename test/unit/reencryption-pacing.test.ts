import { isThrottle, KmsPacer, retryThrottled, type Clock } from '../../lambdas/adapters/pacing';

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

describe('KmsPacer', () => {
  test('40 objects of 2 requests at 20 requests/s take (40-1) x 100 ms, whatever the concurrency', async () => {
    const clock = fakeClock();
    const pacer = new KmsPacer(20, clock);
    const starts: number[] = [];
    const worker = async (n: number) => {
      for (let i = 0; i < n; i++) {
        await pacer.take(2);
        starts.push(clock.now());
      }
    };
    await clock.drive(Promise.all([worker(10), worker(10), worker(10), worker(10)]));
    expect(starts).toHaveLength(40);
    expect(Math.max(...starts)).toBe(3900);
    // Never more than one object's requests within any 100 ms.
    const sorted = [...starts].sort((a, b) => a - b);
    sorted.slice(1).forEach((t, i) => expect(t - sorted[i]).toBeGreaterThanOrEqual(100 - 1e-9));
  });
});

describe('retryThrottled', () => {
  test('throttles are retried with full-jitter exponential back-off and counted; other errors are not retried', async () => {
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
          throw Object.assign(new Error('boom'), { name: 'InternalError', $metadata: { httpStatusCode: 503 } });
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
});
