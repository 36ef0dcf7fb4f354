/**
 * Finding content is untrusted: whatever arrives, Intake either returns a well-formed request whose
 * every key is named in the input, or (only for what is not a known finding event) throws
 * InvalidRequestError.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import type { IncidentRequest } from '../../lambdas/domain/contracts';
import {
  classifyKeyRef,
  IntakeContext,
  InvalidRequestError,
  MAX_REASON_LENGTH,
  parseIncident,
} from '../../lambdas/domain/intake/intake';
import { MAX_KEYS } from '../../lambdas/domain/intake/read';

const FIXTURES = join(__dirname, '..', 'fixtures');
const fixtures: { name: string; value: unknown }[] = readdirSync(FIXTURES, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => ({ name: f, value: JSON.parse(readFileSync(join(FIXTURES, f), 'utf8')) }));

const ctx: IntakeContext = { account: '111122223333', region: 'us-east-1', newRequestId: () => 'req-0001' };

/** A well-formed KMS key ARN or alias ARN: what Intake may emit for a finding. */
function isKmsArn(ref: string): boolean {
  const kind = classifyKeyRef(ref)?.kind;
  return kind === 'keyArn' || kind === 'aliasArn';
}

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

const KNOWN: Record<string, string[]> = {
  'aws.guardduty': ['GuardDuty Finding'],
  'aws.securityhub': ['Security Hub Findings - Imported'],
  'aws.access-analyzer': ['Access Analyzer Finding'],
};

const isPlainRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const ownValue = (v: Record<string, unknown>, k: string): unknown =>
  Object.prototype.hasOwnProperty.call(v, k) ? v[k] : undefined;

function isKnownEnvelope(input: unknown): boolean {
  if (!isPlainRecord(input)) return false;
  const source = ownValue(input, 'source');
  const detailType = ownValue(input, 'detail-type');
  return typeof source === 'string' && Object.hasOwn(KNOWN, source) && KNOWN[source].includes(detailType as string);
}

/** Every string value anywhere in `v` (own enumerable properties), bounded. */
function stringsIn(v: unknown, out: string[] = [], depth = 0): string[] {
  if (typeof v === 'string') out.push(v);
  else if (depth < 64 && typeof v === 'object' && v !== null) {
    for (const child of Array.isArray(v) ? v : Object.values(v)) stringsIn(child, out, depth + 1);
  }
  return out;
}

/** The invariants every outcome must satisfy. */
function checkOutcome(input: unknown): IncidentRequest | undefined {
  let req: IncidentRequest;
  try {
    req = parseIncident(input, ctx);
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidRequestError);
    expect((e as Error).name).toBe('InvalidRequest');
    // The message names a field first: `field: expected ...` (or several, `a, b: unknown field`).
    expect((e as Error).message).toMatch(/^[^\s:][^:]*: /);
    expect(isKnownEnvelope(input)).toBe(false);
    expect(extractKeyRefs(input, ctx)).toEqual([]);
    return undefined;
  }

  // Keys: de-duplicated, sorted, capped, well-formed, and named in the input.
  expect(req.keys.length).toBeLessThanOrEqual(req.source === 'manual' ? 1 : MAX_KEYS);
  expect([...new Set(req.keys)].sort()).toEqual(req.keys);
  const strings = stringsIn(input);
  for (const key of req.keys) {
    const info = classifyKeyRef(key);
    expect(info).not.toBeNull();
    if (req.source !== 'manual') expect(isKmsArn(key)).toBe(true);
    // Named as such, or the bare id / alias name it was built from.
    const tail = info?.id ?? info?.alias ?? key;
    expect(strings.some((s) => s.includes(key) || s.includes(tail))).toBe(true);
  }

  // The rest of the contract.
  expect(typeof req.reason).toBe('string');
  expect(req.reason.length).toBeGreaterThan(0);
  expect(Array.from(req.reason).length).toBeLessThanOrEqual(MAX_REASON_LENGTH);
  expect(req.severity === null || (Number.isFinite(req.severity) && req.severity >= 0 && req.severity <= 10)).toBe(
    true,
  );
  expect(req.account === null || /^\d{12}$/.test(req.account)).toBe(true);
  if (req.source === 'manual') {
    expect(req.requestId).toBe('req-0001');
  } else {
    expect(isKnownEnvelope(input)).toBe(true);
    expect(req.requestId).toMatch(new RegExp(`^${req.source}-[0-9a-f]{32}$`));
    expect(req).toMatchObject({ dryRun: false, force: false, requestedBy: null });
    // Deterministic: the same finding gives the same request.
    expect(parseIncident(input, ctx)).toEqual(req);
    expect(extractKeyRefs(input, ctx)).toEqual(req.keys);
  }
  return req;
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

const partition = fc.constantFrom('aws', 'aws-cn', 'aws-us-gov', 'aws-iso-b');
const region = fc.constantFrom('us-east-1', 'eu-west-1', 'cn-north-1', 'us-gov-west-1', 'ap-southeast-2');
const account = fc.constantFrom('111122223333', '444455556666', '000000000000');
const keyId = fc.oneof(
  fc.uuid(),
  fc.stringMatching(/^[0-9a-f]{32}$/).map((h) => `mrk-${h}`),
  fc.constantFrom('1234abcd-12ab-34cd-56ef-1234567890ab', 'mrk-1234abcd12ab34cd56ef1234567890ab'),
);
const aliasName = fc.stringMatching(/^[a-zA-Z0-9/_-]{1,40}$/).map((n) => `alias/${n}`);
const keyArn = fc.tuple(partition, region, account, keyId).map(([p, r, a, id]) => `arn:${p}:kms:${r}:${a}:key/${id}`);
const aliasArn = fc.tuple(partition, region, account, aliasName).map(([p, r, a, n]) => `arn:${p}:kms:${r}:${a}:${n}`);
const validRef = fc.oneof(keyArn, aliasArn, keyId, aliasName);

/** Strings that look like key references and are not, or only nearly. */
const nearRef = fc.oneof(
  fc
    .tuple(validRef, fc.nat(), fc.string({ maxLength: 3 }))
    .map(([r, i, s]) => r.slice(0, i % (r.length + 1)) + s + r.slice(i % (r.length + 1))),
  validRef.map((r) => r.toUpperCase()),
  validRef.map((r) => ` ${r}`),
  validRef.map((r) => `${r}\n`),
  keyArn.map((r) => r.replace(':kms:', ':s3:')),
  fc.constantFrom(
    'arn:aws:s3:::amzn-s3-demo-bucket',
    'arn:aws:iam::111122223333:role/DataPipelineRole',
    'arn:aws:kms:us-east-1:111122223333:key/',
    'arn:aws:kms:us-east-1:111122223333:alias/',
    'arn:aws:kms:us-east-1:1111222233334:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    'AWS::KMS::Key',
    'aws:kms',
  ),
  fc.tuple(fc.integer({ min: 400, max: 5000 }), validRef).map(([n, r]) => 'a'.repeat(n) + r),
  fc.tuple(validRef, fc.integer({ min: 400, max: 5000 })).map(([r, n]) => r + '/'.repeat(n)),
);

const anything = fc.anything({
  maxDepth: 3,
  withNullPrototype: true,
  withBoxedValues: true,
  withSparseArray: true,
  withDate: true,
  withBigInt: true,
  withMap: true,
  withSet: true,
});

/** A value to put somewhere in a finding. */
const replacement = fc.oneof(
  { weight: 3, arbitrary: validRef },
  { weight: 3, arbitrary: nearRef },
  { weight: 2, arbitrary: anything },
  { weight: 1, arbitrary: fc.constantFrom(null, undefined, 0, -1, 1e308, Number.NaN, true, '', [], {}) },
  {
    weight: 1,
    // Longer than the 1000 elements Intake reads of any array.
    arbitrary: fc
      .tuple(fc.integer({ min: 1001, max: 5000 }), fc.oneof(validRef, anything))
      .map(([n, v]) => Array(n).fill(v)),
  },
  {
    weight: 1,
    arbitrary: fc
      .array(keyArn, { minLength: MAX_KEYS, maxLength: MAX_KEYS * 3 })
      .map((keys) => keys.map((k) => ({ kmsMasterKeyArn: k, kmsKeyArn: k, KeyId: k, encryptionType: 'aws:kms' }))),
  },
);

type Path = (string | number)[];

/** Paths to every node of `v`, looking at most at the first 8 elements of an array. */
function pathsOf(v: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  if (out.length > 2000) return out;
  out.push(prefix);
  if (Array.isArray(v)) v.slice(0, 8).forEach((child, i) => pathsOf(child, [...prefix, i], out));
  else if (isWalkable(v)) for (const [k, child] of Object.entries(v)) pathsOf(child, [...prefix, k], out);
  return out;
}

/** Plain or null-prototype objects: not boxed strings, dates, maps (their insides are not fields). */
const isWalkable = (v: unknown): v is Record<string, unknown> =>
  isPlainRecord(v) && [Object.prototype, null].includes(Object.getPrototypeOf(v));

/** Field names where keys, filters and locations live: mutated more often than the rest. */
const INTERESTING = new Set([
  // Not `source` / `detail-type`: random paths reach them now and then, and every hit is a rejection.
  'detail',
  'account',
  'region',
  'id',
  'keyId',
  'reason',
  'dryRun',
  'force',
  'resource',
  's3BucketDetails',
  'defaultServerSideEncryption',
  'encryptionType',
  'kmsMasterKeyArn',
  'ebsVolumeDetails',
  'scannedVolumeDetails',
  'kmsKeyArn',
  'service',
  'action',
  'awsApiCallAction',
  'serviceName',
  'affectedResources',
  'AWS::KMS::Key',
  'archived',
  'accountId',
  'partition',
  'severity',
  'title',
  'findings',
  'Id',
  'Resources',
  'Type',
  'Details',
  'AwsKmsKey',
  'KeyId',
  'AWSAccountId',
  'AwsS3Bucket',
  'OwnerAccountId',
  'Rules',
  'ApplyServerSideEncryptionByDefault',
  'SSEAlgorithm',
  'KMSMasterKeyID',
  'RecordState',
  'Workflow',
  'Status',
  'Severity',
  'Label',
  'Normalized',
  'Types',
  'Title',
  'AwsAccountId',
  'Region',
  'Partition',
  'resourceType',
  'status',
  'principal',
  'isPublic',
]);

type Mutation = { kind: 'drop' | 'set' | 'add'; pick: number; interesting: boolean; value: unknown; name: string };

const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('drop', 'set', 'set', 'add'),
  pick: fc.noBias(fc.nat()), // unbiased: fc.nat() favours 0, which would always pick the first field
  interesting: fc.boolean(),
  value: replacement,
  name: fc.oneof(fc.constantFrom(...INTERESTING), fc.string({ maxLength: 8 })),
});

function applyMutation(root: unknown, m: Mutation): unknown {
  // Not the root itself: replacing the whole input is what the random-value properties do.
  const all = pathsOf(root).filter((p) => p.length > 0);
  const chosen = m.interesting ? all.filter((p) => INTERESTING.has(String(p[p.length - 1]))) : all;
  const pool = chosen.length > 0 ? chosen : all;
  if (pool.length === 0) return root;
  const path = pool[m.pick % pool.length];
  const parent = path.slice(0, -1).reduce<any>((node, k) => node[k], root);
  const last = path[path.length - 1];
  if (m.kind === 'drop') {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else if (m.kind === 'set') {
    parent[last] = m.value;
  } else {
    const target = parent[last];
    if (Array.isArray(target)) target.push(m.value);
    else if (isWalkable(target))
      Object.defineProperty(target, m.name, { value: m.value, enumerable: true, writable: true, configurable: true });
    else parent[last] = m.value;
  }
  return root;
}

const mutatedFixture = fc
  .tuple(fc.constantFrom(...fixtures), fc.array(mutation, { minLength: 1, maxLength: 4 }))
  .map(([fixture, mutations]) => ({
    name: fixture.name,
    value: mutations.reduce<unknown>((v, m) => applyMutation(v, m), structuredClone(fixture.value)),
  }));

/** Where each key-bearing fixture names its key. */
const SLOTS: [string, Path][] = [
  [
    'guardduty/s3-bucket-kms.json',
    ['detail', 'resource', 's3BucketDetails', 0, 'defaultServerSideEncryption', 'kmsMasterKeyArn'],
  ],
  ['guardduty/ebs-volume.json', ['detail', 'resource', 'ebsVolumeDetails', 'scannedVolumeDetails', 0, 'kmsKeyArn']],
  [
    'guardduty/api-call-kms.json',
    ['detail', 'service', 'action', 'awsApiCallAction', 'affectedResources', 'AWS::KMS::Key'],
  ],
  ['securityhub/kms-key-resource.json', ['detail', 'findings', 0, 'Resources', 0, 'Id']],
  [
    'securityhub/s3-bucket-sse.json',
    [
      'detail',
      'findings',
      0,
      'Resources',
      0,
      'Details',
      'AwsS3Bucket',
      'ServerSideEncryptionConfiguration',
      'Rules',
      0,
      'ApplyServerSideEncryptionByDefault',
      'KMSMasterKeyID',
    ],
  ],
  ['access-analyzer/kms-key-active.json', ['detail', 'resource']],
];

function withValueAt(name: string, path: Path, value: unknown): Record<string, any> {
  const event = structuredClone(fixtures.find((f) => f.name === name)!.value) as Record<string, any>;
  const parent = path.slice(0, -1).reduce<any>((node, k) => node[k], event);
  parent[path[path.length - 1]] = value;
  return event;
}

// ---------------------------------------------------------------------------------------------

describe('parseIncident on untrusted input', () => {
  it('random values: a request or an InvalidRequestError, nothing else', () => {
    fc.assert(
      fc.property(anything, (v) => void checkOutcome(v)),
      { numRuns: 300 },
    );
  });

  it('random JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => void checkOutcome(v)),
      { numRuns: 300 },
    );
  });

  it('known envelopes with random detail never throw', () => {
    const envelope = fc.record({
      version: fc.constant('0'),
      id: fc.oneof(fc.uuid(), anything),
      'detail-type': fc.constant(''),
      source: fc.constantFrom(...Object.keys(KNOWN)),
      account: fc.oneof(account, anything),
      region: fc.oneof(region, anything),
      detail: fc.oneof(anything, fc.dictionary(fc.constantFrom(...INTERESTING), replacement, { maxKeys: 6 })),
    });
    const known = fc
      .tuple(envelope, fc.nat())
      .map(([e, i]) => ({ ...e, 'detail-type': KNOWN[e.source][i % KNOWN[e.source].length] }));
    fc.assert(
      fc.property(known, (e) => {
        expect(() => parseIncident(e, ctx)).not.toThrow();
        checkOutcome(e);
      }),
      { numRuns: 200 },
    );
  });

  it('mutated fixtures: dropped fields, wrong types, stray strings and ARNs, huge arrays', () => {
    fc.assert(
      fc.property(mutatedFixture, ({ value }) => {
        if (isKnownEnvelope(value)) expect(() => parseIncident(value, ctx)).not.toThrow();
        checkOutcome(value);
      }),
      { numRuns: 500 },
    );
  });

  it('keys injected where a finding names keys come out as given, or as built from a bare id', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SLOTS), validRef, ([name, path], ref) => {
        // Given
        const event = withValueAt(name, path, ref);

        // When
        const req = checkOutcome(event)!;

        // Then
        expect(req.keys).toHaveLength(1);
        const info = classifyKeyRef(ref)!;
        if (info.kind === 'keyArn' || info.kind === 'aliasArn') expect(req.keys).toEqual([ref]);
        else expect(req.keys[0].endsWith(`:${info.kind === 'keyId' ? `key/${ref}` : ref}`)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('any value in a key slot, or in place of the object holding it, names at most that one key', () => {
    const anyValue = fc.oneof(validRef, nearRef, anything, replacement);
    fc.assert(
      fc.property(fc.constantFrom(...SLOTS), fc.nat({ max: 3 }), anyValue, ([name, path], up, value) => {
        const event = withValueAt(name, path.slice(0, Math.max(1, path.length - up)), value);
        expect(() => parseIncident(event, ctx)).not.toThrow();
        // A slot names one key at most (a Security Hub resource with no usable Id falls back to
        // its KeyId: still one). Replacing a parent may bring in many (the huge-array values).
        expect(checkOutcome(event)!.keys.length).toBeLessThanOrEqual(up === 0 ? 1 : MAX_KEYS);
      }),
      { numRuns: 250 },
    );
  });

  it('manual requests: valid ones keep their key, invalid ones name a field', () => {
    const manual = fc.record(
      {
        keyId: fc.oneof(validRef, nearRef, anything),
        reason: fc.oneof(fc.string({ maxLength: 600 }), anything),
        dryRun: fc.oneof(fc.boolean(), anything),
        force: fc.oneof(fc.boolean(), anything),
        requestedBy: fc.oneof(fc.string(), anything),
      },
      { requiredKeys: ['keyId', 'reason'] },
    );
    fc.assert(
      fc.property(manual, (m) => {
        const req = checkOutcome(m);
        if (req) {
          const given = (m.keyId as string).trim();
          expect(req.keys).toEqual([
            classifyKeyRef(given)!.kind === 'keyId' ? `arn:aws:kms:us-east-1:111122223333:key/${given}` : given,
          ]);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('classifyKeyRef', () => {
  it('recognises every well-formed reference for what it is', () => {
    fc.assert(
      fc.property(fc.tuple(partition, region, account, keyId, aliasName), ([p, r, a, id, alias]) => {
        expect(classifyKeyRef(`arn:${p}:kms:${r}:${a}:key/${id}`)).toEqual({
          kind: 'keyArn',
          partition: p,
          region: r,
          account: a,
          id,
        });
        expect(classifyKeyRef(`arn:${p}:kms:${r}:${a}:${alias}`)).toEqual({
          kind: 'aliasArn',
          partition: p,
          region: r,
          account: a,
          alias,
        });
        expect(classifyKeyRef(id)).toEqual({ kind: 'keyId', id });
        expect(classifyKeyRef(alias)).toEqual({ kind: 'aliasName', alias });
      }),
      { numRuns: 200 },
    );
  });

  it('never throws, and what it accepts has no whitespace and a bounded length', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), nearRef, fc.string({ unit: 'binary' })), (s) => {
        const info = classifyKeyRef(s);
        if (info) {
          expect(s).not.toMatch(/\s/);
          expect(s.length).toBeLessThanOrEqual(400);
        }
      }),
      { numRuns: 500 },
    );
  });
});
