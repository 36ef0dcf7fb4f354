import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  UploadPartCopyCommand,
  type ChecksumAlgorithm,
  type CompleteMultipartUploadCommandOutput,
  type CopyObjectCommandOutput,
  type CreateMultipartUploadCommandOutput,
  type GetObjectTaggingCommandOutput,
  type HeadObjectCommandOutput,
  type UploadPartCopyCommandOutput,
} from '@aws-sdk/client-s3';
import { decideS3Object, type ObjectOutcome } from '../domain/reencryption';
import { copySource, isVersioned, type Run } from './reencrypt-run';

/**
 * The SSE-KMS path: S3 copies an object onto itself with the rotated key, so S3 asks KMS for a NEW
 * data key (CopyObject up to 5 GiB, a multipart copy above).
 */

const DEFAULT_PART_BYTES = 512 * 1024 ** 2;

/** The checksum algorithm an object was stored with (HeadObject with ChecksumMode ENABLED). */
function checksumAlgorithmOf(head: HeadObjectCommandOutput): ChecksumAlgorithm | undefined {
  if (head.ChecksumCRC32) return 'CRC32';
  if (head.ChecksumCRC32C) return 'CRC32C';
  if (head.ChecksumCRC64NVME) return 'CRC64NVME';
  if (head.ChecksumSHA1) return 'SHA1';
  if (head.ChecksumSHA256) return 'SHA256';
  return undefined;
}

/** Re-encrypt one SSE-KMS object by copying it onto itself. */
export async function reencryptSseKms(run: Run, bucket: string, key: string, keyArn: string): Promise<ObjectOutcome> {
  const head = await run.send<HeadObjectCommandOutput>(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }), 0);
  const decision = decideS3Object(
    {
      serverSideEncryption: head.ServerSideEncryption,
      sseKmsKeyId: head.SSEKMSKeyId,
      storageClass: head.StorageClass,
      archiveStatus: head.ArchiveStatus,
      restored: head.Restore?.includes('ongoing-request="false"'),
      sizeBytes: head.ContentLength ?? 0,
    },
    keyArn,
  );
  if (decision.action === 'SKIPPED') return { key, result: 'SKIPPED', reason: decision.reason };
  // Everything REPLACE would otherwise drop is written back as it was; tags are copied by S3.
  const attributes = {
    Bucket: bucket,
    Key: key,
    ServerSideEncryption: 'aws:kms' as const,
    SSEKMSKeyId: keyArn,
    BucketKeyEnabled: head.BucketKeyEnabled ?? false,
    StorageClass: head.StorageClass,
    ContentType: head.ContentType,
    ContentEncoding: head.ContentEncoding,
    ContentDisposition: head.ContentDisposition,
    ContentLanguage: head.ContentLanguage,
    CacheControl: head.CacheControl,
    Metadata: head.Metadata,
    ChecksumAlgorithm: checksumAlgorithmOf(head),
  };
  const size = head.ContentLength ?? 0;
  let bucketKey: boolean;
  if (decision.method === 'COPY') {
    // S3 decrypts the source's data key and generates the new one: 2 KMS requests.
    const out = await run.send<CopyObjectCommandOutput>(new CopyObjectCommand({ ...attributes, CopySource: copySource(bucket, key), CopySourceIfMatch: head.ETag, MetadataDirective: 'REPLACE', TaggingDirective: 'COPY' }), 2);
    bucketKey = out.BucketKeyEnabled ?? false;
  } else {
    bucketKey = await multipartCopy(run, attributes, head.ETag, head.VersionId, size);
  }
  return { key, result: 'REENCRYPTED', bytes: size, oldVersionLeft: isVersioned(head.VersionId), bucketKey };
}

/**
 * Copy an object over 5 GiB onto itself part by part (UploadPartCopy), each part conditional on
 * the ETag read, with the object's tags (GetObjectTagging). An upload that fails is aborted so
 * no parts are billed. A 200 answer with an `<Error>` body (UploadPartCopy, Complete) is an error:
 * the S3 client turns it into one (middleware-sdk-s3 throw200Exceptions).
 */
async function multipartCopy(run: Run, attributes: { Bucket: string; Key: string; ChecksumAlgorithm?: ChecksumAlgorithm } & Record<string, unknown>, etag: string | undefined, versionId: string | undefined, size: number): Promise<boolean> {
  const { Bucket, Key } = attributes;
  const partSize = run.deps.partSizeBytes ?? DEFAULT_PART_BYTES;
  // CreateMultipartUpload has no TaggingDirective: read the tags and pass them on.
  const tagging = await run.send<GetObjectTaggingCommandOutput>(new GetObjectTaggingCommand({ Bucket, Key, VersionId: isVersioned(versionId) ? versionId : undefined }), 0);
  const tags = new URLSearchParams((tagging.TagSet ?? []).map((t): [string, string] => [t.Key ?? '', t.Value ?? ''])).toString();
  const upload = await run.send<CreateMultipartUploadCommandOutput>(new CreateMultipartUploadCommand({ ...attributes, Tagging: tags || undefined }), 1);
  try {
    const parts: { PartNumber: number; ETag?: string }[] = [];
    for (let start = 0, n = 1; start < size; start += partSize, n++) {
      const end = Math.min(start + partSize, size) - 1;
      const out = await run.send<UploadPartCopyCommandOutput>(
        new UploadPartCopyCommand({ Bucket, Key, UploadId: upload.UploadId, PartNumber: n, CopySource: copySource(Bucket, Key), CopySourceIfMatch: etag, CopySourceRange: `bytes=${start}-${end}` }),
        1,
      );
      parts.push({ PartNumber: n, ETag: out.CopyPartResult?.ETag });
    }
    const done = await run.send<CompleteMultipartUploadCommandOutput>(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId: upload.UploadId, MultipartUpload: { Parts: parts } }), 0);
    return done.BucketKeyEnabled ?? upload.BucketKeyEnabled ?? false;
  } catch (e) {
    await run.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: upload.UploadId }), 0).catch(() => undefined);
    throw e;
  }
}

