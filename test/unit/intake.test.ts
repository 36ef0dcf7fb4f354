import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  classifyKeyRef,
  findingRequestId,
  IntakeContext,
  InvalidRequestError,
  MAX_REASON_LENGTH,
  parseIncident,
  summariseForResolve,
} from '../../lambdas/domain/intake/intake';
import { guardDutySeverityLabel } from '../../lambdas/domain/intake/guardduty';
import { capKeys, MAX_KEYS } from '../../lambdas/domain/intake/read';

const FIXTURES = join(__dirname, '..', 'fixtures');
const load = (rel: string): Record<string, any> => JSON.parse(readFileSync(join(FIXTURES, rel), 'utf8'));
const clone = <T>(v: T): T => structuredClone(v);

const ACCOUNT = '111122223333';
const ctx: IntakeContext = { account: ACCOUNT, region: 'us-east-1', newRequestId: () => 'req-0001' };

/**
 * The keys Intake hands on for a finding event; [] for a manual request or anything Intake
 * rejects (Intake never rejects an event of a known source and detail-type).
 */
function extractKeyRefs(event: unknown, context: IntakeContext): string[] {
  try {
    const req = parseIncident(event, context);
    return req.source === 'manual' ? [] : req.keys;
  } catch {
    return [];
  }
}

import { arn, K1, K2, K3, K4 } from '../fixtures/expected';

/** Throws and returns the error, so its message can be asserted. */
function rejection(input: unknown, context: IntakeContext = ctx): InvalidRequestError {
  try {
    parseIncident(input, context);
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidRequestError);
    return e as InvalidRequestError;
  }
  throw new Error('expected parseIncident to throw');
}

import { FINDING_CASES } from '../fixtures/expected';
const MANUAL_CASES: { fixture: string; error: RegExp | null }[] = [
  { fixture: 'manual/valid.json', error: null },
  { fixture: 'manual/alias.json', error: null },
  { fixture: 'manual/empty-reason.json', error: /^reason: expected a non-empty string/ },
  {
    fixture: 'manual/bad-key.json',
    error: /^keyId: expected a KMS key id, key ARN, alias name or alias ARN, got "not a key"$/,
  },
  { fixture: 'manual/unknown-field.json', error: /^dryrun: unknown field/ },
  { fixture: 'manual/reencrypt.json', error: null },
];

describe('fixtures', () => {
  it('every fixture file has a case here and a line in the README', () => {
    // Given
    const files = readdirSync(FIXTURES, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.split('\\').join('/'))
      .sort();
    const readme = readFileSync(join(FIXTURES, 'README.md'), 'utf8');
    const covered = [...FINDING_CASES, ...MANUAL_CASES].map((c) => c.fixture).sort();

    // Then
    expect(files).toEqual(covered);
    for (const f of files) expect(readme).toContain(f);
  });

  it.each(FINDING_CASES)('$fixture -> $source, keys $keys', (c) => {
    // Given
    const event = load(c.fixture);

    // When
    const req = parseIncident(event, ctx);

    // Then
    expect(req).toEqual({
      requestId: findingRequestId(c.source, c.findingId),
      source: c.source,
      findingId: c.findingId,
      findingType: c.findingType,
      severity: c.severity,
      severityLabel: c.severityLabel,
      reason: expect.stringMatching(typeof c.reason === 'string' ? `^${escapeRe(c.reason)}$` : c.reason),
      keys: c.keys,
      dryRun: false,
      force: false,
      breakGlass: false,
      requestedBy: null,
      account: event.account,
      region: event.region,
      reEncryptTargets: c.reEncryptTargets,
    });
    expect(Object.hasOwn(req, 'reEncryptTargets')).toBe(c.reEncryptTargets !== undefined);
  });

  it.each(MANUAL_CASES)('$fixture', ({ fixture, error }) => {
    const input = load(fixture);
    if (error) expect(rejection(input).message).toMatch(error);
    else expect(() => parseIncident(input, ctx)).not.toThrow();
  });
});

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('manual requests', () => {
  it('turns a bare key id into a key ARN in the deployment account and Region', () => {
    // When
    const req = parseIncident(load('manual/valid.json'), ctx);

    // Then
    expect(req).toEqual({
      requestId: 'req-0001',
      source: 'manual',
      findingId: null,
      findingType: null,
      severity: null,
      severityLabel: null,
      reason: 'Key policy briefly allowed kms:Decrypt from an external account (INC-4211)',
      keys: [arn(K1)],
      dryRun: true,
      force: false,
      breakGlass: false,
      requestedBy: 'arn:aws:sts::111122223333:assumed-role/OnCall/alice',
      account: ACCOUNT,
      region: 'us-east-1',
    });
  });

  it('uses the context partition for a bare key id', () => {
    const req = parseIncident(
      { keyId: K2, reason: 'x' },
      { account: ACCOUNT, region: 'cn-north-1', partition: 'aws-cn' },
    );
    expect(req.keys).toEqual([`arn:aws-cn:kms:cn-north-1:${ACCOUNT}:key/${K2}`]);
  });

  it.each([
    ['alias name', 'alias/payments-data'],
    ['alias ARN', `arn:aws:kms:us-east-1:${ACCOUNT}:alias/payments-data`],
    ['key ARN', arn(K3)],
    ['key ARN of another account', arn(K1, '444455556666', 'eu-west-1')],
  ])('keeps a %s as given', (_, keyId) => {
    expect(parseIncident({ keyId, reason: 'r' }, ctx).keys).toEqual([keyId]);
  });

  it('trims keyId and reason and defaults the options', () => {
    const req = parseIncident({ keyId: `  ${arn(K1)}\n`, reason: '  leaked  ' }, ctx);
    expect(req).toMatchObject({ keys: [arn(K1)], reason: 'leaked', dryRun: false, force: false, requestedBy: null });
  });

  it('draws a random UUID when the context has no id source', () => {
    const a = parseIncident({ keyId: K1, reason: 'r' }, { account: ACCOUNT, region: 'us-east-1' });
    const b = parseIncident({ keyId: K1, reason: 'r' }, { account: ACCOUNT, region: 'us-east-1' });
    expect(a.requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a.requestId).not.toBe(b.requestId);
  });

  it.each<[string, unknown, RegExp]>([
    ['missing keyId', { reason: 'r' }, /^keyId: expected a KMS key id, key ARN, alias name or alias ARN, got nothing$/],
    ['numeric keyId', { keyId: 42, reason: 'r' }, /^keyId: expected .* got number 42$/],
    [
      'key ARN of another service',
      { keyId: 'arn:aws:s3:::bucket', reason: 'r' },
      /^keyId: expected .* got "arn:aws:s3:::bucket"$/,
    ],
    ['uppercase key id', { keyId: K1.toUpperCase(), reason: 'r' }, /^keyId: expected/],
    ['missing reason', { keyId: K1 }, /^reason: expected a non-empty string saying why, got nothing$/],
    [
      'blank reason',
      { keyId: K1, reason: ' \t ' },
      /^reason: expected a non-empty string saying why, got an empty one$/,
    ],
    [
      'reason too long',
      { keyId: K1, reason: 'x'.repeat(MAX_REASON_LENGTH + 1) },
      /^reason: expected at most 512 characters$/,
    ],
    ['string dryRun', { keyId: K1, reason: 'r', dryRun: 'yes' }, /^dryRun: expected true or false, got "yes"$/],
    ['numeric force', { keyId: K1, reason: 'r', force: 1 }, /^force: expected true or false, got number 1$/],
    ['empty requestedBy', { keyId: K1, reason: 'r', requestedBy: '' }, /^requestedBy: expected a non-empty string/],
    [
      'unknown fields',
      { keyId: K1, reason: 'r', dry_run: true, ttl: 3 },
      /^dry_run, ttl: unknown field; a manual request has keyId, reason, dryRun, force, breakGlass, requestedBy, reEncrypt, reEncryptOnly, exposedAt$/,
    ],
    ['a stray source field', { keyId: K1, reason: 'r', source: 'cli' }, /^source: unknown field/],
  ])('rejects %s, naming the field', (_, input, message) => {
    expect(rejection(input).message).toMatch(message);
  });

  it('reports every invalid field at once', () => {
    const message = rejection({ keyId: 7, reason: '', force: 'no' }).message;
    expect(message.split('; ').map((m) => m.split(':')[0])).toEqual(['keyId', 'reason', 'force']);
  });

  it('rejects a bare key id when the context cannot make it an ARN', () => {
    expect(rejection({ keyId: K1, reason: 'r' }, { account: 'not-an-account', region: 'us-east-1' }).message).toMatch(
      /^keyId: a bare key id needs this deployment's account and Region/,
    );
  });
});

describe('what is not a request', () => {
  it.each<[string, unknown]>([
    ['a string', 'rotate please'],
    ['an array', [load('guardduty/s3-bucket-kms.json')]],
    ['null', null],
    ['a number', 3],
    ['undefined', undefined],
  ])('%s -> InvalidRequest', (_, input) => {
    const e = rejection(input);
    expect(e.name).toBe('InvalidRequest');
    expect(e.message).toMatch(
      /^request: expected an object \(a finding event or a manual request with keyId and reason\), got /,
    );
  });

  it('an empty object names what was expected', () => {
    expect(rejection({}).message).toBe(
      'source: expected aws.guardduty, aws.securityhub or aws.access-analyzer, or a manual request with keyId and reason, got nothing',
    );
  });

  it.each([
    ['aws.macie', 'Macie Finding'],
    ['aws.inspector2', 'Inspector2 Finding'],
    ['AWS.GUARDDUTY', 'GuardDuty Finding'],
  ])('a %s event is rejected by source', (source, detailType) => {
    const event = { ...load('guardduty/s3-bucket-kms.json'), source, 'detail-type': detailType };
    expect(rejection(event).message).toMatch(
      /^source: expected aws\.guardduty, aws\.securityhub or aws\.access-analyzer, .* got "/,
    );
  });

  it('a known source with another detail-type is rejected by detail-type', () => {
    const event = { ...load('securityhub/kms-key-resource.json'), 'detail-type': 'Findings Imported V2' };
    expect(rejection(event).message).toBe(
      'detail-type: expected \'Security Hub Findings - Imported\' for source aws.securityhub, got "Findings Imported V2"',
    );
  });

  it('an envelope without source names source', () => {
    const { source: _, ...event } = load('guardduty/s3-bucket-kms.json');
    expect(rejection(event).message).toMatch(/^source: .* got nothing$/);
  });
});

describe('GuardDuty details', () => {
  const s3 = (sse: unknown): Record<string, any> => {
    const e = load('guardduty/s3-bucket-kms.json');
    e.detail.resource.s3BucketDetails[0].defaultServerSideEncryption = sse;
    return e;
  };

  it.each<[string, unknown, string[]]>([
    ['aws:kms', { encryptionType: 'aws:kms', kmsMasterKeyArn: arn(K1) }, [arn(K1)]],
    ['aws:kms:dsse', { encryptionType: 'aws:kms:dsse', kmsMasterKeyArn: arn(K1) }, [arn(K1)]],
    ['absent type, ARN present', { kmsMasterKeyArn: arn(K1) }, [arn(K1)]],
    ['AES256 with a stale ARN', { encryptionType: 'AES256', kmsMasterKeyArn: arn(K1) }, []],
    ['aws:kms without an ARN', { encryptionType: 'aws:kms' }, []],
    [
      'an S3 ARN instead of a key',
      { encryptionType: 'aws:kms', kmsMasterKeyArn: 'arn:aws:s3:::amzn-s3-demo-bucket' },
      [],
    ],
  ])('bucket default encryption: %s', (_, sse, keys) => {
    expect(parseIncident(s3(sse), ctx).keys).toEqual(keys);
  });

  it('reads affectedResources only for KMS API calls, and other labels only when they hold a key ARN', () => {
    // Given
    const e = load('guardduty/api-call-kms.json');
    e.detail.service.action.awsApiCallAction.affectedResources = {
      'AWS::KMS::Key': K1,
      'AWS::KMS::Alias': arn(K2),
      'AWS::S3::Bucket': K4,
      other: 'arn:aws:iam::111122223333:role/DataPipelineRole',
    };

    // When / Then
    expect(parseIncident(e, ctx).keys).toEqual([arn(K2), arn(K1)]);
    e.detail.service.action.awsApiCallAction.serviceName = 's3.amazonaws.com';
    expect(parseIncident(e, ctx).keys).toEqual([]);
  });

  it('builds bare ids and alias names in the finding account and Region', () => {
    const e = load('guardduty/api-call-kms.json');
    e.detail.accountId = '444455556666';
    e.detail.region = 'eu-west-1';
    e.detail.service.action.awsApiCallAction.affectedResources = { 'AWS::KMS::Key': 'alias/orders' };
    expect(parseIncident(e, ctx).keys).toEqual(['arn:aws:kms:eu-west-1:444455556666:alias/orders']);
  });

  it.each([
    [1, 'LOW'],
    [3.9, 'LOW'],
    [4, 'MEDIUM'],
    [6.9, 'MEDIUM'],
    [7, 'HIGH'],
    [8.9, 'HIGH'],
    [9, 'CRITICAL'],
    [10, 'CRITICAL'],
    [10.5, null],
    [-1, null],
    [Number.NaN, null],
  ])('severity %p is %p', (score, label) => {
    expect(guardDutySeverityLabel(score)).toBe(label);
  });

  it('a non-numeric severity is null, not a guess', () => {
    const e = load('guardduty/s3-bucket-kms.json');
    e.detail.severity = '8';
    expect(parseIncident(e, ctx)).toMatchObject({ severity: null, severityLabel: null, keys: [arn(K1)] });
  });

  it('bounds and flattens the title', () => {
    const e = load('guardduty/s3-bucket-kms.json');
    e.detail.title = `line one\n\u0000line two ${'x'.repeat(5000)}`;
    const { reason } = parseIncident(e, ctx);
    expect(reason.startsWith('line one line two xxx')).toBe(true);
    expect(Array.from(reason)).toHaveLength(MAX_REASON_LENGTH);
    expect(reason.endsWith('…')).toBe(true);
  });

  it('says what the finding is when it has no title', () => {
    const e = load('guardduty/no-key.json');
    delete e.detail.title;
    expect(parseIncident(e, ctx).reason).toBe('GuardDuty finding CryptoCurrency:EC2/BitcoinTool.B!DNS');
  });
});

describe('Security Hub details', () => {
  it.each<[string, string, string, boolean]>([
    ['ACTIVE/NEW', 'ACTIVE', 'NEW', true],
    // NOTIFIED is what a run (or a person who took the finding) wrote: its Imported event is no new incident.
    ['ACTIVE/NOTIFIED', 'ACTIVE', 'NOTIFIED', false],
    ['ACTIVE/SUPPRESSED', 'ACTIVE', 'SUPPRESSED', false],
    ['ACTIVE/RESOLVED', 'ACTIVE', 'RESOLVED', false],
    ['ARCHIVED/NEW', 'ARCHIVED', 'NEW', false],
  ])('%s counts: %p', (_, record, workflow, counts) => {
    const e = load('securityhub/kms-key-resource.json');
    e.detail.findings[0].RecordState = record;
    e.detail.findings[0].Workflow.Status = workflow;
    expect(parseIncident(e, ctx).keys).toEqual(counts ? [arn(K1)] : []);
  });

  it('our own update of one finding, delivered with another NEW finding, adds only the NEW one', () => {
    const e = load('securityhub/multiple-findings.json');
    e.detail.findings[2].Workflow.Status = 'NOTIFIED';
    const req = parseIncident(e, ctx);
    expect(req.keys).toEqual([arn(K1)]);
    expect(req.reEncryptTargets ?? []).toEqual([]);
  });

  it('a finding without a Workflow does not count', () => {
    const e = load('securityhub/kms-key-resource.json');
    delete e.detail.findings[0].Workflow;
    expect(parseIncident(e, ctx).keys).toEqual([]);
  });

  it('uses Details.AwsKmsKey.KeyId only when the resource Id is not a key ARN', () => {
    const e = load('securityhub/kms-key-resource.json');
    e.detail.findings[0].Resources[0].Details.AwsKmsKey.KeyId = K2; // disagrees with Id: Id wins
    expect(parseIncident(e, ctx).keys).toEqual([arn(K1)]);
    e.detail.findings[0].Resources[0].Id = `AWS::KMS::Key/${K1}`;
    expect(parseIncident(e, ctx).keys).toEqual([arn(K2)]);
  });

  it('ignores S3 rules that are not SSE-KMS', () => {
    const e = load('securityhub/s3-bucket-sse.json');
    e.detail.findings[0].Resources[0].Details.AwsS3Bucket.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm =
      'AES256';
    expect(parseIncident(e, ctx).keys).toEqual([]);
  });

  it('an event with no findings has no finding id and a stable request id from the event id', () => {
    const e = load('securityhub/kms-key-resource.json');
    e.detail.findings = [];
    const req = parseIncident(e, ctx);
    expect(req).toMatchObject({ findingId: null, keys: [], severity: null, severityLabel: null });
    expect(req.requestId).toBe(findingRequestId('securityhub', e.id));
  });

  it('rejects a custom action event: no rule sends one', () => {
    const e = { ...load('securityhub/kms-key-resource.json'), 'detail-type': 'Security Hub Findings - Custom Action' };
    expect(rejection(e).message).toBe(
      'detail-type: expected \'Security Hub Findings - Imported\' for source aws.securityhub, got "Security Hub Findings - Custom Action"',
    );
  });
});

describe('key references', () => {
  it.each<[string, ReturnType<typeof classifyKeyRef>]>([
    [arn(K1), { kind: 'keyArn', partition: 'aws', region: 'us-east-1', account: ACCOUNT, id: K1 }],
    [
      `arn:aws-us-gov:kms:us-gov-west-1:${ACCOUNT}:key/${K3}`,
      { kind: 'keyArn', partition: 'aws-us-gov', region: 'us-gov-west-1', account: ACCOUNT, id: K3 },
    ],
    [
      `arn:aws-cn:kms:cn-north-1:${ACCOUNT}:alias/team/orders_v2`,
      { kind: 'aliasArn', partition: 'aws-cn', region: 'cn-north-1', account: ACCOUNT, alias: 'alias/team/orders_v2' },
    ],
    [K1, { kind: 'keyId', id: K1 }],
    [K3, { kind: 'keyId', id: K3 }],
    ['alias/aws/s3', { kind: 'aliasName', alias: 'alias/aws/s3' }],
  ])('%s is a key reference', (ref, info) => {
    expect(classifyKeyRef(ref)).toEqual(info);
  });

  it.each(
    [
      '',
      'not a key',
      'alias/',
      'alias/has space',
      'alias/a:b',
      `alias/${'a'.repeat(251)}`,
      K1.toUpperCase(),
      `${K1} `,
      'mrk-1234',
      `arn:aws:kms:us-east-1:${ACCOUNT}:key/not-a-uuid`,
      `arn:aws:kms:us-east-1:12345:key/${K1}`,
      `arn:aws:kms::${ACCOUNT}:key/${K1}`,
      `arn:gcp:kms:us-east-1:${ACCOUNT}:key/${K1}`,
      `arn:aws:kms:us-east-1:${ACCOUNT}:key/${K1}/extra`,
      `arn:aws:s3:::bucket/key/${K1}`,
      `arn:aws:iam::${ACCOUNT}:role/kms`,
      `${arn(K1)}${'x'.repeat(1000)}`,
    ].map((ref) => [ref.length > 80 ? `${ref.slice(0, 80)}… (${ref.length} chars)` : JSON.stringify(ref), ref]),
  )('%s is not', (_, ref) => {
    expect(classifyKeyRef(ref)).toBeNull();
  });
});

describe('keys: de-duplication, order and cap', () => {
  const manyKeys = (n: number, account: string): string[] =>
    Array.from({ length: n }, (_, i) => arn(`${i.toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`, account));

  it('sorts by code unit and removes duplicates', () => {
    expect(capKeys([arn(K3), arn(K1), arn(K1), arn(K4)], ctx)).toEqual({
      keys: [arn(K4), arn(K1), arn(K3)],
      dropped: 0,
    });
  });

  it(`keeps at most ${MAX_KEYS}, this account's keys first, and says so in the reason`, () => {
    // Given: 40 foreign keys that sort first, 30 local ones
    const foreign = manyKeys(40, '000011112222');
    const local = manyKeys(30, ACCOUNT);
    const e = load('guardduty/s3-bucket-kms.json');
    const template = e.detail.resource.s3BucketDetails[0];
    e.detail.resource.s3BucketDetails = [...foreign, ...local].map((k) => ({
      ...template,
      defaultServerSideEncryption: { encryptionType: 'aws:kms', kmsMasterKeyArn: k },
    }));

    // When
    const req = parseIncident(e, ctx);

    // Then
    expect(req.keys).toHaveLength(MAX_KEYS);
    expect(req.keys).toEqual([...foreign.slice(0, 20), ...local]);
    expect(req.reason).toBe('Anomalous S3 data access by an IAM entity. [70 keys named; 50 handled, 20 not]');
  });

  it('does not throw or take long on a huge array', () => {
    const e = load('guardduty/ebs-volume.json');
    e.detail.resource.ebsVolumeDetails.scannedVolumeDetails = Array.from({ length: 100_000 }, () => ({
      kmsKeyArn: arn(K1),
    }));
    const started = Date.now();
    expect(parseIncident(e, ctx).keys).toEqual([arn(K1)]);
    expect(Date.now() - started).toBeLessThan(500);
  });
});

describe('extractKeyRefs', () => {
  it.each(FINDING_CASES)('$fixture names $keys', ({ fixture, keys }) => {
    expect(extractKeyRefs(load(fixture), ctx)).toEqual(keys);
  });

  it.each<[string, unknown]>([
    ['a manual request', { keyId: K1, reason: 'r' }],
    ['an unknown source', { ...load('guardduty/s3-bucket-kms.json'), source: 'aws.macie' }],
    ['null', null],
    ['a string', arn(K1)],
  ])('names no key for %s', (_, input) => {
    expect(extractKeyRefs(input, ctx)).toEqual([]);
  });
});

describe('request ids', () => {
  it('is <source>-<first 32 hex of sha256(source + findingId)>', () => {
    const hex = createHash('sha256').update('guardduty5ec4b7b1a8d3f0e2c6a9b4d1e7f3a2c8').digest('hex').slice(0, 32);
    expect(parseIncident(load('guardduty/s3-bucket-kms.json'), ctx).requestId).toBe(`guardduty-${hex}`);
  });

  it('is the same for a re-published finding (new event id, time and count)', () => {
    const first = load('guardduty/s3-bucket-kms.json');
    const again = clone(first);
    again.id = 'f0e1d2c3-b4a5-9687-7869-5a4b3c2d1e0f';
    again.time = '2025-03-02T16:15:42Z';
    again.detail.service.count = 58;
    again.detail.updatedAt = '2025-03-02T16:14:51.000Z';
    expect(parseIncident(again, ctx).requestId).toBe(parseIncident(first, ctx).requestId);
  });

  it('differs between findings and between sources', () => {
    const ids = FINDING_CASES.map((c) => parseIncident(load(c.fixture), ctx).requestId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(findingRequestId('guardduty', 'x')).not.toBe(findingRequestId('securityhub', 'x'));
  });
});

describe('summariseForResolve', () => {
  it('shows source, finding, severity and keys', () => {
    const req = parseIncident(load('securityhub/multiple-findings.json'), ctx);
    expect(summariseForResolve(req)).toEqual({
      source: 'securityhub',
      findingId: req.findingId,
      severity: 9,
      severityLabel: 'CRITICAL',
      keys: [arn(K1), arn(K3)],
    });
  });

  it('for a manual request', () => {
    const req = parseIncident({ keyId: 'alias/orders', reason: 'r' }, ctx);
    expect(summariseForResolve(req)).toEqual({
      source: 'manual',
      findingId: null,
      severity: null,
      severityLabel: null,
      keys: ['alias/orders'],
    });
  });
});
