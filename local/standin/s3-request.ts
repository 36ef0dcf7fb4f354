import type { IncomingHttpHeaders } from 'node:http';
import { NOT_IMPLEMENTED, ServiceError } from './errors';
import { checksumAlgorithmNamed, type ChecksumAlgorithm } from './s3-checksums';
import { SYSTEM_HEADERS, type StoredObject } from './s3-types';

/** Routing and request parsing of the S3 stand-in: operation names, headers, aws-chunked bodies. */

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
  'GetObjectRetention',
  'PutObjectRetention',
  'GetObjectLegalHold',
  'PutObjectLegalHold',
  'ListObjectVersions',
  'GetBucketVersioning',
] as const;

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
  if (q.has('retention') && (method === 'GET' || method === 'PUT'))
    return method === 'GET' ? 'GetObjectRetention' : 'PutObjectRetention';
  if (q.has('legal-hold') && (method === 'GET' || method === 'PUT'))
    return method === 'GET' ? 'GetObjectLegalHold' : 'PutObjectLegalHold';
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
export function etagMatches(condition: string, etag: string): boolean {
  const bare = (e: string) => e.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
  return condition.split(',').some((c) => c.trim() === '*' || bare(c) === bare(etag));
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

export function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

export function metadataFrom(h: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h))
    if (k.startsWith('x-amz-meta-') && typeof v === 'string') out[k.slice(11)] = v;
  return out;
}

export const GRANT_HEADERS = {
  'x-amz-grant-read': 'READ',
  'x-amz-grant-read-acp': 'READ_ACP',
  'x-amz-grant-write-acp': 'WRITE_ACP',
  'x-amz-grant-full-control': 'FULL_CONTROL',
} as const;

/**
 * The ACL grants of a write's x-amz-grant-* headers (`id="..", uri=".."` lists), as
 * `<PERMISSION> <grantee>`; undefined when none. x-amz-acl (canned ACLs) is not modelled.
 */
export function grantsFrom(h: IncomingHttpHeaders): string[] | undefined {
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
export function systemFrom(h: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of SYSTEM_HEADERS) {
    const v = header(h, name);
    if (v !== undefined) out[name] = v;
  }
  return out;
}

/** `x-amz-checksum-algorithm` of a CopyObject / CreateMultipartUpload request (400 for an unknown algorithm, as S3). */
export function requestedChecksumAlgorithm(h: IncomingHttpHeaders): ChecksumAlgorithm | undefined {
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
export function tagsFrom(h: IncomingHttpHeaders): Record<string, string> {
  const raw = header(h, 'x-amz-tagging');
  return raw ? Object.fromEntries(new URLSearchParams(raw)) : {};
}

/** If-Match on HEAD/GET: 412 PreconditionFailed when the object's ETag is not named (GetObject API reference). */
export function checkReadConditions(o: StoredObject, h: IncomingHttpHeaders): void {
  const ifMatch = header(h, 'if-match');
  if (ifMatch !== undefined && !etagMatches(ifMatch, o.etag)) {
    throw new ServiceError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', 412, {
      Condition: 'If-Match',
    });
  }
}

/** SSE parameters of a request (PutObject, CopyObject, CreateMultipartUpload). */
export function sseOf(h: IncomingHttpHeaders): {
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
      if (typeof context !== 'object' || context === null || Object.values(context).some((v) => typeof v !== 'string'))
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
