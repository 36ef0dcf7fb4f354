import { Readable } from 'node:stream';
import { DescribeKeyCommand, GetKeyRotationStatusCommand, RotateKeyOnDemandCommand } from '@aws-sdk/client-kms';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { startStandIn, type StandIn } from '../../local/standin';
import { clients, errorName, KEY_ID, waitFor, world } from './helpers';

const GiB = 1024 ** 3;
const ARN = `arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}`;
let s: StandIn;
let c: ReturnType<typeof clients>;

beforeAll(async () => {
  s = await startStandIn(
    world({
      keys: [{ id: KEY_ID, aliases: ['alias/data'] }, { id: 'other' }],
      buckets: [
        {
          name: 'data-bucket',
          defaultKmsKeyId: 'alias/data',
          objects: [
            { key: 'reports/a.txt', body: 'alpha' },
            { key: 'reports/b.txt' },
            { key: 'big.bin', sizeBytes: 6 * GiB },
            { key: 'plain.txt', kmsKeyId: 'other' },
          ],
        },
        { name: 'sse-s3-bucket', objects: [{ key: 'x' }] },
        { name: 'list-bucket', objects: ['a/1', 'a/2', 'a/3', 'b/1', 'b/2', 'c', 'd', 'e'].map((key) => ({ key })) },
        {
          name: 'bucket-key-bucket',
          defaultKmsKeyId: KEY_ID,
          bucketKeyEnabled: true,
          objects: [{ key: 'o1' }, { key: 'o2' }],
        },
        { name: 'eu-bucket', region: 'eu-west-1' },
        { name: 'versioned-bucket', defaultKmsKeyId: KEY_ID, versioning: true, objects: [{ key: 'v', body: 'v1' }] },
      ],
    }),
    { speed: 1000 },
  );
  c = clients(s);
});
afterAll(() => s.close());

async function text(out: { Body?: { transformToString(): Promise<string> } }): Promise<string> {
  return out.Body!.transformToString();
}

async function rotate(): Promise<string> {
  const before = (await c.kms.send(new DescribeKeyCommand({ KeyId: KEY_ID }))).KeyMetadata!.CurrentKeyMaterialId;
  await c.kms.send(new RotateKeyOnDemandCommand({ KeyId: KEY_ID }));
  return waitFor('rotation', async () => {
    if ((await c.kms.send(new GetKeyRotationStatusCommand({ KeyId: KEY_ID }))).OnDemandRotationStartDate)
      return undefined;
    const after = (await c.kms.send(new DescribeKeyCommand({ KeyId: KEY_ID }))).KeyMetadata!.CurrentKeyMaterialId;
    return after !== before ? after : undefined;
  });
}

describe('S3 stand-in', () => {
  test('world objects are encrypted under the bucket default key (or their own key); GET round-trips', async () => {
    const a = await c.s3.send(new GetObjectCommand({ Bucket: 'data-bucket', Key: 'reports/a.txt' }));
    expect(await text(a)).toBe('alpha');
    expect(a.ServerSideEncryption).toBe('aws:kms');
    expect(a.SSEKMSKeyId).toBe(ARN);
    expect(await text(await c.s3.send(new GetObjectCommand({ Bucket: 'data-bucket', Key: 'reports/b.txt' })))).toBe(
      'hello',
    );
    const plain = await c.s3.send(new HeadObjectCommand({ Bucket: 'data-bucket', Key: 'plain.txt' }));
    expect(plain.SSEKMSKeyId).toBe('arn:aws:kms:us-east-1:111122223333:key/other');
    const sse = await c.s3.send(new HeadObjectCommand({ Bucket: 'sse-s3-bucket', Key: 'x' }));
    expect(sse.ServerSideEncryption).toBe('AES256');
    expect(sse.SSEKMSKeyId).toBeUndefined();
    const big = await c.s3.send(new HeadObjectCommand({ Bucket: 'data-bucket', Key: 'big.bin' }));
    expect(big.ContentLength).toBe(6 * GiB);
    expect(s.s3Object('data-bucket', 'big.bin')).toMatchObject({ synthetic: true, size: 6 * GiB, kmsKeyArn: ARN });
    expect(await errorName(c.s3.send(new HeadObjectCommand({ Bucket: 'data-bucket', Key: 'missing' })))).toBe(
      'NotFound',
    );
    expect(await errorName(c.s3.send(new GetObjectCommand({ Bucket: 'data-bucket', Key: 'missing' })))).toBe(
      'NoSuchKey',
    );
    expect(await errorName(c.s3.send(new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'x' })))).toBe(
      'NoSuchBucket',
    );
    expect(await errorName(c.s3.send(new GetObjectCommand({ Bucket: 'eu-bucket', Key: 'x' })))).toBe(
      'PermanentRedirect',
    );
  });

  test('PutObject/GetObject round-trip with SSE-KMS, metadata and a streamed (aws-chunked) body', async () => {
    const put = await c.s3.send(
      new PutObjectCommand({
        Bucket: 'data-bucket',
        Key: 'new/obj.json',
        Body: '{"a":1}',
        ContentType: 'application/json',
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: 'alias/data',
        Metadata: { owner: 'me' },
      }),
    );
    expect(put.ETag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(put.SSEKMSKeyId).toBe(ARN);
    const got = await c.s3.send(new GetObjectCommand({ Bucket: 'data-bucket', Key: 'new/obj.json' }));
    expect(await text(got)).toBe('{"a":1}');
    expect(got.ContentType).toBe('application/json');
    expect(got.Metadata).toEqual({ owner: 'me' });
    expect(got.ETag).toBe(put.ETag);
    const info = s.s3Object('data-bucket', 'new/obj.json')!;
    expect(info.encryptionContext).toEqual({ 'aws:s3:arn': 'arn:aws:s3:::data-bucket/new/obj.json' });
    expect(info.keyMaterialId).toBe(
      (await c.kms.send(new DescribeKeyCommand({ KeyId: KEY_ID }))).KeyMetadata!.CurrentKeyMaterialId,
    );

    await c.s3.send(
      new PutObjectCommand({
        Bucket: 'sse-s3-bucket',
        Key: 'stream',
        Body: Readable.from([Buffer.from('chunk-1 '), Buffer.from('chunk-2')]),
        ContentLength: 15,
      }),
    );
    expect(await text(await c.s3.send(new GetObjectCommand({ Bucket: 'sse-s3-bucket', Key: 'stream' })))).toBe(
      'chunk-1 chunk-2',
    );
    // aws:kms without a key id uses the AWS managed key aws/s3 (created on first use).
    const managed = await c.s3.send(
      new PutObjectCommand({ Bucket: 'sse-s3-bucket', Key: 'managed', Body: 'm', ServerSideEncryption: 'aws:kms' }),
    );
    const md = (await c.kms.send(new DescribeKeyCommand({ KeyId: 'alias/aws/s3' }))).KeyMetadata!;
    expect(managed.SSEKMSKeyId).toBe(md.Arn);
    expect(md.KeyManager).toBe('AWS');
    expect(
      await errorName(
        c.s3.send(
          new PutObjectCommand({
            Bucket: 'data-bucket',
            Key: 'k',
            Body: 'x',
            ServerSideEncryption: 'aws:kms',
            SSEKMSKeyId: 'alias/none',
          }),
        ),
      ),
    ).toBe('KMS.NotFoundException');
  });

  test('CopyObject onto itself with SSE params makes a NEW data key under the CURRENT material; a no-change copy is refused', async () => {
    const before = s.s3Object('data-bucket', 'reports/a.txt')!;
    const newMaterial = await rotate();
    expect(before.keyMaterialId).not.toBe(newMaterial);

    const refused = await c.s3
      .send(
        new CopyObjectCommand({ Bucket: 'data-bucket', Key: 'reports/a.txt', CopySource: 'data-bucket/reports/a.txt' }),
      )
      .then(
        () => undefined,
        (e: Error) => e,
      );
    expect(refused?.name).toBe('InvalidRequest');
    expect(refused?.message).toMatch(/copy an object to itself without changing/);
    expect(s.s3Object('data-bucket', 'reports/a.txt')!.dataKeyFingerprint).toBe(before.dataKeyFingerprint);

    const out = await c.s3.send(
      new CopyObjectCommand({
        Bucket: 'data-bucket',
        Key: 'reports/a.txt',
        CopySource: 'data-bucket/reports/a.txt',
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: ARN,
      }),
    );
    expect(out.CopyObjectResult?.ETag).toBe(before.etag);
    expect(out.SSEKMSKeyId).toBe(ARN);
    const after = s.s3Object('data-bucket', 'reports/a.txt')!;
    expect(after.dataKeyFingerprint).not.toBe(before.dataKeyFingerprint);
    expect(after.keyMaterialId).toBe(newMaterial);
    expect(await text(await c.s3.send(new GetObjectCommand({ Bucket: 'data-bucket', Key: 'reports/a.txt' })))).toBe(
      'alpha',
    );

    // MetadataDirective REPLACE (same metadata) is also a change; without SSE params the copy takes the bucket default.
    await c.s3.send(
      new CopyObjectCommand({
        Bucket: 'data-bucket',
        Key: 'plain.txt',
        CopySource: 'data-bucket/plain.txt',
        MetadataDirective: 'REPLACE',
      }),
    );
    expect(s.s3Object('data-bucket', 'plain.txt')!.kmsKeyArn).toBe(ARN);
  });

  test('with an S3 Bucket Key the object key derives from a bucket key, reused after a rotation with the OLD material; without it the copy gets the new material', async () => {
    const o1 = s.s3Object('bucket-key-bucket', 'o1')!;
    const o2 = s.s3Object('bucket-key-bucket', 'o2')!;
    expect(o1.bucketKeyEnabled).toBe(true);
    expect(o1.encryptionContext).toEqual({ 'aws:s3:arn': 'arn:aws:s3:::bucket-key-bucket' });
    expect(o1.dataKeyFingerprint).not.toBe(o2.dataKeyFingerprint);
    const material = await rotate();
    await c.s3.send(
      new CopyObjectCommand({
        Bucket: 'bucket-key-bucket',
        Key: 'o1',
        CopySource: 'bucket-key-bucket/o1',
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: KEY_ID,
        BucketKeyEnabled: true,
      }),
    );
    const reused = s.s3Object('bucket-key-bucket', 'o1')!;
    expect(reused.keyMaterialId).toBe(o1.keyMaterialId);
    expect(reused.keyMaterialId).not.toBe(material);
    await c.s3.send(
      new CopyObjectCommand({
        Bucket: 'bucket-key-bucket',
        Key: 'o1',
        CopySource: 'bucket-key-bucket/o1',
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: KEY_ID,
        BucketKeyEnabled: false,
      }),
    );
    const after = s.s3Object('bucket-key-bucket', 'o1')!;
    expect(after.keyMaterialId).toBe(material);
    expect(after.bucketKeyEnabled).toBe(false);
    const head = await c.s3.send(new HeadObjectCommand({ Bucket: 'bucket-key-bucket', Key: 'o1' }));
    expect(head.BucketKeyEnabled).toBeUndefined();
    expect(await text(await c.s3.send(new GetObjectCommand({ Bucket: 'bucket-key-bucket', Key: 'o2' })))).toBe('hello');
  });

  test('on a versioned bucket a self-copy adds a version; the old version keeps its old data key and still reads', async () => {
    const old = s.s3Object('versioned-bucket', 'v')!;
    const material = await rotate();
    const out = await c.s3.send(
      new CopyObjectCommand({
        Bucket: 'versioned-bucket',
        Key: 'v',
        CopySource: 'versioned-bucket/v',
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: KEY_ID,
      }),
    );
    expect(out.VersionId).toBeDefined();
    expect(out.CopySourceVersionId).toBe(old.versionId);
    const now = s.s3Object('versioned-bucket', 'v')!;
    expect(now.versions).toBe(2);
    expect(now.keyMaterialId).toBe(material);
    expect(now.dataKeyFingerprint).not.toBe(old.dataKeyFingerprint);
    const previous = await c.s3.send(
      new GetObjectCommand({ Bucket: 'versioned-bucket', Key: 'v', VersionId: old.versionId }),
    );
    expect(await text(previous)).toBe('v1');
    expect(previous.VersionId).toBe(old.versionId);
  });

  test('objects over 5 GB: CopyObject is refused, multipart UploadPartCopy works', async () => {
    const err = await c.s3
      .send(
        new CopyObjectCommand({
          Bucket: 'data-bucket',
          Key: 'big.bin',
          CopySource: 'data-bucket/big.bin',
          ServerSideEncryption: 'aws:kms',
          SSEKMSKeyId: ARN,
        }),
      )
      .then(
        () => undefined,
        (e: Error) => e,
      );
    expect(err?.name).toBe('InvalidRequest');
    expect(err?.message).toBe(
      'The specified copy source is larger than the maximum allowable size for a copy source: 5368709120',
    );

    const before = s.s3Object('data-bucket', 'big.bin')!;
    const material = (await c.kms.send(new DescribeKeyCommand({ KeyId: KEY_ID }))).KeyMetadata!.CurrentKeyMaterialId;
    const { UploadId } = await c.s3.send(
      new CreateMultipartUploadCommand({
        Bucket: 'data-bucket',
        Key: 'big.bin',
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: ARN,
      }),
    );
    const size = 6 * GiB;
    const partSize = 5 * GiB;
    expect(
      await errorName(
        c.s3.send(
          new UploadPartCopyCommand({
            Bucket: 'data-bucket',
            Key: 'big.bin',
            UploadId,
            PartNumber: 1,
            CopySource: 'data-bucket/big.bin',
          }),
        ),
      ),
    ).toBe('InvalidRequest');
    const p1 = await c.s3.send(
      new UploadPartCopyCommand({
        Bucket: 'data-bucket',
        Key: 'big.bin',
        UploadId,
        PartNumber: 1,
        CopySource: 'data-bucket/big.bin',
        CopySourceRange: `bytes=0-${partSize - 1}`,
      }),
    );
    const p2 = await c.s3.send(
      new UploadPartCopyCommand({
        Bucket: 'data-bucket',
        Key: 'big.bin',
        UploadId,
        PartNumber: 2,
        CopySource: 'data-bucket/big.bin',
        CopySourceRange: `bytes=${partSize}-${size - 1}`,
      }),
    );
    expect(
      await errorName(
        c.s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: 'data-bucket',
            Key: 'big.bin',
            UploadId,
            MultipartUpload: {
              Parts: [
                { PartNumber: 2, ETag: p2.CopyPartResult!.ETag },
                { PartNumber: 1, ETag: p1.CopyPartResult!.ETag },
              ],
            },
          }),
        ),
      ),
    ).toBe('InvalidPartOrder');
    const done = await c.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'data-bucket',
        Key: 'big.bin',
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: p1.CopyPartResult!.ETag },
            { PartNumber: 2, ETag: p2.CopyPartResult!.ETag },
          ],
        },
      }),
    );
    expect(done.ETag).toMatch(/-2"$/);
    const after = s.s3Object('data-bucket', 'big.bin')!;
    expect(after.size).toBe(size);
    expect(after.dataKeyFingerprint).not.toBe(before.dataKeyFingerprint);
    expect(after.keyMaterialId).toBe(material);
    expect(
      await errorName(
        c.s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: 'data-bucket',
            Key: 'big.bin',
            UploadId,
            MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.CopyPartResult!.ETag }] },
          }),
        ),
      ),
    ).toBe('NoSuchUpload');
  });

  test('multipart copy of a small object assembles the bytes; parts under 5 MiB (but the last) are refused; abort', async () => {
    const { UploadId } = await c.s3.send(new CreateMultipartUploadCommand({ Bucket: 'data-bucket', Key: 'copy.txt' }));
    const p1 = await c.s3.send(
      new UploadPartCopyCommand({
        Bucket: 'data-bucket',
        Key: 'copy.txt',
        UploadId,
        PartNumber: 1,
        CopySource: 'data-bucket/reports/a.txt',
        CopySourceRange: 'bytes=0-1',
      }),
    );
    const p2 = await c.s3.send(
      new UploadPartCopyCommand({
        Bucket: 'data-bucket',
        Key: 'copy.txt',
        UploadId,
        PartNumber: 2,
        CopySource: 'data-bucket/reports/a.txt',
        CopySourceRange: 'bytes=2-4',
      }),
    );
    expect(
      await errorName(
        c.s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: 'data-bucket',
            Key: 'copy.txt',
            UploadId,
            MultipartUpload: {
              Parts: [
                { PartNumber: 1, ETag: p1.CopyPartResult!.ETag },
                { PartNumber: 2, ETag: p2.CopyPartResult!.ETag },
              ],
            },
          }),
        ),
      ),
    ).toBe('EntityTooSmall');
    const p3 = await c.s3.send(
      new UploadPartCopyCommand({
        Bucket: 'data-bucket',
        Key: 'copy.txt',
        UploadId,
        PartNumber: 1,
        CopySource: 'data-bucket/reports/a.txt',
      }),
    );
    await c.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'data-bucket',
        Key: 'copy.txt',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p3.CopyPartResult!.ETag }] },
      }),
    );
    expect(await text(await c.s3.send(new GetObjectCommand({ Bucket: 'data-bucket', Key: 'copy.txt' })))).toBe('alpha');

    const second = await c.s3.send(new CreateMultipartUploadCommand({ Bucket: 'data-bucket', Key: 'gone' }));
    await c.s3.send(new AbortMultipartUploadCommand({ Bucket: 'data-bucket', Key: 'gone', UploadId: second.UploadId }));
    expect(
      await errorName(
        c.s3.send(new AbortMultipartUploadCommand({ Bucket: 'data-bucket', Key: 'gone', UploadId: second.UploadId })),
      ),
    ).toBe('NoSuchUpload');
  });

  test('ListObjectsV2 with prefix, delimiter, max-keys and continuation tokens', async () => {
    const keys: string[] = [];
    let ContinuationToken: string | undefined;
    let pages = 0;
    do {
      const out = await c.s3.send(new ListObjectsV2Command({ Bucket: 'list-bucket', MaxKeys: 3, ContinuationToken }));
      pages++;
      keys.push(...(out.Contents ?? []).map((o) => o.Key!));
      expect(out.KeyCount).toBe(out.Contents?.length ?? 0);
      ContinuationToken = out.NextContinuationToken;
      expect(out.IsTruncated).toBe(ContinuationToken !== undefined);
    } while (ContinuationToken);
    expect(pages).toBe(3);
    expect(keys).toEqual(['a/1', 'a/2', 'a/3', 'b/1', 'b/2', 'c', 'd', 'e']);
    const a = await c.s3.send(new ListObjectsV2Command({ Bucket: 'list-bucket', Prefix: 'a/' }));
    expect(a.Contents!.map((o) => [o.Key, o.Size])).toEqual([
      ['a/1', 5],
      ['a/2', 5],
      ['a/3', 5],
    ]);
    const top = await c.s3.send(new ListObjectsV2Command({ Bucket: 'list-bucket', Delimiter: '/', MaxKeys: 2 }));
    expect(top.CommonPrefixes!.map((p) => p.Prefix)).toEqual(['a/', 'b/']);
    const rest = await c.s3.send(
      new ListObjectsV2Command({ Bucket: 'list-bucket', Delimiter: '/', ContinuationToken: top.NextContinuationToken }),
    );
    expect(rest.Contents!.map((o) => o.Key)).toEqual(['c', 'd', 'e']);
    expect(rest.CommonPrefixes).toBeUndefined();
  });
});
