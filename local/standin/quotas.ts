/**
 * KMS request quotas for the stand-in: one token bucket per quota, per account and Region, as KMS
 * applies them (the symmetric cryptographic operations share one; the others have their own), and a
 * count of every KMS call per operation and key.
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
 * The quota KMS applies to the symmetric cryptographic operations TOGETHER (KMS Developer Guide,
 * "Request quotas", quota "Cryptographic operations (symmetric) request rate"): Decrypt, Encrypt,
 * GenerateDataKey, GenerateDataKeyWithoutPlaintext, GenerateMac, GenerateRandom, ReEncrypt and
 * VerifyMac draw on ONE bucket per account and Region, and so do the requests S3 and other services
 * make on the account's behalf (the page's "API requests made on your behalf"). A world file sets
 * it under this name.
 */
export const SHARED_SYMMETRIC_QUOTA = 'CryptographicOperationsSymmetric';

/** The operations the guide lists under the shared symmetric quota (the stand-in serves some of them). */
export const SHARED_SYMMETRIC_OPERATIONS: readonly string[] = [
  'Decrypt',
  'Encrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'GenerateMac',
  'GenerateRandom',
  'ReEncrypt',
  'VerifyMac',
];

/**
 * Default of the shared symmetric quota per Region (requests per second). The guide's table gives
 * 5,500 by default, 10,000 in us-east-2, ap-southeast-1, ap-southeast-2, ap-northeast-1,
 * eu-central-1 and eu-west-2, and a higher figure in us-east-1, us-west-2 and eu-west-1 (30,000 in
 * earlier versions of the page, raised since): the stand-in takes the lower, stricter figure.
 */
export function defaultSymmetricQuota(region: string): number {
  if (['us-east-1', 'us-west-2', 'eu-west-1'].includes(region)) return 30_000;
  if (['us-east-2', 'ap-southeast-1', 'ap-southeast-2', 'ap-northeast-1', 'eu-central-1', 'eu-west-2'].includes(region))
    return 10_000;
  return 5_500;
}

/**
 * Default quotas (requests per second) of the KMS operations the stand-in serves, from the KMS
 * Developer Guide, "Request quotas". `shared`: the operation draws on SHARED_SYMMETRIC_QUOTA
 * (the stand-in's keys are all symmetric), whose rate depends on the Region.
 */
export const KMS_REQUEST_QUOTAS = {
  RotateKeyOnDemand: 5,
  ListKeyRotations: 100,
  GetKeyRotationStatus: 1000,
  DescribeKey: 2000,
  ListResourceTags: 100,
  ListAliases: 100,
  // ListKeys' row could not be read offline: 100, the rate of KMS's other list operations above.
  ListKeys: 100,
  CreateKey: 5,
  ScheduleKeyDeletion: 5,
  // TagResource's row could not be read offline: 5, the rate of KMS's other key-management writes
  // (CreateKey, ScheduleKeyDeletion), the strict choice until checked against the guide.
  TagResource: 5,
  // The guide's rows for the grant operations.
  CreateGrant: 50,
  RetireGrant: 30,
  RevokeGrant: 50,
  ListGrants: 100,
  Encrypt: 'shared',
  Decrypt: 'shared',
  GenerateDataKey: 'shared',
  ReEncrypt: 'shared',
} as const satisfies Record<string, number | 'shared'>;

export type QuotaOperation = keyof typeof KMS_REQUEST_QUOTAS;
export const QUOTA_OPERATIONS = Object.keys(KMS_REQUEST_QUOTAS) as QuotaOperation[];
/** The names a world file may override: each operation with a quota of its own, and the shared symmetric quota. */
export const QUOTA_NAMES: readonly string[] = [
  ...QUOTA_OPERATIONS.filter((op) => KMS_REQUEST_QUOTAS[op] !== 'shared'),
  SHARED_SYMMETRIC_QUOTA,
];

/** The quota an operation draws on: the shared symmetric quota, or its own (named as the operation). */
export function quotaOf(operation: string): string {
  return SHARED_SYMMETRIC_OPERATIONS.includes(operation) ? SHARED_SYMMETRIC_QUOTA : operation;
}

/** What KMS answers when a request is over its quota (HTTP 400, `__type` ThrottlingException). */
export const THROTTLING_MESSAGE =
  'You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.';

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

/** The request quotas of one stand-in: defaults, overridden per quota by the world file. */
export class RequestQuotas {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly overrides: Partial<Record<string, number>>,
    private readonly speed: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Requests per second of `quota` in `region`: the world's override, else the documented default (undefined: none). */
  rateOf(quota: string, region: string): number | undefined {
    const override = this.overrides[quota];
    if (override !== undefined) return override;
    if (quota === SHARED_SYMMETRIC_QUOTA) return defaultSymmetricQuota(region);
    const rate = (KMS_REQUEST_QUOTAS as Record<string, number | 'shared'>)[quota];
    return typeof rate === 'number' ? rate : undefined;
  }

  /** True if KMS would accept this request now (and takes its token from the quota it draws on); false: ThrottlingException. */
  admit(account: string, region: string, operation: string): boolean {
    const quota = quotaOf(operation);
    const rate = this.rateOf(quota, region);
    if (rate === undefined) return true;
    const id = `${account}/${region}/${quota}`;
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
    return {
      served: structuredClone(this.served),
      throttled: structuredClone(this.throttled),
      throttles: this.throttles,
    };
  }
}
