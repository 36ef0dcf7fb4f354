/**
 * Re-encryption decisions per object: re-encrypt or skip with a reason, and which skip reasons
 * leave data under the exposed key. Pure: the adapters read the facts (HeadObject, the Encryption
 * SDK message header) and ask here.
 */

import { parseKmsArn } from '../arn';
import type { SkipReason } from './vocabulary';

/**
 * The skip reasons that leave NO data under the rotated key (another key, no KMS at all, not an
 * Encryption SDK message). Every other reason, including any added later, means the object was
 * left untouched under the exposed key material: strict by default, it sets action required.
 */
export const SKIPS_WITHOUT_ACTION: ReadonlySet<string> = new Set<SkipReason>([
  'OTHER_KEY',
  'NOT_SSE_KMS',
  'NOT_ENVELOPE',
]);

/** Whether a skipped object still has data under the exposed key material (a person must act). */
export function skipNeedsAction(reason: string): boolean {
  return !SKIPS_WITHOUT_ACTION.has(reason);
}

/**
 * Whether `objectKeyArn` is a multi-Region replica of `keyArn`: the same `mrk-` key id, partition
 * and account, another Region (KMS: related multi-Region keys share key id and key material, and
 * rotating the primary rotates the material of its replicas; S3 reports the replica's own ARN for
 * a bucket in the replica's Region).
 */
export function isReplicaOf(objectKeyArn: string | undefined, keyArn: string): boolean {
  const o = objectKeyArn ? parseKmsArn(objectKeyArn) : null;
  const k = parseKmsArn(keyArn);
  if (!o || !k || o.resourceType !== 'key' || k.resourceType !== 'key' || !k.resource.startsWith('mrk-')) return false;
  return o.resource === k.resource && o.partition === k.partition && o.account === k.account && o.region !== k.region;
}

/** Largest object CopyObject copies in one request (5 GiB); larger ones need a multipart copy. */
export const MAX_SINGLE_COPY_BYTES = 5 * 1024 ** 3;

/**
 * Storage classes whose objects must be restored before CopyObject can read them (S3 answers
 * `InvalidObjectState`). GLACIER_IR (Instant Retrieval) is read directly, so it is copied like
 * STANDARD. INTELLIGENT_TIERING objects need a restore only in the opt-in Archive Access / Deep
 * Archive Access tiers, which HeadObject reports as `ArchiveStatus`.
 */
const ARCHIVE_CLASSES = new Set(['GLACIER', 'DEEP_ARCHIVE']);

/** HeadObject facts the decision needs for an SSE-KMS object. */
export interface S3ObjectFacts {
  /** `aws:kms`, `aws:kms:dsse`, `AES256`, ... (HeadObject ServerSideEncryption). */
  serverSideEncryption?: string;
  /** The key ARN S3 reports (HeadObject SSEKMSKeyId). */
  sseKmsKeyId?: string;
  /** Absent means STANDARD (HeadObject omits it). */
  storageClass?: string;
  /** `ARCHIVE_ACCESS` / `DEEP_ARCHIVE_ACCESS` for INTELLIGENT_TIERING objects in an archive tier. */
  archiveStatus?: string;
  /** Whether a restored copy is available (HeadObject Restore: `ongoing-request="false"`). */
  restored?: boolean;
  sizeBytes: number;
}

/** What to do with one object. */
export type S3Decision =
  { action: 'RE_ENCRYPT'; method: 'COPY' | 'MULTIPART_COPY' } | { action: 'SKIPPED'; reason: SkipReason };

/**
 * Decide for one SSE-KMS target object: re-encrypt it (single copy up to 5 GiB, multipart above)
 * or skip it with its reason. `keyArn` is the rotated key's ARN (S3 reports SSEKMSKeyId as an ARN).
 */
export function decideS3Object(facts: S3ObjectFacts, keyArn: string): S3Decision {
  // SSE-KMS and DSSE-KMS (two layers, the KMS one the same): both hold a data key under the KMS key.
  if (facts.serverSideEncryption !== 'aws:kms' && facts.serverSideEncryption !== 'aws:kms:dsse')
    return { action: 'SKIPPED', reason: 'NOT_SSE_KMS' };
  // An object under a replica of the rotated multi-Region key is under the same exposed material.
  if (isReplicaOf(facts.sseKmsKeyId, keyArn)) return { action: 'SKIPPED', reason: 'MULTI_REGION_REPLICA' };
  if (facts.sseKmsKeyId !== keyArn) return { action: 'SKIPPED', reason: 'OTHER_KEY' };
  const archived = ARCHIVE_CLASSES.has(facts.storageClass ?? 'STANDARD') || facts.archiveStatus !== undefined;
  if (archived && !facts.restored) return { action: 'SKIPPED', reason: 'ARCHIVED_NEEDS_RESTORE' };
  return { action: 'RE_ENCRYPT', method: facts.sizeBytes > MAX_SINGLE_COPY_BYTES ? 'MULTIPART_COPY' : 'COPY' };
}

/** Facts about an envelope object: whether it parsed as an Encryption SDK message, and its EDKs. */
export interface EnvelopeFacts {
  isMessage: boolean;
  /** Key ARNs named by the message's `aws-kms` encrypted data keys. */
  kmsKeyArns: string[];
  /** Provider ids of the message's other encrypted data keys (raw keyrings' namespaces, `aws-kms-hierarchy`, `aws-kms-rsa`). */
  otherProviderIds?: string[];
  /** The object is larger than the function re-encrypts (its header may still be read). */
  tooLarge?: boolean;
}

/** Decide for one envelope target object: re-encrypt when one of its data keys is under the rotated key. */
export function decideEnvelopeObject(
  facts: EnvelopeFacts,
  keyArn: string,
): { action: 'RE_ENCRYPT' } | { action: 'SKIPPED'; reason: SkipReason } {
  if (!facts.isMessage) return { action: 'SKIPPED', reason: 'NOT_ENVELOPE' };
  if (!facts.kmsKeyArns.includes(keyArn)) return { action: 'SKIPPED', reason: 'OTHER_KEY' };
  // A rewrite wraps the new data key only with KMS keys: a raw-key reader would lose access.
  if ((facts.otherProviderIds ?? []).length > 0) return { action: 'SKIPPED', reason: 'NON_KMS_WRAPPING_KEY' };
  return facts.tooLarge ? { action: 'SKIPPED', reason: 'ENVELOPE_TOO_LARGE' } : { action: 'RE_ENCRYPT' };
}
