/**
 * The S3 stand-in answers Object Lock, Object Ownership and an additional SSE-KMS encryption
 * context as S3 does (names from the S3 model: x-amz-object-lock-*, AccessControlListNotSupported).
 */
import { CopyObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startStandIn, type StandIn } from '../../local/standin';
import { clients, errorName, KEY_ID, world } from './helpers';

const UNTIL = '2099-01-01T00:00:00.000Z';
let s: StandIn;
let c: ReturnType<typeof clients>;

beforeAll(async () => {
  s = await startStandIn(
    world({
      keys: [{ id: KEY_ID }],
      buckets: [
        {
          name: 'enforced',
          defaultKmsKeyId: KEY_ID,
          objects: [
            { key: 'ctx', encryptionContext: { tenant: 'a' } },
            { key: 'rep', kmsKeyId: KEY_ID, dsse: true, cacheControl: 'max-age=5', checksumAlgorithm: 'SHA1' },
          ],
        },
        {
          name: 'locked',
          versioning: true,
          objectLock: { enabled: true, defaultRetention: { mode: 'GOVERNANCE', days: 1 } },
          objectOwnership: 'ObjectWriter',
          objects: [{ key: 'held', retention: { mode: 'COMPLIANCE', retainUntil: UNTIL }, legalHold: true }],
        },
      ],
    }),
  );
  c = clients(s);
});
afterAll(() => s.close());

test('ACL headers on a BucketOwnerEnforced bucket: 400 AccessControlListNotSupported; bucket-owner-full-control is admitted', async () => {
  const put = (extra: Record<string, string>) =>
    c.s3.send(new PutObjectCommand({ Bucket: 'enforced', Key: 'n', Body: 'x', ...extra }));
  expect(await errorName(put({ GrantRead: 'uri="http://acs.amazonaws.com/groups/global/AllUsers"' }))).toBe(
    'AccessControlListNotSupported',
  );
  expect(
    await errorName(
      c.s3.send(
        new CopyObjectCommand({
          Bucket: 'enforced',
          Key: 'copy',
          CopySource: 'enforced/n-missing',
          GrantFullControl: 'id="abc"',
        }),
      ),
    ),
  ).toMatch(/AccessControlListNotSupported|NoSuchKey/);
  await expect(put({ ACL: 'bucket-owner-full-control' })).rejects.toThrow(/canned ACLs/);
});

test('Object Lock headers on a bucket without Object Lock: 400 InvalidRequest', async () => {
  const e = await c.s3
    .send(
      new PutObjectCommand({
        Bucket: 'enforced',
        Key: 'n2',
        Body: 'x',
        ObjectLockMode: 'GOVERNANCE',
        ObjectLockRetainUntilDate: new Date(UNTIL),
      }),
    )
    .catch((err: Error) => err);
  expect(e).toMatchObject({ name: 'InvalidRequest', message: 'Bucket is missing Object Lock Configuration' });
  expect(
    await errorName(
      c.s3.send(new PutObjectCommand({ Bucket: 'enforced', Key: 'n3', Body: 'x', ObjectLockLegalHoldStatus: 'ON' })),
    ),
  ).toBe('InvalidRequest');
});

test('retention and legal hold are stored per version, answered on HEAD; the bucket default applies to a write without its own', async () => {
  const held = await c.s3.send(new HeadObjectCommand({ Bucket: 'locked', Key: 'held' }));
  expect(held).toMatchObject({ ObjectLockMode: 'COMPLIANCE', ObjectLockLegalHoldStatus: 'ON' });
  expect(held.ObjectLockRetainUntilDate?.toISOString()).toBe(UNTIL);
  await c.s3.send(new PutObjectCommand({ Bucket: 'locked', Key: 'held', Body: 'new version' }));
  const next = await c.s3.send(new HeadObjectCommand({ Bucket: 'locked', Key: 'held' }));
  expect(next.ObjectLockMode).toBe('GOVERNANCE');
  expect(next.ObjectLockLegalHoldStatus).toBeUndefined();
  expect(s.s3Object('locked', 'held')).toMatchObject({ versions: 2, legalHold: false });
  expect(
    await errorName(
      c.s3.send(new PutObjectCommand({ Bucket: 'locked', Key: 'm', Body: 'x', ObjectLockMode: 'COMPLIANCE' })),
    ),
  ).toBe('InvalidArgument');
});

test('an additional encryption context is stored and passed to KMS, never answered on HEAD', async () => {
  expect(s.s3Object('enforced', 'ctx')!.encryptionContext).toEqual({
    'aws:s3:arn': 'arn:aws:s3:::enforced/ctx',
    tenant: 'a',
  });
  const head = await c.s3.send(new HeadObjectCommand({ Bucket: 'enforced', Key: 'ctx' }));
  expect((head as unknown as Record<string, unknown>).SSEKMSEncryptionContext).toBeUndefined();
  expect(head.$metadata.httpStatusCode).toBe(200);
});

test('world: grants need ACLs, Object Lock fields need Object Lock on a versioned bucket, a context needs SSE-KMS and no aws: key', () => {
  expect(() =>
    world({
      buckets: [
        {
          name: 'bk1',
          objectLock: { enabled: true },
          objects: [
            { key: 'g', grants: { READ: ['id="x"'] } },
            { key: 'c', encryptionContext: { tenant: 'a' } },
            { key: 'k', kmsKeyId: 'k', encryptionContext: { 'aws:x': 'a' } },
          ],
        },
        {
          name: 'bk2',
          objects: [{ key: 'r', retention: { mode: 'GOVERNANCE', retainUntil: UNTIL }, legalHold: true }],
        },
      ],
      keys: [{ id: 'k' }],
    }),
  ).toThrow(/objects\[2\]\.encryptionContext\.aws:x/);
  let message = '';
  try {
    world({
      keys: [{ id: 'k' }],
      buckets: [
        {
          name: 'bk1',
          objectLock: { enabled: true },
          objects: [
            { key: 'g', grants: { READ: ['id="x"'] } },
            { key: 'c', encryptionContext: { t: 'a' } },
          ],
        },
        {
          name: 'bk2',
          objects: [{ key: 'r', retention: { mode: 'GOVERNANCE', retainUntil: UNTIL }, legalHold: true }],
        },
      ],
    });
  } catch (e) {
    message = (e as Error).message;
  }
  expect(message).toContain('buckets[0].objectLock: Object Lock needs a versioned bucket');
  expect(message).toContain('buckets[0].objects[0].grants: ACLs are disabled on a BucketOwnerEnforced bucket');
  expect(message).toContain('buckets[0].objects[1].encryptionContext: only an SSE-KMS object');
  expect(message).toContain('buckets[1].objects[0].retention: the bucket has no Object Lock');
  expect(message).toContain('buckets[1].objects[0].legalHold: the bucket has no Object Lock');
});

test('--s3-report shows the stored DSSE, Cache-Control and checksum algorithm of an object', async () => {
  const rep = (await s.s3Report(['enforced'])).find((o) => o.key === 'rep');
  expect(rep).toMatchObject({ sse: 'aws:kms:dsse', cacheControl: 'max-age=5', checksumAlgorithm: 'SHA1' });
});
