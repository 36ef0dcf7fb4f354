import {
  GetBucketVersioningCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  type GetBucketVersioningCommandOutput,
  type HeadObjectCommandOutput,
  type ListObjectVersionsCommandOutput,
} from '@aws-sdk/client-s3';
import { isReplicaOf, type ObjectOutcome } from '../../domain/reencryption';
import type { ReencryptTarget, Run } from './reencrypt-run';

/**
 * Older versions still under the rotated key. Re-encryption writes a NEW current version; every
 * older version keeps the data key it was written with, and the workflow never deletes versions.
 * So each scanned object's older versions are counted (ListObjectVersions, s3:ListBucketVersions)
 * and reported with action required. A bucket whose versioning was ever enabled (Status Enabled
 * or Suspended: a suspended bucket keeps the versions written before) is listed per object; one
 * that never had it (no Status, GetBucketVersioning) holds one "null" version per key: nothing
 * older, so no listing. Asked once per batch.
 */

/** Per batch (one Run, one bucket): whether the bucket may hold older versions. */
const mayHoldVersions = new WeakMap<Run, Promise<boolean>>();

function bucketMayHoldVersions(run: Run, bucket: string): Promise<boolean> {
  let known = mayHoldVersions.get(run);
  if (!known) {
    known = run
      .send<GetBucketVersioningCommandOutput>(new GetBucketVersioningCommand({ Bucket: bucket }), 0)
      .then((v) => v.Status !== undefined);
    // A failed answer is not remembered: the next object asks again (and fails the same way if it must).
    known.catch(() => mayHoldVersions.delete(run));
    mayHoldVersions.set(run, known);
  }
  return known;
}

/** Older versions of one object whose encryption is read (HeadObject each); the rest count as under the key. */
export const MAX_VERSION_HEADS = 100;

/**
 * The noncurrent versions of `key` (delete markers hold no data). ListObjectVersions lists keys in
 * UTF-8 order and `key` is the first key with prefix `key`, so its versions come first: listing
 * stops at the first other key.
 */
async function olderVersionIds(run: Run, bucket: string, key: string): Promise<string[]> {
  const ids: string[] = [];
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  for (;;) {
    const page = await run.send<ListObjectVersionsCommandOutput>(
      new ListObjectVersionsCommand({
        Bucket: bucket,
        Prefix: key,
        KeyMarker: keyMarker,
        VersionIdMarker: versionIdMarker,
      }),
      0,
    );
    const versions = page.Versions ?? [];
    for (const v of versions) if (v.Key === key && !v.IsLatest && v.VersionId) ids.push(v.VersionId);
    const passedKey = versions.some((v) => v.Key !== key) || (page.DeleteMarkers ?? []).some((m) => m.Key !== key);
    if (!page.IsTruncated || passedKey) return ids;
    keyMarker = page.NextKeyMarker;
    versionIdMarker = page.NextVersionIdMarker;
  }
}

/**
 * How many older versions of one object are under `keyArn` (or a multi-Region replica of it).
 * SSE-KMS targets: HeadObject of each version (no ChecksumMode, so S3 calls no KMS for it) tells
 * its key. Envelope targets: telling would take a GetObject of each version (and a Decrypt in an
 * SSE-KMS bucket), so every older version counts as possibly under the key (strict).
 */
export async function countOlderVersionsUnderKey(
  run: Run,
  target: ReencryptTarget,
  key: string,
  keyArn: string,
): Promise<number> {
  if (!(await bucketMayHoldVersions(run, target.bucket))) return 0;
  const ids = await olderVersionIds(run, target.bucket, key);
  if (target.type === 'envelope') return ids.length;
  let under = Math.max(0, ids.length - MAX_VERSION_HEADS);
  for (const versionId of ids.slice(0, MAX_VERSION_HEADS)) {
    const head = await run.send<HeadObjectCommandOutput>(
      new HeadObjectCommand({ Bucket: target.bucket, Key: key, VersionId: versionId }),
      0,
    );
    const kms = head.ServerSideEncryption === 'aws:kms' || head.ServerSideEncryption === 'aws:kms:dsse';
    if (kms && (head.SSEKMSKeyId === keyArn || isReplicaOf(head.SSEKMSKeyId, keyArn))) under++;
  }
  return under;
}

/**
 * One object's outcome with its older versions under the key counted. A failed or changed object
 * is already action required and is not listed. When the count itself fails, the object is FAILED
 * (never a silent zero): a re-run counts again.
 */
export async function withOlderVersions(
  run: Run,
  target: ReencryptTarget,
  keyArn: string,
  outcome: ObjectOutcome,
): Promise<ObjectOutcome> {
  if (outcome.result !== 'REENCRYPTED' && outcome.result !== 'SKIPPED') return outcome;
  try {
    const olderVersionsUnderKey = await countOlderVersionsUnderKey(run, target, outcome.key, keyArn);
    return olderVersionsUnderKey ? { ...outcome, olderVersionsUnderKey } : outcome;
  } catch (e) {
    const err = e as Error;
    return {
      key: outcome.key,
      result: 'FAILED',
      error: `VersionsNotCounted: ${err.name}: ${err.message} (the object's older versions could not be counted)`,
    };
  }
}
