import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCopyCommand,
  type ChecksumAlgorithm,
  type HeadObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { buildClient, CommitmentPolicy, NodeAlgorithmSuite, type KeyringNode } from '@aws-crypto/client-node';
import { deserializeFactory } from '@aws-crypto/serialize';
import {
  boundedFailure,
  decideEnvelopeObject,
  decideS3Object,
  emptyTargetReport,
  KMS_REQUESTS_PER_OBJECT,
  recordOutcome,
  type ObjectOutcome,
  type ReencryptionKind,
  type TargetReport,
} from '../domain/reencryption';
import { DEFAULT_RETRY, KmsPacer, realClock, retryThrottled, type Clock, type RetryPolicy } from './pacing';

/**
 * Re-encrypting objects under NEW data keys (issue 11), a few objects at a time within a KMS
 * request pace; the decisions and the report live in domain/reencryption.ts. Clients and keyrings
 * are parameters, so tests run this against the stand-in and the Distributed Map child
 * (ReencryptObjects) runs it per batch.
 *
 * Failures are reported per object (never swallowed, never fatal for the batch); a write refused
 * by its precondition (someone changed the object meanwhile) is counted as changed and NOT retried
 * over their data. Throttled requests (S3 SlowDown, KMS ThrottlingException, also through S3 or
 * the Encryption SDK) are retried here with back-off and counted; the clients should be built
 * with `maxAttempts: 1` so that this is the only retry loop (the SDK's own retries would retry
 * throttles unseen, outside the pace, and multiply with ours).
 */

/** A bucket/prefix to re-encrypt and how its objects are encrypted. */
export interface ReencryptTarget {
  type: ReencryptionKind;
  bucket: string;
  prefix?: string;
}

export interface ReencryptDeps {
  s3: S3Client;
  /** Envelope targets: a KMS keyring limited to the rotated key (it decrypts and re-encrypts). */
  keyring?: KeyringNode;
  /** Multipart copy part size (default 512 MiB: a 5 TiB object stays under 10,000 parts). Tests lower it. */
  partSizeBytes?: number;
  /** KMS requests per second the batch may spend (each object costs KMS_REQUESTS_PER_OBJECT); absent: unpaced. */
  kmsRequestsPerSecond?: number;
  /** Objects in flight at once (default 4), all within the pace. */
  concurrency?: number;
  /** Asked before each object starts; false stops starting objects: the rest are failed `NotAttempted` (a re-run picks them up). */
  canStart?: () => boolean;
  retry?: RetryPolicy;
  clock?: Clock;
}

const DEFAULT_CONCURRENCY = 4;

/** What one object's work uses: the deps, and S3 sends / SDK calls that retry throttles. */
interface Run {
  deps: ReencryptDeps;
  send: S3Client['send'];
  retrying<T>(fn: () => Promise<T>): Promise<T>;
}

const DEFAULT_PART_BYTES = 512 * 1024 ** 2;

// New messages are written with key commitment; older non-committing messages can still be read.
const esdk = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT);
const esdkHeader = deserializeFactory((b) => Buffer.from(b).toString('utf8'), NodeAlgorithmSuite);
/**
 * Frame length of the messages we write: 1 MiB, not the SDK's 4 KiB default. The whole object is
 * in memory anyway, and per-frame work dominates the SDK's cost (measured here: 4 KiB frames
 * decrypt at ~40-75 MB/s, 1 MiB frames at ~120-440 MB/s, signing and non-signing suites). Every
 * Encryption SDK reads any frame length up to 2^32 - 1; the suite stays the original's.
 */
const REENCRYPT_FRAME_BYTES = 1024 * 1024;
/** Encryption context key the SDK adds itself for signing suites; it must not be passed back in. */
const SDK_RESERVED_CONTEXT_PREFIX = 'aws-crypto-';

/**
 * Re-encrypt `keys` of one target under NEW data keys of `keyArn`; the target's report (objects
 * in the order given). Up to `concurrency` objects are in flight, each started only when its KMS
 * requests fit the pace and `canStart` agrees.
 */
export async function reencryptObjects(deps: ReencryptDeps, target: ReencryptTarget, keyArn: string, keys: string[]): Promise<TargetReport> {
  const clock = deps.clock ?? realClock;
  const started = clock.now();
  let throttles = 0;
  const retrying = <T>(fn: () => Promise<T>) => retryThrottled(fn, () => throttles++, deps.retry ?? DEFAULT_RETRY, clock);
  const run: Run = { deps, retrying, send: ((command: Parameters<S3Client['send']>[0]) => retrying(() => deps.s3.send(command))) as S3Client['send'] };
  const pacer = deps.kmsRequestsPerSecond ? new KmsPacer(deps.kmsRequestsPerSecond, clock) : undefined;
  const cost = KMS_REQUESTS_PER_OBJECT[target.type];
  const canStart = deps.canStart ?? (() => true);

  const outcomes: (ObjectOutcome | undefined)[] = new Array<ObjectOutcome | undefined>(keys.length);
  let next = 0;
  let stopped = false;
  const worker = async () => {
    while (!stopped && next < keys.length) {
      if (!canStart()) break;
      const i = next++;
      await pacer?.take(cost);
      // The pace may have waited: look at the time again before starting.
      if (!canStart()) break;
      const key = keys[i]!;
      try {
        outcomes[i] = target.type === 's3-sse-kms' ? await reencryptSseKms(run, target.bucket, key, keyArn) : await reencryptEnvelope(run, target.bucket, key, keyArn);
      } catch (e) {
        outcomes[i] = failed(key, e);
      }
    }
    stopped = true;
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(deps.concurrency ?? DEFAULT_CONCURRENCY, keys.length)) }, worker));

  let report = emptyTargetReport(target.type, target.bucket, target.prefix ?? '');
  keys.forEach((key, i) => {
    report = recordOutcome(report, outcomes[i] ?? { key, result: 'FAILED', error: 'NotAttempted: the batch ran out of time before starting this object; a re-run picks it up' });
  });
  return { ...report, throttlesRetried: throttles, durationMs: clock.now() - started };
}

function failed(key: string, e: unknown): ObjectOutcome {
  const err = e as Error & { $metadata?: { httpStatusCode?: number } };
  if (err.name === 'PreconditionFailed' || err.$metadata?.httpStatusCode === 412) {
    return { key, result: 'CHANGED_DURING_RUN', error: `${err.name}: the object changed during the run and was not overwritten` };
  }
  return { key, result: 'FAILED', error: boundedFailure(key, `${err.name}: ${err.message}`).error };
}

/** CopySource as S3 expects it: bucket/key with the key URL-encoded (slashes kept). */
function copySource(bucket: string, key: string): string {
  return `${bucket}/${encodeURIComponent(key).replace(/%2F/g, '/')}`;
}

/** The checksum algorithm an object was stored with (HeadObject with ChecksumMode ENABLED). */
function checksumAlgorithmOf(head: HeadObjectCommandOutput): ChecksumAlgorithm | undefined {
  if (head.ChecksumCRC32) return 'CRC32';
  if (head.ChecksumCRC32C) return 'CRC32C';
  if (head.ChecksumCRC64NVME) return 'CRC64NVME';
  if (head.ChecksumSHA1) return 'SHA1';
  if (head.ChecksumSHA256) return 'SHA256';
  return undefined;
}

const isVersioned = (versionId: string | undefined) => versionId !== undefined && versionId !== 'null';

async function reencryptSseKms(run: Run, bucket: string, key: string, keyArn: string): Promise<ObjectOutcome> {
  const head = await run.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
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
    const out = await run.send(new CopyObjectCommand({ ...attributes, CopySource: copySource(bucket, key), CopySourceIfMatch: head.ETag, MetadataDirective: 'REPLACE', TaggingDirective: 'COPY' }));
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
  const tagging = await run.send(new GetObjectTaggingCommand({ Bucket, Key, VersionId: isVersioned(versionId) ? versionId : undefined }));
  const tags = new URLSearchParams((tagging.TagSet ?? []).map((t): [string, string] => [t.Key ?? '', t.Value ?? ''])).toString();
  const upload = await run.send(new CreateMultipartUploadCommand({ ...attributes, Tagging: tags || undefined }));
  try {
    const parts: { PartNumber: number; ETag?: string }[] = [];
    for (let start = 0, n = 1; start < size; start += partSize, n++) {
      const end = Math.min(start + partSize, size) - 1;
      const out = await run.send(new UploadPartCopyCommand({ Bucket, Key, UploadId: upload.UploadId, PartNumber: n, CopySource: copySource(Bucket, Key), CopySourceIfMatch: etag, CopySourceRange: `bytes=${start}-${end}` }));
      parts.push({ PartNumber: n, ETag: out.CopyPartResult?.ETag });
    }
    const done = await run.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId: upload.UploadId, MultipartUpload: { Parts: parts } }));
    return done.BucketKeyEnabled ?? upload.BucketKeyEnabled ?? false;
  } catch (e) {
    await run.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: upload.UploadId })).catch(() => undefined);
    throw e;
  }
}

/** KMS key ARNs of an Encryption SDK message's data keys, or undefined when the bytes are not one. */
function envelopeKeyArns(body: Uint8Array): string[] | undefined {
  try {
    const header = esdkHeader.deserializeMessageHeader(body);
    return header ? header.messageHeader.encryptedDataKeys.filter((k) => k.providerId === 'aws-kms').map((k) => k.providerInfo) : undefined;
  } catch {
    return undefined;
  }
}

async function reencryptEnvelope(run: Run, bucket: string, key: string, keyArn: string): Promise<ObjectOutcome> {
  const keyring = run.deps.keyring;
  if (!keyring) throw new Error('envelope re-encryption needs a KMS keyring for the rotated key');
  const got = await run.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const body = await got.Body!.transformToByteArray();
  const arns = envelopeKeyArns(body);
  const decision = decideEnvelopeObject({ isMessage: arns !== undefined, kmsKeyArns: arns ?? [] }, keyArn);
  if (decision.action === 'SKIPPED') return { key, result: 'SKIPPED', reason: decision.reason };
  const { plaintext, messageHeader } = await run.retrying(() => esdk.decrypt(keyring, body));
  // Same encryption context (minus what the SDK adds itself) and the same algorithm suite; a fresh data key.
  const encryptionContext = Object.fromEntries(Object.entries(messageHeader.encryptionContext).filter(([k]) => !k.startsWith(SDK_RESERVED_CONTEXT_PREFIX)));
  const { result } = await run.retrying(() => esdk.encrypt(keyring, plaintext, { encryptionContext, suiteId: messageHeader.suiteId, frameLength: REENCRYPT_FRAME_BYTES }));
  const put = await run.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: result,
      IfMatch: got.ETag,
      ContentType: got.ContentType,
      Metadata: got.Metadata,
      StorageClass: got.StorageClass,
      ServerSideEncryption: got.ServerSideEncryption,
      SSEKMSKeyId: got.SSEKMSKeyId,
      BucketKeyEnabled: got.BucketKeyEnabled,
    }),
  );
  // Verify what S3 holds now (the version just written) before counting it done.
  const check = await run.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: isVersioned(put.VersionId) ? put.VersionId : undefined, IfMatch: put.ETag }));
  const written = await check.Body!.transformToByteArray();
  const verified = await run.retrying(() => esdk.decrypt(keyring, written));
  if (!Buffer.from(verified.plaintext).equals(Buffer.from(plaintext))) {
    return { key, result: 'FAILED', error: 'VerificationFailed: the written object does not decrypt to the original bytes' };
  }
  return { key, result: 'REENCRYPTED', bytes: plaintext.length, oldVersionLeft: isVersioned(put.VersionId), bucketKey: false };
}
