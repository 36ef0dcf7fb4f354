import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { World } from '../world';
import { NOT_IMPLEMENTED, ServiceError, xmlEscape, xmlUnescape } from './errors';
import type { KmsKeys } from './kms-keys';
import {
  AlgorithmSuiteIdentifier,
  buildClient,
  CommitmentPolicy,
  getCompatibleCommitmentPolicy,
  KmsKeyringNode,
  NodeAlgorithmSuite,
} from '@aws-crypto/client-node';
import { deserializeFactory } from '@aws-crypto/serialize';
import {
  checksumAlgorithmNamed,
  checksumOf,
  compositeChecksum,
  syntheticChecksum,
  type ChecksumAlgorithm,
  type StoredChecksum,
} from './s3-checksums';

/**
 * S3 stand-in: REST-XML, path-style (`/bucket/key`). SSE-KMS really calls the stand-in's KMS
 * (in process): each object stores the KMS-encrypted data key and its body is AES-256-GCM
 * encrypted under the data key. Request shapes were checked against the installed client-s3
 * (it sends `?x-id=<Operation>` on most object operations, `?uploads` for CreateMultipartUpload,
 * `?uploadId=` for CompleteMultipartUpload, and aws-chunked bodies for stream uploads).
 */

export const S3_OPERATIONS = [
  'ListObjectsV2',
  'HeadObject',
  'GetObject',
  'PutObject',
  'CopyObject',
  'CreateMultipartUpload',
  'UploadPartCopy',
  'CompleteMultipartUpload',
  'AbortMultipartUpload',
  'GetObjectTagging',
  'PutObjectTagging',
  'GetObjectAcl',
  'ListObjectVersions',
  'GetBucketVersioning',
] as const;

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

const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
/** Largest copy source for CopyObject, and largest part: 5 GiB. */
export const MAX_COPY_BYTES = 5 * 1024 ** 3;
const MIN_PART_BYTES = 5 * 1024 ** 2;

type Encryption =
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

interface StoredObject {
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
}

/** System-defined object headers S3 stores from a write and answers on HEAD/GET (besides Content-Type). */
const SYSTEM_HEADERS = [
  'cache-control',
  'content-disposition',
  'content-encoding',
  'content-language',
  'expires',
  'x-amz-website-redirect-location',
] as const;

interface Part {
  etag: string;
  size: number;
  plaintext?: Buffer;
  /** The part's checksum under the upload's algorithm (uploads created with one). */
  checksum?: string;
}
interface Upload {
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
  /** The algorithm the upload was created with (x-amz-checksum-algorithm): each part's checksum must come back on Complete. */
  checksumAlgorithm?: ChecksumAlgorithm;
  /** The object the key held when the upload was created: a conditional Complete after someone wrote the key meanwhile is a 409. */
  currentAtStart: StoredObject | undefined;
  parts: Map<number, Part>;
}
interface Bucket {
  name: string;
  region: string;
  defaultKmsKeyId?: string;
  bucketKeyEnabled: boolean;
  versioning: boolean;
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

/** Encryption SDK message header reader (no KMS call). */
const esdkHeader = deserializeFactory((b) => Buffer.from(b).toString('utf8'), NodeAlgorithmSuite);
/** Reads any message, legacy non-committing suites included (the report shows what is stored). */
const esdkReader = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT);
/** World envelopes in any suite: a committing one needs a REQUIRE_ENCRYPT client, a legacy one a FORBID_ENCRYPT client. */
const seedClients = {
  [CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT]: buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT),
  [CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT]: buildClient(CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT),
};

export interface S3Request {
  method: string;
  bucket: string;
  key: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
  region: string;
  requestId: string;
}
export interface S3Response {
  status: number;
  headers: Record<string, string>;
  body?: Buffer | string;
}

/** Name the S3 operation a request is (the SDK's `x-id` when present, else inferred). */
export function s3Operation(
  method: string,
  bucket: string,
  key: string,
  q: URLSearchParams,
  headers: IncomingHttpHeaders,
): string {
  const xid = q.get('x-id');
  if (xid) return xid;
  if (!bucket) return method === 'GET' ? 'ListBuckets' : `${method} /`;
  if (!key) {
    if (method === 'GET' && q.get('list-type') === '2') return 'ListObjectsV2';
    if (method === 'GET' && q.has('versioning')) return 'GetBucketVersioning';
    if (method === 'GET')
      return q.has('uploads')
        ? 'ListMultipartUploads'
        : q.has('versions')
          ? 'ListObjectVersions'
          : q.size
            ? `GetBucket${[...q.keys()][0]}`
            : 'ListObjects';
    if (method === 'PUT') return q.size ? `PutBucket${[...q.keys()][0]}` : 'CreateBucket';
    if (method === 'HEAD') return 'HeadBucket';
    if (method === 'DELETE') return 'DeleteBucket';
    return `${method} bucket`;
  }
  if (method === 'HEAD') return 'HeadObject';
  if (q.has('acl')) return method === 'GET' ? 'GetObjectAcl' : method === 'PUT' ? 'PutObjectAcl' : `${method} acl`;
  if (q.has('tagging'))
    return method === 'GET' ? 'GetObjectTagging' : method === 'PUT' ? 'PutObjectTagging' : 'DeleteObjectTagging';
  if (method === 'POST' && q.has('uploads')) return 'CreateMultipartUpload';
  if (method === 'POST' && q.has('uploadId')) return 'CompleteMultipartUpload';
  if (method === 'DELETE' && q.has('uploadId')) return 'AbortMultipartUpload';
  if (method === 'PUT' && q.has('uploadId')) return headers['x-amz-copy-source'] ? 'UploadPartCopy' : 'UploadPart';
  if (method === 'PUT')
    return headers['x-amz-copy-source'] ? 'CopyObject' : q.size ? `PutObject${[...q.keys()][0]}` : 'PutObject';
  if (method === 'GET')
    return q.has('uploadId')
      ? 'ListParts'
      : q.size && !q.has('versionId')
        ? `GetObject${[...q.keys()][0]}`
        : 'GetObject';
  if (method === 'DELETE') return 'DeleteObject';
  return `${method} object`;
}

/** Whether an If-Match style header (one or more ETags, or `*`) names `etag`. */
function etagMatches(condition: string, etag: string): boolean {
  const bare = (e: string) => e.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
  return condition.split(',').some((c) => c.trim() === '*' || bare(c) === bare(etag));
}

function attempt<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');
const fingerprint = (k: Buffer) => createHash('sha256').update(k).digest('hex').slice(0, 16);

/** A world object's checksum: of its body, or for a synthetic (multipart-sized) object a COMPOSITE stand-in value. */
function seededChecksum(
  algorithm: ChecksumAlgorithm,
  plain: Buffer | undefined,
  seed: string,
  parts: number,
): StoredChecksum {
  if (plain) return { algorithm, value: checksumOf(algorithm, plain), type: 'FULL_OBJECT' };
  return { algorithm, value: `${syntheticChecksum(algorithm, seed)}-${parts}`, type: 'COMPOSITE' };
}

function aesSeal(key: Buffer, plain: Buffer): Buffer {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), ct]);
}
function aesOpen(key: Buffer, sealed: Buffer): Buffer {
  const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
  d.setAuthTag(sealed.subarray(12, 28));
  return Buffer.concat([d.update(sealed.subarray(28)), d.final()]);
}

/** Decode an `aws-chunked` body (`<hex size>[;chunk-signature=..]\r\n<data>\r\n ... 0\r\n<trailers>\r\n`). */
export function decodeAwsChunked(raw: Buffer): { data: Buffer; trailers: Record<string, string> } {
  const chunks: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const eol = raw.indexOf('\r\n', pos);
    if (eol < 0) throw new ServiceError('IncompleteBody', 'The request body ended before the final aws-chunked chunk.');
    const size = parseInt(raw.subarray(pos, eol).toString('latin1').split(';')[0], 16);
    if (!Number.isFinite(size)) throw new ServiceError('InvalidRequest', 'Malformed aws-chunked body.');
    pos = eol + 2;
    if (size === 0) break;
    chunks.push(raw.subarray(pos, pos + size));
    pos += size + 2;
  }
  const trailers: Record<string, string> = {};
  for (const line of raw.subarray(pos).toString('latin1').split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) trailers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { data: Buffer.concat(chunks), trailers };
}

function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

function metadataFrom(h: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h))
    if (k.startsWith('x-amz-meta-') && typeof v === 'string') out[k.slice(11)] = v;
  return out;
}

/** A stand-in canonical user id for an account (64 hex characters, as S3's). */
export function canonicalIdOf(account: string): string {
  return createHash('sha256').update(`canonical:${account}`).digest('hex');
}

const GRANT_HEADERS = {
  'x-amz-grant-read': 'READ',
  'x-amz-grant-read-acp': 'READ_ACP',
  'x-amz-grant-write-acp': 'WRITE_ACP',
  'x-amz-grant-full-control': 'FULL_CONTROL',
} as const;

/**
 * The ACL grants of a write's x-amz-grant-* headers (`id="..", uri=".."` lists), as
 * `<PERMISSION> <grantee>`; undefined when none. x-amz-acl (canned ACLs) is not modelled.
 */
function grantsFrom(h: IncomingHttpHeaders): string[] | undefined {
  if (header(h, 'x-amz-acl') !== undefined)
    throw new ServiceError(NOT_IMPLEMENTED, 'The stand-in does not implement canned ACLs (x-amz-acl).');
  const out: string[] = [];
  for (const [name, permission] of Object.entries(GRANT_HEADERS)) {
    const v = header(h, name);
    if (v === undefined) continue;
    for (const g of v.split(',').map((x) => x.trim())) {
      if (!/^(id|uri|emailAddress)="[^"]+"$/.test(g))
        throw new ServiceError('InvalidArgument', `Invalid ${name} grantee: ${g}`, 400, {
          ArgumentName: name,
          ArgumentValue: v,
        });
      out.push(`${permission} ${g}`);
    }
  }
  return out.length ? out : undefined;
}

/** The system headers of a write request that S3 stores with the object (SYSTEM_HEADERS). */
function systemFrom(h: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of SYSTEM_HEADERS) {
    const v = header(h, name);
    if (v !== undefined) out[name] = v;
  }
  return out;
}

/** `x-amz-checksum-algorithm` of a CopyObject / CreateMultipartUpload request (400 for an unknown algorithm, as S3). */
function requestedChecksumAlgorithm(h: IncomingHttpHeaders): ChecksumAlgorithm | undefined {
  const raw = header(h, 'x-amz-checksum-algorithm');
  const algorithm = checksumAlgorithmNamed(raw);
  if (raw !== undefined && !algorithm)
    throw new ServiceError(
      'InvalidRequest',
      'Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]',
      400,
    );
  return algorithm;
}

/** Tags of `x-amz-tagging` (URL query encoded: `k1=v1&k2=v2`). */
function tagsFrom(h: IncomingHttpHeaders): Record<string, string> {
  const raw = header(h, 'x-amz-tagging');
  return raw ? Object.fromEntries(new URLSearchParams(raw)) : {};
}

function xmlDoc(body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
}

/**
 * A read of an SSE-C object without its customer key (GetObject, a copy source): "The object was
 * stored using a form of Server Side Encryption. The correct parameters must be provided to
 * retrieve the object." (400 InvalidRequest; HeadObject answers the same 400 without a body).
 */
function sseCRefused(): ServiceError {
  return new ServiceError(
    'InvalidRequest',
    'The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.',
    400,
  );
}

/** A KMS failure inside an S3 request, as S3 reports it. */
function kmsToS3(e: unknown): unknown {
  if (!(e instanceof ServiceError)) return e;
  if (e.code === 'AccessDeniedException') return new ServiceError('AccessDenied', `KMS: ${e.message}`, 403);
  if (e.code === 'ThrottlingException') return new ServiceError('SlowDown', KMS_SLOW_DOWN_MESSAGE, 503);
  return new ServiceError(`KMS.${e.code}`, e.message, e.status);
}

export class S3 {
  private readonly buckets = new Map<string, Bucket>();
  /** Set by the server once the world is seeded: KMS request quotas for the calls S3 makes. */
  kmsGate: KmsGate | undefined;
  private readonly pendingEnvelopes: {
    bucket: Bucket;
    key: string;
    keyIds: string[];
    suite: number | undefined;
    body: string;
    sse: { type: 'aws:kms' | 'aws:kms:dsse'; keyId: string } | undefined;
    storageClass: string;
    tags: Record<string, string>;
    where: string;
    metadata: Record<string, string>;
    system: Record<string, string>;
    grants?: string[];
    contentType?: string;
    checksumAlgorithm?: ChecksumAlgorithm;
  }[] = [];

  constructor(
    world: World,
    private readonly kms: KmsKeys,
  ) {
    world.buckets.forEach((b, i) => {
      const bucket: Bucket = {
        name: b.name,
        region: b.region,
        defaultKmsKeyId: b.defaultKmsKeyId,
        bucketKeyEnabled: b.bucketKeyEnabled,
        versioning: b.versioning,
        objects: new Map(),
        uploads: new Map(),
        bucketKeys: new Map(),
      };
      this.buckets.set(b.name, bucket);
      b.objects.forEach((o, j) => {
        const where = `buckets[${i}].objects[${j}]`;
        try {
          const sse = o.kmsKeyId
            ? { type: o.dsse ? ('aws:kms:dsse' as const) : ('aws:kms' as const), keyId: o.kmsKeyId }
            : undefined;
          const system: Record<string, string> =
            o.cacheControl !== undefined ? { 'cache-control': o.cacheControl } : {};
          const grants =
            o.grants &&
            Object.entries(o.grants).flatMap(([permission, grantees]) => grantees.map((g) => `${permission} ${g}`));
          const attributes = { metadata: { ...o.metadata }, system, grants };
          const envelopeKeyIds = o.envelopeKeyIds ?? (o.envelopeKeyId ? [o.envelopeKeyId] : undefined);
          if (envelopeKeyIds) {
            // An Encryption SDK message is made asynchronously: startStandIn awaits seedEnvelopes().
            this.pendingEnvelopes.push({
              bucket,
              key: o.key,
              keyIds: envelopeKeyIds,
              suite: o.envelopeSuite,
              body: o.body ?? 'hello',
              sse,
              storageClass: o.storageClass ?? 'STANDARD',
              tags: { ...o.tags },
              where,
              contentType: o.contentType,
              checksumAlgorithm: o.checksumAlgorithm,
              ...attributes,
            });
            return;
          }
          this.seedPreviousVersions(bucket, o.key, o.previousVersions ?? [], sse, o.storageClass ?? 'STANDARD');
          const enc = o.sseC
            ? { enc: { type: 'SSE-C' as const } }
            : this.encryptionFor(bucket, o.key, sse, undefined, undefined);
          const plain = o.sizeBytes === undefined ? Buffer.from(o.body ?? 'hello', 'utf8') : undefined;
          const seededParts = Math.max(1, Math.ceil((o.sizeBytes ?? 0) / MAX_COPY_BYTES));
          this.store(bucket, o.key, enc.enc, enc.dataKey, plain, o.sizeBytes ?? plain!.length, {
            contentType: o.contentType ?? (plain ? 'text/plain' : 'application/octet-stream'),
            tags: { ...o.tags },
            storageClass: o.storageClass ?? 'STANDARD',
            etag: plain ? `"${md5(plain)}"` : `"${md5(`${b.name}/${o.key}:${o.sizeBytes}`)}-${seededParts}"`,
            checksum: o.checksumAlgorithm
              ? seededChecksum(o.checksumAlgorithm, plain, `${b.name}/${o.key}`, seededParts)
              : undefined,
            ...attributes,
          });
        } catch (e) {
          throw new Error(`world ${where}: cannot create s3://${b.name}/${o.key}: ${(e as Error).message}`, {
            cause: e,
          });
        }
      });
    });
  }

  /** The world's `previousVersions` of one object, oldest first, stored before the object itself. */
  private seedPreviousVersions(
    bucket: Bucket,
    key: string,
    previous: { kmsKeyId?: string; body?: string }[],
    sse: { type: 'aws:kms' | 'aws:kms:dsse'; keyId: string } | undefined,
    storageClass: string,
  ): void {
    for (const v of previous) {
      const enc = this.encryptionFor(
        bucket,
        key,
        v.kmsKeyId ? { type: 'aws:kms', keyId: v.kmsKeyId } : sse,
        undefined,
        undefined,
      );
      const plain = Buffer.from(v.body ?? 'hello', 'utf8');
      this.store(bucket, key, enc.enc, enc.dataKey, plain, plain.length, {
        contentType: 'text/plain',
        metadata: {},
        tags: {},
        storageClass,
        etag: `"${md5(plain)}"`,
      });
    }
  }

  /**
   * Store the world's `envelopeKeyId` objects as real Encryption SDK messages. The SDK's KMS
   * keyring talks to the in-process KMS (not over HTTP, so these calls are not in `calls`).
   */
  async seedEnvelopes(): Promise<void> {
    for (const p of this.pendingEnvelopes.splice(0)) {
      try {
        const message = await this.envelopeMessage(p.keyIds, p.suite, p.bucket.region, Buffer.from(p.body, 'utf8'));
        const enc = this.encryptionFor(p.bucket, p.key, p.sse, undefined, undefined);
        this.store(p.bucket, p.key, enc.enc, enc.dataKey, message, message.length, {
          contentType: p.contentType ?? 'application/octet-stream',
          metadata: p.metadata,
          system: p.system,
          grants: p.grants,
          tags: p.tags,
          storageClass: p.storageClass,
          etag: `"${md5(message)}"`,
          checksum: p.checksumAlgorithm
            ? { algorithm: p.checksumAlgorithm, value: checksumOf(p.checksumAlgorithm, message), type: 'FULL_OBJECT' }
            : undefined,
        });
      } catch (e) {
        throw new Error(
          `world ${p.where}: cannot create the envelope object s3://${p.bucket.name}/${p.key}: ${(e as Error).message}`,
          { cause: e },
        );
      }
    }
  }

  /**
   * An Encryption SDK message of `plain` whose data key is wrapped for each of `keyIds` (the first
   * generates it), in `suite` (default: the SDK's). Each key's owner wraps for it, as the world's
   * history had it: keys of other accounts and keys no longer usable are wrapped all the same.
   */
  private async envelopeMessage(
    keyIds: string[],
    suite: number | undefined,
    region: string,
    plain: Buffer,
  ): Promise<Buffer> {
    const kms = this.kms;
    const client = {
      generateDataKey: async (i: {
        KeyId: string;
        EncryptionContext?: Record<string, string>;
        NumberOfBytes?: number;
      }) => {
        const plaintext = randomBytes(i.NumberOfBytes ?? 32);
        const dk = kms.sealAsOwner(i.KeyId, region, i.EncryptionContext ?? {}, plaintext);
        return { Plaintext: plaintext, CiphertextBlob: dk.blob, KeyId: dk.keyArn };
      },
      encrypt: async (i: { KeyId: string; EncryptionContext?: Record<string, string>; Plaintext: Uint8Array }) => {
        const dk = kms.sealAsOwner(i.KeyId, region, i.EncryptionContext ?? {}, Buffer.from(i.Plaintext));
        return { CiphertextBlob: dk.blob, KeyId: dk.keyArn };
      },
    };
    const arns = keyIds.map((k) => kms.keyArn(k, region));
    const keyring = new KmsKeyringNode({
      generatorKeyId: arns[0],
      keyIds: arns.slice(1),
      clientProvider: (() => client) as never,
    });
    const suiteId = (suite ??
      AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384) as AlgorithmSuiteIdentifier;
    const { result } = await seedClients[getCompatibleCommitmentPolicy(suiteId)].encrypt(keyring, plain, {
      encryptionContext: { purpose: 'stand-in seed' },
      suiteId,
    });
    return result;
  }

  /** Key ARNs and data-key fingerprint of an Encryption SDK message, or undefined for other bytes. */
  private envelopeInfo(region: string, plain: Buffer): S3ObjectInfo['envelope'] {
    let header;
    try {
      header = esdkHeader.deserializeMessageHeader(plain);
    } catch {
      return undefined;
    }
    if (!header) return undefined;
    const edks = header.messageHeader.encryptedDataKeys.filter((k) => k.providerId === 'aws-kms');
    const context = { ...header.messageHeader.encryptionContext };
    let dataKeyFingerprint = '';
    for (const edk of edks) {
      try {
        dataKeyFingerprint = fingerprint(
          this.kms.decrypt(Buffer.from(edk.encryptedDataKey), region, context).plaintext,
        );
        break;
      } catch {
        /* another key's data key: try the next */
      }
    }
    return { kmsKeyArns: edks.map((k) => k.providerInfo), dataKeyFingerprint, encryptionContext: context };
  }

  // ---------- encryption ----------
  /**
   * Decide the encryption of a new object and make its data key. `sse` is what the request asked
   * for; without it the bucket default applies (never the source object's encryption).
   */
  private encryptionFor(
    bucket: Bucket,
    key: string,
    sse: { type: 'aws:kms' | 'aws:kms:dsse'; keyId?: string } | { type: 'AES256' } | undefined,
    bucketKeyHeader: boolean | undefined,
    customContext: Record<string, string> | undefined,
  ): { enc: Encryption; dataKey?: Buffer } {
    let keyId: string | undefined;
    if (sse?.type === 'AES256') return { enc: { type: 'AES256' } };
    if (sse?.type === 'aws:kms' || sse?.type === 'aws:kms:dsse')
      keyId = sse.keyId ?? this.kms.awsManagedKey('alias/aws/s3', bucket.region);
    else if (bucket.defaultKmsKeyId) keyId = bucket.defaultKmsKeyId;
    else return { enc: { type: 'AES256' } };
    const dsse = sse?.type === 'aws:kms:dsse';
    // "S3 Bucket Keys aren't supported for DSSE-KMS" (S3 User Guide, DSSE-KMS): every DSSE object gets its own data key.
    const bucketKey = !dsse && (bucketKeyHeader ?? bucket.bucketKeyEnabled);
    try {
      if (bucketKey) return this.bucketKeyEncryption(bucket, key, keyId, customContext);
      const context = { 'aws:s3:arn': `arn:aws:s3:::${bucket.name}/${key}`, ...customContext };
      this.kmsGate?.('GenerateDataKey', keyId, bucket.region, context);
      const dk = this.kms.generateDataKey(keyId, bucket.region, context);
      return {
        enc: {
          type: 'aws:kms',
          keyArn: dk.keyArn,
          encryptedKey: dk.blob,
          bucketKey: false,
          dsse,
          context,
          customContext: !!customContext,
          dataKeyFingerprint: fingerprint(dk.plaintext),
          keyMaterialId: dk.keyMaterialId,
        },
        dataKey: dk.plaintext,
      };
    } catch (e) {
      throw kmsToS3(e);
    }
  }

  /**
   * S3 Bucket Key: a bucket-level data key from KMS, object keys derived from it. S3 reuses a
   * Bucket Key "for a limited time" (undocumented length): here for BUCKET_KEY_REUSE_MS of
   * stand-in time, with the key material current when it was MADE, even if the KMS key was
   * rotated since; KMS is asked again only when it is due.
   */
  private bucketKeyEncryption(
    bucket: Bucket,
    key: string,
    keyId: string,
    customContext: Record<string, string> | undefined,
  ): { enc: Encryption; dataKey: Buffer } {
    const context = { 'aws:s3:arn': `arn:aws:s3:::${bucket.name}`, ...customContext };
    const keyArn = this.kms.resolve(keyId, bucket.region, true, 'GenerateDataKey').arn;
    const cacheId = `${keyArn}|${JSON.stringify(context)}`;
    const now = Date.now();
    let bk = bucket.bucketKeys.get(cacheId);
    if (!bk || now - bk.madeAt >= BUCKET_KEY_REUSE_MS / this.kms.speed) {
      this.kmsGate?.('GenerateDataKey', keyId, bucket.region, context);
      const made = this.kms.generateDataKey(keyId, bucket.region, context);
      bk = { encrypted: made.blob, plaintext: made.plaintext, keyMaterialId: made.keyMaterialId, madeAt: now };
      bucket.bucketKeys.set(cacheId, bk);
    }
    const salt = randomBytes(16);
    const objectKey = Buffer.from(hkdfSync('sha256', bk.plaintext, salt, key, 32));
    return {
      enc: {
        type: 'aws:kms',
        keyArn,
        encryptedKey: bk.encrypted,
        salt,
        bucketKey: true,
        dsse: false,
        context,
        customContext: !!customContext,
        dataKeyFingerprint: fingerprint(objectKey),
        keyMaterialId: bk.keyMaterialId,
      },
      dataKey: objectKey,
    };
  }

  private dataKeyOf(bucket: Bucket, enc: Encryption & { type: 'aws:kms' }, objectKey: string): Buffer {
    try {
      this.kmsGate?.('Decrypt', enc.keyArn, bucket.region, enc.context);
      const dk = this.kms.decrypt(enc.encryptedKey, bucket.region, enc.context);
      return enc.bucketKey ? Buffer.from(hkdfSync('sha256', dk.plaintext, enc.salt!, objectKey, 32)) : dk.plaintext;
    } catch (e) {
      throw kmsToS3(e);
    }
  }

  private plaintextOf(bucket: Bucket, o: StoredObject): Buffer {
    if (o.enc.type === 'SSE-C') throw sseCRefused();
    if (!o.body)
      throw new ServiceError(
        NOT_IMPLEMENTED,
        `s3://${bucket.name}/${o.key} is a synthetic object of ${o.size} bytes with no body; the stand-in cannot read it`,
      );
    return o.enc.type === 'aws:kms' ? aesOpen(this.dataKeyOf(bucket, o.enc, o.key), o.body) : o.body;
  }

  private store(
    bucket: Bucket,
    key: string,
    enc: Encryption,
    dataKey: Buffer | undefined,
    plain: Buffer | undefined,
    size: number,
    meta: {
      contentType: string;
      metadata: Record<string, string>;
      tags: Record<string, string>;
      storageClass: string;
      etag: string;
      system?: Record<string, string>;
      checksum?: StoredChecksum;
      grants?: string[];
    },
  ): StoredObject {
    const o: StoredObject = {
      system: {},
      key,
      versionId: bucket.versioning ? randomBytes(16).toString('base64url') : 'null',
      size,
      body: plain && (enc.type === 'aws:kms' ? aesSeal(dataKey!, plain) : Buffer.from(plain)),
      lastModified: new Date(Math.floor(Date.now() / 1000) * 1000),
      enc,
      ...meta,
    };
    const versions = bucket.objects.get(key) ?? [];
    if (bucket.versioning) versions.push(o);
    else versions.splice(0, versions.length, o);
    bucket.objects.set(key, versions);
    return o;
  }

  // ---------- test inspection ----------
  /** An existing object's tags (IAM's s3:ExistingObjectTag/<k>); undefined when there is no such object. */
  objectTags(bucketName: string, key: string, versionId: string | null): Record<string, string> | undefined {
    const bucket = this.buckets.get(bucketName);
    if (!bucket) return undefined;
    try {
      return { ...this.find(bucket, key, versionId).tags };
    } catch {
      return undefined;
    }
  }

  objectInfo(bucketName: string, key: string): S3ObjectInfo | undefined {
    // A test looking is not a KMS request anyone made: past the quotas and the counters.
    const gate = this.kmsGate;
    this.kmsGate = undefined;
    try {
      return this.inspect(bucketName, key);
    } finally {
      this.kmsGate = gate;
    }
  }

  /**
   * `simulate --s3-report`: the current version of every object in `bucketNames` (all buckets
   * when absent), as a reader and an auditor see it. An inspection: its KMS use is not a request
   * anyone made, so it passes no quota and no counter.
   */
  async report(bucketNames?: readonly string[]): Promise<S3ReportObject[]> {
    const gate = this.kmsGate;
    this.kmsGate = undefined;
    try {
      const out: S3ReportObject[] = [];
      for (const bucket of this.buckets.values()) {
        if (bucketNames && !bucketNames.includes(bucket.name)) continue;
        for (const key of [...bucket.objects.keys()].sort()) out.push(await this.reportObject(bucket, key));
      }
      return out;
    } finally {
      this.kmsGate = gate;
    }
  }

  private async reportObject(bucket: Bucket, key: string): Promise<S3ReportObject> {
    const versions = bucket.objects.get(key)!;
    const o = versions[versions.length - 1];
    // Fields other parts of the stand-in may add to a stored object (DSSE, cache control, checksum).
    const extra = o as StoredObject & { dsse?: boolean; cacheControl?: string; checksumAlgorithm?: string };
    const kms = o.enc.type === 'aws:kms' ? o.enc : undefined;
    // A body the stand-in cannot open (its key disabled or deleted) reports no plaintext hash.
    const plain = o.body ? attempt(() => this.plaintextOf(bucket, o)) : undefined;
    const envelope = plain ? await this.envelopeReport(bucket.region, plain).catch(() => null) : null;
    const readable = envelope ? envelope.plaintext : plain;
    return {
      bucket: bucket.name,
      key,
      versionCount: versions.length,
      sse: kms ? (extra.dsse ? 'aws:kms:dsse' : 'aws:kms') : 'AES256',
      kmsKeyArn: kms?.keyArn ?? null,
      keyMaterialId: kms?.keyMaterialId ?? null,
      bucketKeyEnabled: kms?.bucketKey ?? false,
      storageClass: o.storageClass,
      tags: { ...o.tags },
      metadata: { ...o.metadata },
      contentType: o.contentType ?? null,
      cacheControl: extra.cacheControl ?? null,
      checksumAlgorithm: extra.checksumAlgorithm ?? null,
      plaintextSha256: readable ? createHash('sha256').update(readable).digest('hex') : null,
      envelope: envelope ? { algorithmSuiteId: envelope.algorithmSuiteId, wrappedBy: envelope.wrappedBy } : null,
    };
  }

  /** An Encryption SDK message's suite, wrapping keys (with the material of each) and plaintext; null for other bytes. */
  private async envelopeReport(
    region: string,
    body: Buffer,
  ): Promise<{
    algorithmSuiteId: number;
    wrappedBy: { keyArn: string; keyMaterialId: string }[];
    plaintext: Buffer;
  } | null> {
    let header;
    try {
      header = esdkHeader.deserializeMessageHeader(body);
    } catch {
      return null;
    }
    if (!header) return null;
    const kms = this.kms;
    const client = {
      decrypt: async (i: { CiphertextBlob: Uint8Array; EncryptionContext?: Record<string, string> }) => {
        const dk = kms.decrypt(Buffer.from(i.CiphertextBlob), region, i.EncryptionContext ?? {});
        return { Plaintext: dk.plaintext, KeyId: dk.keyArn };
      },
    };
    // Discovery: whichever wrapping key the stand-in's KMS can open; legacy (non-committing) suites are read too.
    const keyring = new KmsKeyringNode({ discovery: true, clientProvider: (() => client) as never });
    const { plaintext } = await esdkReader.decrypt(keyring, body);
    const wrappedBy = header.messageHeader.encryptedDataKeys
      .filter((k) => k.providerId === 'aws-kms')
      .map((k) => ({
        keyArn: k.providerInfo,
        keyMaterialId: kms.inspect(Buffer.from(k.encryptedDataKey)).keyMaterialId,
      }));
    return { algorithmSuiteId: header.messageHeader.suiteId, wrappedBy, plaintext: Buffer.from(plaintext) };
  }

  private inspect(bucketName: string, key: string): S3ObjectInfo | undefined {
    const bucket = this.buckets.get(bucketName);
    const versions = bucket?.objects.get(key);
    if (!versions?.length) return undefined;
    const o = versions[versions.length - 1];
    const kms = o.enc.type === 'aws:kms' ? o.enc : undefined;
    return {
      bucket: bucketName,
      key,
      versionId: o.versionId,
      versions: versions.length,
      size: o.size,
      synthetic: !o.body,
      etag: o.etag,
      serverSideEncryption: kms?.dsse ? 'aws:kms:dsse' : o.enc.type,
      sseC: o.enc.type === 'SSE-C' || undefined,
      kmsKeyArn: kms?.keyArn,
      bucketKeyEnabled: kms?.bucketKey ?? false,
      dataKeyFingerprint: kms?.dataKeyFingerprint,
      keyMaterialId: kms?.keyMaterialId,
      encryptionContext: kms ? { ...kms.context } : undefined,
      metadata: { ...o.metadata },
      contentType: o.contentType,
      cacheControl: o.system['cache-control'],
      systemHeaders: { ...o.system },
      grants: [...(o.grants ?? [])],
      checksumAlgorithm: o.checksum?.algorithm,
      checksumType: o.checksum?.type,
      storageClass: o.storageClass,
      tags: { ...o.tags },
      lastModified: o.lastModified,
      previousDataKeyFingerprints: versions
        .slice(0, -1)
        .map((v) => (v.enc.type === 'aws:kms' ? v.enc.dataKeyFingerprint : undefined)),
      envelope:
        o.body && o.enc.type !== 'SSE-C' ? this.envelopeInfo(bucket!.region, this.plaintextOf(bucket!, o)) : undefined,
    };
  }

  /**
   * Conditional writes: `If-Match` (the current object's ETag) and `If-None-Match: *` (no object
   * yet) on PutObject; a mismatch is 412 PreconditionFailed.
   */
  private checkWriteConditions(bucket: Bucket, key: string, h: IncomingHttpHeaders): void {
    const versions = bucket.objects.get(key);
    const current = versions?.[versions.length - 1];
    const ifMatch = header(h, 'if-match');
    const ifNoneMatch = header(h, 'if-none-match');
    if (ifMatch !== undefined && (!current || !etagMatches(ifMatch, current.etag))) {
      if (!current) throw new ServiceError('NoSuchKey', 'The specified key does not exist.', 404, { Key: key });
      throw new ServiceError(
        'PreconditionFailed',
        'At least one of the pre-conditions you specified did not hold',
        412,
        { Condition: 'If-Match' },
      );
    }
    if (
      ifNoneMatch !== undefined &&
      current &&
      (ifNoneMatch.trim() === '*' || etagMatches(ifNoneMatch, current.etag))
    ) {
      throw new ServiceError(
        'PreconditionFailed',
        'At least one of the pre-conditions you specified did not hold',
        412,
        { Condition: 'If-None-Match' },
      );
    }
  }

  // ---------- request handling ----------
  handle(op: string, req: S3Request): S3Response {
    const bucket = this.buckets.get(req.bucket);
    if (!bucket)
      throw new ServiceError('NoSuchBucket', 'The specified bucket does not exist', 404, { BucketName: req.bucket });
    if (bucket.region !== req.region) {
      const e = new ServiceError(
        'PermanentRedirect',
        'The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.',
        301,
        { Bucket: bucket.name, Region: bucket.region },
      );
      throw e;
    }
    switch (op) {
      case 'ListObjectsV2':
        return this.list(bucket, req);
      case 'HeadObject':
        return this.get(bucket, req, true);
      case 'GetObject':
        return this.get(bucket, req, false);
      case 'PutObject':
        return this.put(bucket, req);
      case 'CopyObject':
        return this.copy(bucket, req);
      case 'CreateMultipartUpload':
        return this.createUpload(bucket, req);
      case 'UploadPartCopy':
        return this.uploadPartCopy(bucket, req);
      case 'CompleteMultipartUpload':
        return this.completeUpload(bucket, req);
      case 'AbortMultipartUpload':
        return this.abortUpload(bucket, req);
      case 'GetObjectTagging':
        return this.getTagging(bucket, req);
      case 'GetObjectAcl':
        return this.getAcl(bucket, req);
      case 'PutObjectTagging':
        return this.putTagging(bucket, req);
      case 'ListObjectVersions':
        return this.listVersions(bucket, req);
      case 'GetBucketVersioning':
        return this.getVersioning(bucket);
      default:
        throw new Error(`unrouted S3 operation ${op}`);
    }
  }

  private find(bucket: Bucket, key: string, versionId: string | null): StoredObject {
    const versions = bucket.objects.get(key);
    if (!versions?.length) throw new ServiceError('NoSuchKey', 'The specified key does not exist.', 404, { Key: key });
    if (versionId === null) return versions[versions.length - 1];
    const o = versions.find((v) => v.versionId === versionId);
    if (!o)
      throw new ServiceError('NoSuchVersion', 'The specified version does not exist.', 404, {
        Key: key,
        VersionId: versionId,
      });
    return o;
  }

  /**
   * The SSE answer headers. The encryption context is answered only by the operations whose output
   * shape binds `x-amz-server-side-encryption-context` (S3 model: PutObject, CopyObject,
   * CreateMultipartUpload); HEAD/GET, UploadPartCopy and CompleteMultipartUpload do not return it.
   */
  private encHeaders(enc: Encryption, withContext = false): Record<string, string> {
    if (enc.type === 'AES256') return { 'x-amz-server-side-encryption': 'AES256' };
    if (enc.type === 'SSE-C') return { 'x-amz-server-side-encryption-customer-algorithm': 'AES256' };
    const h: Record<string, string> = {
      'x-amz-server-side-encryption': enc.dsse ? 'aws:kms:dsse' : 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': enc.keyArn,
    };
    if (enc.bucketKey) h['x-amz-server-side-encryption-bucket-key-enabled'] = 'true';
    if (withContext && enc.customContext)
      h['x-amz-server-side-encryption-context'] = Buffer.from(JSON.stringify(enc.context)).toString('base64');
    return h;
  }

  private objectHeaders(bucket: Bucket, o: StoredObject): Record<string, string> {
    const h: Record<string, string> = {
      'content-type': o.contentType,
      etag: o.etag,
      'last-modified': o.lastModified.toUTCString(),
      'accept-ranges': 'bytes',
      ...this.encHeaders(o.enc),
    };
    if (bucket.versioning) h['x-amz-version-id'] = o.versionId;
    if (o.storageClass !== 'STANDARD') h['x-amz-storage-class'] = o.storageClass;
    if (Object.keys(o.tags).length) h['x-amz-tagging-count'] = String(Object.keys(o.tags).length);
    for (const [k, v] of Object.entries(o.metadata)) h[`x-amz-meta-${k}`] = v;
    Object.assign(h, o.system);
    return h;
  }

  private list(bucket: Bucket, req: S3Request): S3Response {
    const q = req.query;
    const prefix = q.get('prefix') ?? '';
    const delimiter = q.get('delimiter') ?? '';
    const maxKeysRaw = q.get('max-keys');
    const maxKeys = maxKeysRaw === null ? 1000 : Number(maxKeysRaw);
    if (!Number.isInteger(maxKeys) || maxKeys < 0)
      throw new ServiceError('InvalidArgument', 'Provided max-keys not an integer or within integer range', 400, {
        ArgumentName: 'max-keys',
        ArgumentValue: String(maxKeysRaw),
      });
    const limit = Math.min(maxKeys, 1000);
    const token = q.get('continuation-token');
    let after = q.get('start-after') ?? '';
    if (token !== null) {
      const decoded = Buffer.from(token, 'base64url').toString('utf8');
      if (!decoded.startsWith('k:'))
        throw new ServiceError('InvalidArgument', 'The continuation token provided is incorrect', 400, {
          ArgumentName: 'continuation-token',
        });
      after = decoded.slice(2);
    }
    const keys = [...bucket.objects.keys()].filter((k) => k.startsWith(prefix) && k > after).sort();
    const contents: StoredObject[] = [];
    const prefixes: string[] = [];
    let last = '';
    let truncated = false;
    for (const k of keys) {
      let entry = k;
      if (delimiter) {
        const i = k.indexOf(delimiter, prefix.length);
        if (i >= 0) entry = k.slice(0, i + delimiter.length);
      }
      if (entry !== k && prefixes[prefixes.length - 1] === entry) {
        last = k;
        continue;
      }
      if (contents.length + prefixes.length >= limit) {
        truncated = true;
        break;
      }
      if (entry !== k) prefixes.push(entry);
      else contents.push(this.find(bucket, k, null));
      last = k;
    }
    // A common prefix consumes every key under it: continue after the last of them.
    if (truncated && prefixes.length && last.startsWith(prefixes[prefixes.length - 1]))
      last = prefixes[prefixes.length - 1] + '\uffff';
    const parts = [
      `<Name>${xmlEscape(bucket.name)}</Name>`,
      `<Prefix>${xmlEscape(prefix)}</Prefix>`,
      delimiter ? `<Delimiter>${xmlEscape(delimiter)}</Delimiter>` : '',
      `<MaxKeys>${maxKeys}</MaxKeys>`,
      `<KeyCount>${contents.length + prefixes.length}</KeyCount>`,
      `<IsTruncated>${truncated}</IsTruncated>`,
      token !== null ? `<ContinuationToken>${xmlEscape(token)}</ContinuationToken>` : '',
      truncated
        ? `<NextContinuationToken>${Buffer.from(`k:${last}`).toString('base64url')}</NextContinuationToken>`
        : '',
      q.get('start-after') ? `<StartAfter>${xmlEscape(q.get('start-after')!)}</StartAfter>` : '',
      ...contents.map(
        (o) =>
          `<Contents><Key>${xmlEscape(o.key)}</Key><LastModified>${o.lastModified.toISOString()}</LastModified><ETag>${xmlEscape(o.etag)}</ETag><Size>${o.size}</Size><StorageClass>${o.storageClass}</StorageClass></Contents>`,
      ),
      ...prefixes.map((p) => `<CommonPrefixes><Prefix>${xmlEscape(p)}</Prefix></CommonPrefixes>`),
    ];
    return {
      status: 200,
      headers: { 'content-type': 'application/xml' },
      body: xmlDoc(`<ListBucketResult xmlns="${XMLNS}">${parts.join('')}</ListBucketResult>`),
    };
  }

  /**
   * GetBucketVersioning: `Status` Enabled, or no Status for a bucket that never had versioning
   * enabled (S3 API reference, GetBucketVersioning). The stand-in does not model Suspended.
   */
  private getVersioning(bucket: Bucket): S3Response {
    const status = bucket.versioning ? '<Status>Enabled</Status>' : '';
    return {
      status: 200,
      headers: { 'content-type': 'application/xml' },
      body: xmlDoc(`<VersioningConfiguration xmlns="${XMLNS}">${status}</VersioningConfiguration>`),
    };
  }

  /**
   * ListObjectVersions: every version of the keys under `prefix`, keys in UTF-8 order and each
   * key's versions newest first, paged by key-marker / version-id-marker (S3 API reference,
   * ListObjectVersions). The stand-in has no delete markers (it implements no DeleteObject) and
   * does not implement `delimiter`. StorageClass is left out: the model's ObjectVersionStorageClass
   * admits only STANDARD, while S3 reports an archived version's class, so nobody may rely on it.
   */
  private listVersions(bucket: Bucket, req: S3Request): S3Response {
    const q = req.query;
    if (q.get('delimiter'))
      throw new ServiceError(NOT_IMPLEMENTED, 'The stand-in does not implement ListObjectVersions with a delimiter.');
    const prefix = q.get('prefix') ?? '';
    const maxKeysRaw = q.get('max-keys');
    const maxKeys = maxKeysRaw === null ? 1000 : Number(maxKeysRaw);
    if (!Number.isInteger(maxKeys) || maxKeys < 0)
      throw new ServiceError('InvalidArgument', 'Provided max-keys not an integer or within integer range', 400, {
        ArgumentName: 'max-keys',
        ArgumentValue: String(maxKeysRaw),
      });
    const keyMarker = q.get('key-marker') ?? '';
    const versionMarker = q.get('version-id-marker') ?? '';
    if (versionMarker && !keyMarker)
      throw new ServiceError('InvalidArgument', 'A version-id marker cannot be specified without a key marker.', 400, {
        ArgumentName: 'version-id-marker',
        ArgumentValue: versionMarker,
      });
    const all = [...bucket.objects.keys()]
      .filter((k) => k.startsWith(prefix))
      .sort()
      .flatMap((k) => [...bucket.objects.get(k)!].reverse().map((o, i) => ({ o, latest: i === 0 })));
    let start = 0;
    if (keyMarker) {
      const markerAt = versionMarker
        ? all.findIndex((e) => e.o.key === keyMarker && e.o.versionId === versionMarker)
        : -1;
      start = markerAt >= 0 ? markerAt + 1 : all.findIndex((e) => e.o.key > keyMarker);
      if (start < 0) start = all.length;
    }
    const page = all.slice(start, start + Math.min(maxKeys, 1000));
    const truncated = start + page.length < all.length;
    const last = page[page.length - 1];
    const parts = [
      `<Name>${xmlEscape(bucket.name)}</Name>`,
      `<Prefix>${xmlEscape(prefix)}</Prefix>`,
      `<KeyMarker>${xmlEscape(keyMarker)}</KeyMarker>`,
      `<VersionIdMarker>${xmlEscape(versionMarker)}</VersionIdMarker>`,
      `<MaxKeys>${maxKeys}</MaxKeys>`,
      `<IsTruncated>${truncated}</IsTruncated>`,
      truncated && last
        ? `<NextKeyMarker>${xmlEscape(last.o.key)}</NextKeyMarker><NextVersionIdMarker>${xmlEscape(last.o.versionId)}</NextVersionIdMarker>`
        : '',
      ...page.map(
        ({ o, latest }) =>
          `<Version><Key>${xmlEscape(o.key)}</Key><VersionId>${xmlEscape(o.versionId)}</VersionId><IsLatest>${latest}</IsLatest>` +
          `<LastModified>${o.lastModified.toISOString()}</LastModified><ETag>${xmlEscape(o.etag)}</ETag><Size>${o.size}</Size></Version>`,
      ),
    ];
    return {
      status: 200,
      headers: { 'content-type': 'application/xml' },
      body: xmlDoc(`<ListVersionsResult xmlns="${XMLNS}">${parts.join('')}</ListVersionsResult>`),
    };
  }

  private get(bucket: Bucket, req: S3Request, head: boolean): S3Response {
    if (req.headers.range)
      throw new ServiceError(NOT_IMPLEMENTED, 'The stand-in does not implement ranged GetObject (Range header).');
    const o = this.find(bucket, req.key, req.query.get('versionId'));
    if (o.enc.type === 'SSE-C') throw sseCRefused();
    const headers: Record<string, string> = { ...this.objectHeaders(bucket, o), 'content-length': String(o.size) };
    this.checkReadConditions(o, req.headers);
    if (header(req.headers, 'x-amz-checksum-mode') === 'ENABLED' && o.checksum) {
      // "If you enable checksum mode and the object is encrypted with AWS KMS, you must have
      // permission to use the kms:Decrypt action" (HeadObject / GetObject API reference): a HEAD
      // makes that Decrypt; a GET decrypts the data key for the body anyway.
      if (head && o.enc.type === 'aws:kms') this.dataKeyOf(bucket, o.enc, o.key);
      headers[`x-amz-checksum-${o.checksum.algorithm.toLowerCase()}`] = o.checksum.value;
      headers['x-amz-checksum-type'] = o.checksum.type;
    }
    if (head) return { status: 200, headers };
    return { status: 200, headers, body: this.plaintextOf(bucket, o) };
  }

  /** If-Match on HEAD/GET: 412 PreconditionFailed when the object's ETag is not named (GetObject API reference). */
  private checkReadConditions(o: StoredObject, h: IncomingHttpHeaders): void {
    const ifMatch = header(h, 'if-match');
    if (ifMatch !== undefined && !etagMatches(ifMatch, o.etag)) {
      throw new ServiceError(
        'PreconditionFailed',
        'At least one of the pre-conditions you specified did not hold',
        412,
        { Condition: 'If-Match' },
      );
    }
  }

  /** SSE parameters of a request (PutObject, CopyObject, CreateMultipartUpload). */
  private sseOf(h: IncomingHttpHeaders): {
    sse?: { type: 'aws:kms' | 'aws:kms:dsse'; keyId?: string } | { type: 'AES256' };
    bucketKey?: boolean;
    context?: Record<string, string>;
    given: boolean;
  } {
    const type = header(h, 'x-amz-server-side-encryption');
    const keyId = header(h, 'x-amz-server-side-encryption-aws-kms-key-id');
    const bk = header(h, 'x-amz-server-side-encryption-bucket-key-enabled');
    const ctxHeader = header(h, 'x-amz-server-side-encryption-context');
    if (type !== undefined && type !== 'aws:kms' && type !== 'aws:kms:dsse' && type !== 'AES256') {
      throw new ServiceError('InvalidArgument', `The encryption method specified is not supported`, 400, {
        ArgumentName: 'x-amz-server-side-encryption',
        ArgumentValue: type,
      });
    }
    if (keyId && type !== 'aws:kms' && type !== 'aws:kms:dsse') {
      throw new ServiceError(
        'InvalidArgument',
        'Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms',
        400,
        { ArgumentName: 'x-amz-server-side-encryption' },
      );
    }
    let context: Record<string, string> | undefined;
    if (ctxHeader) {
      try {
        context = JSON.parse(Buffer.from(ctxHeader, 'base64').toString('utf8')) as Record<string, string>;
        if (
          typeof context !== 'object' ||
          context === null ||
          Object.values(context).some((v) => typeof v !== 'string')
        )
          throw new Error('not a map');
      } catch {
        throw new ServiceError(
          'InvalidArgument',
          'The header x-amz-server-side-encryption-context must be base64-encoded UTF-8 JSON of string pairs',
          400,
        );
      }
    }
    return {
      sse: type === 'aws:kms' || type === 'aws:kms:dsse' ? { type, keyId } : type === 'AES256' ? { type } : undefined,
      bucketKey: bk === undefined ? undefined : bk === 'true',
      context,
      given: type !== undefined || bk !== undefined || ctxHeader !== undefined,
    };
  }

  private put(bucket: Bucket, req: S3Request): S3Response {
    const h = req.headers;
    let body = req.body;
    let trailers: Record<string, string> = {};
    const chunked =
      (header(h, 'content-encoding') ?? '').includes('aws-chunked') ||
      (header(h, 'x-amz-content-sha256') ?? '').startsWith('STREAMING-');
    if (chunked) ({ data: body, trailers } = decodeAwsChunked(body));
    const declared = header(h, 'x-amz-decoded-content-length');
    if (declared !== undefined && Number(declared) !== body.length)
      throw new ServiceError(
        'IncompleteBody',
        'You did not provide the number of bytes specified by the Content-Length HTTP header',
        400,
      );
    const checksum = this.uploadedChecksum(h, trailers, body);
    this.checkWriteConditions(bucket, req.key, h);
    const s = this.sseOf(h);
    const { enc, dataKey } = this.encryptionFor(bucket, req.key, s.sse, s.bucketKey, s.context);
    const o = this.store(bucket, req.key, enc, dataKey, body, body.length, {
      contentType: header(h, 'content-type') ?? 'binary/octet-stream',
      metadata: metadataFrom(h),
      system: systemFrom(h),
      grants: grantsFrom(h),
      tags: tagsFrom(h),
      storageClass: header(h, 'x-amz-storage-class') ?? 'STANDARD',
      etag: `"${md5(body)}"`,
      checksum,
    });
    const headers: Record<string, string> = { etag: o.etag, ...this.encHeaders(enc, true) };
    if (bucket.versioning) headers['x-amz-version-id'] = o.versionId;
    return { status: 200, headers };
  }

  /**
   * The checksum a PutObject stores: the one sent (header or aws-chunked trailer), verified against
   * the body (400 BadDigest), else CRC64NVME, which S3 adds to objects uploaded without one
   * (S3 User Guide, "Checking object integrity").
   */
  private uploadedChecksum(h: IncomingHttpHeaders, trailers: Record<string, string>, body: Buffer): StoredChecksum {
    for (const algorithm of ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const) {
      const name = `x-amz-checksum-${algorithm.toLowerCase()}`;
      const sent = header(h, name) ?? trailers[name];
      if (sent === undefined) continue;
      const value = checksumOf(algorithm, body);
      if (value !== sent)
        throw new ServiceError(
          'BadDigest',
          `The ${algorithm} you specified did not match the calculated checksum.`,
          400,
        );
      return { algorithm, value, type: 'FULL_OBJECT' };
    }
    return { algorithm: 'CRC64NVME', value: checksumOf('CRC64NVME', body), type: 'FULL_OBJECT' };
  }

  private copySource(req: S3Request): { bucket: Bucket; object: StoredObject } {
    const raw = header(req.headers, 'x-amz-copy-source')!;
    let decoded = raw;
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      /* keep raw (the SDK sends CopySource as given) */
    }
    const [path, query] = decoded.replace(/^\//, '').split('?versionId=');
    const slash = path.indexOf('/');
    if (slash <= 0)
      throw new ServiceError('InvalidArgument', 'Invalid copy source object key', 400, {
        ArgumentName: 'x-amz-copy-source',
        ArgumentValue: raw,
      });
    const bucket = this.buckets.get(path.slice(0, slash));
    if (!bucket)
      throw new ServiceError('NoSuchBucket', 'The specified bucket does not exist', 404, {
        BucketName: path.slice(0, slash),
      });
    return { bucket, object: this.find(bucket, path.slice(slash + 1), query ?? null) };
  }

  /**
   * Copy-source conditions (`x-amz-copy-source-if-match` / `-if-none-match`; 412 on mismatch) and
   * archived sources: GLACIER / DEEP_ARCHIVE objects cannot be read before a restore (403
   * InvalidObjectState; the stand-in has no RestoreObject).
   */
  private checkCopySource(h: IncomingHttpHeaders, src: StoredObject): void {
    const ifMatch = header(h, 'x-amz-copy-source-if-match');
    const ifNoneMatch = header(h, 'x-amz-copy-source-if-none-match');
    if (
      (ifMatch !== undefined && !etagMatches(ifMatch, src.etag)) ||
      (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, src.etag))
    ) {
      throw new ServiceError(
        'PreconditionFailed',
        'At least one of the pre-conditions you specified did not hold',
        412,
        { Condition: ifMatch !== undefined ? 'x-amz-copy-source-If-Match' : 'x-amz-copy-source-If-None-Match' },
      );
    }
    if (src.storageClass === 'GLACIER' || src.storageClass === 'DEEP_ARCHIVE') {
      throw new ServiceError('InvalidObjectState', "The operation is not valid for the object's storage class", 403, {
        StorageClass: src.storageClass,
      });
    }
  }

  private copy(bucket: Bucket, req: S3Request): S3Response {
    const h = req.headers;
    const src = this.copySource(req);
    const directive = header(h, 'x-amz-metadata-directive') ?? 'COPY';
    if (directive !== 'COPY' && directive !== 'REPLACE')
      throw new ServiceError('InvalidArgument', 'Unknown metadata directive.', 400, {
        ArgumentName: 'x-amz-metadata-directive',
        ArgumentValue: directive,
      });
    const s = this.sseOf(h);
    const storageClass = header(h, 'x-amz-storage-class');
    const versions = bucket.objects.get(req.key);
    const sameObject =
      src.bucket === bucket && src.object.key === req.key && versions?.[versions.length - 1] === src.object;
    if (
      sameObject &&
      directive === 'COPY' &&
      !s.given &&
      !storageClass &&
      !header(h, 'x-amz-website-redirect-location')
    ) {
      throw new ServiceError(
        'InvalidRequest',
        "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
        400,
      );
    }
    this.checkCopySource(h, src.object);
    if (src.object.size > MAX_COPY_BYTES) {
      throw new ServiceError(
        'InvalidRequest',
        `The specified copy source is larger than the maximum allowable size for a copy source: ${MAX_COPY_BYTES}`,
        400,
      );
    }
    const plain = this.plaintextOf(src.bucket, src.object);
    const algorithm = requestedChecksumAlgorithm(h);
    // Conditions on the DESTINATION (If-Match / If-None-Match), checked when the copy is written.
    this.checkWriteConditions(bucket, req.key, h);
    // Without explicit SSE the copy takes the BUCKET default (the source's encryption and its
    // encryption context are not copied).
    const { enc, dataKey } = this.encryptionFor(bucket, req.key, s.sse, s.bucketKey, s.context);
    const replace = directive === 'REPLACE';
    // Without x-amz-checksum-algorithm the source's checksum algorithm is copied (CopyObject API reference).
    const kept = algorithm ?? src.object.checksum?.algorithm ?? 'CRC64NVME';
    const o = this.store(bucket, req.key, enc, dataKey, plain, plain.length, {
      contentType: replace ? (header(h, 'content-type') ?? 'binary/octet-stream') : src.object.contentType,
      metadata: replace ? metadataFrom(h) : { ...src.object.metadata },
      // REPLACE takes the request's system headers; COPY keeps the source's (CopyObject API reference, x-amz-metadata-directive).
      system: replace ? systemFrom(h) : { ...src.object.system },
      // The source's ACL is never copied: the copy is private unless the request grants (CopyObject API reference).
      grants: grantsFrom(h),
      checksum: { algorithm: kept, value: checksumOf(kept, plain), type: 'FULL_OBJECT' },
      // x-amz-tagging-directive: COPY (the default) keeps the source's tags, REPLACE takes x-amz-tagging.
      tags: (header(h, 'x-amz-tagging-directive') ?? 'COPY') === 'REPLACE' ? tagsFrom(h) : { ...src.object.tags },
      storageClass: storageClass ?? 'STANDARD',
      etag: `"${md5(plain)}"`,
    });
    const headers: Record<string, string> = { 'content-type': 'application/xml', ...this.encHeaders(enc, true) };
    if (bucket.versioning) headers['x-amz-version-id'] = o.versionId;
    if (src.bucket.versioning) headers['x-amz-copy-source-version-id'] = src.object.versionId;
    return {
      status: 200,
      headers,
      body: xmlDoc(
        `<CopyObjectResult xmlns="${XMLNS}"><ETag>${xmlEscape(o.etag)}</ETag><LastModified>${o.lastModified.toISOString()}</LastModified></CopyObjectResult>`,
      ),
    };
  }

  private createUpload(bucket: Bucket, req: S3Request): S3Response {
    const h = req.headers;
    const s = this.sseOf(h);
    // Real S3 asks KMS for the data key when the upload starts.
    const { enc, dataKey } = this.encryptionFor(bucket, req.key, s.sse, s.bucketKey, s.context);
    const id = randomUUID().replace(/-/g, '') + randomBytes(24).toString('base64url');
    const versions = bucket.objects.get(req.key);
    bucket.uploads.set(id, {
      id,
      key: req.key,
      enc,
      dataKey,
      contentType: header(h, 'content-type') ?? 'binary/octet-stream',
      metadata: metadataFrom(h),
      system: systemFrom(h),
      grants: grantsFrom(h),
      tags: tagsFrom(h),
      storageClass: header(h, 'x-amz-storage-class') ?? 'STANDARD',
      checksumAlgorithm: requestedChecksumAlgorithm(h),
      currentAtStart: versions?.[versions.length - 1],
      parts: new Map(),
    });
    return {
      status: 200,
      headers: { 'content-type': 'application/xml', ...this.encHeaders(enc, true) },
      body: xmlDoc(
        `<InitiateMultipartUploadResult xmlns="${XMLNS}"><Bucket>${xmlEscape(bucket.name)}</Bucket><Key>${xmlEscape(req.key)}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`,
      ),
    };
  }

  private upload(bucket: Bucket, req: S3Request): Upload {
    const id = req.query.get('uploadId') ?? '';
    const u = bucket.uploads.get(id);
    if (!u || u.key !== req.key) {
      throw new ServiceError(
        'NoSuchUpload',
        'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
        404,
        { UploadId: id },
      );
    }
    return u;
  }

  private uploadPartCopy(bucket: Bucket, req: S3Request): S3Response {
    const u = this.upload(bucket, req);
    const partNumber = Number(req.query.get('partNumber'));
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10000) {
      throw new ServiceError('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', 400, {
        ArgumentName: 'partNumber',
        ArgumentValue: String(req.query.get('partNumber')),
      });
    }
    const src = this.copySource(req);
    this.checkCopySource(req.headers, src.object);
    const size = src.object.size;
    const rangeHeader = header(req.headers, 'x-amz-copy-source-range');
    let start = 0;
    let end = size - 1;
    if (rangeHeader !== undefined) {
      const m = /^bytes=(\d+)-(\d+)$/.exec(rangeHeader);
      if (!m)
        throw new ServiceError(
          'InvalidArgument',
          'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy',
          400,
          { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: rangeHeader },
        );
      start = Number(m[1]);
      end = Number(m[2]);
      if (start > end || end >= size)
        throw new ServiceError(
          'InvalidRequest',
          `The specified copy range is invalid for the source object size: ${size}`,
          400,
        );
    } else if (size > MAX_COPY_BYTES) {
      throw new ServiceError(
        'InvalidRequest',
        `The specified copy source is larger than the maximum allowable size for a copy source: ${MAX_COPY_BYTES}`,
        400,
      );
    }
    const partSize = end - start + 1;
    if (partSize > MAX_COPY_BYTES)
      throw new ServiceError('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', 400, {
        ProposedSize: String(partSize),
        MaxSizeAllowed: String(MAX_COPY_BYTES),
      });
    let part: Part;
    const seed = `${src.bucket.name}/${src.object.key}@${src.object.versionId}:${start}-${end}`;
    if (src.object.body) {
      const plaintext = this.plaintextOf(src.bucket, src.object).subarray(start, end + 1);
      part = {
        etag: `"${md5(plaintext)}"`,
        size: partSize,
        plaintext,
        checksum: u.checksumAlgorithm && checksumOf(u.checksumAlgorithm, plaintext),
      };
    } else {
      // A synthetic source has no bytes to read, but S3 still decrypts its data key to read them.
      if (src.object.enc.type === 'aws:kms') this.dataKeyOf(src.bucket, src.object.enc, src.object.key);
      part = {
        etag: `"${md5(seed)}"`,
        size: partSize,
        checksum: u.checksumAlgorithm && syntheticChecksum(u.checksumAlgorithm, seed),
      };
    }
    // The part is encrypted under the upload's data key, which S3 holds encrypted: one more Decrypt
    // per part. S3 documents only that uploading parts needs kms:Decrypt (User Guide, "Multipart
    // upload API and permissions"), not how often it calls KMS; the strict answer is every part.
    if (u.enc.type === 'aws:kms') this.gateUploadKey(bucket, u.enc);
    u.parts.set(partNumber, part);
    const lastModified = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
    const headers: Record<string, string> = { 'content-type': 'application/xml', ...this.encHeaders(u.enc) };
    if (src.bucket.versioning) headers['x-amz-copy-source-version-id'] = src.object.versionId;
    const checksum = u.checksumAlgorithm
      ? `<Checksum${u.checksumAlgorithm}>${part.checksum}</Checksum${u.checksumAlgorithm}>`
      : '';
    return {
      status: 200,
      headers,
      body: xmlDoc(
        `<CopyPartResult xmlns="${XMLNS}"><ETag>${xmlEscape(part.etag)}</ETag><LastModified>${lastModified}</LastModified>${checksum}</CopyPartResult>`,
      ),
    };
  }

  /** S3's KMS request for an upload's data key (admitted or throttled like any other). */
  private gateUploadKey(bucket: Bucket, enc: Encryption & { type: 'aws:kms' }): void {
    try {
      this.kmsGate?.('Decrypt', enc.keyArn, bucket.region, enc.context);
    } catch (e) {
      throw kmsToS3(e);
    }
  }

  /**
   * A conditional CompleteMultipartUpload (If-Match / If-None-Match) after someone else wrote the
   * key during the upload: 409 ConditionalRequestConflict ("If a conflicting operation occurs
   * during the upload S3 returns a 409", CompleteMultipartUpload API reference); otherwise the
   * conditions are checked against the current object (412 on a mismatch).
   */
  private checkCompleteConditions(bucket: Bucket, u: Upload, h: IncomingHttpHeaders): void {
    if (header(h, 'if-match') === undefined && header(h, 'if-none-match') === undefined) return;
    const versions = bucket.objects.get(u.key);
    if (versions?.[versions.length - 1] !== u.currentAtStart) {
      throw new ServiceError(
        'ConditionalRequestConflict',
        'A conflicting conditional operation is currently in progress against this resource. Please try again.',
        409,
      );
    }
    this.checkWriteConditions(bucket, u.key, h);
  }

  /** A part's checksum as listed in CompleteMultipartUpload: required when the upload was created with an algorithm. */
  private listedPartChecksum(u: Upload, partXml: string, number: number, part: Part): void {
    if (!u.checksumAlgorithm) return;
    const tag = `Checksum${u.checksumAlgorithm}`;
    const listed = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(partXml)?.[1]?.trim();
    if (listed === undefined) {
      throw new ServiceError(
        'InvalidRequest',
        `The upload was created using a ${u.checksumAlgorithm.toLowerCase()} checksum. The complete request must include the checksum for each part. It was missing for part ${number} in the request.`,
        400,
      );
    }
    if (listed !== part.checksum)
      throw new ServiceError(
        'InvalidPart',
        `One or more of the specified parts could not be found. The ${u.checksumAlgorithm} checksum of part ${number} does not match.`,
        400,
        { UploadId: u.id, PartNumber: String(number) },
      );
  }

  /** The checksum a completed upload stores: COMPOSITE of the parts' (CRC64NVME: FULL_OBJECT), or S3's default CRC64NVME. */
  private completedChecksum(u: Upload, parts: Part[], plain: Buffer | undefined): StoredChecksum {
    const algorithm = u.checksumAlgorithm ?? 'CRC64NVME';
    if (algorithm === 'CRC64NVME')
      return {
        algorithm,
        value: plain ? checksumOf(algorithm, plain) : syntheticChecksum(algorithm, `${u.id}`),
        type: 'FULL_OBJECT',
      };
    return {
      algorithm,
      value: compositeChecksum(
        algorithm,
        parts.map((p) => p.checksum!),
      ),
      type: 'COMPOSITE',
    };
  }

  private completeUpload(bucket: Bucket, req: S3Request): S3Response {
    const u = this.upload(bucket, req);
    this.checkCompleteConditions(bucket, u, req.headers);
    const xml = req.body.toString('utf8');
    if (!/<CompleteMultipartUpload[\s>]/.test(xml))
      throw new ServiceError(
        'MalformedXML',
        'The XML you provided was not well-formed or did not validate against our published schema',
        400,
      );
    const listed = [...xml.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map((m) => ({
      xml: m[1],
      number: Number(/<PartNumber>\s*(\d+)\s*<\/PartNumber>/.exec(m[1])?.[1]),
      etag: xmlUnescape(/<ETag>([\s\S]*?)<\/ETag>/.exec(m[1])?.[1] ?? '').trim(),
    }));
    if (!listed.length)
      throw new ServiceError(
        'MalformedXML',
        'The XML you provided was not well-formed or did not validate against our published schema',
        400,
      );
    const parts: Part[] = [];
    listed.forEach((p, i) => {
      if (i > 0 && p.number <= listed[i - 1].number)
        throw new ServiceError(
          'InvalidPartOrder',
          'The list of parts was not in ascending order. The parts list must be specified in order by part number.',
          400,
        );
      const part = u.parts.get(p.number);
      const norm = (e: string) => e.replace(/^"|"$/g, '');
      if (!part || norm(part.etag) !== norm(p.etag)) {
        throw new ServiceError(
          'InvalidPart',
          "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
          400,
          { UploadId: u.id, PartNumber: String(p.number), ETag: p.etag },
        );
      }
      this.listedPartChecksum(u, p.xml, p.number, part);
      parts.push(part);
    });
    parts.forEach((p, i) => {
      if (i < parts.length - 1 && p.size < MIN_PART_BYTES)
        throw new ServiceError(
          'EntityTooSmall',
          'Your proposed upload is smaller than the minimum allowed object size.',
          400,
          { ProposedSize: String(p.size), MinSizeAllowed: String(MIN_PART_BYTES) },
        );
    });
    const size = parts.reduce((n, p) => n + p.size, 0);
    const plain = parts.every((p) => p.plaintext) ? Buffer.concat(parts.map((p) => p.plaintext!)) : undefined;
    const etag = `"${md5(Buffer.concat(parts.map((p) => Buffer.from(p.etag.replace(/"/g, ''), 'hex'))))}-${parts.length}"`;
    const checksum = this.completedChecksum(u, parts, plain);
    const o = this.store(bucket, u.key, u.enc, u.dataKey, plain, size, {
      contentType: u.contentType,
      metadata: u.metadata,
      system: u.system,
      grants: u.grants,
      tags: u.tags,
      storageClass: u.storageClass,
      etag,
      checksum,
    });
    bucket.uploads.delete(u.id);
    const headers: Record<string, string> = { 'content-type': 'application/xml', ...this.encHeaders(u.enc) };
    if (bucket.versioning) headers['x-amz-version-id'] = o.versionId;
    const location = `http://${header(req.headers, 'host') ?? 'localhost'}/${bucket.name}/${encodeURI(u.key)}`;
    return {
      status: 200,
      headers,
      body: xmlDoc(
        `<CompleteMultipartUploadResult xmlns="${XMLNS}"><Location>${xmlEscape(location)}</Location><Bucket>${xmlEscape(bucket.name)}</Bucket><Key>${xmlEscape(u.key)}</Key><ETag>${xmlEscape(etag)}</ETag></CompleteMultipartUploadResult>`,
      ),
    };
  }

  private getTagging(bucket: Bucket, req: S3Request): S3Response {
    const o = this.find(bucket, req.key, req.query.get('versionId'));
    const tags = Object.entries(o.tags)
      .map(([k, v]) => `<Tag><Key>${xmlEscape(k)}</Key><Value>${xmlEscape(v)}</Value></Tag>`)
      .join('');
    const headers: Record<string, string> = { 'content-type': 'application/xml' };
    if (bucket.versioning) headers['x-amz-version-id'] = o.versionId;
    return { status: 200, headers, body: xmlDoc(`<Tagging xmlns="${XMLNS}"><TagSet>${tags}</TagSet></Tagging>`) };
  }

  /**
   * The object's ACL: the owner's FULL_CONTROL and the grants the object was written with. The
   * stand-in's owner is one canonical user per account. A copy or a new upload does not inherit
   * the source's ACL (CopyObject API reference: "the ACL is not preserved and is set to private").
   */
  private getAcl(bucket: Bucket, req: S3Request): S3Response {
    const o = this.find(bucket, req.key, req.query.get('versionId'));
    const owner = canonicalIdOf(this.kms.account);
    const grant = (grantee: string, permission: string) =>
      `<Grant>${grantee}<Permission>${permission}</Permission></Grant>`;
    const XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';
    const granteeXml = (g: string) => {
      const [, kind, value] = /^(id|uri|emailAddress)="([^"]+)"$/.exec(g)!;
      if (kind === 'id') return `<Grantee ${XSI} xsi:type="CanonicalUser"><ID>${xmlEscape(value)}</ID></Grantee>`;
      if (kind === 'uri') return `<Grantee ${XSI} xsi:type="Group"><URI>${xmlEscape(value)}</URI></Grantee>`;
      return `<Grantee ${XSI} xsi:type="AmazonCustomerByEmail"><EmailAddress>${xmlEscape(value)}</EmailAddress></Grantee>`;
    };
    const grants = [
      grant(granteeXml(`id="${owner}"`), 'FULL_CONTROL'),
      ...(o.grants ?? []).map((g) => grant(granteeXml(g.slice(g.indexOf(' ') + 1)), g.slice(0, g.indexOf(' ')))),
    ];
    // GetObjectAclOutput binds no x-amz-version-id (S3 model), unlike the tagging answers.
    const headers: Record<string, string> = { 'content-type': 'application/xml' };
    return {
      status: 200,
      headers,
      body: xmlDoc(
        `<AccessControlPolicy xmlns="${XMLNS}"><Owner><ID>${owner}</ID></Owner><AccessControlList>${grants.join('')}</AccessControlList></AccessControlPolicy>`,
      ),
    };
  }

  private putTagging(bucket: Bucket, req: S3Request): S3Response {
    const o = this.find(bucket, req.key, req.query.get('versionId'));
    const xml = req.body.toString('utf8');
    if (!/<Tagging[\s>]/.test(xml))
      throw new ServiceError(
        'MalformedXML',
        'The XML you provided was not well-formed or did not validate against our published schema',
        400,
      );
    o.tags = Object.fromEntries(
      [...xml.matchAll(/<Tag>([\s\S]*?)<\/Tag>/g)].map((m) => [
        xmlUnescape(/<Key>([\s\S]*?)<\/Key>/.exec(m[1])?.[1] ?? ''),
        xmlUnescape(/<Value>([\s\S]*?)<\/Value>/.exec(m[1])?.[1] ?? ''),
      ]),
    );
    const headers: Record<string, string> = {};
    if (bucket.versioning) headers['x-amz-version-id'] = o.versionId;
    return { status: 200, headers };
  }

  private abortUpload(bucket: Bucket, req: S3Request): S3Response {
    const u = this.upload(bucket, req);
    bucket.uploads.delete(u.id);
    return { status: 204, headers: {} };
  }
}
