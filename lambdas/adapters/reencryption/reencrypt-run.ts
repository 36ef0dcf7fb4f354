import type { S3Client } from '@aws-sdk/client-s3';
import type { KmsKeyringNode } from '@aws-crypto/client-node';
import type { ReencryptionKind } from '../../domain/reencryption';
import type { Clock, RetryPolicy } from './pacing';

/**
 * What the two re-encryption paths (reencrypt-sse-kms.ts, reencrypt-envelope.ts) share with the
 * batch that runs them (s3-reencrypt.ts): the dependencies, and the one way to send a request.
 */

/** A bucket/prefix to re-encrypt and how its objects are encrypted. */
export interface ReencryptTarget {
  type: ReencryptionKind;
  bucket: string;
  prefix?: string;
}

export interface ReencryptDeps {
  s3: S3Client;
  /**
   * Envelope targets: a KMS keyring limited to the rotated key (it decrypts). Its client provider
   * and grant tokens also make the rewrite's keyring: the rotated key plus the message's other KMS wrapping keys.
   */
  keyring?: KmsKeyringNode;
  /** Envelope targets: rewrite non-committing messages in a committing suite (setting `reEncryptUpgradeEnvelopeSuite`; default false). */
  upgradeEnvelopeSuite?: boolean;
  /** Envelope targets: largest object re-encrypted (default MAX_ENVELOPE_BYTES); larger ones are left untouched, ENVELOPE_TOO_LARGE. Tests lower it. */
  envelopeMaxBytes?: number;
  /** Preferred multipart copy part size (default 512 MiB; raised so an object fits 10,000 parts). Tests lower it. */
  partSizeBytes?: number;
  /** KMS requests per second the batch may spend (each request charged as it is sent, retries too); absent: unpaced. */
  childKmsRequestsPerSecond?: number;
  /** Objects in flight at once (default 4), all within the pace. */
  concurrency?: number;
  /** Asked before each object starts; false stops starting objects: the rest are failed `NotAttempted` (a re-run picks them up). */
  canStart?: () => boolean;
  retry?: RetryPolicy;
  clock?: Clock;
}

/**
 * What one object's work uses. Every request goes through `send` or `retrying` with the KMS
 * requests it causes (S3's calls on the bucket's behalf included): each attempt, retries too,
 * first waits for those requests to fit the batch's KMS pace, then is retried while throttled.
 */
export interface Run {
  deps: ReencryptDeps;
  /** Send an S3 command (any of the client's; T is its output) that causes `kmsRequests` KMS requests. */
  send<T>(command: object, kmsRequests: number): Promise<T>;
  retrying<T>(fn: () => Promise<T>, kmsRequests: number): Promise<T>;
}

/** CopySource as S3 expects it: bucket/key with the key URL-encoded (slashes kept), `?versionId=` for one version. */
export function copySource(bucket: string, key: string, versionId?: string): string {
  const source = `${bucket}/${encodeURIComponent(key).replace(/%2F/g, '/')}`;
  return isVersioned(versionId) ? `${source}?versionId=${encodeURIComponent(versionId!)}` : source;
}

export const isVersioned = (versionId: string | undefined) => versionId !== undefined && versionId !== 'null';
