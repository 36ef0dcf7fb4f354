/**
 * Re-encryption pacing arithmetic: the KMS requests each step and each object cost, and how the
 * Distributed Map is sized from `reEncryptKmsRequestsPerSecond`. Pure.
 */

import type { ReencryptionKind } from './vocabulary';

/**
 * KMS requests each step of a re-encryption causes, S3's requests on the bucket's behalf included
 * (docs/reencryption.md, "KMS requests per object", has the table with its sources). Every attempt costs them again.
 * - checksumHead: HeadObject with ChecksumMode ENABLED on an SSE-KMS object with a checksum: S3
 *   decrypts to return it ("you must have permission to use the kms:Decrypt action", HeadObject).
 * - copy: CopyObject of an SSE-KMS object under SSE-KMS: Decrypt the source's data key, GenerateDataKey for the copy.
 * - multipartCreate: CreateMultipartUpload under SSE-KMS: GenerateDataKey for the upload.
 * - partCopy: each UploadPartCopy decrypts the source's data key (Decrypt).
 * - sseKmsRead: GetObject of an SSE-KMS object (an envelope stored in an SSE-KMS bucket): Decrypt.
 * - sseKmsWrite: PutObject under SSE-KMS: GenerateDataKey.
 * - esdkDecrypt: the Encryption SDK's KMS keyring decrypts one data key (Decrypt).
 * - esdkEncrypt: GenerateDataKey for the first wrapping key, plus one Encrypt per further wrapping key.
 */
export const KMS_REQUESTS = {
  checksumHead: 1,
  copy: 2,
  multipartCreate: 1,
  partCopy: 1,
  sseKmsRead: 1,
  sseKmsWrite: 1,
  esdkDecrypt: 1,
  esdkEncrypt: 1,
  esdkEncryptPerExtraWrappingKey: 1,
} as const;

/**
 * KMS requests one object costs at most, per kind, as the batches are sized (reencryptionPacing,
 * lib/limits.ts). SSE-KMS copy: checksum HEAD + copy = 3. Envelope in an SSE-KMS bucket, one
 * wrapping key: read (S3 Decrypt) + SDK Decrypt + SDK GenerateDataKey + write (S3 GenerateDataKey)
 * + verifying read (S3 Decrypt) + verifying SDK Decrypt = 6. Objects above this (multipart copies:
 * 2 + one per part; messages with more wrapping keys: one Encrypt each) are charged per request as
 * they go, and the child's deadline stops starting objects: the batch is then smaller, never faster.
 */
export const KMS_REQUESTS_PER_OBJECT: Record<ReencryptionKind, number> = {
  's3-sse-kms': KMS_REQUESTS.checksumHead + KMS_REQUESTS.copy,
  envelope:
    KMS_REQUESTS.sseKmsRead +
    KMS_REQUESTS.esdkDecrypt +
    KMS_REQUESTS.esdkEncrypt +
    KMS_REQUESTS.sseKmsWrite +
    KMS_REQUESTS.sseKmsRead +
    KMS_REQUESTS.esdkDecrypt,
};

/** The KMS rate one child execution is paced to at most (it works objects a few at a time). */
export const CHILD_KMS_REQUESTS_PER_SECOND = 10;
/** How long one batch should take at its pace (the child is Express: 5 minutes at most). */
export const BATCH_TARGET_SECONDS = 120;
/** Step Functions' Distributed Map allows up to 10,000 concurrent children; we stay far below. */
const MAX_CHILD_CONCURRENCY = 1000;

/**
 * How the Distributed Map is paced from `reEncryptKmsRequestsPerSecond`: concurrency x per-child
 * rate = the bound; a batch is as many objects as a child does in BATCH_TARGET_SECONDS at its
 * rate for the costliest kind (envelope, KMS_REQUESTS_PER_OBJECT).
 */
export function reencryptionPacing(kmsRequestsPerSecond: number): {
  maxConcurrency: number;
  childKmsRequestsPerSecond: number;
  maxItemsPerBatch: number;
} {
  const maxConcurrency = Math.min(
    MAX_CHILD_CONCURRENCY,
    Math.max(1, Math.ceil(kmsRequestsPerSecond / CHILD_KMS_REQUESTS_PER_SECOND)),
  );
  const childKmsRequestsPerSecond = kmsRequestsPerSecond / maxConcurrency;
  const costliest = Math.max(...Object.values(KMS_REQUESTS_PER_OBJECT));
  const maxItemsPerBatch = Math.max(
    1,
    Math.min(1000, Math.floor((childKmsRequestsPerSecond * BATCH_TARGET_SECONDS) / costliest)),
  );
  return { maxConcurrency, childKmsRequestsPerSecond, maxItemsPerBatch };
}
