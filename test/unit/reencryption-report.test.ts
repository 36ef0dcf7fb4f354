/** The re-encryption summary, Notify's reencryptionFailed, and the notification's Re-encryption section. */
import type {} from 'aws-sdk-client-mock-jest';
import { mockClient } from 'aws-sdk-client-mock';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import type { KeyResult, RunSummary } from '../../lambdas/domain/contracts';
import {
  emptyTargetReport,
  MAX_LISTED_FAILURES,
  MAX_REENCRYPTION_UNITS,
  recordOutcome,
  type ReencryptionState,
  type ReencryptionUnit,
  type RefusedTarget,
  type TargetReport,
} from '../../lambdas/domain/reencryption';
import { reencryptionFailed, summarizeReencryption } from '../../lambdas/domain/reencryption/report';
import { formatNotification, MESSAGE_MAX_BYTES } from '../../lambdas/domain/notification/message';
import {
  reencryptArgument,
  REENCRYPTION_SECTION_MAX_BYTES,
} from '../../lambdas/domain/notification/message-reencryption';
import { summarise } from '../../lambdas/domain/rotation/summary';
import { notify } from '../../lambdas/notify/handler';
import { Ledger } from '../../lambdas/adapters/ledger';
import { NotificationTopic } from '../../lambdas/adapters/notification/sns';
import { newKeyTask } from '../../lambdas/domain/rotation/key-task';
import { ACCOUNT, KEY_ARN, NOW, config, request } from './handlers/fixtures';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
const K2 = `arn:aws:kms:us-east-1:${ACCOUNT}:key/0987dcba-09fe-87dc-65ba-ab0987654321`;

function state(overrides: Partial<ReencryptionState> = {}): ReencryptionState {
  return {
    mode: 'RUN',
    units: [],
    refused: [],
    refusedMore: 0,
    index: 0,
    remaining: 0,
    current: null,
    reports: [],
    mapRun: null,
    mapRunError: null,
    ...overrides,
  };
}

function report(
  bucket: string,
  counts: { reencrypted?: number; skipped?: number; failed?: number; bytes?: number },
  overrides: Partial<TargetReport> = {},
): TargetReport {
  let r = emptyTargetReport('s3-sse-kms', bucket, '', KEY_ARN, 'request');
  for (let i = 0; i < (counts.reencrypted ?? 0); i++)
    r = recordOutcome(r, {
      key: `ok-${i}`,
      result: 'REENCRYPTED',
      bytes: counts.bytes ?? 10,
      oldVersionLeft: false,
      bucketKey: false,
    });
  for (let i = 0; i < (counts.skipped ?? 0); i++)
    r = recordOutcome(r, { key: `skip-${i}`, result: 'SKIPPED', reason: i % 2 ? 'OTHER_KEY' : 'NOT_SSE_KMS' });
  for (let i = 0; i < (counts.failed ?? 0); i++)
    r = recordOutcome(r, { key: `bad-${i}`, result: 'FAILED', error: `AccessDenied ${i}` });
  return { ...r, batches: 1, ...overrides };
}

const unit = (bucket: string, keyArn = KEY_ARN): ReencryptionUnit => ({
  type: 's3-sse-kms',
  bucket,
  prefix: '',
  keyArn,
  origin: 'finding',
});
const refusal = (bucket: string): RefusedTarget => ({
  type: 's3-sse-kms',
  bucket,
  prefix: '',
  keyArn: KEY_ARN,
  origin: 'finding',
  reason: 'BUCKET_NOT_ALLOWED',
  detail: `${bucket} is not in reEncryptBuckets`,
});

describe('summarizeReencryption', () => {
  it.each([null, undefined])('is null for %s', (s) => {
    expect(summarizeReencryption(s)).toBeNull();
  });

  it('is null for mode NONE with nothing refused', () => {
    expect(summarizeReencryption(state({ mode: 'NONE' }))).toBeNull();
  });

  it('sums the targets, and needs no action when every object was re-encrypted or skipped', () => {
    // Given
    const reports = [
      report('aaa', { reencrypted: 3, skipped: 2, bytes: 100 }),
      report('bbb', { reencrypted: 4, skipped: 1 }),
    ];

    // When
    const s = summarizeReencryption(state({ reports }));

    // Then
    expect(s).toEqual({
      mode: 'RUN',
      objectsScanned: 10,
      objectsReencrypted: 7,
      objectsSkipped: 3,
      objectsFailed: 0,
      actionRequired: false,
      actionRequiredByReason: {},
      targets: reports,
      refused: [],
      planned: [],
    });
    expect(reencryptionFailed(s)).toBe(false);
  });

  it('needs action and failed when an object failed', () => {
    const s = summarizeReencryption(
      state({ reports: [report('aaa', { reencrypted: 1 }), report('bbb', { failed: 2 })] }),
    );
    expect(s).toMatchObject({ objectsScanned: 3, objectsFailed: 2, actionRequired: true });
    expect(reencryptionFailed(s)).toBe(true);
  });

  it('needs action and failed when a target map run FAILED, even with no failed object', () => {
    const s = summarizeReencryption(
      state({ reports: [report('aaa', { reencrypted: 1 }, { status: 'FAILED', error: 'States.ItemReaderFailed' })] }),
    );
    expect(s).toMatchObject({ objectsFailed: 0, actionRequired: true });
    expect(reencryptionFailed(s)).toBe(true);
  });

  it('needs action but does not fail the execution when a target someone asked for was refused', () => {
    const asked: RefusedTarget = { ...refusal('zzz'), origin: 'request' };
    const s = summarizeReencryption(state({ reports: [report('aaa', { reencrypted: 1 })], refused: [asked] }));
    expect(s).toMatchObject({ actionRequired: true, refused: [asked] });
    expect(reencryptionFailed(s)).toBe(false);
  });

  it("a finding's bucket outside reEncryptBuckets is reported, not an action; targets left over (TOO_MANY_TARGETS) are", () => {
    expect(summarizeReencryption(state({ refused: [refusal('zzz')] }))?.actionRequired).toBe(false);
    expect(
      summarizeReencryption(state({ refused: [{ ...refusal('zzz'), reason: 'TOO_MANY_TARGETS' }] }))?.actionRequired,
    ).toBe(true);
  });

  it("the branch's own failure (Plan or Summarize) is reported, needs action and fails the execution, even with nothing run", () => {
    const s = summarizeReencryption(
      state({
        mode: 'NONE',
        branchError: { Error: 'Lambda.ServiceException', Cause: `{"errorMessage":"boom\n at x"}${'y'.repeat(2000)}` },
      }),
    );
    expect(s).toMatchObject({
      mode: 'NONE',
      actionRequired: true,
      error: expect.stringMatching(/^Lambda\.ServiceException: \{"errorMessage":"boom at x"\}y+…$/),
    });
    expect(s!.error!.length).toBeLessThanOrEqual(500);
    expect(reencryptionFailed(s)).toBe(true);
    const n = formatNotification(
      runSummary(
        state({
          mode: 'RUN',
          reports: [report('aaa', { reencrypted: 1 })],
          branchError: { Error: 'AccessDenied', Cause: 'results unreadable' },
        }),
      ),
      OPTS,
    );
    expect(section(n.message)).toMatch(/the re-encryption stopped: AccessDenied: results unreadable/);
    expect(n.attributes.actionRequired.StringValue).toBe('true');
  });

  it('reports mode NONE when every target was refused', () => {
    const s = summarizeReencryption(state({ mode: 'NONE', refused: [refusal('zzz')] }));
    expect(s).toEqual({
      mode: 'NONE',
      objectsScanned: 0,
      objectsReencrypted: 0,
      objectsSkipped: 0,
      objectsFailed: 0,
      actionRequired: false,
      actionRequiredByReason: {},
      targets: [],
      refused: [refusal('zzz')],
      planned: [],
    });
    expect(reencryptionFailed(s)).toBe(false);
  });

  it('lists the units as planned for REPORT_ONLY, and never fails it', () => {
    const units = [unit('aaa'), unit('bbb', K2)];
    const s = summarizeReencryption(state({ mode: 'REPORT_ONLY', units }));
    expect(s).toMatchObject({ mode: 'REPORT_ONLY', planned: units, actionRequired: false, objectsScanned: 0 });
    expect(reencryptionFailed(s)).toBe(false);
    expect(summarizeReencryption(state({ mode: 'RUN', units }))?.planned).toEqual([]);
  });

  it('property: totals are the sums over targets, and reencryptionFailed only in RUN mode', () => {
    const counts = fc.record({ reencrypted: fc.nat(5), skipped: fc.nat(5), failed: fc.nat(3) });
    fc.assert(
      fc.property(
        fc.constantFrom('RUN', 'REPORT_ONLY') as fc.Arbitrary<'RUN' | 'REPORT_ONLY'>,
        fc.array(counts, { maxLength: 6 }),
        (mode, all) => {
          const reports = all.map((c, i) => report(`bucket-${i}`, c));
          const s = summarizeReencryption(state({ mode, reports }))!;
          const total = (f: (c: (typeof all)[number]) => number) => all.reduce((n, c) => n + f(c), 0);
          expect(s.objectsReencrypted).toBe(total((c) => c.reencrypted));
          expect(s.objectsSkipped).toBe(total((c) => c.skipped));
          expect(s.objectsFailed).toBe(total((c) => c.failed));
          expect(s.objectsScanned).toBe(s.objectsReencrypted + s.objectsSkipped + s.objectsFailed);
          expect(s.actionRequired).toBe(s.objectsFailed > 0);
          expect(reencryptionFailed(s)).toBe(mode === 'RUN' && s.objectsFailed > 0);
        },
      ),
    );
  });
});

describe('summarise and Notify', () => {
  const sns = mockClient(SNSClient);
  const dynamo = mockClient(DynamoDBClient);
  const EXECUTION = `arn:aws:states:us-east-1:${ACCOUNT}:execution:KmsIncidentRotation:exec-1`;
  const rotated = () => ({
    ...newKeyTask({ ref: KEY_ARN, request: request(), executionArn: EXECUTION }),
    keyArn: KEY_ARN,
    outcome: 'ROTATED' as const,
  });
  beforeEach(() => {
    sns.reset();
    dynamo.reset();
  });

  it('the summary carries reencryption (null without a branch state)', () => {
    expect(summarise({ request: request(), results: [] }).reencryption).toBeNull();
    const s = summarise({
      request: request(),
      results: [],
      reencryption: state({ reports: [report('aaa', { reencrypted: 2 })] }),
    });
    expect(s.reencryption).toMatchObject({ mode: 'RUN', objectsReencrypted: 2 });
  });

  it('returns reencryptionFailed and publishes actionRequired true when an object failed', async () => {
    // Given
    sns.on(PublishCommand).resolves({ MessageId: 'msg-1' });
    dynamo.on(GetItemCommand).resolves({});
    dynamo.on(PutItemCommand).resolves({});

    // When
    const out = await notify(
      {
        request: request(),
        results: [rotated()],
        executionArn: EXECUTION,
        reencryption: state({ reports: [report('orders-data', { reencrypted: 1, failed: 1 })] }),
      },
      config({ topicArn: 'arn:aws:sns:us-east-1:111122223333:t' }),
      new NotificationTopic(new SNSClient({ region: 'us-east-1' }), 'arn:aws:sns:us-east-1:111122223333:t'),
      new Ledger('ledger', new DynamoDBClient({ region: 'us-east-1' })),
      NOW,
    );

    // Then
    expect(out).toMatchObject({
      anyFailed: false,
      reencryptionFailed: true,
      summary: { reencryption: { objectsFailed: 1 } },
    });
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      Message: expect.stringContaining('Re-encryption (ran)'),
      MessageAttributes: expect.objectContaining({ actionRequired: { DataType: 'String', StringValue: 'true' } }),
    });
  });

  it('returns reencryptionFailed on the already-notified path too, publishing nothing', async () => {
    dynamo.on(GetItemCommand).resolves({
      Item: {
        pk: { S: `NOTIFY#${EXECUTION}` },
        sk: { S: 'NOTIFY' },
        messageId: { S: 'msg-0' },
        at: { S: NOW.toISOString() },
      },
    });
    const out = await notify(
      {
        request: request(),
        results: [rotated()],
        executionArn: EXECUTION,
        reencryption: state({ reports: [report('orders-data', {}, { status: 'FAILED', error: 'States.Runtime' })] }),
      },
      config(),
      new NotificationTopic(new SNSClient({ region: 'us-east-1' }), 'arn:aws:sns:us-east-1:111122223333:t'),
      new Ledger('ledger', new DynamoDBClient({ region: 'us-east-1' })),
      NOW,
    );
    expect(out).toMatchObject({ messageId: 'msg-0', reencryptionFailed: true });
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 0);
  });

  it('returns reencryptionFailed false without a re-encryption', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'msg-1' });
    dynamo.on(GetItemCommand).resolves({});
    dynamo.on(PutItemCommand).resolves({});
    const out = await notify(
      { request: request(), results: [rotated()], executionArn: EXECUTION },
      config(),
      new NotificationTopic(new SNSClient({ region: 'us-east-1' }), 't'),
      new Ledger('ledger', new DynamoDBClient({ region: 'us-east-1' })),
      NOW,
    );
    expect(out.reencryptionFailed).toBe(false);
  });
});

function key(): KeyResult {
  return {
    ref: KEY_ARN,
    keyArn: KEY_ARN,
    via: null,
    aliases: [],
    outcome: 'ROTATED',
    reason: null,
    detail: null,
    onDemandRotationsUsed: 1,
    onDemandRotationsRemaining: 24,
    previousKeyMaterialId: null,
    currentKeyMaterialId: null,
    joined: false,
    rotationStartedAt: null,
    confirmedAt: null,
    approvedBy: null,
    approvalReason: null,
  };
}

function runSummary(reencryption: ReencryptionState | null, keys: KeyResult[] = [key()]): RunSummary {
  return {
    requestId: 'req-0001',
    source: 'manual',
    findingId: null,
    findingType: null,
    severity: null,
    severityLabel: null,
    reason: 'INC-9',
    dryRun: false,
    executionArn: `arn:aws:states:us-east-1:${ACCOUNT}:execution:M:x`,
    startedAt: null,
    outcome: 'ROTATED',
    anyFailed: false,
    keys,
    reencryption: summarizeReencryption(reencryption),
  };
}
const OPTS = { region: 'us-east-1', rotationBudget: 25 };
const section = (text: string) => text.slice(text.indexOf('Re-encryption ('), text.indexOf('\nExecution\n'));

describe('the notification: Re-encryption', () => {
  it('per target: counts, skipped by reason, the first failures, bytes, old versions never deleted, Bucket Keys', () => {
    // Given
    let r = report('orders-data', { reencrypted: 2, skipped: 3, failed: 7, bytes: 1024 * 1024 });
    r = recordOutcome(r, { key: 'v.json', result: 'REENCRYPTED', bytes: 0, oldVersionLeft: true, bucketKey: true });
    r = recordOutcome(r, { key: 'moved.json', result: 'CHANGED_DURING_RUN', error: 'PreconditionFailed' });

    // When
    const n = formatNotification(
      runSummary(state({ reports: [{ ...r, throttlesRetried: 4, batches: 3, durationMs: 61_000 }] })),
      OPTS,
    );
    const text = section(n.message);

    // Then
    expect(text).toContain('14 objects scanned, 3 re-encrypted under new data keys, 3 skipped, 8 failed.');
    expect(text).toContain('1. s3-sse-kms s3://orders-data/');
    expect(text).toContain(
      '14 scanned, 3 re-encrypted (2.0 MiB), 3 skipped (2 not SSE-KMS, 1 under another key), 8 failed',
    );
    expect(text).toContain('the first 5 of 8');
    expect(text).toContain('- bad-0: AccessDenied 0');
    expect(text).not.toContain('bad-5');
    expect(text).toMatch(/1 object\(s\) changed by someone else during the run were not overwritten/);
    expect(text).toMatch(/1 previous version\(s\) keep their OLD data keys; the workflow never deletes versions/);
    expect(text).toMatch(/Bucket Keys: the bucket uses S3 Bucket Keys/);
    expect(text).toContain('3 batch(es), 4 throttled request(s) retried, 61 s');
    expect(n.attributes.actionRequired.StringValue).toBe('true');
    expect(n.message).toMatch(/^ACTION REQUIRED/m);
    expect(n.message).toMatch(
      /- Re-encryption: 3 object\(s\) in 1 target\(s\) now have new data keys\. 8 failed and still use their old data keys/,
    );
    expect(n.message).toContain(
      'Data outside these targets (other buckets, other stores, copies people made) was NOT re-encrypted.',
    );
  });

  it('an envelope left untouched for an unusable wrapping key names the setting that lets the rewrite use it', () => {
    // Given: one envelope whose other wrapping key refused kms:Encrypt (not in reEncryptEnvelopeWrappingKeys).
    const r = recordOutcome(emptyTargetReport('envelope', 'sealed-data', '', KEY_ARN, 'request'), {
      key: 'multi.bin',
      result: 'SKIPPED',
      reason: 'WRAPPING_KEY_UNUSABLE',
    });

    // When
    const n = formatNotification(runSummary(state({ reports: [{ ...r, batches: 1 }] })), OPTS);

    // Then
    expect(section(n.message)).toMatch(
      /1 skipped \(1 left untouched: another KMS key wrapping it refused kms:Encrypt; list that key's ARN in the reEncryptEnvelopeWrappingKeys setting/,
    );
    expect(n.attributes.actionRequired.StringValue).toBe('true');
  });

  it('an object whose Object Lock settings were hidden is named in words, with the rights to grant', () => {
    // Given: one object left untouched because S3 hid its retention from the function.
    const r = recordOutcome(emptyTargetReport('s3-sse-kms', 'locked-data', '', KEY_ARN, 'request'), {
      key: 'held.json',
      result: 'SKIPPED',
      reason: 'OBJECT_LOCK_UNREADABLE',
    });

    // When
    const n = formatNotification(runSummary(state({ reports: [{ ...r, batches: 1 }] })), OPTS);

    // Then: the skip line says it in words (the action list names the reason code).
    expect(section(n.message)).toMatch(
      /1 skipped \(1 left untouched: S3 hid its Object Lock retention or legal hold from the function .*s3:GetObjectRetention and s3:GetObjectLegalHold/,
    );
    expect(n.attributes.actionRequired.StringValue).toBe('true');
  });

  it('a fully successful re-encryption needs no action', () => {
    const n = formatNotification(runSummary(state({ reports: [report('orders-data', { reencrypted: 5 })] })), OPTS);
    expect(n.attributes.actionRequired.StringValue).toBe('false');
    expect(n.message).toContain('- Re-encryption: 5 object(s) in 1 target(s) now have new data keys.');
    expect(section(n.message)).not.toContain('ACTION REQUIRED');
  });

  it('refused targets with their reason; actionRequired true when someone asked for them', () => {
    const n = formatNotification(
      runSummary(
        state({ mode: 'NONE', refused: [{ ...refusal('not-listed'), origin: 'request' }, refusal('not-listed')] }),
      ),
      OPTS,
    );
    expect(section(n.message)).toMatch(
      /- s3-sse-kms s3:\/\/not-listed\/ for arn:aws:kms:\S+ \(named by the finding\): REFUSED BUCKET_NOT_ALLOWED - not-listed is not in reEncryptBuckets/,
    );
    expect(n.attributes.actionRequired.StringValue).toBe('true');
    expect(n.message).toMatch(/No data was re-encrypted: every target \(2\) was refused/);
    // Without a detail sentence, the reason in words.
    const bare = formatNotification(
      runSummary(state({ mode: 'NONE', refused: [{ ...refusal('bare'), detail: '' }] })),
      OPTS,
    );
    expect(section(bare.message)).toMatch(
      /REFUSED BUCKET_NOT_ALLOWED - the bucket is not in the reEncryptBuckets setting/,
    );
  });

  it('REPORT_ONLY: what would run and the command that runs it, one per key', () => {
    const units: ReencryptionUnit[] = [
      unit('orders-data'),
      { ...unit('orders-archive'), type: 'envelope', prefix: "exports/it's" },
      unit('orders-data', K2),
    ];
    const n = formatNotification(runSummary(state({ mode: 'REPORT_ONLY', units })), OPTS);
    const text = section(n.message);
    expect(text).toContain('Re-encryption (REPORT ONLY: nothing was re-encrypted)');
    expect(text).toContain(`- envelope s3://orders-archive/exports/it's for ${KEY_ARN} (named by the finding)`);
    expect(text).toContain(
      `kms-rotate start --key ${KEY_ARN} --reason 're-encrypt after req-0001' --reencrypt s3-sse-kms:orders-data --reencrypt 'envelope:orders-archive/exports/it'\\''s'`,
    );
    expect(text).toContain(
      `kms-rotate start --key ${K2} --reason 're-encrypt after req-0001' --reencrypt s3-sse-kms:orders-data`,
    );
    expect(text).toMatch(/`start`: the key was not rotated, so it is rotated first/);
    expect(n.attributes.actionRequired.StringValue).toBe('false');
    // A key this execution rotated: re-encrypt only, no second rotation, exposure = the execution's start.
    const started = { ...runSummary(state({ mode: 'REPORT_ONLY', units })), startedAt: '2026-12-04T09:30:00.000Z' };
    const after = section(formatNotification(started, OPTS).message);
    expect(after).toContain(
      `kms-rotate reencrypt --key ${KEY_ARN} --reason 're-encrypt after req-0001' --exposed-at 2026-12-04T09:30:00.000Z --target s3-sse-kms:orders-data --target 'envelope:orders-archive/exports/it'\\''s'`,
    );
    // K2 was not rotated here: it must be rotated first.
    expect(after).toContain(
      `kms-rotate start --key ${K2} --reason 're-encrypt after req-0001' --reencrypt s3-sse-kms:orders-data`,
    );
    expect(n.message).toMatch(/Re-encryption was only planned \(3 target\(s\)\), nothing was re-encrypted/);
  });

  it('without a re-encryption, a rotated run says no data was re-encrypted and how to have it done', () => {
    const n = formatNotification(runSummary(null), OPTS);
    expect(n.message).not.toContain('Re-encryption (');
    expect(n.message).toMatch(
      /- No data was re-encrypted by this execution\. .*--reencrypt s3-sse-kms:<bucket>\/<prefix>/,
    );
    expect(formatNotification(runSummary(null, []), OPTS).message).not.toContain('No data was re-encrypted');
  });

  it('reencryptArgument: bucket alone for the whole bucket', () => {
    expect(reencryptArgument({ type: 's3-sse-kms', bucket: 'orders-data', prefix: '' })).toBe('s3-sse-kms:orders-data');
    expect(reencryptArgument({ type: 'envelope', bucket: 'orders-data', prefix: 'a/b/' })).toBe(
      'envelope:orders-data/a/b/',
    );
  });

  it(`stays within MESSAGE_MAX_BYTES with ${MAX_REENCRYPTION_UNITS} targets x ${MAX_LISTED_FAILURES} failures of long keys and errors, and 50 keys`, () => {
    // Given: the worst the state carries: 20 targets, each with 20 listed failures of 1024-character keys.
    const reports = Array.from({ length: MAX_REENCRYPTION_UNITS }, (_, t) => {
      let r = emptyTargetReport('envelope', `bucket-${t}`, `${'p'.repeat(1000)}/`, KEY_ARN, 'setting');
      for (let i = 0; i < MAX_LISTED_FAILURES + 5; i++)
        r = recordOutcome(r, { key: `${'k'.repeat(1020)}${i}`, result: 'FAILED', error: `${'é'.repeat(2000)} ${i}` });
      return {
        ...r,
        skippedByReason: { OTHER_KEY: 1, NOT_ENVELOPE: 2 },
        oldVersionsLeft: 3,
        bucketKeys: true,
        error: 'x'.repeat(5000),
        status: 'FAILED' as const,
      };
    });
    const refused = Array.from({ length: MAX_REENCRYPTION_UNITS }, (_, i) => ({
      ...refusal(`refused-${i}`),
      prefix: 'r'.repeat(1024),
      detail: 'd'.repeat(3000),
    }));
    const keys = Array.from({ length: 50 }, () => ({ ...key(), detail: 'x'.repeat(3000) }));

    // When
    const n = formatNotification(runSummary(state({ reports, refused }), keys), OPTS);
    const text = section(n.message);

    // Then
    expect(bytes(n.message)).toBeLessThanOrEqual(MESSAGE_MAX_BYTES);
    expect(bytes(text)).toBeLessThanOrEqual(REENCRYPTION_SECTION_MAX_BYTES + 1024);
    expect(text).toContain(`Targets (${MAX_REENCRYPTION_UNITS})`);
    expect(text).toContain('1. envelope s3://bucket-0/');
    // What does not fit as a block is a line, then a count: never silently gone.
    expect(text).toMatch(
      /more target\(s\) not listed to keep this message under the SNS size limit|20\. envelope s3:\/\/bucket-19/,
    );
    expect(n.message).toContain('What to do next');
    expect(n.message).toMatch(/Keys \(50\)/);
  });
});
