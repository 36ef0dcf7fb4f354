import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
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
  decideEnvelopeObject,
  decideS3Object,
  emptyTargetReport,
  recordOutcome,
  type ObjectOutcome,
  type ReencryptionKind,
  type TargetReport,
} from '../domain/reencryption';

/**
 * Re-encrypting objects under NEW data keys (issue 11), one object at a time; the decisions and
 * the report live in domain/reencryption.ts. Clients and keyrings are parameters, so tests run
 * this against the stand-in and the future Distributed Map child runs it per batch.
 *
 * Failures are reported per object (never swallowed, never fatal for the batch); a write refused
 * by its precondition (someone changed the object meanwhile) is counted as changed and NOT retried
 * over their data.
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
}

const DEFAULT_PART_BYTES = 512 * 1024 ** 2;

// New messages are written with key commitment; older non-committing messages can still be read.
const esdk = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT);
const esdkHeader = deserializeFactory((b) => Buffer.from(b).toString('utf8'), NodeAlgorithmSuite);
/** Encryption context key the SDK adds itself for signing suites; it must not be passed back in. */
const SDK_RESERVED_CONTEXT_PREFIX = 'aws-crypto-';

/** Re-encrypt `keys` of one target under NEW data keys of `keyArn`; the target's report. */
export async function reencryptObjects(deps: ReencryptDeps, target: ReencryptTarget, keyArn: string, keys: string[]): Promise<TargetReport> {
  const started = Date.now();
  let report = emptyTargetReport(target.type, target.bucket, target.prefix ?? '');
  for (const key of keys) {
    let outcome: ObjectOutcome;
    try {
      outcome = target.type === 's3-sse-kms' ? await reencryptSseKms(deps, target.bucket, key, keyArn) : await reencryptEnvelope(deps, target.bucket, key, keyArn);
    } catch (e) {
      outcome = failed(key, e);
    }
    report = recordOutcome(report, outcome);
  }
  return { ...report, durationMs: Date.now() - started };
}

function failed(key: string, e: unknown): ObjectOutcome {
  const err = e as Error & { $metadata?: { httpStatusCode?: number } };
  if (err.name === 'PreconditionFailed' || err.$metadata?.httpStatusCode === 412) {
    return { key, result: 'CHANGED_DURING_RUN', error: `${err.name}: the object changed during the run and was not overwritten` };
  }
  return { key, result: 'FAILED', error: `${err.name}: ${err.message}` };
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

async function reencryptSseKms(deps: ReencryptDeps, bucket: string, key: string, keyArn: string): Promise<ObjectOutcome> {
  const head = await deps.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
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
    const out = await deps.s3.send(new CopyObjectCommand({ ...attributes, CopySource: copySource(bucket, key), CopySourceIfMatch: head.ETag, MetadataDirective: 'REPLACE', TaggingDirective: 'COPY' }));
    bucketKey = out.BucketKeyEnabled ?? false;
  } else {
    bucketKey = await multipartCopy(deps, attributes, head.ETag, size);
  }
  return { key, result: 'REENCRYPTED', bytes: size, oldVersionLeft: isVersioned(head.VersionId), bucketKey };
}

/**
 * Copy an object over 5 GiB onto itself part by part (UploadPartCopy), each part conditional on
 * the ETag read. Tags: CreateMultipartUpload has no TaggingDirective; the future handler must
 * read and pass them (not done yet). An upload that fails is aborted so no parts are billed.
 */
async function multipartCopy(deps: ReencryptDeps, attributes: { Bucket: string; Key: string; ChecksumAlgorithm?: ChecksumAlgorithm } & Record<string, unknown>, etag: string | undefined, size: number): Promise<boolean> {
  const { Bucket, Key } = attributes;
  const partSize = deps.partSizeBytes ?? DEFAULT_PART_BYTES;
  const upload = await deps.s3.send(new CreateMultipartUploadCommand(attributes));
  try {
    const parts: { PartNumber: number; ETag?: string }[] = [];
    for (let start = 0, n = 1; start < size; start += partSize, n++) {
      const end = Math.min(start + partSize, size) - 1;
      const out = await deps.s3.send(new UploadPartCopyCommand({ Bucket, Key, UploadId: upload.UploadId, PartNumber: n, CopySource: copySource(Bucket, Key), CopySourceIfMatch: etag, CopySourceRange: `bytes=${start}-${end}` }));
      parts.push({ PartNumber: n, ETag: out.CopyPartResult?.ETag });
    }
    const done = await deps.s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId: upload.UploadId, MultipartUpload: { Parts: parts } }));
    return done.BucketKeyEnabled ?? upload.BucketKeyEnabled ?? false;
  } catch (e) {
    await deps.s3.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: upload.UploadId })).catch(() => undefined);
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

async function reencryptEnvelope(deps: ReencryptDeps, bucket: string, key: string, keyArn: string): Promise<ObjectOutcome> {
  if (!deps.keyring) throw new Error('envelope re-encryption needs a KMS keyring for the rotated key');
  const got = await deps.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const body = await got.Body!.transformToByteArray();
  const arns = envelopeKeyArns(body);
  const decision = decideEnvelopeObject({ isMessage: arns !== undefined, kmsKeyArns: arns ?? [] }, keyArn);
  if (decision.action === 'SKIPPED') return { key, result: 'SKIPPED', reason: decision.reason };
  const { plaintext, messageHeader } = await esdk.decrypt(deps.keyring, body);
  // Same encryption context (minus what the SDK adds itself) and the same algorithm suite; a fresh data key.
  const encryptionContext = Object.fromEntries(Object.entries(messageHeader.encryptionContext).filter(([k]) => !k.startsWith(SDK_RESERVED_CONTEXT_PREFIX)));
  const { result } = await esdk.encrypt(deps.keyring, plaintext, { encryptionContext, suiteId: messageHeader.suiteId });
  const put = await deps.s3.send(
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
  const check = await deps.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: isVersioned(put.VersionId) ? put.VersionId : undefined, IfMatch: put.ETag }));
  const written = await check.Body!.transformToByteArray();
  const verified = await esdk.decrypt(deps.keyring, written);
  if (!Buffer.from(verified.plaintext).equals(Buffer.from(plaintext))) {
    return { key, result: 'FAILED', error: 'VerificationFailed: the written object does not decrypt to the original bytes' };
  }
  return { key, result: 'REENCRYPTED', bytes: plaintext.length, oldVersionLeft: isVersioned(put.VersionId), bucketKey: false };
}
