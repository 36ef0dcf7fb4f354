/**
 * Re-encryption targets in Intake: a manual request's `reEncrypt.targets` (validated,
 * messages naming the field) and the buckets a finding names (untrusted: invalid names dropped,
 * counts bounded, never an error).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { IntakeContext, InvalidRequestError, parseIncident, parseForMode } from '../../lambdas/domain/intake/intake';
import { bucketOfArn, isBucketName } from '../../lambdas/domain/intake/targets';
import { MAX_REENCRYPTION_UNITS } from '../../lambdas/domain/reencryption';
import { arn, K1, K2 } from '../fixtures/expected';

const FIXTURES = join(__dirname, '..', 'fixtures');
const load = (rel: string): Record<string, any> => JSON.parse(readFileSync(join(FIXTURES, rel), 'utf8'));
const ctx: IntakeContext = { account: '111122223333', region: 'us-east-1', newRequestId: () => 'req-0001' };
const manual = (reEncrypt: unknown) => ({ keyId: K1, reason: 'INC-1', reEncrypt });

function rejection(input: unknown): string {
  try {
    parseIncident(input, ctx);
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidRequestError);
    return (e as Error).message;
  }
  throw new Error('expected parseIncident to throw');
}

describe('bucket names', () => {
  it.each([
    ['amzn-s3-demo-bucket', true],
    ['abc', true],
    ['my.bucket.name', true],
    ['a'.repeat(63), true],
    ['ab', false],
    ['a'.repeat(64), false],
    ['Orders', false],
    ['orders_data', false],
    ['-orders', false],
    ['orders-', false],
    ['my..bucket', false],
    ['192.168.5.4', false],
    ['xn--orders', false],
    ['sthree-orders', false],
    ['orders-s3alias', false],
    ['orders--ol-s3', false],
    ['orders.mrap', false],
    ['orders--usw2-az1--x-s3', false],
    ['orders/prefix', false],
    ['orders\n', false],
  ])('%j -> %s', (name, ok) => {
    expect(isBucketName(name)).toBe(ok);
  });

  it('reads a bucket ARN, and nothing else', () => {
    expect(bucketOfArn('arn:aws:s3:::amzn-s3-demo-bucket')).toBe('amzn-s3-demo-bucket');
    expect(bucketOfArn('arn:aws-cn:s3:::orders-cn')).toBe('orders-cn');
    expect(bucketOfArn('arn:aws:s3:::orders/key.json')).toBeNull();
    expect(bucketOfArn('arn:aws:s3:::Orders')).toBeNull();
    expect(bucketOfArn('arn:aws:kms:us-east-1:111122223333:key/x')).toBeNull();
    expect(bucketOfArn(42)).toBeNull();
  });
});

describe('manual request reEncrypt.targets', () => {
  it('becomes reEncryptTargets with origin request, prefix defaulting to the whole bucket', () => {
    // When
    const req = parseIncident(
      manual({
        targets: [
          { type: 's3-sse-kms', bucket: 'orders-data' },
          { type: 'envelope', bucket: 'orders-data', prefix: 'exports/2025/' },
        ],
      }),
      ctx,
    );

    // Then
    expect(req.reEncryptTargets).toEqual([
      { type: 's3-sse-kms', bucket: 'orders-data', prefix: '', origin: 'request' },
      { type: 'envelope', bucket: 'orders-data', prefix: 'exports/2025/', origin: 'request' },
    ]);
  });

  it('de-duplicates targets (an absent prefix is the empty one), keeping the first order', () => {
    const req = parseIncident(
      manual({
        targets: [
          { type: 'envelope', bucket: 'bbb' },
          { type: 's3-sse-kms', bucket: 'aaa' },
          { type: 'envelope', bucket: 'bbb', prefix: '' },
          { type: 's3-sse-kms', bucket: 'bbb' },
        ],
      }),
      ctx,
    );
    expect(req.reEncryptTargets?.map((t) => `${t.type}:${t.bucket}/${t.prefix}`)).toEqual([
      'envelope:bbb/',
      's3-sse-kms:aaa/',
      's3-sse-kms:bbb/',
    ]);
  });

  it('the manual/reencrypt.json fixture', () => {
    expect(parseIncident(load('manual/reencrypt.json'), ctx).reEncryptTargets).toEqual([
      { type: 's3-sse-kms', bucket: 'orders-data', prefix: 'exports/', origin: 'request' },
      { type: 'envelope', bucket: 'orders-data', prefix: '', origin: 'request' },
    ]);
  });

  it('has no reEncryptTargets field without targets', () => {
    expect(Object.hasOwn(parseIncident({ keyId: K1, reason: 'r' }, ctx), 'reEncryptTargets')).toBe(false);
    expect(Object.hasOwn(parseIncident(manual({ targets: [] }), ctx), 'reEncryptTargets')).toBe(false);
  });

  it('passes through the manual machine (front door shape)', () => {
    const req = parseForMode(
      {
        ...manual({ targets: [{ type: 'envelope', bucket: 'orders-data' }] }),
        requestedBy: 'arn:aws:iam::111122223333:user/alice',
      },
      ctx,
      'manual',
    );
    expect(req.reEncryptTargets).toEqual([{ type: 'envelope', bucket: 'orders-data', prefix: '', origin: 'request' }]);
  });

  it.each([
    [
      'a bad bucket, by index',
      {
        targets: [
          { type: 's3-sse-kms', bucket: 'ok-bucket' },
          { type: 's3-sse-kms', bucket: 'ok-2' },
          { type: 'envelope', bucket: 'Bad_Bucket' },
        ],
      },
      /^reEncrypt\.targets\[2\]\.bucket: expected an S3 bucket name \(3-63 lowercase .*got "Bad_Bucket"$/,
    ],
    [
      'a missing bucket',
      { targets: [{ type: 'envelope' }] },
      /^reEncrypt\.targets\[0\]\.bucket: expected an S3 bucket name .*got nothing$/,
    ],
    [
      'an unknown type',
      { targets: [{ type: 'sse-s3', bucket: 'orders-data' }] },
      /^reEncrypt\.targets\[0\]\.type: expected "s3-sse-kms" or "envelope", got "sse-s3"$/,
    ],
    [
      'a prefix too long',
      { targets: [{ type: 'envelope', bucket: 'orders-data', prefix: 'p'.repeat(257) }] },
      /^reEncrypt\.targets\[0\]\.prefix: expected at most 256 characters/,
    ],
    [
      'a prefix that is no string',
      { targets: [{ type: 'envelope', bucket: 'orders-data', prefix: 7 }] },
      /^reEncrypt\.targets\[0\]\.prefix: expected a key prefix .*got number 7$/,
    ],
    [
      'too many targets',
      {
        targets: Array.from({ length: MAX_REENCRYPTION_UNITS + 1 }, (_, i) => ({
          type: 'envelope',
          bucket: `bucket-${i}`,
        })),
      },
      new RegExp(`^reEncrypt\\.targets: expected at most ${MAX_REENCRYPTION_UNITS} targets`),
    ],
    ['targets not an array', { targets: 'orders-data' }, /^reEncrypt\.targets: expected an array of targets/],
    [
      'a target not an object',
      { targets: [null] },
      /^reEncrypt\.targets\[0\]: expected a target \{type, bucket, prefix\?\}, got null$/,
    ],
    ['reEncrypt not an object', 'orders-data', /^reEncrypt: expected \{"targets": /],
    [
      'an unknown target field',
      { targets: [{ type: 'envelope', bucket: 'orders-data', prefx: 'a/' }] },
      /^reEncrypt\.targets\[0\]\.prefx: unknown field; a target has type, bucket, prefix$/,
    ],
    [
      'an unknown reEncrypt field',
      { targets: [], all: true },
      /^reEncrypt\.all: unknown field; reEncrypt has targets$/,
    ],
  ])('rejects %s, naming the field', (_, reEncrypt, message) => {
    expect(rejection(manual(reEncrypt))).toMatch(message);
  });

  it('reports every invalid field at once', () => {
    const message = rejection({
      keyId: K1,
      reason: ' ',
      reEncrypt: { targets: [{ type: 'x', bucket: 'orders-data' }] },
    });
    expect(message.split('; ').map((m) => m.split(':')[0])).toEqual(['reason', 'reEncrypt.targets[0].type']);
  });

  it('accepts exactly the maximum number of targets', () => {
    const targets = Array.from({ length: MAX_REENCRYPTION_UNITS }, (_, i) => ({
      type: 'envelope',
      bucket: `bucket-${i}`,
    }));
    expect(parseIncident(manual({ targets }), ctx).reEncryptTargets).toHaveLength(MAX_REENCRYPTION_UNITS);
  });
});

/** A GuardDuty S3 finding on `buckets` (each with its default-encryption key, or none). */
function guardDuty(buckets: { name: unknown; key?: unknown; type?: unknown }[]): Record<string, any> {
  const event = load('guardduty/s3-bucket-kms.json');
  event.detail.resource.s3BucketDetails = buckets.map((b) => ({
    name: b.name,
    defaultServerSideEncryption: {
      encryptionType: b.type ?? 'aws:kms',
      ...(b.key === undefined ? {} : { kmsMasterKeyArn: b.key }),
    },
  }));
  return event;
}

describe('finding targets', () => {
  it('GuardDuty: a bucket whose default encryption names a key is a whole-bucket s3-sse-kms target', () => {
    const req = parseIncident(
      guardDuty([
        { name: 'orders-data', key: arn(K1) },
        { name: 'static-site', type: 'AES256' },
        { name: 'no-key-named' },
      ]),
      ctx,
    );
    expect(req.keys).toEqual([arn(K1)]);
    expect(req.reEncryptTargets).toEqual([
      { type: 's3-sse-kms', bucket: 'orders-data', prefix: '', origin: 'finding' },
    ]);
  });

  it('GuardDuty: drops hostile or invalid bucket names, never throws, and keeps the keys', () => {
    const hostile = [
      '__proto__',
      '../../etc',
      'Orders',
      'a\u0000b',
      'x'.repeat(10_000),
      42,
      null,
      { toString: 'x' },
      ['orders-data'],
      'orders-data\nForged: line',
      '192.168.0.1',
    ];
    const req = parseIncident(
      guardDuty([...hostile.map((name) => ({ name, key: arn(K2) })), { name: 'good-bucket', key: arn(K2) }]),
      ctx,
    );
    expect(req.keys).toEqual([arn(K2)]);
    expect(req.reEncryptTargets).toEqual([
      { type: 's3-sse-kms', bucket: 'good-bucket', prefix: '', origin: 'finding' },
    ]);
  });

  it('GuardDuty: an archived finding names no targets', () => {
    const event = guardDuty([{ name: 'orders-data', key: arn(K1) }]);
    event.detail.service.archived = true;
    expect(Object.hasOwn(parseIncident(event, ctx), 'reEncryptTargets')).toBe(false);
  });

  it('GuardDuty: a bucket whose key reference is not a key is no target', () => {
    const req = parseIncident(guardDuty([{ name: 'orders-data', key: 'not a key' }]), ctx);
    expect(req.keys).toEqual([]);
    expect(req.reEncryptTargets).toBeUndefined();
  });

  it(`bounds the targets to ${MAX_REENCRYPTION_UNITS} (the first by name) and says so in the reason`, () => {
    const names = Array.from({ length: 45 }, (_, i) => `bucket-${String(i).padStart(2, '0')}`);
    const req = parseIncident(guardDuty([...names].reverse().map((name) => ({ name, key: arn(K1) }))), ctx);
    expect(req.reEncryptTargets?.map((t) => t.bucket)).toEqual(names.slice(0, MAX_REENCRYPTION_UNITS));
    expect(req.reason).toMatch(/\[45 buckets named; 20 re-encryption targets kept\]$/);
  });

  it('de-duplicates a bucket named twice', () => {
    const req = parseIncident(
      guardDuty([
        { name: 'orders-data', key: arn(K1) },
        { name: 'orders-data', key: arn(K2) },
      ]),
      ctx,
    );
    expect(req.reEncryptTargets).toHaveLength(1);
  });

  it('Security Hub: the bucket name comes from the resource Id, else Details.AwsS3Bucket.Name', () => {
    const event = load('securityhub/s3-bucket-sse.json');
    const finding = event.detail.findings[0];
    const resource = finding.Resources[0];
    expect(parseIncident(event, ctx).reEncryptTargets).toEqual([
      { type: 's3-sse-kms', bucket: 'amzn-s3-demo-bucket-exports', prefix: '', origin: 'finding' },
    ]);

    resource.Id = 'not an arn';
    resource.Details.AwsS3Bucket.Name = 'named-in-details';
    expect(parseIncident(event, ctx).reEncryptTargets?.map((t) => t.bucket)).toEqual(['named-in-details']);

    resource.Details.AwsS3Bucket.Name = 'Not A Bucket';
    expect(parseIncident(event, ctx).reEncryptTargets).toBeUndefined();
  });

  it('Security Hub: no target when the bucket default encryption is not KMS, or the finding does not count', () => {
    const event = load('securityhub/s3-bucket-sse.json');
    const rule = event.detail.findings[0].Resources[0].Details.AwsS3Bucket.ServerSideEncryptionConfiguration.Rules[0];
    rule.ApplyServerSideEncryptionByDefault.SSEAlgorithm = 'AES256';
    expect(parseIncident(event, ctx).reEncryptTargets).toBeUndefined();

    const suppressed = load('securityhub/s3-bucket-sse.json');
    suppressed.detail.findings[0].Workflow.Status = 'SUPPRESSED';
    expect(parseIncident(suppressed, ctx).reEncryptTargets).toBeUndefined();
  });

  it('Access Analyzer names no targets', () => {
    expect(Object.hasOwn(parseIncident(load('access-analyzer/kms-key-active.json'), ctx), 'reEncryptTargets')).toBe(
      false,
    );
  });

  it('property: whatever the bucket details hold, targets are valid bucket names, at most the maximum, never an exception', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            name: fc.oneof(fc.string(), fc.stringMatching(/^[a-z0-9][a-z0-9.-]{1,10}[a-z0-9]$/), fc.anything()),
            key: fc.oneof(fc.constant(arn(K1)), fc.anything()),
          }),
          { maxLength: 40 },
        ),
        (buckets) => {
          const req = parseIncident(guardDuty(buckets), ctx);
          const targets = req.reEncryptTargets ?? [];
          expect(targets.length).toBeLessThanOrEqual(MAX_REENCRYPTION_UNITS);
          for (const t of targets) {
            expect(isBucketName(t.bucket)).toBe(true);
            expect(t).toEqual({ type: 's3-sse-kms', bucket: t.bucket, prefix: '', origin: 'finding' });
            expect(buckets.some((b) => b.name === t.bucket)).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
