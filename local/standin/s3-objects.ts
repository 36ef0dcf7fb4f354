import type { IncomingHttpHeaders } from 'node:http';
import { NOT_IMPLEMENTED, ServiceError, xmlEscape } from './errors';
import { checkAclAllowed, lockFromWrite, withoutHiddenLock } from './s3-object-lock';
import { checksumOf, type StoredChecksum } from './s3-checksums';
import { md5, sseCRefused, type S3Core } from './s3-core';
import {
  checkReadConditions,
  decodeAwsChunked,
  etagMatches,
  grantsFrom,
  header,
  metadataFrom,
  requestedChecksumAlgorithm,
  sseOf,
  systemFrom,
  tagsFrom,
} from './s3-request';
import {
  MAX_COPY_BYTES,
  XMLNS,
  xmlDoc,
  type Bucket,
  type S3Request,
  type S3Response,
  type StoredObject,
} from './s3-types';

/** Single-object reads and writes of the S3 stand-in: HeadObject, GetObject, PutObject, CopyObject. */

export function get(core: S3Core, bucket: Bucket, req: S3Request, head: boolean): S3Response {
  if (req.headers.range)
    throw new ServiceError(NOT_IMPLEMENTED, 'The stand-in does not implement ranged GetObject (Range header).');
  const o = core.find(bucket, req.key, req.query.get('versionId'));
  if (o.enc.type === 'SSE-C') throw sseCRefused();
  const headers: Record<string, string> = { ...core.objectHeaders(bucket, o), 'content-length': String(o.size) };
  withoutHiddenLock(headers, req.lockVisible);
  checkReadConditions(o, req.headers);
  if (header(req.headers, 'x-amz-checksum-mode') === 'ENABLED' && o.checksum) {
    // "If you enable checksum mode and the object is encrypted with AWS KMS, you must have
    // permission to use the kms:Decrypt action" (HeadObject / GetObject API reference): a HEAD
    // makes that Decrypt; a GET decrypts the data key for the body anyway.
    if (head && o.enc.type === 'aws:kms') core.dataKeyOf(bucket, o.enc, o.key);
    headers[`x-amz-checksum-${o.checksum.algorithm.toLowerCase()}`] = o.checksum.value;
    headers['x-amz-checksum-type'] = o.checksum.type;
  }
  if (head) return { status: 200, headers };
  return { status: 200, headers, body: core.plaintextOf(bucket, o) };
}

export function put(core: S3Core, bucket: Bucket, req: S3Request): S3Response {
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
  const checksum = uploadedChecksum(h, trailers, body);
  core.checkWriteConditions(bucket, req.key, h);
  checkAclAllowed(bucket, h);
  const s = sseOf(h);
  const { enc, dataKey } = core.encryptionFor(bucket, req.key, s.sse, s.bucketKey, s.context);
  const o = core.store(bucket, req.key, enc, dataKey, body, body.length, {
    contentType: header(h, 'content-type') ?? 'binary/octet-stream',
    metadata: metadataFrom(h),
    system: systemFrom(h),
    grants: grantsFrom(h),
    ...lockFromWrite(bucket, h, new Date()),
    tags: tagsFrom(h),
    storageClass: header(h, 'x-amz-storage-class') ?? 'STANDARD',
    etag: `"${md5(body)}"`,
    checksum,
  });
  const headers: Record<string, string> = { etag: o.etag, ...core.encHeaders(enc, true) };
  if (bucket.versioning) headers['x-amz-version-id'] = o.versionId;
  return { status: 200, headers };
}

/**
 * The checksum a PutObject stores: the one sent (header or aws-chunked trailer), verified against
 * the body (400 BadDigest), else CRC64NVME, which S3 adds to objects uploaded without one
 * (S3 User Guide, "Checking object integrity").
 */
export function uploadedChecksum(
  h: IncomingHttpHeaders,
  trailers: Record<string, string>,
  body: Buffer,
): StoredChecksum {
  for (const algorithm of ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const) {
    const name = `x-amz-checksum-${algorithm.toLowerCase()}`;
    const sent = header(h, name) ?? trailers[name];
    if (sent === undefined) continue;
    const value = checksumOf(algorithm, body);
    if (value !== sent)
      throw new ServiceError('BadDigest', `The ${algorithm} you specified did not match the calculated checksum.`, 400);
    return { algorithm, value, type: 'FULL_OBJECT' };
  }
  return { algorithm: 'CRC64NVME', value: checksumOf('CRC64NVME', body), type: 'FULL_OBJECT' };
}

export function copySource(core: S3Core, req: S3Request): { bucket: Bucket; object: StoredObject } {
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
  const bucket = core.buckets.get(path.slice(0, slash));
  if (!bucket)
    throw new ServiceError('NoSuchBucket', 'The specified bucket does not exist', 404, {
      BucketName: path.slice(0, slash),
    });
  return { bucket, object: core.find(bucket, path.slice(slash + 1), query ?? null) };
}

/**
 * Copy-source conditions (`x-amz-copy-source-if-match` / `-if-none-match`; 412 on mismatch) and
 * archived sources: GLACIER / DEEP_ARCHIVE objects cannot be read before a restore (403
 * InvalidObjectState; the stand-in has no RestoreObject).
 */
export function checkCopySource(h: IncomingHttpHeaders, src: StoredObject): void {
  const ifMatch = header(h, 'x-amz-copy-source-if-match');
  const ifNoneMatch = header(h, 'x-amz-copy-source-if-none-match');
  if (
    (ifMatch !== undefined && !etagMatches(ifMatch, src.etag)) ||
    (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, src.etag))
  ) {
    throw new ServiceError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', 412, {
      Condition: ifMatch !== undefined ? 'x-amz-copy-source-If-Match' : 'x-amz-copy-source-If-None-Match',
    });
  }
  if (src.storageClass === 'GLACIER' || src.storageClass === 'DEEP_ARCHIVE') {
    throw new ServiceError('InvalidObjectState', "The operation is not valid for the object's storage class", 403, {
      StorageClass: src.storageClass,
    });
  }
}

export function copy(core: S3Core, bucket: Bucket, req: S3Request): S3Response {
  const h = req.headers;
  const src = copySource(core, req);
  const directive = header(h, 'x-amz-metadata-directive') ?? 'COPY';
  if (directive !== 'COPY' && directive !== 'REPLACE')
    throw new ServiceError('InvalidArgument', 'Unknown metadata directive.', 400, {
      ArgumentName: 'x-amz-metadata-directive',
      ArgumentValue: directive,
    });
  const s = sseOf(h);
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
  checkCopySource(h, src.object);
  if (src.object.size > MAX_COPY_BYTES) {
    throw new ServiceError(
      'InvalidRequest',
      `The specified copy source is larger than the maximum allowable size for a copy source: ${MAX_COPY_BYTES}`,
      400,
    );
  }
  const plain = core.plaintextOf(src.bucket, src.object);
  const algorithm = requestedChecksumAlgorithm(h);
  // Conditions on the DESTINATION (If-Match / If-None-Match), checked when the copy is written.
  core.checkWriteConditions(bucket, req.key, h);
  checkAclAllowed(bucket, h);
  // Without explicit SSE the copy takes the BUCKET default (the source's encryption and its
  // encryption context are not copied).
  const { enc, dataKey } = core.encryptionFor(bucket, req.key, s.sse, s.bucketKey, s.context);
  const replace = directive === 'REPLACE';
  // Without x-amz-checksum-algorithm the source's checksum algorithm is copied (CopyObject API reference).
  const kept = algorithm ?? src.object.checksum?.algorithm ?? 'CRC64NVME';
  const o = core.store(bucket, req.key, enc, dataKey, plain, plain.length, {
    contentType: replace ? (header(h, 'content-type') ?? 'binary/octet-stream') : src.object.contentType,
    metadata: replace ? metadataFrom(h) : { ...src.object.metadata },
    // REPLACE takes the request's system headers; COPY keeps the source's (CopyObject API reference, x-amz-metadata-directive).
    system: replace ? systemFrom(h) : { ...src.object.system },
    // The source's ACL is never copied: the copy is private unless the request grants (CopyObject API reference).
    grants: grantsFrom(h),
    // A copy's Object Lock state is the request's (or the bucket default), never the source's (CopyObject API reference).
    ...lockFromWrite(bucket, h, new Date()),
    checksum: { algorithm: kept, value: checksumOf(kept, plain), type: 'FULL_OBJECT' },
    // x-amz-tagging-directive: COPY (the default) keeps the source's tags, REPLACE takes x-amz-tagging.
    tags: (header(h, 'x-amz-tagging-directive') ?? 'COPY') === 'REPLACE' ? tagsFrom(h) : { ...src.object.tags },
    storageClass: storageClass ?? 'STANDARD',
    etag: `"${md5(plain)}"`,
  });
  const headers: Record<string, string> = { 'content-type': 'application/xml', ...core.encHeaders(enc, true) };
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
