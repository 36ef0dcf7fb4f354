import {
  advanceReencryption,
  emptyTargetReport,
  failedBatchReport,
  MAX_LISTED_FAILURES,
  MAX_REENCRYPTION_UNITS,
  MAX_LISTED_REFUSALS,
  mergeReports,
  planReencryption,
  stepFunctionsError,
  type ReencryptionSettings,
  type ReencryptTargetSpec,
  type RotatedKeyFacts,
  type TargetReport,
} from '../../lambdas/domain/reencryption';
import type { IncidentRequest } from '../../lambdas/domain/contracts';

const KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const KEY2 = 'arn:aws:kms:us-east-1:111122223333:key/2234abcd-12ab-34cd-56ef-1234567890ab';
const rotated = (keyArn = KEY, aliases: string[] = []): RotatedKeyFacts => ({ keyArn, outcome: 'ROTATED', aliases });
const settings = (s: Partial<ReencryptionSettings> = {}): ReencryptionSettings => ({
  buckets: ['orders', 'sealed'],
  targets: {},
  auto: false,
  ...s,
});
const manual = (targets: ReencryptTargetSpec[] = [], r: Partial<IncidentRequest> = {}) => ({
  source: 'manual' as const,
  dryRun: false,
  reEncryptTargets: targets.map((t) => ({ ...t, origin: 'request' as const })),
  ...r,
});
const orders: ReencryptTargetSpec = { type: 's3-sse-kms', bucket: 'orders', prefix: '' };
const sealed: ReencryptTargetSpec = { type: 'envelope', bucket: 'sealed', prefix: 'msgs/' };

describe('planReencryption', () => {
  test('a manual request: each rotated key x each target runs, in order', () => {
    // Given / Act
    const plan = planReencryption(
      manual([orders, sealed]),
      [rotated(KEY), rotated(KEY2), { keyArn: 'x', outcome: 'SKIPPED', aliases: [] }],
      settings(),
    );
    // Then
    expect(plan.mode).toBe('RUN');
    expect(plan.units.map((u) => [u.keyArn, u.bucket, u.origin])).toEqual([
      [KEY, 'orders', 'request'],
      [KEY, 'sealed', 'request'],
      [KEY2, 'orders', 'request'],
      [KEY2, 'sealed', 'request'],
    ]);
    expect(plan).toMatchObject({
      index: 0,
      remaining: 4,
      current: plan.units[0],
      refused: [],
      reports: [],
      mapRun: null,
      mapRunError: null,
    });
  });

  test('setting targets match the key by ARN, alias name or alias ARN; duplicates collapse onto the first origin', () => {
    const plan = planReencryption(
      manual([orders]),
      [rotated(KEY, ['alias/orders']), rotated(KEY2, ['alias/other'])],
      settings({
        targets: {
          [KEY]: [orders], // the same as the request's: one unit, origin request
          'alias/orders': [{ type: 'envelope', bucket: 'sealed', prefix: '' }],
          'arn:aws:kms:us-east-1:111122223333:alias/other': [sealed],
          'arn:aws:kms:eu-west-1:111122223333:alias/other': [{ type: 'envelope', bucket: 'sealed', prefix: 'eu/' }], // another Region: not this key
          'alias/nobody': [{ type: 'envelope', bucket: 'sealed', prefix: 'nobody/' }],
        },
      }),
    );
    expect(
      plan.units.map((u) => `${u.keyArn === KEY ? 'k1' : 'k2'} ${u.type} ${u.bucket}/${u.prefix} ${u.origin}`),
    ).toEqual([
      'k1 s3-sse-kms orders/ request',
      'k1 envelope sealed/ setting',
      'k2 s3-sse-kms orders/ request',
      'k2 envelope sealed/msgs/ setting',
    ]);
  });

  test('a bucket outside reEncryptBuckets is refused with its reason; the rest still runs', () => {
    const plan = planReencryption(
      manual([orders, { type: 's3-sse-kms', bucket: 'payroll', prefix: 'x/' }]),
      [rotated()],
      settings(),
    );
    expect(plan.units.map((u) => u.bucket)).toEqual(['orders']);
    expect(plan.refused).toEqual([
      {
        type: 's3-sse-kms',
        bucket: 'payroll',
        prefix: 'x/',
        keyArn: null,
        origin: 'request',
        reason: 'BUCKET_NOT_ALLOWED',
        detail: expect.stringMatching(/payroll.*reEncryptBuckets/),
      },
    ]);
  });

  test('no key rotated: each request/finding target is refused once, KEY_NOT_ROTATED with no key; mode NONE', () => {
    const plan = planReencryption(
      manual([orders, sealed]),
      [
        { keyArn: KEY, outcome: 'FAILED', aliases: [] },
        { keyArn: KEY2, outcome: 'DRY_RUN', aliases: [] },
      ],
      settings({ targets: { [KEY]: [orders] } }),
    );
    expect(plan).toMatchObject({ mode: 'NONE', units: [], remaining: 0, current: null });
    expect(plan.refused.map((r) => [r.bucket, r.reason, r.keyArn])).toEqual([
      ['orders', 'KEY_NOT_ROTATED', null],
      ['sealed', 'KEY_NOT_ROTATED', null],
    ]);
    expect(plan.refused[0].detail).toMatch(/no key was rotated/);
  });

  test(`beyond ${MAX_REENCRYPTION_UNITS} units the rest is refused TOO_MANY_TARGETS`, () => {
    const many = Array.from({ length: MAX_REENCRYPTION_UNITS + 3 }, (_, i): ReencryptTargetSpec => ({
      type: 's3-sse-kms',
      bucket: 'orders',
      prefix: `p${i}/`,
    }));
    const plan = planReencryption(manual(many), [rotated()], settings());
    expect(plan.units).toHaveLength(MAX_REENCRYPTION_UNITS);
    expect(plan.refused.map((r) => [r.prefix, r.reason])).toEqual([
      [`p${MAX_REENCRYPTION_UNITS}/`, 'TOO_MANY_TARGETS'],
      [`p${MAX_REENCRYPTION_UNITS + 1}/`, 'TOO_MANY_TARGETS'],
      [`p${MAX_REENCRYPTION_UNITS + 2}/`, 'TOO_MANY_TARGETS'],
    ]);
  });

  test.each<[string, Partial<IncidentRequest>, boolean, string]>([
    ['manual', {}, false, 'RUN'],
    ['manual dry run', { dryRun: true }, true, 'REPORT_ONLY'],
    ['finding, autoReEncrypt off', { source: 'guardduty' }, false, 'REPORT_ONLY'],
    ['finding, autoReEncrypt on', { source: 'securityhub' }, true, 'RUN'],
  ])('mode: %s', (_, r, auto, mode) => {
    // A dry run's keys end DRY_RUN (they would have rotated): their targets are what would run.
    const key: RotatedKeyFacts = r.dryRun ? { ...rotated(), outcome: 'DRY_RUN' } : rotated();
    const plan = planReencryption(manual([orders], r), [key], settings({ auto }));
    expect(plan.mode).toBe(mode);
    expect(plan.remaining).toBe(mode === 'RUN' ? 1 : 0);
    expect(plan.current).toEqual(mode === 'RUN' ? plan.units[0] : null);
    expect(plan.units).toHaveLength(1);
  });

  test('a dry run whose key would not rotate (SKIPPED) plans nothing; a real run never re-encrypts under a DRY_RUN key', () => {
    const skipped: RotatedKeyFacts = { ...rotated(), outcome: 'SKIPPED' };
    expect(
      planReencryption(manual([orders], { dryRun: true }), [skipped], settings()).refused.map((r) => r.reason),
    ).toEqual(['KEY_NOT_ROTATED']);
    const dry: RotatedKeyFacts = { ...rotated(), outcome: 'DRY_RUN' };
    expect(planReencryption(manual([orders]), [dry], settings()).mode).toBe('NONE');
  });

  test('50 rotated keys x 20 finding buckets: a bucket refusal once per bucket (no key), at most MAX_LISTED_REFUSALS listed, the rest counted', () => {
    const keys = Array.from({ length: 50 }, (_, i) => rotated(`${KEY}-${i}`));
    const buckets = Array.from({ length: 20 }, (_, i): ReencryptTargetSpec => ({
      type: 's3-sse-kms',
      bucket: `finding-${i}`,
      prefix: '',
    }));
    const finding = {
      source: 'guardduty' as const,
      dryRun: false,
      reEncryptTargets: buckets.map((t) => ({ ...t, origin: 'finding' as const })),
    };
    const refusedOnly = planReencryption(finding, keys, settings());
    expect(refusedOnly.refused.map((r) => [r.bucket, r.keyArn, r.reason])).toEqual(
      buckets.map((b) => [b.bucket, null, 'BUCKET_NOT_ALLOWED']),
    );
    expect(refusedOnly.refusedMore).toBe(0);
    // Allowed: 1,000 candidate units, 20 run, 980 refused TOO_MANY_TARGETS of which 20 are listed.
    const allowed = planReencryption(finding, keys, settings({ buckets: buckets.map((b) => b.bucket), auto: true }));
    expect(allowed.units).toHaveLength(MAX_REENCRYPTION_UNITS);
    expect(allowed.refused).toHaveLength(MAX_LISTED_REFUSALS);
    expect(allowed.refusedMore).toBe(50 * 20 - MAX_REENCRYPTION_UNITS - MAX_LISTED_REFUSALS);
    expect(Buffer.byteLength(JSON.stringify(allowed))).toBeLessThan(32 * 1024);
  });

  test("a manual re-run inside the cooldown (SKIPPED RECENTLY_ROTATED) re-encrypts without a rotation; a finding's repeat does not", () => {
    const recent: RotatedKeyFacts = { ...rotated(), outcome: 'SKIPPED', reason: 'RECENTLY_ROTATED' };
    expect(planReencryption(manual([orders]), [recent], settings())).toMatchObject({
      mode: 'RUN',
      units: [expect.objectContaining({ keyArn: KEY })],
    });
    const otherSkip: RotatedKeyFacts = { ...rotated(), outcome: 'SKIPPED', reason: 'OPTED_OUT' };
    expect(planReencryption(manual([orders]), [otherSkip], settings()).mode).toBe('NONE');
    const finding = {
      source: 'guardduty' as const,
      dryRun: false,
      reEncryptTargets: [{ ...orders, origin: 'finding' as const }],
    };
    expect(planReencryption(finding, [recent], settings({ auto: true })).mode).toBe('NONE');
  });

  test('no targets at all: NONE', () => {
    expect(planReencryption({ source: 'guardduty', dryRun: false }, [rotated()], settings()).mode).toBe('NONE');
  });
});

const batch = (r: Partial<TargetReport>): TargetReport => ({
  ...emptyTargetReport('s3-sse-kms', 'orders', ''),
  batches: 1,
  ...r,
});

describe('mergeReports, failedBatchReport, advanceReencryption', () => {
  test('counts add, skips add per reason, failures capped, bucket keys ORed; identity and duration from the target', () => {
    const target = { ...emptyTargetReport('s3-sse-kms', 'orders', 'p/', KEY, 'setting'), durationMs: 1234 };
    const a = batch({
      objectsScanned: 5,
      objectsReencrypted: 3,
      objectsSkipped: 1,
      skippedByReason: { OTHER_KEY: 1 },
      objectsFailed: 1,
      failures: [{ key: 'k1', error: 'E' }],
      bytesReencrypted: 30,
      throttlesRetried: 2,
      durationMs: 99,
    });
    const b = batch({
      objectsScanned: 4,
      objectsSkipped: 2,
      skippedByReason: { OTHER_KEY: 1, NOT_SSE_KMS: 1 },
      objectsFailed: 2,
      failures: Array.from({ length: MAX_LISTED_FAILURES }, (_, i) => ({ key: `f${i}`, error: 'x'.repeat(1000) })),
      oldVersionsLeft: 3,
      bucketKeys: true,
      objectsChangedDuringRun: 1,
    });
    const m = mergeReports(target, a, b);
    expect(m).toMatchObject({
      keyArn: KEY,
      origin: 'setting',
      prefix: 'p/',
      durationMs: 1234,
      batches: 2,
      batchesFailed: 0,
      throttlesRetried: 2,
      objectsScanned: 9,
      objectsReencrypted: 3,
      objectsSkipped: 3,
      skippedByReason: { OTHER_KEY: 2, NOT_SSE_KMS: 1 },
      objectsFailed: 3,
      objectsChangedDuringRun: 1,
      bytesReencrypted: 30,
      oldVersionsLeft: 3,
      bucketKeys: true,
    });
    expect(m.failures).toHaveLength(MAX_LISTED_FAILURES);
    expect(m.failures[0]).toEqual({ key: 'k1', error: 'E' });
    expect(m.failures[1].error.length).toBeLessThanOrEqual(300);
  });

  test('a failed batch counts each item scanned and failed with the child error; keys bounded', () => {
    const unit = { type: 'envelope' as const, bucket: 'sealed', prefix: '', keyArn: KEY, origin: 'request' as const };
    const r = failedBatchReport(unit, ['a', 'k'.repeat(2000)], 'States.Timeout: the child timed out');
    expect(r).toMatchObject({
      type: 'envelope',
      keyArn: KEY,
      batches: 1,
      batchesFailed: 1,
      objectsScanned: 2,
      objectsFailed: 2,
    });
    expect(r.failures[0]).toEqual({ key: 'a', error: 'States.Timeout: the child timed out' });
    expect(r.failures[1].key.length).toBeLessThanOrEqual(256);
  });

  test('stepFunctionsError reads a Lambda cause and bounds it', () => {
    expect(
      stepFunctionsError({
        Error: 'Lambda.Unknown',
        Cause: JSON.stringify({ errorType: 'Error', errorMessage: 'boom' }),
      }),
    ).toBe('Lambda.Unknown: boom');
    expect(
      stepFunctionsError({ Error: 'States.ItemReaderFailed', Cause: 'y'.repeat(5000) }).length,
    ).toBeLessThanOrEqual(300);
    expect(stepFunctionsError({ Error: 'States.ExceedToleratedFailureThreshold' })).toBe(
      'States.ExceedToleratedFailureThreshold',
    );
  });

  test('advance: report appended, next unit current, loop ends at the last', () => {
    const plan = planReencryption(manual([orders, sealed]), [rotated()], settings());
    const withRun = { ...plan, mapRun: { MapRunArn: 'arn:x' }, mapRunError: { Error: 'E' } };
    const one = advanceReencryption(withRun, batch({}));
    expect(one).toMatchObject({ index: 1, remaining: 1, current: plan.units[1], mapRun: null, mapRunError: null });
    expect(one.reports).toHaveLength(1);
    const two = advanceReencryption(one, batch({}));
    expect(two).toMatchObject({ index: 2, remaining: 0, current: null });
    expect(two.reports).toHaveLength(2);
  });
});
