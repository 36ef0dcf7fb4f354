import { S3Client } from '@aws-sdk/client-s3';
import { parseSettings } from '../../lib/settings/settings';
import { reencryptObjects } from '../../lambdas/adapters/reencryption/s3-reencrypt';
import { createAccountIam } from '../../local/iam';
import { startStandIn, type StandIn } from '../../local/standin';
import { resolveIntrinsics, synthTemplate, type CfnTemplate } from '../../local/template';
import { parseWorld } from '../../local/world';

/**
 * ReencryptObjects' own IAM (the policy the template attaches to its role, given to a principal)
 * against the stand-in's strict Object Lock: HEAD answers retention and legal hold only with
 * s3:GetObjectRetention / s3:GetObjectLegalHold, and the copy can write them back only with
 * s3:PutObjectRetention / s3:PutObjectLegalHold. With the role's rights a locked object keeps both;
 * without the write right the copy is refused, and without the read right (HEAD then hides the
 * lock) the object is left untouched and reported: either way the object is left as it was.
 */
const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/${KEY_ID}`;
const UNTIL = '2099-01-01T00:00:00.000Z';
const BUCKET = 'locked-data';
const PLAIN = 'plain-data';

const template: CfnTemplate = synthTemplate(parseSettings({ reEncryptBuckets: [BUCKET, PLAIN] }, 'test'), {
  account: ACCOUNT,
  region: REGION,
});
/** The policy documents the template attaches to ReencryptObjects' role, intrinsics resolved. */
const rolePolicies = Object.values(template.Resources)
  .filter(
    (r) =>
      r.Type === 'AWS::IAM::Policy' &&
      (r.Properties.Roles as { Ref?: string }[]).some((x) => x.Ref?.startsWith('TasksReencryptObjectsRole')),
  )
  .map((r) => resolveIntrinsics(r.Properties.PolicyDocument, { account: ACCOUNT, region: REGION }));

type Statement = { Effect: string; Action: string | string[] };
/** The role's policies with `action` taken out of every Allow (throws if the role never had it). */
function without(action: string): unknown[] {
  let removed = 0;
  const out = structuredClone(rolePolicies) as { Statement: Statement[] }[];
  for (const doc of out)
    for (const st of doc.Statement) {
      const actions = Array.isArray(st.Action) ? st.Action : [st.Action];
      if (st.Effect === 'Allow' && actions.includes(action)) removed++;
      st.Action = actions.filter((a) => a !== action);
    }
  if (!removed) throw new Error(`test setup: ReencryptObjects' role does not hold ${action}`);
  return out;
}
const person = (name: string, policies: unknown[]) => ({
  arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${name}/${name}`,
  accessKeyId: `AKIATEST${name.toUpperCase().padEnd(12, 'X')}`,
  secretAccessKey: `secret-of-${name}-for-tests`,
  policies,
});
const people = {
  role: person('role', rolePolicies),
  noputretention: person('noputretention', without('s3:PutObjectRetention')),
  noputlegalhold: person('noputlegalhold', without('s3:PutObjectLegalHold')),
  nogetretention: person('nogetretention', without('s3:GetObjectRetention')),
  nogetlegalhold: person('nogetlegalhold', without('s3:GetObjectLegalHold')),
};
const locked = (key: string, extra: Record<string, unknown> = {}) => ({
  key,
  body: key,
  kmsKeyId: KEY_ID,
  retention: { mode: 'COMPLIANCE', retainUntil: UNTIL },
  ...extra,
});
const world = parseWorld(
  {
    account: ACCOUNT,
    region: REGION,
    keys: [{ id: KEY_ID }],
    buckets: [
      {
        name: BUCKET,
        versioning: true,
        objectLock: { enabled: true },
        objects: [
          locked('held.txt', { legalHold: true }),
          locked('governed.txt', { retention: { mode: 'GOVERNANCE', retainUntil: UNTIL } }),
          locked('no-put-retention.txt'),
          locked('no-put-hold.txt', { retention: undefined, legalHold: true }),
          locked('no-get-retention.txt'),
          locked('no-get-hold.txt', { retention: undefined, legalHold: true }),
          locked('expired.txt', { retention: { mode: 'COMPLIANCE', retainUntil: '2001-01-01T00:00:00.000Z' } }),
        ],
      },
      {
        name: PLAIN,
        objects: ['a.txt', 'b.txt', 'c.txt'].map((key) => ({ key, body: key, kmsKeyId: KEY_ID })),
      },
    ],
    people,
  },
  'object lock IAM test',
);

let standIn: StandIn;
beforeAll(async () => {
  standIn = await startStandIn(world, {
    iam: createAccountIam({ template, world, account: ACCOUNT, region: REGION, resources: {} }),
  });
});
afterAll(() => standIn.close());

const as = (p: { accessKeyId: string; secretAccessKey: string }) =>
  new S3Client({
    endpoint: standIn.endpoint,
    region: REGION,
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey },
  });
const reencrypt = (p: { accessKeyId: string; secretAccessKey: string }, keys: string[]) =>
  reencryptObjects({ s3: as(p) }, { type: 's3-sse-kms', bucket: BUCKET }, KEY_ARN, keys);

test("with the role's rights a locked object keeps its retention and legal hold, under a new data key", async () => {
  const before = ['held.txt', 'governed.txt'].map((k) => standIn.s3Object(BUCKET, k)!);
  const report = await reencrypt(people.role, ['held.txt', 'governed.txt']);
  expect(report).toMatchObject({ objectsReencrypted: 2, objectsFailed: 0 });
  for (const was of before) {
    const now = standIn.s3Object(BUCKET, was.key)!;
    expect(now.versions).toBe(was.versions + 1);
    expect(now.dataKeyFingerprint).not.toBe(was.dataKeyFingerprint);
    expect(now.retention).toEqual(was.retention);
    expect(now.legalHold).toBe(was.legalHold);
  }
  expect(standIn.s3Object(BUCKET, 'held.txt')).toMatchObject({
    retention: { mode: 'COMPLIANCE', retainUntil: UNTIL },
    legalHold: true,
  });
});

test.each([
  ['s3:PutObjectRetention', people.noputretention, 'no-put-retention.txt'],
  ['s3:PutObjectLegalHold', people.noputlegalhold, 'no-put-hold.txt'],
])(
  'without %s the copy is refused: the object is left as it was, never written without its lock',
  async (_, who, key) => {
    const was = standIn.s3Object(BUCKET, key)!;
    const report = await reencrypt(who, [key]);
    expect(report.objectsReencrypted).toBe(0);
    const now = standIn.s3Object(BUCKET, key)!;
    expect(now.versions).toBe(was.versions);
    expect(now.dataKeyFingerprint).toBe(was.dataKeyFingerprint);
    expect(now.retention).toEqual(was.retention);
    expect(now.legalHold).toBe(was.legalHold);
  },
);

test.each([
  ['s3:GetObjectRetention', people.nogetretention, 'no-get-retention.txt'],
  ['s3:GetObjectLegalHold', people.nogetlegalhold, 'no-get-hold.txt'],
])(
  'without %s HEAD hides the lock: the object is left untouched and reported OBJECT_LOCK_UNREADABLE, never rewritten without it',
  async (_, who, key) => {
    const was = standIn.s3Object(BUCKET, key)!;
    const report = await reencrypt(who, [key]);
    expect(report).toMatchObject({
      objectsReencrypted: 0,
      objectsFailed: 0,
      skippedByReason: { OBJECT_LOCK_UNREADABLE: 1 },
    });
    const now = standIn.s3Object(BUCKET, key)!;
    expect(now.versions).toBe(was.versions);
    expect(now.dataKeyFingerprint).toBe(was.dataKeyFingerprint);
  },
);

test('a retention past its date protects nothing and is not written back (S3 refuses a past date): the object is re-encrypted', async () => {
  const was = standIn.s3Object(BUCKET, 'expired.txt')!;
  expect(was.retention).toEqual({ mode: 'COMPLIANCE', retainUntil: '2001-01-01T00:00:00.000Z' });
  const report = await reencrypt(people.role, ['expired.txt']);
  expect(report).toMatchObject({ objectsReencrypted: 1, objectsFailed: 0 });
  const now = standIn.s3Object(BUCKET, 'expired.txt')!;
  expect(now.dataKeyFingerprint).not.toBe(was.dataKeyFingerprint);
  expect(now.retention).toBeUndefined();
});

test('a bucket without Object Lock: one GetObjectRetention finds it out (400 InvalidRequest), then no more lock requests in the batch', async () => {
  const before = standIn.calls.length;
  // One object at a time, so the first answer is known before the next object starts.
  const report = await reencryptObjects(
    { s3: as(people.role), concurrency: 1 },
    { type: 's3-sse-kms', bucket: PLAIN },
    KEY_ARN,
    ['a.txt', 'b.txt', 'c.txt'],
  );
  expect(report).toMatchObject({ objectsReencrypted: 3, objectsFailed: 0 });
  const lockCalls = standIn.calls
    .slice(before)
    .filter((c) => c.operation === 'GetObjectRetention' || c.operation === 'GetObjectLegalHold');
  expect(lockCalls.map((c) => [c.operation, c.error])).toEqual([['GetObjectRetention', 'InvalidRequest']]);
});
