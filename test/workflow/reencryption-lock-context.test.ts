/**
 * What S3 keeps that a copy could lose, end to end on the stand-in (the synthesized state machine,
 * the real ReencryptObjects handler, the stack's IAM): an object with an additional SSE-KMS
 * encryption context (S3 never returns it) is left untouched and reported; Object Lock retention
 * and legal hold are kept where the bucket has Object Lock (a COMPLIANCE-locked version stays, as
 * an older version reported); an ACL is kept where Object Ownership allows ACLs, and none is sent
 * to a bucket that enforces bucket ownership.
 */
import { openSimulation, type SimulationRun } from '../../local/simulate';
import type { StandIn } from '../../local/standin';
import type { S3ObjectInfo } from '../../local/standin/s3-types';
import { parseWorld } from '../../local/world';
import type { TargetReport } from '../../lambdas/domain/reencryption';

jest.setTimeout(180_000);

const K1 = '1234abcd-12ab-34cd-56ef-1234567890ab';
const RETAIN_UNTIL = '2099-01-01T00:00:00.000Z';
const PUBLIC_READ = 'uri="http://acs.amazonaws.com/groups/global/AllUsers"';

const world = parseWorld(
  {
    account: '111122223333',
    region: 'us-east-1',
    keys: [{ id: K1, rotationSeconds: 5 }],
    buckets: [
      {
        // Object Ownership default: BucketOwnerEnforced (ACLs disabled).
        name: 'ctx-data',
        objects: [
          { key: 'plain.txt', body: 'plain', kmsKeyId: K1 },
          { key: 'ctx.txt', body: 'with context', kmsKeyId: K1, encryptionContext: { tenant: 'a' } },
        ],
      },
      {
        name: 'locked-data',
        versioning: true,
        objectLock: { enabled: true },
        objectOwnership: 'ObjectWriter',
        objects: [
          {
            key: 'held.txt',
            body: 'held',
            kmsKeyId: K1,
            retention: { mode: 'COMPLIANCE', retainUntil: RETAIN_UNTIL },
            legalHold: true,
            grants: { READ: [PUBLIC_READ] },
          },
          {
            key: 'governed.txt',
            body: 'governed',
            kmsKeyId: K1,
            retention: { mode: 'GOVERNANCE', retainUntil: RETAIN_UNTIL },
          },
        ],
      },
    ],
    settings: { reEncryptBuckets: ['ctx-data', 'locked-data'] },
  },
  'lock and context world',
);

const OBJECTS: [string, string][] = [
  ['ctx-data', 'plain.txt'],
  ['ctx-data', 'ctx.txt'],
  ['locked-data', 'held.txt'],
  ['locked-data', 'governed.txt'],
];
const id = (b: string, k: string) => `${b}/${k}`;
let run!: SimulationRun;
const before = new Map<string, S3ObjectInfo>();
const after = new Map<string, S3ObjectInfo>();

beforeAll(async () => {
  let standIn!: StandIn;
  const sim = await openSimulation({ world, speed: 20, onStandIn: (s) => (standIn = s) });
  try {
    for (const [b, k] of OBJECTS) before.set(id(b, k), standIn.s3Object(b, k)!);
    run = await sim.run({
      keyId: K1,
      reason: 'exposed data keys',
      reEncrypt: {
        targets: [
          { type: 's3-sse-kms', bucket: 'ctx-data' },
          { type: 's3-sse-kms', bucket: 'locked-data' },
        ],
      },
    });
    for (const [b, k] of OBJECTS) after.set(id(b, k), standIn.s3Object(b, k)!);
  } finally {
    await sim.close();
  }
});

const target = (bucket: string): TargetReport => run.result.reencryption!.targets.find((t) => t.bucket === bucket)!;

test('an object with an additional SSE-KMS encryption context is left untouched and reported (KMS_ACCESS_DENIED), action required, never a failure', () => {
  expect(before.get(id('ctx-data', 'ctx.txt'))!.encryptionContext).toMatchObject({ tenant: 'a' });
  expect(target('ctx-data')).toMatchObject({
    objectsReencrypted: 1,
    objectsFailed: 0,
    skippedByReason: { KMS_ACCESS_DENIED: 1 },
  });
  const was = before.get(id('ctx-data', 'ctx.txt'))!;
  const now = after.get(id('ctx-data', 'ctx.txt'))!;
  expect(now.dataKeyFingerprint).toBe(was.dataKeyFingerprint);
  expect(now.encryptionContext).toEqual(was.encryptionContext);
  expect(run.result.reencryption!.actionRequired).toBe(true);
  expect(run.result.reencryption!.actionRequiredByReason).toMatchObject({ KMS_ACCESS_DENIED: 1 });
});

test('on a BucketOwnerEnforced bucket the copy sends no ACL (S3 would refuse it) and is re-encrypted', () => {
  const was = before.get(id('ctx-data', 'plain.txt'))!;
  const now = after.get(id('ctx-data', 'plain.txt'))!;
  expect(now.dataKeyFingerprint).not.toBe(was.dataKeyFingerprint);
  expect(now.keyMaterialId).not.toBe(was.keyMaterialId);
  expect(now.grants).toEqual([]);
});

test('Object Lock retention and legal hold, and the ACL where ownership allows ACLs, are kept; the locked old version stays and is reported', () => {
  for (const key of ['held.txt', 'governed.txt']) {
    const was = before.get(id('locked-data', key))!;
    const now = after.get(id('locked-data', key))!;
    expect(now.keyMaterialId).not.toBe(was.keyMaterialId);
    expect(now.retention).toEqual(was.retention);
    expect(now.legalHold).toBe(was.legalHold);
    expect(now.versions).toBe(2);
  }
  expect(after.get(id('locked-data', 'held.txt'))).toMatchObject({
    retention: { mode: 'COMPLIANCE', retainUntil: RETAIN_UNTIL },
    legalHold: true,
    grants: [`READ ${PUBLIC_READ}`],
  });
  expect(target('locked-data')).toMatchObject({ objectsReencrypted: 2, objectsFailed: 0, olderVersionsUnderKey: 2 });
  expect(run.result.reencryption!.actionRequiredByReason).toMatchObject({ OLDER_VERSIONS: 2 });
});
