/**
 * KMS request quotas for the stand-in: one token bucket per operation, per account and Region,
 * as KMS applies them, and a count of every KMS call per operation and key.
 *
 * Rates are per second of SIMULATED time. The stand-in runs `speed` times faster than real time
 * (rotations, retry intervals and waits are all divided by speed), so a bucket refills at
 * `rate * speed` tokens per real second. That keeps the ratio between a quota and everything that
 * reacts to it (a Retry interval of 1 s, a rotation of 20 s) what it is in AWS: a throttled
 * request retried after one simulated second finds one simulated second's tokens, whatever the
 * speed. A bucket holds at most one second's worth of requests (`rate`, at least 1), so a burst
 * above the quota is refused within the same simulated second, as KMS does.
 */

/**
 * Default quotas (requests per second) of the KMS operations the stand-in serves, from the KMS
 * Developer Guide, "Request quotas". `null`: not enforced by the stand-in (the cryptographic
 * operations share a Region- and key-type-dependent quota; a world file may still set one).
 */
export const KMS_REQUEST_QUOTAS = {
  RotateKeyOnDemand: 5,
  ListKeyRotations: 100,
  GetKeyRotationStatus: 1000,
  DescribeKey: 2000,
  ListResourceTags: 100,
  ListAliases: 100,
  CreateKey: 5,
  ScheduleKeyDeletion: 5,
  Encrypt: null,
  Decrypt: null,
  GenerateDataKey: null,
  ReEncrypt: null,
} as const satisfies Record<string, number | null>;

export type QuotaOperation = keyof typeof KMS_REQUEST_QUOTAS;
export const QUOTA_OPERATIONS = Object.keys(KMS_REQUEST_QUOTAS) as QuotaOperation[];

/** What KMS answers when a request is over its quota (HTTP 400, `__type` ThrottlingException). */
export const THROTTLING_MESSAGE = 'You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.';

/** A token bucket refilled continuously at `perMs` tokens per real millisecond, up to `capacity`. */
class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly capacity: number,
    private readonly perMs: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.last = now;
  }

  /** Takes one token if there is one. */
  take(now: number): boolean {
    this.tokens = Math.min(this.capacity, this.tokens + Math.max(0, now - this.last) * this.perMs);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** The request quotas of one stand-in: defaults, overridden per operation by the world file. */
export class RequestQuotas {
  private readonly rates: Partial<Record<string, number>>;
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    overrides: Partial<Record<QuotaOperation, number>>,
    private readonly speed: number,
    private readonly clock: () => number = Date.now,
  ) {
    const defaults: [string, number | null][] = Object.entries(KMS_REQUEST_QUOTAS);
    this.rates = { ...Object.fromEntries(defaults.filter(([, rate]) => rate !== null)), ...overrides };
  }

  /** True if KMS would accept this request now (and takes its token); false: ThrottlingException. */
  admit(account: string, region: string, operation: string): boolean {
    const rate = this.rates[operation];
    if (rate === undefined) return true;
    const id = `${account}/${region}/${operation}`;
    const now = this.clock();
    let bucket = this.buckets.get(id);
    if (!bucket) {
      bucket = new TokenBucket(Math.max(1, rate), (rate * this.speed) / 1000, now);
      this.buckets.set(id, bucket);
    }
    return bucket.take(now);
  }
}

/** Per operation, per key (the key's ARN when it resolves, else the KeyId as sent; `-` for none). */
export type CallCounts = Record<string, Record<string, number>>;

/** Every KMS call the stand-in received: those it served (successfully or not) and those throttled. */
export interface KmsCallCounters {
  /** Calls within the quota, which KMS acted on (a fault or a KMS error still counts). */
  served: CallCounts;
  /** Calls refused with ThrottlingException by the request quota. */
  throttled: CallCounts;
  /** The total of `throttled`. */
  throttles: number;
}

/** Counts KMS calls per operation and key (see KmsCallCounters). */
export class CallCounter {
  private readonly served: CallCounts = {};
  private readonly throttled: CallCounts = {};
  private throttles = 0;

  count(operation: string, key: string, wasThrottled: boolean): void {
    const table = wasThrottled ? this.throttled : this.served;
    const perKey = (table[operation] ??= {});
    perKey[key] = (perKey[key] ?? 0) + 1;
    if (wasThrottled) this.throttles += 1;
  }

  /** A copy, safe to keep while the stand-in goes on counting. */
  snapshot(): KmsCallCounters {
    return { served: structuredClone(this.served), throttled: structuredClone(this.throttled), throttles: this.throttles };
  }
}
