import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  UploadPartCopyCommand,
  type ChecksumAlgorithm,
  type CompletedPart,
  type CompleteMultipartUploadCommandOutput,
  type CopyObjectCommandOutput,
  type CreateMultipartUploadCommandOutput,
  type HeadObjectCommandOutput,
  type UploadPartCopyCommandOutput,
} from '@aws-sdk/client-s3';
import { decideS3Object, type ObjectOutcome } from '../../domain/reencryption';
import {
  keptFromRead,
  readGrants,
  readTagging,
  writeAttributes,
  type GrantParameters,
  type KeptAttributes,
} from './object-attributes';
import { ObjectLockUnreadable, withConfirmedLock } from './object-lock-read';
import { copySource, isVersioned, type Run } from './reencrypt-run';

/**
 * The SSE-KMS path: S3 copies an object onto itself with the rotated key, so S3 asks KMS for a NEW
 * data key (CopyObject up to 5 GiB, a multipart copy above). DSSE-KMS objects are copied the same
 * way and stay DSSE-KMS.
 *
 * Every write is conditional twice: on the SOURCE being the version read (CopySourceIfMatch) and on
 * the DESTINATION still being it (IfMatch on CopyObject and CompleteMultipartUpload): a write that
 * lands between our read and our write is answered 412 (or 409 during an upload) and is never
 * overwritten.
 *
 * Bucket Keys: the copy sets BucketKeyEnabled false. S3 reuses a Bucket Key "for a limited time"
 * and may derive the copy's key from one made BEFORE the rotation (a data key of the exposed
 * material); without a Bucket Key the copy gets its own data key from KMS, under the current
 * material. Reads of these objects then cost one KMS Decrypt each (no Bucket Key to cache);
 * new writes to the bucket keep using the bucket's setting.
 *
 * KMS requests S3 makes on our behalf, as charged (S3 User Guide, "Using server-side encryption
 * with AWS KMS keys": reading an SSE-KMS object decrypts its data key, writing one generates a data
 * key):
 * - HeadObject without ChecksumMode: 0 (metadata only).
 * - CopyObject: 2 (Decrypt the source's data key, GenerateDataKey for the copy).
 * - Multipart: HeadObject with ChecksumMode ENABLED: 1 (API reference: checksum mode on an SSE-KMS
 *   object needs kms:Decrypt); CreateMultipartUpload: 1 (GenerateDataKey for the upload); each
 *   UploadPartCopy: 2 (Decrypt the source's data key; Decrypt the upload's data key to encrypt the
 *   part: S3 documents that parts need kms:Decrypt, not how often, so every part is charged);
 *   CompleteMultipartUpload, AbortMultipartUpload: 0.
 */

/** Preferred part size; raised for objects that would need more than MAX_PARTS parts. */
const DEFAULT_PART_BYTES = 512 * 1024 ** 2;
/** S3 multipart limits (S3 User Guide, "Amazon S3 multipart upload limits"). */
const MAX_PARTS = 10_000;
const MIN_PART_BYTES = 5 * 1024 ** 2;
const MAX_PART_BYTES = 5 * 1024 ** 3;
const MiB = 1024 ** 2;
/** Parts of one object copied at once (each still waits for its KMS requests to fit the pace). */
const PART_CONCURRENCY = 4;

/** KMS requests per request, as listed above. */
const KMS = { head: 0, headChecksum: 1, copy: 2, createUpload: 1, partCopy: 2, complete: 0 } as const;

/**
 * The part size for an object of `size` bytes: the preferred size, raised (to whole MiB) so that
 * the object fits MAX_PARTS parts, never under S3's 5 MiB minimum; undefined when even 5 GiB parts
 * cannot hold it (beyond S3's maximum object size).
 */
export function partSizeFor(size: number, preferred = DEFAULT_PART_BYTES): number | undefined {
  const needed = Math.ceil(Math.ceil(size / MAX_PARTS) / MiB) * MiB;
  const part = Math.max(preferred, needed, MIN_PART_BYTES);
  return part > MAX_PART_BYTES ? undefined : part;
}

/**
 * Whether a read failed because the object is SSE-C: S3 answers a GET or copy of one without its
 * customer key 400 InvalidRequest "The object was stored using a form of Server Side Encryption",
 * and a HEAD the same 400 without a body (HeadObject / GetObject API reference, SSE-C headers).
 * A HEAD of a listed key has no other 400 to give (its request carries no parameters to refuse).
 */
export function isSseCRefusal(e: unknown, head: boolean): boolean {
  const err = e as Error & { $metadata?: { httpStatusCode?: number } };
  if (err.$metadata?.httpStatusCode !== 400) return false;
  return head || /form of Server Side Encryption/i.test(err.message ?? '');
}

/**
 * Whether S3 refused a request because KMS refused the data-key request S3 made for it: 403
 * AccessDenied whose message names the KMS action (S3 relays KMS's denial). The commonest cause
 * on a copy is an additional SSE-KMS encryption context, which the role's policy refuses on
 * purpose (lib/reencryption/reencryption.ts): S3 never returns it, so the copy would drop it.
 */
export function isKmsRefusal(e: unknown): boolean {
  const err = e as Error & { $metadata?: { httpStatusCode?: number } };
  if (err.name !== 'AccessDenied' && err.$metadata?.httpStatusCode !== 403) return false;
  return /\bkms[:.]/i.test(err.message ?? '');
}

/** Re-encrypt one SSE-KMS (or DSSE-KMS) object by copying it onto itself; a KMS refusal leaves it untouched, reported. */
export async function reencryptSseKms(run: Run, bucket: string, key: string, keyArn: string): Promise<ObjectOutcome> {
  try {
    return await copyOntoItself(run, bucket, key, keyArn);
  } catch (e) {
    if (isKmsRefusal(e)) return { key, result: 'SKIPPED', reason: 'KMS_ACCESS_DENIED' };
    if (e instanceof ObjectLockUnreadable) return { key, result: 'SKIPPED', reason: 'OBJECT_LOCK_UNREADABLE' };
    throw e;
  }
}

/** The copy itself: HEAD, decide, then CopyObject or a multipart copy. */
async function copyOntoItself(run: Run, bucket: string, key: string, keyArn: string): Promise<ObjectOutcome> {
  let head: HeadObjectCommandOutput;
  try {
    head = await run.send<HeadObjectCommandOutput>(new HeadObjectCommand({ Bucket: bucket, Key: key }), KMS.head);
  } catch (e) {
    if (isSseCRefusal(e, true)) return { key, result: 'SKIPPED', reason: 'SSE_C' };
    throw e;
  }
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
  // DSSE-KMS stays DSSE-KMS; Bucket Keys are never used (see above; DSSE-KMS has none anyway).
  const encryption = {
    ServerSideEncryption:
      head.ServerSideEncryption === 'aws:kms:dsse' ? ('aws:kms:dsse' as const) : ('aws:kms' as const),
    SSEKMSKeyId: keyArn,
    BucketKeyEnabled: false,
  };
  const size = head.ContentLength ?? 0;
  // Object Lock settings a HEAD may hide (object-lock-read.ts), confirmed before anything is written.
  const lock = await withConfirmedLock(run, bucket, key, head, keptFromRead(head));
  // A copy or a new upload does not inherit the ACL: it is written back (object-attributes.ts).
  const grantParameters = await readGrants(run, bucket, key, head);
  let bucketKey: boolean;
  if (decision.method === 'COPY') {
    // Without ChecksumAlgorithm the copy keeps the source's checksum algorithm (CopyObject API reference).
    const out = await run.send<CopyObjectCommandOutput>(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: key,
        ...writeAttributes(lock),
        ...grantParameters,
        ...encryption,
        // The version read (versioned bucket): a newer version written meanwhile is caught by IfMatch, not copied.
        CopySource: copySource(bucket, key, head.VersionId),
        CopySourceIfMatch: head.ETag,
        IfMatch: head.ETag,
        MetadataDirective: 'REPLACE',
        TaggingDirective: 'COPY',
      }),
      KMS.copy,
    );
    bucketKey = out.BucketKeyEnabled ?? false;
  } else {
    // Only a read with ChecksumMode answers the checksum algorithm, which the upload must name.
    const full = await run.send<HeadObjectCommandOutput>(
      new HeadObjectCommand({
        Bucket: bucket,
        Key: key,
        VersionId: isVersioned(head.VersionId) ? head.VersionId : undefined,
        IfMatch: head.ETag,
        ChecksumMode: 'ENABLED',
      }),
      KMS.headChecksum,
    );
    const kept = {
      ...keptFromRead(full),
      objectLockMode: lock.objectLockMode,
      objectLockRetainUntilDate: lock.objectLockRetainUntilDate,
      objectLockLegalHoldStatus: lock.objectLockLegalHoldStatus,
      tagging: await readTagging(run, bucket, key, full),
    };
    bucketKey = await multipartCopy(run, { bucket, key, etag: head.ETag!, versionId: head.VersionId, size }, kept, {
      ...grantParameters,
      ...encryption,
    });
  }
  return { key, result: 'REENCRYPTED', bytes: size, oldVersionLeft: isVersioned(head.VersionId), bucketKey };
}

/** The object a multipart copy copies onto itself: the ETag and version read, and its size. */
interface Source {
  bucket: string;
  key: string;
  etag: string;
  versionId: string | undefined;
  size: number;
}

/**
 * Copy an object over 5 GiB onto itself part by part (UploadPartCopy, PART_CONCURRENCY at a time),
 * each part conditional on the ETag read, and complete only if the destination is still that
 * object. An upload that fails in any way is aborted (no parts left billed); a Lambda timeout
 * cannot abort, hence the lifecycle rule README recommends. A 200 answer with an `<Error>` body
 * (UploadPartCopy, Complete) is an error: the S3 client turns it into one (middleware-sdk-s3).
 */
async function multipartCopy(
  run: Run,
  src: Source,
  kept: KeptAttributes,
  encryption: GrantParameters & Record<string, unknown>,
): Promise<boolean> {
  const { bucket: Bucket, key: Key } = src;
  const partSize = partSizeFor(src.size, run.deps.partSizeBytes);
  if (partSize === undefined)
    throw new Error(
      `ObjectTooLarge: ${src.size} bytes do not fit ${MAX_PARTS} parts of at most ${MAX_PART_BYTES} bytes`,
    );
  const upload = await run.send<CreateMultipartUploadCommandOutput>(
    new CreateMultipartUploadCommand({ Bucket, Key, ...writeAttributes(kept), ...encryption, Tagging: kept.tagging }),
    KMS.createUpload,
  );
  const UploadId = upload.UploadId;
  try {
    if (!UploadId) throw new Error('CreateMultipartUpload answered no UploadId');
    const parts = await copyParts(run, src, UploadId, partSize, kept.checksumAlgorithm);
    const done = await run.send<CompleteMultipartUploadCommandOutput>(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key,
        UploadId,
        IfMatch: src.etag,
        MultipartUpload: { Parts: parts },
      }),
      KMS.complete,
    );
    return done.BucketKeyEnabled ?? upload.BucketKeyEnabled ?? false;
  } catch (e) {
    if (UploadId) await run.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId }), 0).catch(() => undefined);
    throw e;
  }
}

/** The part checksum an UploadPartCopy answered, under the upload's algorithm (Complete must list it). */
function partChecksum(
  out: UploadPartCopyCommandOutput,
  algorithm: ChecksumAlgorithm | undefined,
): Partial<CompletedPart> {
  if (!algorithm) return {};
  const value = (out.CopyPartResult as Record<string, unknown> | undefined)?.[`Checksum${algorithm}`];
  if (!value)
    throw new Error(`UploadPartCopy answered no ${algorithm} checksum for a part; CompleteMultipartUpload needs it`);
  return { [`Checksum${algorithm}`]: value as string };
}

/**
 * Copy every part, a few at a time. After the first failure no new part starts; the parts in flight
 * are awaited (so the abort that follows is not raced by a part landing after it) and the first
 * error is thrown.
 */
async function copyParts(
  run: Run,
  src: Source,
  UploadId: string,
  partSize: number,
  algorithm: ChecksumAlgorithm | undefined,
): Promise<CompletedPart[]> {
  const count = Math.ceil(src.size / partSize);
  const parts: CompletedPart[] = new Array<CompletedPart>(count);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < count) {
      const i = next++;
      const start = i * partSize;
      const end = Math.min(start + partSize, src.size) - 1;
      try {
        const out = await run.send<UploadPartCopyCommandOutput>(
          new UploadPartCopyCommand({
            Bucket: src.bucket,
            Key: src.key,
            UploadId,
            PartNumber: i + 1,
            CopySource: copySource(src.bucket, src.key, src.versionId),
            CopySourceIfMatch: src.etag,
            CopySourceRange: `bytes=${start}-${end}`,
          }),
          KMS.partCopy,
        );
        parts[i] = { PartNumber: i + 1, ETag: out.CopyPartResult?.ETag, ...partChecksum(out, algorithm) };
      } catch (e) {
        failure ??= { error: e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PART_CONCURRENCY, count) }, worker));
  if (failure) throw failure.error;
  return parts;
}
