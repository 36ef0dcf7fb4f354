import { DescribeKeyCommand, GetKeyRotationStatusCommand, KMS, RotateKeyOnDemandCommand } from '@aws-sdk/client-kms';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { KmsKeyringNode } from '@aws-crypto/client-node';
import { startStandIn, type StandIn } from '../../local/standin';
import { reencryptObjects } from '../../lambdas/adapters/reencryption/s3-reencrypt';
import { partSizeFor } from '../../lambdas/adapters/reencryption/reencrypt-sse-kms';
import { clients, credentials, errorName, KEY_ID, waitFor, world } from './helpers';

/**
 * "Nothing is lost" on the SSE-KMS copy path, the multipart copy and the envelope path,
 * against the stand-in: attributes kept, writes conditional on the destination, Bucket Keys,
 * DSSE-KMS, multipart with a checksum.
 */

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const ARN = `arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}`;
const ATTRIBUTES = {
  metadata: { owner: 'team-a', 'retention-class': 'gold' },
  contentType: 'text/csv',
  cacheControl: 'max-age=60',
  tags: { class: 'secret', 'cost-centre': '42' },
};
/** Object ACL grants besides the owner's (world `grants`; the stand-in answers them on GetObjectAcl). */
const GRANTS = {
  grants: {
    READ: ['uri="http://acs.amazonaws.com/groups/global/AllUsers"'],
    READ_ACP: ['id="79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"'],
  },
};
let s: StandIn;
let c: ReturnType<typeof clients>;

beforeAll(async () => {
  s = await startStandIn(
    world({
      keys: [{ id: KEY_ID }, { id: 'other' }],
      buckets: [
        {
          name: 'keep',
          objectOwnership: 'ObjectWriter',
          objects: [
            {
              key: 'meta.csv',
              body: 'a,b\n1,2\n',
              kmsKeyId: KEY_ID,
              storageClass: 'STANDARD_IA',
              checksumAlgorithm: 'SHA256',
              ...ATTRIBUTES,
              ...GRANTS,
            },
            {
              key: 'big.bin',
              sizeBytes: 6 * GiB,
              kmsKeyId: KEY_ID,
              checksumAlgorithm: 'SHA256',
              ...ATTRIBUTES,
              ...GRANTS,
            },
            { key: 'big-crc.bin', sizeBytes: 6 * GiB, kmsKeyId: KEY_ID, checksumAlgorithm: 'CRC32C' },
            { key: 'dsse.txt', body: 'two layers', kmsKeyId: KEY_ID, dsse: true },
          ],
        },
        {
          name: 'sealed',
          objectOwnership: 'ObjectWriter',
          objects: [
            {
              key: 'env.bin',
              envelopeKeyId: KEY_ID,
              body: 'enveloped',
              checksumAlgorithm: 'SHA256',
              ...ATTRIBUTES,
              ...GRANTS,
            },
          ],
        },
        {
          name: 'bucket-keys',
          defaultKmsKeyId: KEY_ID,
          bucketKeyEnabled: true,
          objects: [
            { key: 'x.txt', body: 'x' },
            { key: 'y.txt', body: 'y' },
          ],
        },
        { name: 'versions', versioning: true, objects: [{ key: 'r.txt', body: 'ours', kmsKeyId: KEY_ID }] },
        { name: 'uploads', objects: [{ key: 'r.bin', sizeBytes: 6 * GiB, kmsKeyId: KEY_ID }] },
        { name: 'sse-c', objects: [{ key: 'c.bin', body: 'customer key', sseC: true }] },
      ],
    }),
    // Slow enough that the Bucket Key made when the world was seeded is still in use after the rotation.
    { speed: 100 },
  );
  c = clients(s);
});
afterAll(() => s.close());

async function rotate(): Promise<string> {
  const before = (await c.kms.send(new DescribeKeyCommand({ KeyId: KEY_ID }))).KeyMetadata!.CurrentKeyMaterialId;
  await c.kms.send(new RotateKeyOnDemandCommand({ KeyId: KEY_ID }));
  return waitFor(
    'rotation',
    async () => {
      if ((await c.kms.send(new GetKeyRotationStatusCommand({ KeyId: KEY_ID }))).OnDemandRotationStartDate)
        return undefined;
      const after = (await c.kms.send(new DescribeKeyCommand({ KeyId: KEY_ID }))).KeyMetadata!.CurrentKeyMaterialId;
      return after !== before ? after : undefined;
    },
    20_000,
  );
}

const body = async (bucket: string, key: string) =>
  (await c.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();
const kept = (bucket: string, key: string) => {
  const o = s.s3Object(bucket, key)!;
  return {
    metadata: o.metadata,
    contentType: o.contentType,
    cacheControl: o.cacheControl,
    systemHeaders: o.systemHeaders,
    grants: o.grants,
    tags: o.tags,
    storageClass: o.storageClass,
    checksumAlgorithm: o.checksumAlgorithm,
  };
};

/** An S3 client whose `after(command)` runs once the command answered, before the adapter's next request. */
function racing(after: (cmd: object, send: S3Client['send']) => Promise<void>): S3Client {
  const s3 = c.s3;
  const send = s3.send.bind(s3) as S3Client['send'];
  const client = Object.create(s3) as S3Client;
  client.send = (async (cmd: Parameters<S3Client['send']>[0]) => {
    const out = await send(cmd);
    await after(cmd, send);
    return out;
  }) as S3Client['send'];
  return client;
}

let material: string;
beforeAll(async () => {
  material = await rotate();
}, 30_000);

describe('a rewrite keeps what readers, policies and lifecycle rules depend on', () => {
  test('SSE-KMS copy: bytes, user metadata, every system header, tags, storage class and checksum algorithm', async () => {
    await c.s3.send(
      new PutObjectCommand({
        Bucket: 'keep',
        Key: 'headers.txt',
        Body: 'all the headers',
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: KEY_ID,
        ContentType: 'text/plain; charset=utf-8',
        ContentEncoding: 'identity',
        ContentDisposition: 'attachment; filename="h.txt"',
        ContentLanguage: 'en-GB',
        CacheControl: 'no-store',
        Expires: new Date('2030-01-01T00:00:00Z'),
        WebsiteRedirectLocation: '/elsewhere.html',
        Metadata: { owner: 'team-b' },
        Tagging: 'class=internal',
        GrantRead: 'emailAddress="reader@example.com", uri="http://acs.amazonaws.com/groups/global/AuthenticatedUsers"',
        ChecksumAlgorithm: 'SHA1',
      }),
    );
    const before = { meta: kept('keep', 'meta.csv'), headers: kept('keep', 'headers.txt') };
    expect(before.headers.systemHeaders).toMatchObject({
      'content-disposition': 'attachment; filename="h.txt"',
      'x-amz-website-redirect-location': '/elsewhere.html',
      expires: expect.any(String),
    });
    const report = await reencryptObjects({ s3: c.s3 }, { type: 's3-sse-kms', bucket: 'keep' }, ARN, [
      'meta.csv',
      'headers.txt',
    ]);
    expect(report).toMatchObject({ objectsReencrypted: 2, objectsFailed: 0 });
    expect(kept('keep', 'meta.csv')).toEqual(before.meta);
    expect(kept('keep', 'headers.txt')).toEqual(before.headers);
    expect(before.meta).toMatchObject({
      ...ATTRIBUTES,
      storageClass: 'STANDARD_IA',
      checksumAlgorithm: 'SHA256',
      systemHeaders: { 'cache-control': 'max-age=60' },
      grants: expect.arrayContaining([expect.stringMatching(/^READ uri=/)]),
    });
    expect(before.headers.grants).toHaveLength(2);
    expect(s.s3Object('keep', 'meta.csv')!.keyMaterialId).toBe(material);
    expect(await body('keep', 'meta.csv')).toBe('a,b\n1,2\n');
    expect(await body('keep', 'headers.txt')).toBe('all the headers');
  });

  test('multipart copy with a SHA256 checksum: completes with every part checksum, keeps tags, metadata and the algorithm', async () => {
    const before = kept('keep', 'big.bin');
    const report = await reencryptObjects(
      { s3: c.s3, partSizeBytes: 1 * GiB },
      { type: 's3-sse-kms', bucket: 'keep' },
      ARN,
      ['big.bin', 'big-crc.bin'],
    );
    expect(report).toMatchObject({ objectsReencrypted: 2, objectsFailed: 0 });
    const after = s.s3Object('keep', 'big.bin')!;
    expect(kept('keep', 'big.bin')).toEqual(before);
    expect(before).toMatchObject({ ...ATTRIBUTES, checksumAlgorithm: 'SHA256' });
    expect(before.grants).toHaveLength(2);
    expect(after).toMatchObject({ checksumType: 'COMPOSITE', keyMaterialId: material, bucketKeyEnabled: false });
    expect(s.s3Object('keep', 'big-crc.bin')!.checksumAlgorithm).toBe('CRC32C');
    const completes = s.calls.filter((x) => x.operation === 'CompleteMultipartUpload' && !x.error);
    expect(completes.length).toBeGreaterThanOrEqual(2);
  });

  test('envelope rewrite: tags, metadata, headers and checksum algorithm kept on the PutObject', async () => {
    const before = kept('sealed', 'env.bin');
    const keyring = new KmsKeyringNode({
      generatorKeyId: ARN,
      clientProvider: () =>
        new KMS({ endpoint: s.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 }) as never,
    });
    const report = await reencryptObjects({ s3: c.s3, keyring }, { type: 'envelope', bucket: 'sealed' }, ARN, [
      'env.bin',
    ]);
    expect(report).toMatchObject({ objectsReencrypted: 1, objectsFailed: 0 });
    expect(before).toMatchObject({
      ...ATTRIBUTES,
      checksumAlgorithm: 'SHA256',
      systemHeaders: { 'cache-control': 'max-age=60' },
    });
    expect(before.grants).toHaveLength(2);
    expect(kept('sealed', 'env.bin')).toEqual(before);
  });
});

describe('Bucket Keys and DSSE-KMS', () => {
  test('a Bucket Key bucket ends with every re-encrypted object under the NEW material', async () => {
    const before = s.s3Object('bucket-keys', 'x.txt')!;
    expect(before.bucketKeyEnabled).toBe(true);
    expect(before.keyMaterialId).not.toBe(material);
    const report = await reencryptObjects({ s3: c.s3 }, { type: 's3-sse-kms', bucket: 'bucket-keys' }, ARN, [
      'x.txt',
      'y.txt',
    ]);
    expect(report).toMatchObject({ objectsReencrypted: 2, bucketKeys: false });
    for (const key of ['x.txt', 'y.txt'])
      expect(s.s3Object('bucket-keys', key)).toMatchObject({ keyMaterialId: material, bucketKeyEnabled: false });
    expect(await body('bucket-keys', 'x.txt')).toBe('x');
  });

  test('a DSSE-KMS object under the key is re-encrypted and stays DSSE-KMS', async () => {
    const before = s.s3Object('keep', 'dsse.txt')!;
    expect(before.serverSideEncryption).toBe('aws:kms:dsse');
    const report = await reencryptObjects({ s3: c.s3 }, { type: 's3-sse-kms', bucket: 'keep' }, ARN, ['dsse.txt']);
    expect(report).toMatchObject({ objectsReencrypted: 1, objectsSkipped: 0 });
    const after = s.s3Object('keep', 'dsse.txt')!;
    expect(after).toMatchObject({ serverSideEncryption: 'aws:kms:dsse', kmsKeyArn: ARN, keyMaterialId: material });
    expect(after.dataKeyFingerprint).not.toBe(before.dataKeyFingerprint);
    expect(await body('keep', 'dsse.txt')).toBe('two layers');
  });
});

describe('a destination written between our read and our write is never overwritten', () => {
  test('CopyObject: a newer version written after our HEAD stays the current version', async () => {
    const client = racing(async (cmd, send) => {
      if (cmd instanceof HeadObjectCommand)
        await send(
          new PutObjectCommand({
            Bucket: 'versions',
            Key: 'r.txt',
            Body: 'theirs',
            ServerSideEncryption: 'aws:kms',
            SSEKMSKeyId: 'other',
          }),
        );
    });
    const report = await reencryptObjects({ s3: client }, { type: 's3-sse-kms', bucket: 'versions' }, ARN, ['r.txt']);
    expect(report).toMatchObject({ objectsChangedDuringRun: 1, objectsReencrypted: 0 });
    expect(await body('versions', 'r.txt')).toBe('theirs');
    expect(s.s3Object('versions', 'r.txt')).toMatchObject({
      versions: 2,
      kmsKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/other',
    });
  });

  test('multipart: a write after the last part copy makes Complete fail (409); the upload is aborted', async () => {
    let parts = 0;
    const client = racing(async (cmd, send) => {
      if (cmd.constructor.name === 'UploadPartCopyCommand' && ++parts === 6)
        await send(new PutObjectCommand({ Bucket: 'uploads', Key: 'r.bin', Body: 'theirs' }));
    });
    const aborts = () => s.calls.filter((x) => x.operation === 'AbortMultipartUpload' && !x.error).length;
    const abortedBefore = aborts();
    const report = await reencryptObjects(
      { s3: client, partSizeBytes: 1 * GiB },
      { type: 's3-sse-kms', bucket: 'uploads' },
      ARN,
      ['r.bin'],
    );
    expect(parts).toBe(6);
    expect(report).toMatchObject({
      objectsChangedDuringRun: 1,
      objectsReencrypted: 0,
      failures: [{ key: 'r.bin', error: expect.stringMatching(/^ConditionalRequestConflict/) }],
    });
    expect(await body('uploads', 'r.bin')).toBe('theirs');
    expect(aborts()).toBe(abortedBefore + 1);
  });

  test('the stand-in refuses a Complete without the part checksums of a checksum upload, as S3 does', async () => {
    const up = await c.s3.send(
      new CreateMultipartUploadCommand({ Bucket: 'keep', Key: 'partial.bin', ChecksumAlgorithm: 'SHA256' }),
    );
    const part = await c.s3.send(
      new UploadPartCopyCommand({
        Bucket: 'keep',
        Key: 'partial.bin',
        UploadId: up.UploadId,
        PartNumber: 1,
        CopySource: 'keep/meta.csv',
      }),
    );
    expect(part.CopyPartResult?.ChecksumSHA256).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const complete = (withChecksum: boolean) =>
      c.s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: 'keep',
          Key: 'partial.bin',
          UploadId: up.UploadId,
          MultipartUpload: {
            Parts: [
              {
                PartNumber: 1,
                ETag: part.CopyPartResult?.ETag,
                ...(withChecksum ? { ChecksumSHA256: part.CopyPartResult?.ChecksumSHA256 } : {}),
              },
            ],
          },
        }),
      );
    expect(await errorName(complete(false))).toBe('InvalidRequest');
    await complete(true);
    expect(s.s3Object('keep', 'partial.bin')).toMatchObject({ checksumAlgorithm: 'SHA256', checksumType: 'COMPOSITE' });
  });
});

describe('part sizes', () => {
  test('an object fits 10,000 parts of 5 MiB..5 GiB up to the largest S3 object; beyond, no part size', () => {
    expect(partSizeFor(6 * GiB)).toBe(512 * MiB);
    const fiveTiB = 5 * 1024 * GiB;
    expect(Math.ceil(fiveTiB / partSizeFor(fiveTiB)!)).toBeLessThanOrEqual(10_000);
    const fiftyTB = 50 * 10 ** 12;
    const part = partSizeFor(fiftyTB)!;
    expect(part).toBeLessThanOrEqual(5 * GiB);
    expect(Math.ceil(fiftyTB / part)).toBeLessThanOrEqual(10_000);
    expect(partSizeFor(10_000 * 5 * GiB + 1)).toBeUndefined();
    expect(partSizeFor(100, 1)).toBe(5 * MiB);
  });
});

describe('SSE-C', () => {
  test('an SSE-C object is left untouched and counted with its reason, on both paths', async () => {
    const before = s.s3Object('sse-c', 'c.bin')!;
    expect(before.sseC).toBe(true);
    const sse = await reencryptObjects({ s3: c.s3 }, { type: 's3-sse-kms', bucket: 'sse-c' }, ARN, ['c.bin']);
    expect(sse).toMatchObject({ objectsSkipped: 1, skippedByReason: { SSE_C: 1 }, objectsFailed: 0 });
    const keyring = new KmsKeyringNode({
      generatorKeyId: ARN,
      clientProvider: () =>
        new KMS({ endpoint: s.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 }) as never,
    });
    const env = await reencryptObjects({ s3: c.s3, keyring }, { type: 'envelope', bucket: 'sse-c' }, ARN, ['c.bin']);
    expect(env).toMatchObject({ objectsSkipped: 1, skippedByReason: { SSE_C: 1 }, objectsFailed: 0 });
    expect(s.s3Object('sse-c', 'c.bin')).toEqual(before);
    expect(await errorName(c.s3.send(new GetObjectCommand({ Bucket: 'sse-c', Key: 'c.bin' })))).toBe('InvalidRequest');
  });
});

describe('world object fields', () => {
  test('each new field is validated with an error naming it', () => {
    const bad = (o: Record<string, unknown>) => {
      try {
        world({ keys: [{ id: KEY_ID }], buckets: [{ name: 'b-b', objects: [{ key: 'k', ...o }] }] });
      } catch (e) {
        return (e as Error).message;
      }
      throw new Error('expected the world to be refused');
    };
    expect(bad({ dsse: true })).toMatch(/buckets\[0\]\.objects\[0\]\.dsse: a DSSE-KMS object needs kmsKeyId/);
    expect(bad({ sseC: true, kmsKeyId: KEY_ID })).toMatch(/objects\[0\]\.sseC/);
    expect(bad({ checksumAlgorithm: 'MD5' })).toMatch(/objects\[0\]\.checksumAlgorithm/);
    expect(bad({ metadata: { Owner: 'x' } })).toMatch(/objects\[0\]\.metadata/);
    expect(bad({ metadata: { owner: 'é' } })).toMatch(/objects\[0\]\.metadata\.owner/);
    expect(bad({ contentType: 'csv' })).toMatch(/objects\[0\]\.contentType/);
    expect(bad({ cacheControl: '' })).toMatch(/objects\[0\]\.cacheControl/);
  });
});
