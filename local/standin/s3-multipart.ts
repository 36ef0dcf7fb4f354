import type { IncomingHttpHeaders } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import { ServiceError, xmlEscape, xmlUnescape } from './errors';
import { checksumOf, compositeChecksum, syntheticChecksum, type StoredChecksum } from './s3-checksums';
import { md5, type S3Core } from './s3-core';
import { checkAclAllowed, lockFromWrite } from './s3-object-lock';
import { checkCopySource, copySource } from './s3-objects';
import {
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
  MIN_PART_BYTES,
  XMLNS,
  xmlDoc,
  type Bucket,
  type Part,
  type S3Request,
  type S3Response,
  type Upload,
} from './s3-types';

/** Multipart uploads of the S3 stand-in: create, copy a part, complete (conditions, part checksums), abort. */

export function createUpload(core: S3Core, bucket: Bucket, req: S3Request): S3Response {
  const h = req.headers;
  checkAclAllowed(bucket, h);
  const s = sseOf(h);
  // Real S3 asks KMS for the data key when the upload starts.
  const { enc, dataKey } = core.encryptionFor(bucket, req.key, s.sse, s.bucketKey, s.context);
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
    lock: lockFromWrite(bucket, h, new Date()),
    tags: tagsFrom(h),
    storageClass: header(h, 'x-amz-storage-class') ?? 'STANDARD',
    checksumAlgorithm: requestedChecksumAlgorithm(h),
    currentAtStart: versions?.[versions.length - 1],
    parts: new Map(),
  });
  return {
    status: 200,
    headers: { 'content-type': 'application/xml', ...core.encHeaders(enc, true) },
    body: xmlDoc(
      `<InitiateMultipartUploadResult xmlns="${XMLNS}"><Bucket>${xmlEscape(bucket.name)}</Bucket><Key>${xmlEscape(req.key)}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`,
    ),
  };
}

export function upload(bucket: Bucket, req: S3Request): Upload {
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

export function uploadPartCopy(core: S3Core, bucket: Bucket, req: S3Request): S3Response {
  const u = upload(bucket, req);
  const partNumber = Number(req.query.get('partNumber'));
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10000) {
    throw new ServiceError('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', 400, {
      ArgumentName: 'partNumber',
      ArgumentValue: String(req.query.get('partNumber')),
    });
  }
  const src = copySource(core, req);
  checkCopySource(req.headers, src.object);
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
    const plaintext = core.plaintextOf(src.bucket, src.object).subarray(start, end + 1);
    part = {
      etag: `"${md5(plaintext)}"`,
      size: partSize,
      plaintext,
      checksum: u.checksumAlgorithm && checksumOf(u.checksumAlgorithm, plaintext),
    };
  } else {
    // A synthetic source has no bytes to read, but S3 still decrypts its data key to read them.
    if (src.object.enc.type === 'aws:kms') core.dataKeyOf(src.bucket, src.object.enc, src.object.key);
    part = {
      etag: `"${md5(seed)}"`,
      size: partSize,
      checksum: u.checksumAlgorithm && syntheticChecksum(u.checksumAlgorithm, seed),
    };
  }
  // The part is encrypted under the upload's data key, which S3 holds encrypted: one more Decrypt
  // per part. S3 documents only that uploading parts needs kms:Decrypt (User Guide, "Multipart
  // upload API and permissions"), not how often it calls KMS; the strict answer is every part.
  if (u.enc.type === 'aws:kms') core.gateUploadKey(bucket, u.enc);
  u.parts.set(partNumber, part);
  const lastModified = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
  const headers: Record<string, string> = { 'content-type': 'application/xml', ...core.encHeaders(u.enc) };
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

/**
 * A conditional CompleteMultipartUpload (If-Match / If-None-Match) after someone else wrote the
 * key during the upload: 409 ConditionalRequestConflict ("If a conflicting operation occurs
 * during the upload S3 returns a 409", CompleteMultipartUpload API reference); otherwise the
 * conditions are checked against the current object (412 on a mismatch).
 */
export function checkCompleteConditions(core: S3Core, bucket: Bucket, u: Upload, h: IncomingHttpHeaders): void {
  if (header(h, 'if-match') === undefined && header(h, 'if-none-match') === undefined) return;
  const versions = bucket.objects.get(u.key);
  if (versions?.[versions.length - 1] !== u.currentAtStart) {
    throw new ServiceError(
      'ConditionalRequestConflict',
      'A conflicting conditional operation is currently in progress against this resource. Please try again.',
      409,
    );
  }
  core.checkWriteConditions(bucket, u.key, h);
}

/** A part's checksum as listed in CompleteMultipartUpload: required when the upload was created with an algorithm. */
export function listedPartChecksum(u: Upload, partXml: string, number: number, part: Part): void {
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
export function completedChecksum(u: Upload, parts: Part[], plain: Buffer | undefined): StoredChecksum {
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

export function completeUpload(core: S3Core, bucket: Bucket, req: S3Request): S3Response {
  const u = upload(bucket, req);
  checkCompleteConditions(core, bucket, u, req.headers);
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
    listedPartChecksum(u, p.xml, p.number, part);
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
  const checksum = completedChecksum(u, parts, plain);
  const o = core.store(bucket, u.key, u.enc, u.dataKey, plain, size, {
    contentType: u.contentType,
    metadata: u.metadata,
    system: u.system,
    grants: u.grants,
    ...u.lock,
    tags: u.tags,
    storageClass: u.storageClass,
    etag,
    checksum,
  });
  bucket.uploads.delete(u.id);
  const headers: Record<string, string> = { 'content-type': 'application/xml', ...core.encHeaders(u.enc) };
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

export function abortUpload(bucket: Bucket, req: S3Request): S3Response {
  const u = upload(bucket, req);
  bucket.uploads.delete(u.id);
  return { status: 204, headers: {} };
}
