import { NOT_IMPLEMENTED, ServiceError, xmlEscape } from './errors';
import type { S3Core } from './s3-core';
import { XMLNS, xmlDoc, type Bucket, type S3Request, type S3Response, type StoredObject } from './s3-types';

/** Listing operations of the S3 stand-in: ListObjectsV2, ListObjectVersions, GetBucketVersioning. */

export function list(core: S3Core, bucket: Bucket, req: S3Request): S3Response {
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
    else contents.push(core.find(bucket, k, null));
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
    truncated ? `<NextContinuationToken>${Buffer.from(`k:${last}`).toString('base64url')}</NextContinuationToken>` : '',
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
export function getVersioning(bucket: Bucket): S3Response {
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
export function listVersions(bucket: Bucket, req: S3Request): S3Response {
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
