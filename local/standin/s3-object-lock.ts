import type { IncomingHttpHeaders } from 'node:http';
import { ServiceError } from './errors';
import { header } from './s3-request';
import type { Bucket, ObjectLockState, StoredObject } from './s3-types';

/**
 * Object Lock and Object Ownership as S3 answers a write (PutObject, CopyObject,
 * CreateMultipartUpload) and a read (HEAD/GET). Header names are the S3 model's
 * (`x-amz-object-lock-mode`, `x-amz-object-lock-retain-until-date`, `x-amz-object-lock-legal-hold`).
 */

const LOCK_MODES = ['GOVERNANCE', 'COMPLIANCE'] as const;
const ACL_HEADERS = [
  'x-amz-acl',
  'x-amz-grant-read',
  'x-amz-grant-read-acp',
  'x-amz-grant-write-acp',
  'x-amz-grant-full-control',
] as const;
const DAY_MS = 86_400_000;

/**
 * The Object Lock state a write gives its new version: the request's mode + retain-until date
 * and legal hold, else the bucket's default retention. Lock headers on a bucket without Object
 * Lock are refused with 400 InvalidRequest "Bucket is missing Object Lock Configuration"; a mode
 * without a date (or the reverse) with 400 InvalidArgument (PutObject API reference: both are required together).
 */
export function lockFromWrite(bucket: Bucket, h: IncomingHttpHeaders, now: Date): ObjectLockState {
  const mode = header(h, 'x-amz-object-lock-mode');
  const until = header(h, 'x-amz-object-lock-retain-until-date');
  const hold = header(h, 'x-amz-object-lock-legal-hold');
  if (!bucket.objectLock) {
    if (mode !== undefined || until !== undefined || hold !== undefined)
      throw new ServiceError('InvalidRequest', 'Bucket is missing Object Lock Configuration', 400);
    return {};
  }
  if ((mode === undefined) !== (until === undefined))
    throw new ServiceError(
      'InvalidArgument',
      'x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied',
      400,
    );
  if (mode !== undefined && !(LOCK_MODES as readonly string[]).includes(mode))
    throw new ServiceError('InvalidArgument', 'Unknown wormMode directive.', 400, {
      ArgumentName: 'x-amz-object-lock-mode',
      ArgumentValue: mode,
    });
  if (hold !== undefined && hold !== 'ON' && hold !== 'OFF')
    throw new ServiceError('InvalidArgument', 'Legal Hold must be either of ON or OFF', 400, {
      ArgumentName: 'x-amz-object-lock-legal-hold',
      ArgumentValue: hold,
    });
  // OFF is a legal hold configuration too: the version then answers OFF (GetObjectLegalHold, HEAD).
  const out: ObjectLockState = { legalHold: hold === undefined ? undefined : hold === 'ON' };
  if (mode !== undefined) {
    const date = new Date(until!);
    if (Number.isNaN(date.getTime()) || date <= now)
      throw new ServiceError('InvalidArgument', 'The retain until date must be in the future!', 400, {
        ArgumentName: 'x-amz-object-lock-retain-until-date',
        ArgumentValue: until!,
      });
    out.retention = { mode: mode as ObjectLockMode, retainUntil: date };
  } else if (bucket.objectLock.defaultRetention) {
    const d = bucket.objectLock.defaultRetention;
    out.retention = { mode: d.mode, retainUntil: new Date(now.getTime() + d.days * DAY_MS) };
  }
  return out;
}

type ObjectLockMode = (typeof LOCK_MODES)[number];

/** The Object Lock headers HEAD/GET answer for a version (HeadObjectOutput / GetObjectOutput). */
export function lockHeaders(o: StoredObject): Record<string, string> {
  const h: Record<string, string> = {};
  if (o.retention) {
    h['x-amz-object-lock-mode'] = o.retention.mode;
    h['x-amz-object-lock-retain-until-date'] = o.retention.retainUntil.toISOString();
  }
  if (o.legalHold !== undefined) h['x-amz-object-lock-legal-hold'] = o.legalHold ? 'ON' : 'OFF';
  return h;
}

/** Which Object Lock fields the caller of a HEAD/GET may see (its s3:GetObjectRetention / s3:GetObjectLegalHold). */
export interface LockVisibility {
  retention: boolean;
  legalHold: boolean;
}

/**
 * HEAD answers the retention headers "only if the requester has the s3:GetObjectRetention
 * permission" and the legal hold "only if the requester has the s3:GetObjectLegalHold
 * permission" (HeadObject output in the S3 model). GetObject's model text says so for the legal
 * hold only; for its retention headers it is silent, and the stand-in applies the same rule (the
 * strict answer: a reader that needs them must hold the right). Without a known visibility
 * (a request that was not authorized) nothing is shown.
 */
export function withoutHiddenLock(headers: Record<string, string>, visible: LockVisibility | undefined): void {
  if (!visible?.retention) {
    delete headers['x-amz-object-lock-mode'];
    delete headers['x-amz-object-lock-retain-until-date'];
  }
  if (!visible?.legalHold) delete headers['x-amz-object-lock-legal-hold'];
}

/**
 * Object Ownership "bucket owner enforced" disables ACLs: a write that sets one is refused 400
 * AccessControlListNotSupported "The bucket does not allow ACLs" (S3 User Guide, "Controlling
 * ownership of objects"). S3 admits the bucket-owner-full-control canned ACL "or equivalent";
 * which x-amz-grant-* forms count as equivalent is not documented, so every grant header is refused.
 */
export function checkAclAllowed(bucket: Bucket, h: IncomingHttpHeaders): void {
  if (bucket.objectOwnership !== 'BucketOwnerEnforced') return;
  for (const name of ACL_HEADERS) {
    const v = header(h, name);
    if (v === undefined) continue;
    if (name === 'x-amz-acl' && v === 'bucket-owner-full-control') continue;
    throw new ServiceError('AccessControlListNotSupported', 'The bucket does not allow ACLs', 400);
  }
}
