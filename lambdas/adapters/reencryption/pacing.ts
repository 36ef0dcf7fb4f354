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
 * KMS counts its request quotas per second ("quotas for the number of API operations requested in
 * each second", KMS Developer Guide, "Request quotas"); it does not say whether the second is a
 * fixed or a sliding one, so the pacer takes the strict reading: ANY window of this length.
 */
export const KMS_QUOTA_WINDOW_MS = 1000;

/**
 * The KMS request pace of one batch: at most `floor(requestsPerSecond)` requests in ANY window of
 * one second, by construction, whatever the latency of the calls and however they are retried.
 *
 * A request is counted from the moment it is admitted until one window after the call that caused
 * it ENDED: KMS receives it at some unknown moment in between (S3's requests on the bucket's behalf
 * happen while S3 handles the call, not when it is sent), so only a request whose call ended a full
 * window before a new one is admitted can never share a one-second window with it. Admission is
 * first come, first served. `drain()` at the end of a batch waits until no request of the batch can
 * share a window with the next batch's (the Distributed Map starts the next child in the same slot
 * as soon as this one ends), so that concurrency x per-child share bounds the whole map run.
 *
 * A single call that causes more requests than one window holds (more than `requestsPerSecond`)
 * is admitted alone, into an empty window: it cannot be split, and refusing it would leave the
 * object under the exposed key. With the shares reencryptionPacing gives (5 or more per child when
 * the rate is 10 or more) no call of the re-encryption paths is that large.
 */
export class KmsPacer {
  /** Requests one window holds. */
  readonly budget: number;
  /** End times of the calls of the requests still counted, oldest first (one entry per request). */
  private readonly ends: number[] = [];
  private inFlight = 0;
  /** Admissions in arrival order. */
  private queue: Promise<void> = Promise.resolve();
  /** Waiters for a call to end (their room depends on in-flight requests becoming countable). */
  private waiters: (() => void)[] = [];

  constructor(
    requestsPerSecond: number,
    private readonly clock: Clock = realClock,
  ) {
    if (!(requestsPerSecond >= 1) || !Number.isFinite(requestsPerSecond))
      throw new Error(
        `KmsPacer: the rate must be a number of at least 1 request per second (got ${requestsPerSecond})`,
      );
    this.budget = Math.floor((requestsPerSecond * KMS_QUOTA_WINDOW_MS) / 1000);
  }

  /** Run `fn`, a call that causes `requests` KMS requests, once they fit the pace; they count until a window after it ends. */
  async paced<T>(requests: number, fn: () => Promise<T>): Promise<T> {
    if (!(requests > 0)) return fn();
    const admitted = this.queue.then(() => this.waitForRoom(requests));
    this.queue = admitted.catch(() => undefined);
    await admitted;
    try {
      return await fn();
    } finally {
      this.ended(requests);
    }
  }

  /** Wait until no request admitted so far can share a window with a request sent after this. */
  async drain(): Promise<void> {
    await this.queue;
    while (this.inFlight > 0) await new Promise<void>((wake) => this.waiters.push(wake));
    const last = this.ends[this.ends.length - 1];
    if (last === undefined) return;
    const left = last + KMS_QUOTA_WINDOW_MS - this.clock.now();
    if (left > 0) await this.clock.sleep(left);
  }

  private async waitForRoom(requests: number): Promise<void> {
    const needed = Math.min(requests, this.budget);
    for (;;) {
      const now = this.clock.now();
      this.forgetOlderThan(now - KMS_QUOTA_WINDOW_MS);
      const excess = this.inFlight + this.ends.length + needed - this.budget;
      if (excess <= 0) {
        this.inFlight += requests;
        return;
      }
      // The oldest ended calls leave the window first; requests still in flight only after they end.
      if (this.ends.length >= excess) await this.clock.sleep(this.ends[excess - 1]! + KMS_QUOTA_WINDOW_MS - now);
      else await new Promise<void>((wake) => this.waiters.push(wake));
    }
  }

  private ended(requests: number): void {
    const now = this.clock.now();
    this.inFlight -= requests;
    for (let i = 0; i < requests; i++) this.ends.push(now);
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** A request whose call ended at or before `cutoff` is a full window before any request admitted now. */
  private forgetOlderThan(cutoff: number): void {
    let n = 0;
    while (n < this.ends.length && this.ends[n]! <= cutoff) n++;
    if (n) this.ends.splice(0, n);
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

/**
 * Network failures the AWS SDK's own retry strategy treats as transient (@smithy's
 * service-error-classification: NODEJS_TIMEOUT_ERROR_CODES; "socket hang up" is ECONNRESET), and
 * the server errors S3 and KMS document as "try again" (500 InternalError, 502, 504; 503 is a
 * throttle above). The handler's clients run with SDK retries off so that every attempt is paced
 * and charged here; without this a reset connection would fail the object.
 */
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT']);
const TRANSIENT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'InternalError']);
const TRANSIENT_STATUS = new Set([500, 502, 504]);

/**
 * Whether an error is a transient failure worth another attempt (not a throttle). The writes that
 * replace an object are conditional on the destination (IfMatch), so repeating one whose answer
 * was lost can only be refused (412) and reported as changed, never overwrite anything; a repeated
 * CreateMultipartUpload leaves the first upload to the bucket's AbortIncompleteMultipartUpload
 * rule (docs/reencryption.md).
 */
export function isTransient(e: unknown): boolean {
  const err = e as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  if (!err) return false;
  if (err.code && TRANSIENT_CODES.has(err.code)) return true;
  if (err.name && TRANSIENT_NAMES.has(err.name)) return true;
  return TRANSIENT_STATUS.has(err.$metadata?.httpStatusCode ?? 0);
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
 * Run `fn`, retrying it while it is throttled or fails transiently (exponential back-off, full
 * jitter), at most `policy.maxAttempts` times; `onThrottle` counts each throttle retried. Any
 * other error, and the last attempt's, propagate.
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
      const throttled = isThrottle(e);
      if ((!throttled && !isTransient(e)) || attempt + 1 >= policy.maxAttempts) throw e;
      if (throttled) onThrottle();
      await clock.sleep(random() * Math.min(policy.capMs, policy.baseMs * 2 ** attempt));
    }
  }
}
