import {
  GetObjectAclCommand,
  GetObjectTaggingCommand,
  type GetObjectAclCommandOutput,
  type Grant,
  type ChecksumAlgorithm,
  type GetObjectCommandOutput,
  type GetObjectTaggingCommandOutput,
  type HeadObjectCommandOutput,
  type ObjectLockLegalHoldStatus,
  type ObjectLockMode,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { isVersioned, type Run } from './reencrypt-run';

/**
 * What every rewrite of an object must keep (CopyObject with MetadataDirective REPLACE,
 * CreateMultipartUpload, the envelope path's PutObject): read from the object's HEAD (or GET)
 * and its tags, written back as the write's parameters. A REPLACE copy or a new upload starts
 * from nothing: whatever is not passed is lost (CopyObject API reference, x-amz-metadata-directive).
 *
 * Kept: user metadata; the system headers Content-Type/-Encoding/-Disposition/-Language,
 * Cache-Control, Expires, WebsiteRedirectLocation; storage class; checksum algorithm; tags; Object
 * Lock retention and legal hold. HEAD answers the Object Lock fields only to a caller with
 * s3:GetObjectRetention / s3:GetObjectLegalHold; writing them needs s3:PutObjectRetention /
 * s3:PutObjectLegalHold (S3 User Guide, "Object Lock considerations").
 *
 * The object ACL is read with GetObjectAcl and written back as x-amz-grant-* headers (a REPLACE
 * copy or a new upload is private otherwise). With Object Ownership "bucket owner enforced" ACLs
 * are disabled: GetObjectAcl still answers, with the owner's FULL_CONTROL only, so nothing is
 * written (a grant would be refused, AccessControlListNotSupported).
 */

/** An object's attributes as read before a rewrite. */
export interface KeptAttributes {
  contentType?: string;
  contentEncoding?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  cacheControl?: string;
  expires?: Date;
  websiteRedirectLocation?: string;
  metadata?: Record<string, string>;
  /** Absent: STANDARD (HEAD omits it for STANDARD). */
  storageClass?: StorageClass;
  /** Known only from a read with ChecksumMode ENABLED. */
  checksumAlgorithm?: ChecksumAlgorithm;
  /** URL-encoded `k=v&...` as `x-amz-tagging` takes it; undefined: no tags. */
  tagging?: string;
  objectLockMode?: ObjectLockMode;
  objectLockRetainUntilDate?: Date;
  objectLockLegalHoldStatus?: ObjectLockLegalHoldStatus;
}

/** The fields HEAD and GET share (both outputs carry the object's stored attributes). */
type ObjectRead = Pick<
  HeadObjectCommandOutput & GetObjectCommandOutput,
  | 'ContentType'
  | 'ContentEncoding'
  | 'ContentDisposition'
  | 'ContentLanguage'
  | 'CacheControl'
  | 'ExpiresString'
  | 'Expires'
  | 'WebsiteRedirectLocation'
  | 'Metadata'
  | 'StorageClass'
  | 'ChecksumCRC32'
  | 'ChecksumCRC32C'
  | 'ChecksumCRC64NVME'
  | 'ChecksumSHA1'
  | 'ChecksumSHA256'
  | 'ObjectLockMode'
  | 'ObjectLockRetainUntilDate'
  | 'ObjectLockLegalHoldStatus'
  | 'TagCount'
  | 'VersionId'
>;

/** The checksum algorithm an object was stored with (a read with ChecksumMode ENABLED answers its value). */
export function checksumAlgorithmOf(read: ObjectRead): ChecksumAlgorithm | undefined {
  if (read.ChecksumCRC32) return 'CRC32';
  if (read.ChecksumCRC32C) return 'CRC32C';
  if (read.ChecksumCRC64NVME) return 'CRC64NVME';
  if (read.ChecksumSHA1) return 'SHA1';
  if (read.ChecksumSHA256) return 'SHA256';
  return undefined;
}

/** Expires as stored: ExpiresString is the raw header (the SDK's Expires is undefined when it is not a valid date). */
function expiresOf(read: ObjectRead): Date | undefined {
  if (read.Expires) return read.Expires;
  if (!read.ExpiresString) return undefined;
  const d = new Date(read.ExpiresString);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** The attributes a HEAD or GET answered (tags are read separately: `readTagging`). */
export function keptFromRead(read: ObjectRead): KeptAttributes {
  return {
    contentType: read.ContentType,
    contentEncoding: read.ContentEncoding,
    contentDisposition: read.ContentDisposition,
    contentLanguage: read.ContentLanguage,
    cacheControl: read.CacheControl,
    expires: expiresOf(read),
    websiteRedirectLocation: read.WebsiteRedirectLocation,
    metadata: read.Metadata,
    storageClass: read.StorageClass,
    checksumAlgorithm: checksumAlgorithmOf(read),
    objectLockMode: read.ObjectLockMode,
    objectLockRetainUntilDate: read.ObjectLockRetainUntilDate,
    objectLockLegalHoldStatus: read.ObjectLockLegalHoldStatus,
  };
}

/**
 * The tags of the version read, URL-encoded for `x-amz-tagging`; undefined when it has none.
 * HEAD/GET answer the tag count (x-amz-tagging-count): no request when it is 0. The version's
 * tags (VersionId) need s3:GetObjectVersionTagging; no KMS request.
 */
export async function readTagging(
  run: Run,
  bucket: string,
  key: string,
  read: ObjectRead,
): Promise<string | undefined> {
  if (read.TagCount !== undefined && read.TagCount === 0) return undefined;
  const versionId = isVersioned(read.VersionId) ? read.VersionId : undefined;
  const out = await run.send<GetObjectTaggingCommandOutput>(
    new GetObjectTaggingCommand({ Bucket: bucket, Key: key, VersionId: versionId }),
    0,
  );
  const tags = new URLSearchParams(
    (out.TagSet ?? []).map((t): [string, string] => [t.Key ?? '', t.Value ?? '']),
  ).toString();
  return tags || undefined;
}

/** The ACL of a write, as x-amz-grant-* header values (`id="..", uri=".."`); empty: the default (owner only). */
export interface GrantParameters {
  GrantFullControl?: string;
  GrantRead?: string;
  GrantReadACP?: string;
  GrantWriteACP?: string;
}

/** One grantee as the x-amz-grant-* headers name it, or undefined for a grantee they cannot name. */
function granteeOf(g: Grant): string | undefined {
  const who = g.Grantee;
  if (who?.Type === 'CanonicalUser' && who.ID) return `id="${who.ID}"`;
  if (who?.Type === 'Group' && who.URI) return `uri="${who.URI}"`;
  if (who?.Type === 'AmazonCustomerByEmail' && who.EmailAddress) return `emailAddress="${who.EmailAddress}"`;
  return undefined;
}

const GRANT_PARAMETER = {
  FULL_CONTROL: 'GrantFullControl',
  READ: 'GrantRead',
  READ_ACP: 'GrantReadACP',
  WRITE_ACP: 'GrantWriteACP',
} as const;

/**
 * The grants an ACL answer holds besides the owner's own FULL_CONTROL (which every new object
 * gets), as write parameters. A grant the headers cannot express (WRITE on an object is not a
 * thing; an unknown grantee type) makes this throw: the object is left as it was, not written
 * with less access than it had.
 */
export function grantParameters(acl: Pick<GetObjectAclCommandOutput, 'Owner' | 'Grants'>): GrantParameters {
  const out: Record<string, string[]> = {};
  for (const g of acl.Grants ?? []) {
    if (g.Permission === 'FULL_CONTROL' && g.Grantee?.Type === 'CanonicalUser' && g.Grantee.ID === acl.Owner?.ID)
      continue;
    const grantee = granteeOf(g);
    const parameter =
      g.Permission && g.Permission in GRANT_PARAMETER
        ? GRANT_PARAMETER[g.Permission as keyof typeof GRANT_PARAMETER]
        : undefined;
    if (!grantee || !parameter)
      throw new Error(`UnsupportedGrant: ${g.Permission} for ${JSON.stringify(g.Grantee)} cannot be written back`);
    (out[parameter] ??= []).push(grantee);
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.join(', ')]));
}

/** The ACL of the version read, as write parameters (GetObjectAcl; s3:GetObjectVersionAcl for a version; no KMS request). */
export async function readGrants(
  run: Run,
  bucket: string,
  key: string,
  read: Pick<ObjectRead, 'VersionId'>,
): Promise<GrantParameters> {
  const versionId = isVersioned(read.VersionId) ? read.VersionId : undefined;
  return grantParameters(
    await run.send<GetObjectAclCommandOutput>(
      new GetObjectAclCommand({ Bucket: bucket, Key: key, VersionId: versionId }),
      0,
    ),
  );
}

/** Parameters every write takes (PutObject, CopyObject, CreateMultipartUpload) to keep the attributes. */
export interface WriteAttributes {
  ContentType?: string;
  ContentEncoding?: string;
  ContentDisposition?: string;
  ContentLanguage?: string;
  CacheControl?: string;
  Expires?: Date;
  WebsiteRedirectLocation?: string;
  Metadata?: Record<string, string>;
  StorageClass?: StorageClass;
  ChecksumAlgorithm?: ChecksumAlgorithm;
  ObjectLockMode?: ObjectLockMode;
  ObjectLockRetainUntilDate?: Date;
  ObjectLockLegalHoldStatus?: ObjectLockLegalHoldStatus;
}

/**
 * The write parameters that keep `kept`. Tags are not among them: PutObject and
 * CreateMultipartUpload take `Tagging: kept.tagging`; CopyObject copies the source version's tags
 * itself (TaggingDirective COPY), atomically with the bytes it copies.
 */
export function writeAttributes(kept: KeptAttributes): WriteAttributes {
  const out: WriteAttributes = {
    ContentType: kept.contentType,
    ContentEncoding: kept.contentEncoding,
    ContentDisposition: kept.contentDisposition,
    ContentLanguage: kept.contentLanguage,
    CacheControl: kept.cacheControl,
    Expires: kept.expires,
    WebsiteRedirectLocation: kept.websiteRedirectLocation,
    Metadata: kept.metadata,
    StorageClass: kept.storageClass,
    ChecksumAlgorithm: kept.checksumAlgorithm,
    ObjectLockMode: kept.objectLockMode,
    ObjectLockRetainUntilDate: kept.objectLockRetainUntilDate,
    ObjectLockLegalHoldStatus: kept.objectLockLegalHoldStatus,
  };
  // Absent fields stay absent (the SDK would send nothing for them anyway; this keeps requests readable in tests).
  for (const k of Object.keys(out) as (keyof WriteAttributes)[]) if (out[k] === undefined) delete out[k];
  return out;
}
