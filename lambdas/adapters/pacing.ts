/**
 * Pacing and throttle retries for the re-encryption batches: the KMS request rate a
 * batch may spend, and exponential back-off with full jitter for throttled S3 and KMS requests.
 * Time is a parameter (Clock) so tests can run a batch on a fake clock.
 */

/** Now and sleep, replaceable in tests. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * A token bucket for KMS requests at `requestsPerSecond`, holding at most `burst` requests
 * (default: one object's worth, so the pace is smooth from the first object). Implemented as
 * reservations (GCRA): each caller learns when its requests fit and sleeps until then, so
 * concurrent callers are served in order and the rate holds whatever the concurrency.
 */
export class KmsPacer {
  private readonly msPerRequest: number;
  /** When the bucket would be full again if nothing more were taken (the "theoretical arrival time"). */
  private fullAt: number;

  constructor(
    requestsPerSecond: number,
    private readonly clock: Clock = realClock,
    private readonly burst = 1,
  ) {
    if (!(requestsPerSecond > 0) || !Number.isFinite(requestsPerSecond))
      throw new Error(`KmsPacer: the rate must be a positive number (got ${requestsPerSecond})`);
    this.msPerRequest = 1000 / requestsPerSecond;
    this.fullAt = clock.now();
  }

  /** Wait until `requests` KMS requests fit the pace, and take them. */
  async take(requests: number): Promise<void> {
    const now = this.clock.now();
    const burstMs = Math.max(this.burst, requests) * this.msPerRequest;
    this.fullAt = Math.max(this.fullAt, now) + requests * this.msPerRequest;
    const allowedAt = this.fullAt - burstMs;
    if (allowedAt > now) await this.clock.sleep(allowedAt - now);
  }
}

/**
 * Error names AWS uses for throttling: KMS `ThrottlingException` (also what the Encryption SDK
 * throws from GenerateDataKey), S3 `SlowDown` / `ServiceUnavailable` (503; S3 also answers
 * SlowDown when KMS throttles the data-key request of an SSE-KMS copy), and the generic names.
 */
const THROTTLE_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'SlowDown',
  'ServiceUnavailable',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'KMS.ThrottlingException',
]);

/**
 * Whether an error is throttling. By name first: a 200 answer with an `<Error>` body is turned
 * into a 503 by the S3 client whatever its code, so 503 alone does not mean throttling. The
 * Encryption SDK's KMS keyring reports a failed Decrypt as one Error whose message concatenates
 * the KMS errors ("Unable to decrypt data key ... ThrottlingException: ..."): read the message too.
 */
export function isThrottle(e: unknown): boolean {
  const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  if (!err) return false;
  if (err.name && THROTTLE_NAMES.has(err.name)) return true;
  const status = err.$metadata?.httpStatusCode;
  if (status === 429) return true;
  // A HEAD answer has no body: the client names a 503 (SlowDown / ServiceUnavailable) `Unknown`.
  if (status === 503 && (err.name === 'Unknown' || err.name === 'UnknownError' || err.name === '503')) return true;
  return (
    typeof err.message === 'string' &&
    /\bThrottlingException\b/.test(err.message) &&
    /Unable to decrypt data key/.test(err.message)
  );
}

export interface RetryPolicy {
  /** Attempts per request, the first included (default 10: generous, a throttle alone rarely fails an object). */
  maxAttempts: number;
  /** Back-off base and cap (full jitter: a random wait in [0, min(cap, base * 2^attempt)]). */
  baseMs: number;
  capMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 10, baseMs: 100, capMs: 20_000 };

/**
 * Run `fn`, retrying it while it is throttled (exponential back-off, full jitter), at most
 * `policy.maxAttempts` times; `onThrottle` counts each throttle retried. Any other error, and
 * the last throttle, propagate.
 */
export async function retryThrottled<T>(
  fn: () => Promise<T>,
  onThrottle: () => void,
  policy: RetryPolicy = DEFAULT_RETRY,
  clock: Clock = realClock,
  random: () => number = Math.random,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!isThrottle(e) || attempt + 1 >= policy.maxAttempts) throw e;
      onThrottle();
      await clock.sleep(random() * Math.min(policy.capMs, policy.baseMs * 2 ** attempt));
    }
  }
}
