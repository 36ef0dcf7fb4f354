import {
  GetObjectLegalHoldCommand,
  GetObjectRetentionCommand,
  type GetObjectLegalHoldCommandOutput,
  type GetObjectRetentionCommandOutput,
} from '@aws-sdk/client-s3';
import type { KeptAttributes } from './object-attributes';
import { realClock } from './pacing';
import { isVersioned, type Run } from './reencrypt-run';

/**
 * The Object Lock settings a rewrite must keep, made certain. HEAD and GET answer the retention
 * and legal-hold headers "only if the requester has the s3:GetObjectRetention /
 * s3:GetObjectLegalHold permission" (HeadObject in the S3 model): a read without them proves
 * nothing, and a rewrite from it would write a new current version without the lock (a bucket
 * policy that denies the Get rights is enough). So when a read left a setting out, the function
 * asks GetObjectRetention / GetObjectLegalHold for the version read: 404
 * NoSuchObjectLockConfiguration means none; 400 InvalidRequest means the bucket has no Object
 * Lock (remembered for the batch: one request per bucket); 403 means the setting is hidden, and
 * the object is left untouched and reported (OBJECT_LOCK_UNREADABLE, action required). These
 * requests cause no KMS request.
 *
 * A retention whose date has passed protects nothing, and S3 refuses a write that sets a date in
 * the past ("The retain until date must be in the future!"): it is not written back (the new
 * version gets the bucket's default retention, if any, as any new write does).
 */

/** A version whose Object Lock settings the function may not read: rewriting it would drop them. */
export class ObjectLockUnreadable extends Error {
  constructor(what: 'retention' | 'legal hold', cause: unknown) {
    super(`ObjectLockUnreadable: S3 refused to show the version's ${what} (${(cause as Error)?.name ?? cause})`);
    this.name = 'ObjectLockUnreadable';
  }
}

/** Buckets found to have no Object Lock, per batch. */
const withoutObjectLock = new WeakMap<Run, Set<string>>();

type LockRead = { VersionId?: string };

/** `kept` with its Object Lock settings confirmed (see above); throws ObjectLockUnreadable when S3 hides one. */
export async function withConfirmedLock(
  run: Run,
  bucket: string,
  key: string,
  read: LockRead,
  kept: KeptAttributes,
): Promise<KeptAttributes> {
  const out = { ...kept };
  const lockless = withoutObjectLock.get(run) ?? new Set<string>();
  withoutObjectLock.set(run, lockless);
  const versionId = isVersioned(read.VersionId) ? read.VersionId : undefined;
  const ask = async <T>(command: object, what: 'retention' | 'legal hold'): Promise<T | undefined> => {
    if (lockless.has(bucket)) return undefined;
    try {
      return await run.send<T>(command, 0);
    } catch (e) {
      const err = e as Error & { $metadata?: { httpStatusCode?: number } };
      if (err.name === 'NoSuchObjectLockConfiguration') return undefined;
      if (err.name === 'InvalidRequest' && /Object Lock/i.test(err.message ?? '')) {
        lockless.add(bucket);
        return undefined;
      }
      if (err.name === 'AccessDenied' || err.$metadata?.httpStatusCode === 403) throw new ObjectLockUnreadable(what, e);
      throw e;
    }
  };
  if (!out.objectLockMode) {
    const r = await ask<GetObjectRetentionCommandOutput>(
      new GetObjectRetentionCommand({ Bucket: bucket, Key: key, VersionId: versionId }),
      'retention',
    );
    out.objectLockMode = r?.Retention?.Mode;
    out.objectLockRetainUntilDate = r?.Retention?.RetainUntilDate;
  }
  if (!out.objectLockLegalHoldStatus) {
    const h = await ask<GetObjectLegalHoldCommandOutput>(
      new GetObjectLegalHoldCommand({ Bucket: bucket, Key: key, VersionId: versionId }),
      'legal hold',
    );
    out.objectLockLegalHoldStatus = h?.LegalHold?.Status;
  }
  const now = (run.deps.clock ?? realClock).now();
  if (out.objectLockRetainUntilDate && out.objectLockRetainUntilDate.getTime() <= now) {
    out.objectLockMode = undefined;
    out.objectLockRetainUntilDate = undefined;
  }
  return out;
}
