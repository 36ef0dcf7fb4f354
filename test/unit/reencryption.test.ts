import fc from 'fast-check';
import {
  decideEnvelopeObject,
  decideS3Object,
  emptyTargetReport,
  MAX_LISTED_FAILURES,
  MAX_SINGLE_COPY_BYTES,
  recordOutcome,
  type ObjectOutcome,
  type S3ObjectFacts,
} from '../../lambdas/domain/reencryption';

const KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const OTHER = 'arn:aws:kms:us-east-1:111122223333:key/other';
const kmsObject = (f: Partial<S3ObjectFacts> = {}): S3ObjectFacts => ({
  serverSideEncryption: 'aws:kms',
  sseKmsKeyId: KEY,
  sizeBytes: 10,
  ...f,
});

describe('decideS3Object', () => {
  test.each<[string, Partial<S3ObjectFacts>, unknown]>([
    ['under the key, STANDARD', {}, { action: 'RE_ENCRYPT', method: 'COPY' }],
    ['exactly 5 GiB: one copy', { sizeBytes: MAX_SINGLE_COPY_BYTES }, { action: 'RE_ENCRYPT', method: 'COPY' }],
    [
      'over 5 GiB: multipart',
      { sizeBytes: MAX_SINGLE_COPY_BYTES + 1 },
      { action: 'RE_ENCRYPT', method: 'MULTIPART_COPY' },
    ],
    ['GLACIER_IR is read directly', { storageClass: 'GLACIER_IR' }, { action: 'RE_ENCRYPT', method: 'COPY' }],
    ['STANDARD_IA', { storageClass: 'STANDARD_IA' }, { action: 'RE_ENCRYPT', method: 'COPY' }],
    ['GLACIER needs a restore', { storageClass: 'GLACIER' }, { action: 'SKIPPED', reason: 'ARCHIVED_NEEDS_RESTORE' }],
    [
      'DEEP_ARCHIVE needs a restore',
      { storageClass: 'DEEP_ARCHIVE' },
      { action: 'SKIPPED', reason: 'ARCHIVED_NEEDS_RESTORE' },
    ],
    ['GLACIER restored', { storageClass: 'GLACIER', restored: true }, { action: 'RE_ENCRYPT', method: 'COPY' }],
    [
      'INTELLIGENT_TIERING archive tier',
      { storageClass: 'INTELLIGENT_TIERING', archiveStatus: 'ARCHIVE_ACCESS' },
      { action: 'SKIPPED', reason: 'ARCHIVED_NEEDS_RESTORE' },
    ],
    [
      'INTELLIGENT_TIERING frequent tier',
      { storageClass: 'INTELLIGENT_TIERING' },
      { action: 'RE_ENCRYPT', method: 'COPY' },
    ],
    ['another key', { sseKmsKeyId: OTHER }, { action: 'SKIPPED', reason: 'OTHER_KEY' }],
    [
      'another key, archived: the key decides first',
      { sseKmsKeyId: OTHER, storageClass: 'GLACIER' },
      { action: 'SKIPPED', reason: 'OTHER_KEY' },
    ],
    [
      'SSE-S3',
      { serverSideEncryption: 'AES256', sseKmsKeyId: undefined },
      { action: 'SKIPPED', reason: 'NOT_SSE_KMS' },
    ],
    [
      'DSSE-KMS under the key: re-encrypted (stays DSSE-KMS)',
      { serverSideEncryption: 'aws:kms:dsse' },
      { action: 'RE_ENCRYPT', method: 'COPY' },
    ],
    [
      'DSSE-KMS under another key',
      { serverSideEncryption: 'aws:kms:dsse', sseKmsKeyId: OTHER },
      { action: 'SKIPPED', reason: 'OTHER_KEY' },
    ],
    ['no encryption reported', { serverSideEncryption: undefined }, { action: 'SKIPPED', reason: 'NOT_SSE_KMS' }],
  ])('%s', (_name, facts, expected) => {
    expect(decideS3Object(kmsObject(facts), KEY)).toEqual(expected);
  });

  test('property: only aws:kms / aws:kms:dsse objects under exactly the rotated key are ever re-encrypted', () => {
    fc.assert(
      fc.property(
        fc.record({
          serverSideEncryption: fc.option(fc.constantFrom('aws:kms', 'AES256', 'aws:kms:dsse'), { nil: undefined }),
          sseKmsKeyId: fc.option(fc.constantFrom(KEY, OTHER), { nil: undefined }),
          storageClass: fc.option(fc.constantFrom('STANDARD', 'GLACIER', 'DEEP_ARCHIVE', 'GLACIER_IR', 'ONEZONE_IA'), {
            nil: undefined,
          }),
          sizeBytes: fc.nat(),
        }),
        (facts) => {
          const d = decideS3Object(facts, KEY);
          if (d.action === 'RE_ENCRYPT') {
            expect(['aws:kms', 'aws:kms:dsse']).toContain(facts.serverSideEncryption);
            expect(facts.sseKmsKeyId).toBe(KEY);
            expect(['GLACIER', 'DEEP_ARCHIVE']).not.toContain(facts.storageClass);
            expect(d.method).toBe(facts.sizeBytes > MAX_SINGLE_COPY_BYTES ? 'MULTIPART_COPY' : 'COPY');
          }
        },
      ),
    );
  });
});

describe('decideEnvelopeObject', () => {
  test('re-encrypts a message with a data key under the rotated key, skips the rest with a reason', () => {
    expect(decideEnvelopeObject({ isMessage: true, kmsKeyArns: [OTHER, KEY] }, KEY)).toEqual({ action: 'RE_ENCRYPT' });
    expect(decideEnvelopeObject({ isMessage: true, kmsKeyArns: [OTHER] }, KEY)).toEqual({
      action: 'SKIPPED',
      reason: 'OTHER_KEY',
    });
    expect(decideEnvelopeObject({ isMessage: true, kmsKeyArns: [] }, KEY)).toEqual({
      action: 'SKIPPED',
      reason: 'OTHER_KEY',
    });
    expect(decideEnvelopeObject({ isMessage: false, kmsKeyArns: [] }, KEY)).toEqual({
      action: 'SKIPPED',
      reason: 'NOT_ENVELOPE',
    });
  });
});

describe('report', () => {
  test('counts each outcome, skips by reason, failures and changed objects', () => {
    const outcomes: ObjectOutcome[] = [
      { key: 'a', result: 'REENCRYPTED', bytes: 100, oldVersionLeft: true, bucketKey: false },
      { key: 'b', result: 'REENCRYPTED', bytes: 50, oldVersionLeft: false, bucketKey: true },
      { key: 'c', result: 'SKIPPED', reason: 'OTHER_KEY' },
      { key: 'd', result: 'SKIPPED', reason: 'OTHER_KEY' },
      { key: 'e', result: 'SKIPPED', reason: 'ARCHIVED_NEEDS_RESTORE' },
      { key: 'f', result: 'FAILED', error: 'KMS.KMSInternalException: boom' },
      { key: 'g', result: 'CHANGED_DURING_RUN', error: 'PreconditionFailed' },
    ];
    const r = outcomes.reduce(recordOutcome, emptyTargetReport('s3-sse-kms', 'orders', 'p/'));
    expect(r).toMatchObject({
      type: 's3-sse-kms',
      bucket: 'orders',
      prefix: 'p/',
      objectsScanned: 7,
      objectsReencrypted: 2,
      objectsSkipped: 3,
      objectsFailed: 2,
      objectsChangedDuringRun: 1,
      skippedByReason: { OTHER_KEY: 2, ARCHIVED_NEEDS_RESTORE: 1 },
      bytesReencrypted: 150,
      oldVersionsLeft: 1,
      bucketKeys: true,
      failures: [
        { key: 'f', error: 'KMS.KMSInternalException: boom' },
        { key: 'g', error: 'PreconditionFailed' },
      ],
    });
  });

  test('property: counts add up, failures list at most 20 in order, the input report is not changed', () => {
    const outcome = fc.oneof(
      fc.record({
        key: fc.string(),
        result: fc.constant('REENCRYPTED' as const),
        bytes: fc.nat(1e6),
        oldVersionLeft: fc.boolean(),
        bucketKey: fc.boolean(),
      }),
      fc.record({
        key: fc.string(),
        result: fc.constant('SKIPPED' as const),
        reason: fc.constantFrom(
          'OTHER_KEY' as const,
          'NOT_SSE_KMS' as const,
          'ARCHIVED_NEEDS_RESTORE' as const,
          'NOT_ENVELOPE' as const,
        ),
      }),
      fc.record({
        key: fc.string(),
        result: fc.constantFrom('FAILED' as const, 'CHANGED_DURING_RUN' as const),
        error: fc.string(),
      }),
    );
    fc.assert(
      fc.property(fc.array(outcome, { maxLength: 60 }), (outcomes) => {
        const start = emptyTargetReport('envelope', 'b', '');
        const r = outcomes.reduce(recordOutcome, start);
        expect(start.objectsScanned).toBe(0);
        expect(r.objectsScanned).toBe(outcomes.length);
        expect(r.objectsReencrypted + r.objectsSkipped + r.objectsFailed).toBe(r.objectsScanned);
        expect(Object.values(r.skippedByReason).reduce((n, v) => n + (v ?? 0), 0)).toBe(r.objectsSkipped);
        const failed = outcomes.filter((o) => o.result === 'FAILED' || o.result === 'CHANGED_DURING_RUN');
        expect(r.failures.map((f) => f.key)).toEqual(failed.slice(0, MAX_LISTED_FAILURES).map((o) => o.key));
      }),
    );
  });
});
