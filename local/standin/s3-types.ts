import type { IncomingHttpHeaders } from 'node:http';
import type { ChecksumAlgorithm, StoredChecksum } from './s3-checksums';

/** The S3 stand-in's shared shapes: stored objects, uploads, buckets, requests and answers. */

/**
 * What S3 answers when KMS throttles the data-key request it makes for an SSE-KMS object: 503
 * SlowDown, "Please reduce your request rate for operations involving AWS KMS." (as reported by
 * S3 clients, e.g. aws-samples/cql-replicator#92), not KMS's own ThrottlingException.
 */
export const KMS_SLOW_DOWN_MESSAGE = 'Please reduce your request rate for operations involving AWS KMS.';

/** Admits (or throttles by throwing ThrottlingException) a KMS request S3 makes on a caller's behalf. */
export type KmsGate = (
  operation: 'GenerateDataKey' | 'Decrypt',
  keyId: string,
  region: string,
  encryptionContext: Record<string, string>,
) => void;

export const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
/** Largest copy source for CopyObject, and largest part: 5 GiB. */
export const MAX_COPY_BYTES = 5 * 1024 ** 3;
export const MIN_PART_BYTES = 5 * 1024 ** 2;

export type Encryption =
  | { type: 'AES256' }
  /** SSE-C with a customer key the stand-in keeps to itself: every read without it is refused. */
  | { type: 'SSE-C' }
  | {
      type: 'aws:kms';
      keyArn: string;
      /** KMS ciphertext of the object's data key, or of the bucket key when bucketKey is true. */
      encryptedKey: Buffer;
      /** Salt deriving the object key from the bucket key (bucketKey only). */
      salt?: Buffer;
      bucketKey: boolean;
      /** DSSE-KMS (`aws:kms:dsse`): a second layer S3 adds; the KMS part is the same as SSE-KMS (no Bucket Key). */
      dsse: boolean;
      context: Record<string, string>;
      /** Whether the caller gave the context (it is returned on HEAD/GET). */
      customContext: boolean;
      dataKeyFingerprint: string;
      keyMaterialId: string;
    };

export interface StoredObject {
  key: string;
  versionId: string; // 'null' when the bucket is not versioned
  size: number;
  /** Encrypted (or for AES256, plain) body; undefined for synthetic objects. */
  body?: Buffer;
  etag: string; // quoted
  lastModified: Date;
  contentType: string;
  metadata: Record<string, string>;
  storageClass: string;
  tags: Record<string, string>;
  /** System headers kept with the object besides Content-Type (SYSTEM_HEADERS), by lower-case header name. */
  system: Record<string, string>;
  /** ACL grants besides the owner's FULL_CONTROL: `<PERMISSION> <grantee as x-amz-grant-* writes it>`. */
  grants?: string[];
  checksum?: StoredChecksum;
  enc: Encryption;
  /** Object Lock retention of this version (a bucket with Object Lock only). */
  retention?: ObjectLockState['retention'];
  /** Object Lock legal hold: true ON, false OFF; undefined: never applied to this version. */
  legalHold?: boolean;
}

/** A version's Object Lock state, as a write sets it. */
export interface ObjectLockState {
  retention?: { mode: 'GOVERNANCE' | 'COMPLIANCE'; retainUntil: Date };
  legalHold?: boolean;
}

/** System-defined object headers S3 stores from a write and answers on HEAD/GET (besides Content-Type). */
export const SYSTEM_HEADERS = [
  'cache-control',
  'content-disposition',
  'content-encoding',
  'content-language',
  'expires',
  'x-amz-website-redirect-location',
] as const;

export interface Part {
  etag: string;
  size: number;
  plaintext?: Buffer;
  /** The part's checksum under the upload's algorithm (uploads created with one). */
  checksum?: string;
}
export interface Upload {
  id: string;
  key: string;
  enc: Encryption;
  dataKey?: Buffer;
  contentType: string;
  metadata: Record<string, string>;
  storageClass: string;
  tags: Record<string, string>;
  system: Record<string, string>;
  grants?: string[];
  /** Object Lock state the completed object gets (from CreateMultipartUpload). */
  lock: ObjectLockState;
  /** The algorithm the upload was created with (x-amz-checksum-algorithm): each part's checksum must come back on Complete. */
  checksumAlgorithm?: ChecksumAlgorithm;
  /** The object the key held when the upload was created: a conditional Complete after someone wrote the key meanwhile is a 409. */
  currentAtStart: StoredObject | undefined;
  parts: Map<number, Part>;
}
export interface Bucket {
  name: string;
  region: string;
  defaultKmsKeyId?: string;
  bucketKeyEnabled: boolean;
  versioning: boolean;
  /** Object Lock enabled (with its default retention); undefined: no Object Lock. */
  objectLock?: { defaultRetention?: { mode: 'GOVERNANCE' | 'COMPLIANCE'; days: number } };
  objectOwnership: 'BucketOwnerEnforced' | 'BucketOwnerPreferred' | 'ObjectWriter';
  objects: Map<string, StoredObject[]>; // versions, latest last
  uploads: Map<string, Upload>;
  bucketKeys: Map<string, { encrypted: Buffer; plaintext: Buffer; keyMaterialId: string; madeAt: number }>;
}

/**
 * How long a Bucket Key is reused (stand-in time, divided by speed). S3 documents only that it is
 * used "for a limited time"; the strict answer is a long period: a Bucket Key made before a rotation
 * keeps serving writes after it, from the material current when it was made.
 */
export const BUCKET_KEY_REUSE_MS = 60 * 60_000;

/** What a test can inspect about a stored object. */
export interface S3ObjectInfo {
  bucket: string;
  key: string;
  versionId: string;
  versions: number;
  size: number;
  synthetic: boolean;
  etag: string;
  serverSideEncryption: 'aws:kms' | 'aws:kms:dsse' | 'AES256' | 'SSE-C';
  /** SSE-C (customer-provided key): nothing here can read it. */
  sseC?: true;
  kmsKeyArn?: string;
  bucketKeyEnabled: boolean;
  /** sha256 (first 16 hex) of the plaintext key that encrypts the body: changes iff a new data key was made. */
  dataKeyFingerprint?: string;
  /** The KMS key material that wrapped the data key (or bucket key). */
  keyMaterialId?: string;
  encryptionContext?: Record<string, string>;
  metadata: Record<string, string>;
  contentType: string;
  cacheControl?: string;
  /** System headers as stored (cache-control, content-encoding, ...), by lower-case header name. */
  systemHeaders: Record<string, string>;
  /** ACL grants besides the owner's FULL_CONTROL, as `<PERMISSION> <grantee>`. */
  grants: string[];
  /** Object Lock retention of the latest version. */
  retention?: { mode: 'GOVERNANCE' | 'COMPLIANCE'; retainUntil: string };
  legalHold: boolean;
  checksumAlgorithm?: ChecksumAlgorithm;
  checksumType?: 'FULL_OBJECT' | 'COMPOSITE';
  storageClass: string;
  tags: Record<string, string>;
  lastModified: Date;
  /** dataKeyFingerprint of each older version (versioned bucket), oldest first. */
  previousDataKeyFingerprints: (string | undefined)[];
  /** When the body is an AWS Encryption SDK message: the KMS keys of its data keys and the data key's fingerprint. */
  envelope?: { kmsKeyArns: string[]; dataKeyFingerprint: string; encryptionContext: Record<string, string> };
}

/** One object of `simulate --s3-report` (the current version; see S3.report). */
export interface S3ReportObject {
  bucket: string;
  key: string;
  versionCount: number;
  sse: 'aws:kms' | 'aws:kms:dsse' | 'AES256';
  kmsKeyArn: string | null;
  /** The key material that encrypted the current version's data key, or its Bucket Key's. */
  keyMaterialId: string | null;
  bucketKeyEnabled: boolean;
  storageClass: string;
  tags: Record<string, string>;
  metadata: Record<string, string>;
  contentType: string | null;
  cacheControl: string | null;
  checksumAlgorithm: string | null;
  /** SHA-256 (hex) of what a reader gets, after decrypting an envelope; null for a synthetic object (no body). */
  plaintextSha256: string | null;
  envelope: { algorithmSuiteId: number; wrappedBy: { keyArn: string; keyMaterialId: string }[] } | null;
}

export interface S3Request {
  method: string;
  bucket: string;
  key: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
  region: string;
  requestId: string;
  /** HEAD/GET: the Object Lock fields the caller may see (local/iam); absent: none. */
  lockVisible?: { retention: boolean; legalHold: boolean };
}
export interface S3Response {
  status: number;
  headers: Record<string, string>;
  body?: Buffer | string;
}

/** An XML answer document. */
export function xmlDoc(body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
}
