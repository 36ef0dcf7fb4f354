import { createHash } from 'node:crypto';
import type { S3Core } from './s3-core';
import { envelopeInfo, envelopeReport } from './s3-envelopes';
import type { Bucket, S3ObjectInfo, S3ReportObject } from './s3-types';

/** What tests and `simulate --s3-report` see of the S3 stand-in's objects (no KMS request anyone made). */

function attempt<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

/** One object of `simulate --s3-report`: its current version as a reader and an auditor see it. */
export async function reportObject(core: S3Core, bucket: Bucket, key: string): Promise<S3ReportObject> {
  const versions = bucket.objects.get(key)!;
  const o = versions[versions.length - 1];
  const kms = o.enc.type === 'aws:kms' ? o.enc : undefined;
  // A body the stand-in cannot open (its key disabled or deleted) reports no plaintext hash.
  const plain = o.body ? attempt(() => core.plaintextOf(bucket, o)) : undefined;
  const envelope = plain ? await envelopeReport(core, bucket.region, plain).catch(() => null) : null;
  const readable = envelope ? envelope.plaintext : plain;
  return {
    bucket: bucket.name,
    key,
    versionCount: versions.length,
    sse: kms ? (kms.dsse ? 'aws:kms:dsse' : 'aws:kms') : 'AES256',
    kmsKeyArn: kms?.keyArn ?? null,
    keyMaterialId: kms?.keyMaterialId ?? null,
    bucketKeyEnabled: kms?.bucketKey ?? false,
    storageClass: o.storageClass,
    tags: { ...o.tags },
    metadata: { ...o.metadata },
    contentType: o.contentType ?? null,
    cacheControl: o.system['cache-control'] ?? null,
    checksumAlgorithm: o.checksum?.algorithm ?? null,
    plaintextSha256: readable ? createHash('sha256').update(readable).digest('hex') : null,
    envelope: envelope ? { algorithmSuiteId: envelope.algorithmSuiteId, wrappedBy: envelope.wrappedBy } : null,
  };
}

/** What a test can inspect about an object's latest version. */
export function inspect(core: S3Core, bucketName: string, key: string): S3ObjectInfo | undefined {
  const bucket = core.buckets.get(bucketName);
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
    retention: o.retention && { mode: o.retention.mode, retainUntil: o.retention.retainUntil.toISOString() },
    legalHold: o.legalHold ?? false,
    checksumAlgorithm: o.checksum?.algorithm,
    checksumType: o.checksum?.type,
    storageClass: o.storageClass,
    tags: { ...o.tags },
    lastModified: o.lastModified,
    previousDataKeyFingerprints: versions
      .slice(0, -1)
      .map((v) => (v.enc.type === 'aws:kms' ? v.enc.dataKeyFingerprint : undefined)),
    envelope:
      o.body && o.enc.type !== 'SSE-C' ? envelopeInfo(core, bucket!.region, core.plaintextOf(bucket!, o)) : undefined,
  };
}
