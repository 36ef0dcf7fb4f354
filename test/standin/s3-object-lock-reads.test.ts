/**
 * Object Lock reads and writes of the S3 stand-in and their IAM: GetObjectRetention /
 * GetObjectLegalHold / PutObjectRetention / PutObjectLegalHold as the S3 model and AWS's recorded
 * answers give them; HEAD answers the lock headers only to a caller with s3:GetObjectRetention /
 * s3:GetObjectLegalHold; a write that sets lock fields needs s3:PutObjectRetention /
 * s3:PutObjectLegalHold; weakening a GOVERNANCE retention needs the bypass header and
 * s3:BypassGovernanceRetention, a COMPLIANCE one cannot be weakened.
 */
import {
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  GetObjectLegalHoldCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectRetentionCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { startStandIn, type StandIn } from '../../local/standin';
import { createHash } from 'node:crypto';
import { clients, signedFetch, world } from './helpers';

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const UNTIL = '2099-01-01T00:00:00.000Z';
const LATER = '2099-06-01T00:00:00.000Z';
const OBJECTS = 'arn:aws:s3:::locked/*';

/** A person whose identity policy allows `actions` on the locked bucket's objects. */
const person = (name: string, actions: string[]) => ({
  arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${name}/${name}`,
  accessKeyId: `AKIATEST${name.toUpperCase().padEnd(12, 'X')}`,
  secretAccessKey: `secret-of-${name}-for-tests`,
  policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions, Resource: OBJECTS }] }],
});
const people = {
  reader: person('reader', ['s3:GetObject', 's3:GetObjectRetention', 's3:GetObjectLegalHold']),
  plainreader: person('plainreader', ['s3:GetObject']),
  holdreader: person('holdreader', ['s3:GetObject', 's3:GetObjectLegalHold']),
  writer: person('writer', ['s3:PutObject', 's3:GetObject', 's3:PutObjectRetention', 's3:PutObjectLegalHold']),
  plainwriter: person('plainwriter', ['s3:PutObject', 's3:GetObject']),
  keeper: person('keeper', ['s3:PutObjectRetention', 's3:PutObjectLegalHold', 's3:GetObjectRetention']),
  bypasser: person('bypasser', ['s3:PutObjectRetention', 's3:BypassGovernanceRetention', 's3:GetObjectRetention']),
};

let s: StandIn;
let admin: S3Client;
const as = (p: { accessKeyId: string; secretAccessKey: string }) =>
  new S3Client({
    endpoint: s.endpoint,
    region: REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey },
    maxAttempts: 1,
  });
async function failure(p: Promise<unknown>): Promise<{ name: string; message: string; status?: number }> {
  try {
    await p;
  } catch (e) {
    const err = e as Error & { $metadata?: { httpStatusCode?: number } };
    return { name: err.name, message: err.message, status: err.$metadata?.httpStatusCode };
  }
  throw new Error('expected the request to fail');
}

beforeAll(async () => {
  s = await startStandIn(
    world({
      account: ACCOUNT,
      region: REGION,
      people,
      buckets: [
        { name: 'plain', objects: [{ key: 'p', body: 'plain' }] },
        {
          name: 'locked',
          versioning: true,
          objectLock: { enabled: true },
          objects: [
            { key: 'held', body: 'held', retention: { mode: 'COMPLIANCE', retainUntil: UNTIL }, legalHold: true },
            { key: 'governed', body: 'g', retention: { mode: 'GOVERNANCE', retainUntil: UNTIL } },
            { key: 'free', body: 'free' },
          ],
        },
      ],
    }),
  );
  admin = clients(s).s3;
});
afterAll(() => s.close());

describe('GetObjectRetention / GetObjectLegalHold', () => {
  test('answer the version settings; a version without one: 404 NoSuchObjectLockConfiguration', async () => {
    const r = await admin.send(new GetObjectRetentionCommand({ Bucket: 'locked', Key: 'held' }));
    expect(r.Retention).toEqual({ Mode: 'COMPLIANCE', RetainUntilDate: new Date(UNTIL) });
    const h = await admin.send(new GetObjectLegalHoldCommand({ Bucket: 'locked', Key: 'held' }));
    expect(h.LegalHold).toEqual({ Status: 'ON' });
    expect(await failure(admin.send(new GetObjectRetentionCommand({ Bucket: 'locked', Key: 'free' })))).toEqual({
      name: 'NoSuchObjectLockConfiguration',
      message: 'The specified object does not have a ObjectLock configuration',
      status: 404,
    });
    expect(
      await failure(admin.send(new GetObjectLegalHoldCommand({ Bucket: 'locked', Key: 'governed' }))),
    ).toMatchObject({ name: 'NoSuchObjectLockConfiguration', status: 404 });
  });

  test('on a bucket without Object Lock: 400 InvalidRequest; a missing key: 404 NoSuchKey', async () => {
    for (const cmd of [
      new GetObjectRetentionCommand({ Bucket: 'plain', Key: 'p' }),
      new GetObjectLegalHoldCommand({ Bucket: 'plain', Key: 'p' }),
      new PutObjectLegalHoldCommand({ Bucket: 'plain', Key: 'p', LegalHold: { Status: 'ON' } }),
    ])
      expect(await failure(admin.send(cmd as never))).toEqual({
        name: 'InvalidRequest',
        message: 'Bucket is missing Object Lock Configuration',
        status: 400,
      });
    expect((await failure(admin.send(new GetObjectRetentionCommand({ Bucket: 'locked', Key: 'nope' })))).name).toBe(
      'NoSuchKey',
    );
  });

  test('need s3:GetObjectRetention / s3:GetObjectLegalHold (403 AccessDenied naming the action)', async () => {
    const plain = as(people.plainreader);
    const denied = await failure(plain.send(new GetObjectRetentionCommand({ Bucket: 'locked', Key: 'held' })));
    expect(denied).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(denied.message).toContain('s3:GetObjectRetention');
    const hold = await failure(plain.send(new GetObjectLegalHoldCommand({ Bucket: 'locked', Key: 'held' })));
    expect(hold.message).toContain('s3:GetObjectLegalHold');
    await as(people.reader).send(new GetObjectRetentionCommand({ Bucket: 'locked', Key: 'held' }));
  });
});

describe('HEAD and GET answer the Object Lock headers only to a caller with the read rights', () => {
  test('with both rights: mode, date and legal hold', async () => {
    const head = await as(people.reader).send(new HeadObjectCommand({ Bucket: 'locked', Key: 'held' }));
    expect(head).toMatchObject({ ObjectLockMode: 'COMPLIANCE', ObjectLockLegalHoldStatus: 'ON' });
    expect(head.ObjectLockRetainUntilDate?.toISOString()).toBe(UNTIL);
  });

  test('without them: none of the three, on HEAD and on GET; the object itself is still served', async () => {
    const plain = as(people.plainreader);
    for (const out of [
      await plain.send(new HeadObjectCommand({ Bucket: 'locked', Key: 'held' })),
      await plain.send(new GetObjectCommand({ Bucket: 'locked', Key: 'held' })),
    ]) {
      expect(out.$metadata.httpStatusCode).toBe(200);
      expect(out.ObjectLockMode).toBeUndefined();
      expect(out.ObjectLockRetainUntilDate).toBeUndefined();
      expect(out.ObjectLockLegalHoldStatus).toBeUndefined();
    }
  });

  test('each right shows its own fields only', async () => {
    const head = await as(people.holdreader).send(new HeadObjectCommand({ Bucket: 'locked', Key: 'held' }));
    expect(head.ObjectLockLegalHoldStatus).toBe('ON');
    expect(head.ObjectLockMode).toBeUndefined();
  });
});

describe('writes that set Object Lock fields need s3:PutObjectRetention / s3:PutObjectLegalHold', () => {
  const lockFields = {
    ObjectLockMode: 'GOVERNANCE' as const,
    ObjectLockRetainUntilDate: new Date(UNTIL),
    ObjectLockLegalHoldStatus: 'ON' as const,
  };

  test('PutObject, CopyObject and CreateMultipartUpload without them: 403 AccessDenied, nothing written', async () => {
    const plain = as(people.plainwriter);
    const versions = s.s3Object('locked', 'free')!.versions;
    const writes = [
      new PutObjectCommand({ Bucket: 'locked', Key: 'free', Body: 'x', ...lockFields }),
      new CopyObjectCommand({ Bucket: 'locked', Key: 'free', CopySource: 'locked/free', ...lockFields }),
      new CreateMultipartUploadCommand({ Bucket: 'locked', Key: 'free', ...lockFields }),
    ];
    for (const w of writes) {
      const e = await failure(plain.send(w as never));
      expect(e).toMatchObject({ name: 'AccessDenied', status: 403 });
      expect(e.message).toContain('s3:PutObjectRetention');
    }
    const holdOnly = await failure(
      plain.send(new PutObjectCommand({ Bucket: 'locked', Key: 'free', Body: 'x', ObjectLockLegalHoldStatus: 'OFF' })),
    );
    expect(holdOnly.message).toContain('s3:PutObjectLegalHold');
    expect(s.s3Object('locked', 'free')!.versions).toBe(versions);
    // The same write without lock fields needs s3:PutObject only.
    await plain.send(new PutObjectCommand({ Bucket: 'locked', Key: 'free', Body: 'x' }));
  });

  test('with them the new version carries the settings', async () => {
    await as(people.writer).send(new PutObjectCommand({ Bucket: 'locked', Key: 'w', Body: 'x', ...lockFields }));
    expect(s.s3Object('locked', 'w')).toMatchObject({
      retention: { mode: 'GOVERNANCE', retainUntil: UNTIL },
      legalHold: true,
    });
  });
});

describe('PutObjectRetention / PutObjectLegalHold', () => {
  const retention = (Key: string, Mode: 'GOVERNANCE' | 'COMPLIANCE', until: string, bypass?: boolean) =>
    new PutObjectRetentionCommand({
      Bucket: 'locked',
      Key,
      Retention: { Mode, RetainUntilDate: new Date(until) },
      ...(bypass ? { BypassGovernanceRetention: true } : {}),
    });

  test('extending a retention needs no bypass; a COMPLIANCE retention cannot be shortened or turned into GOVERNANCE', async () => {
    const keeper = as(people.keeper);
    await keeper.send(retention('held', 'COMPLIANCE', LATER));
    expect(s.s3Object('locked', 'held')!.retention).toEqual({ mode: 'COMPLIANCE', retainUntil: LATER });
    for (const cmd of [retention('held', 'COMPLIANCE', UNTIL), retention('held', 'GOVERNANCE', LATER)])
      expect(await failure(keeper.send(cmd))).toEqual({
        name: 'AccessDenied',
        message: 'Access Denied because object protected by object lock.',
        status: 403,
      });
    const bypass = await failure(as(people.bypasser).send(retention('held', 'COMPLIANCE', UNTIL, true)));
    expect(bypass.message).toBe('Access Denied because object protected by object lock.');
  });

  test('shortening a GOVERNANCE retention needs the bypass header and s3:BypassGovernanceRetention', async () => {
    const SOONER = '2098-01-01T00:00:00.000Z';
    expect((await failure(as(people.keeper).send(retention('governed', 'GOVERNANCE', SOONER)))).message).toBe(
      'Access Denied because object protected by object lock.',
    );
    const noRight = await failure(as(people.keeper).send(retention('governed', 'GOVERNANCE', SOONER, true)));
    expect(noRight.message).toContain('s3:BypassGovernanceRetention');
    await as(people.bypasser).send(retention('governed', 'GOVERNANCE', SOONER, true));
    expect(s.s3Object('locked', 'governed')!.retention).toEqual({ mode: 'GOVERNANCE', retainUntil: SOONER });
  });

  test('a date in the past: 400 InvalidArgument; PutObjectRetention needs s3:PutObjectRetention', async () => {
    expect(await failure(admin.send(retention('free', 'GOVERNANCE', '2001-01-01T00:00:00.000Z')))).toMatchObject({
      name: 'InvalidArgument',
      message: 'The retain until date must be in the future!',
    });
    const denied = await failure(as(people.reader).send(retention('free', 'GOVERNANCE', UNTIL)));
    expect(denied.message).toContain('s3:PutObjectRetention');
  });

  test('legal hold OFF after ON is answered as OFF (a configuration was applied); it needs s3:PutObjectLegalHold', async () => {
    const keeper = as(people.keeper);
    await keeper.send(new PutObjectLegalHoldCommand({ Bucket: 'locked', Key: 'held', LegalHold: { Status: 'OFF' } }));
    const h = await admin.send(new GetObjectLegalHoldCommand({ Bucket: 'locked', Key: 'held' }));
    expect(h.LegalHold).toEqual({ Status: 'OFF' });
    expect((await admin.send(new HeadObjectCommand({ Bucket: 'locked', Key: 'held' }))).ObjectLockLegalHoldStatus).toBe(
      'OFF',
    );
    const denied = await failure(
      as(people.reader).send(
        new PutObjectLegalHoldCommand({ Bucket: 'locked', Key: 'held', LegalHold: { Status: 'ON' } }),
      ),
    );
    expect(denied.message).toContain('s3:PutObjectLegalHold');
  });
});

test('PutObjectLegalHold / PutObjectRetention need Content-MD5 or an x-amz-checksum-* header that matches the body (requestChecksumRequired)', async () => {
  const body = '<LegalHold xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>ON</Status></LegalHold>';
  const put = (headers: Record<string, string>) =>
    signedFetch(`${s.endpoint}/locked/free?legal-hold`, { method: 'PUT', headers, body });
  const missing = await put({});
  expect(missing.status).toBe(400);
  expect(await missing.text()).toContain('<Code>InvalidRequest</Code>');
  const wrong = await put({ 'content-md5': createHash('md5').update('other').digest('base64') });
  expect(wrong.status).toBe(400);
  expect(await wrong.text()).toContain('<Code>BadDigest</Code>');
  const right = await put({ 'content-md5': createHash('md5').update(body).digest('base64') });
  expect(right.status).toBe(200);
});
