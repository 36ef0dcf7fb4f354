import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { NOT_IMPLEMENTED, ServiceError } from './errors';
import type { KmsKeys } from './kms-keys';
import type { StoredChecksum } from './s3-checksums';
import { lockHeaders } from './s3-object-lock';
import { etagMatches, header } from './s3-request';
import {
  BUCKET_KEY_REUSE_MS,
  KMS_SLOW_DOWN_MESSAGE,
  type Bucket,
  type Encryption,
  type KmsGate,
  type StoredObject,
} from './s3-types';

export const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');
export const fingerprint = (k: Buffer) => createHash('sha256').update(k).digest('hex').slice(0, 16);

export function aesSeal(key: Buffer, plain: Buffer): Buffer {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), ct]);
}
export function aesOpen(key: Buffer, sealed: Buffer): Buffer {
  const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
  d.setAuthTag(sealed.subarray(12, 28));
  return Buffer.concat([d.update(sealed.subarray(28)), d.final()]);
}

/**
 * A read of an SSE-C object without its customer key (GetObject, a copy source): "The object was
 * stored using a form of Server Side Encryption. The correct parameters must be provided to
 * retrieve the object." (400 InvalidRequest; HeadObject answers the same 400 without a body).
 */
export function sseCRefused(): ServiceError {
  return new ServiceError(
    'InvalidRequest',
    'The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.',
    400,
  );
}

/** A KMS failure inside an S3 request, as S3 reports it. */
export function kmsToS3(e: unknown): unknown {
  if (!(e instanceof ServiceError)) return e;
  if (e.code === 'AccessDeniedException') return new ServiceError('AccessDenied', `KMS: ${e.message}`, 403);
  if (e.code === 'ThrottlingException') return new ServiceError('SlowDown', KMS_SLOW_DOWN_MESSAGE, 503);
  return new ServiceError(`KMS.${e.code}`, e.message, e.status);
}

/**
 * The S3 stand-in's state and the steps every operation shares: buckets and their versions, the
 * SSE-KMS data keys S3 asks KMS for (Bucket Keys included), storing and finding a version.
 */
export class S3Core {
  readonly buckets = new Map<string, Bucket>();
  /** Set by the server once the world is seeded: KMS request quotas for the calls S3 makes. */
  kmsGate: KmsGate | undefined;

  constructor(readonly kms: KmsKeys) {}

  /**
   * Decide the encryption of a new object and make its data key. `sse` is what the request asked
   * for; without it the bucket default applies (never the source object's encryption).
   */
  encryptionFor(
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
  bucketKeyEncryption(
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

  dataKeyOf(bucket: Bucket, enc: Encryption & { type: 'aws:kms' }, objectKey: string): Buffer {
    try {
      this.kmsGate?.('Decrypt', enc.keyArn, bucket.region, enc.context);
      const dk = this.kms.decrypt(enc.encryptedKey, bucket.region, enc.context);
      return enc.bucketKey ? Buffer.from(hkdfSync('sha256', dk.plaintext, enc.salt!, objectKey, 32)) : dk.plaintext;
    } catch (e) {
      throw kmsToS3(e);
    }
  }

  plaintextOf(bucket: Bucket, o: StoredObject): Buffer {
    if (o.enc.type === 'SSE-C') throw sseCRefused();
    if (!o.body)
      throw new ServiceError(
        NOT_IMPLEMENTED,
        `s3://${bucket.name}/${o.key} is a synthetic object of ${o.size} bytes with no body; the stand-in cannot read it`,
      );
    return o.enc.type === 'aws:kms' ? aesOpen(this.dataKeyOf(bucket, o.enc, o.key), o.body) : o.body;
  }

  store(
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
      retention?: StoredObject['retention'];
      legalHold?: boolean;
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

  /**
   * Conditional writes: `If-Match` (the current object's ETag) and `If-None-Match: *` (no object
   * yet) on PutObject; a mismatch is 412 PreconditionFailed.
   */
  checkWriteConditions(bucket: Bucket, key: string, h: IncomingHttpHeaders): void {
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

  find(bucket: Bucket, key: string, versionId: string | null): StoredObject {
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
  encHeaders(enc: Encryption, withContext = false): Record<string, string> {
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

  objectHeaders(bucket: Bucket, o: StoredObject): Record<string, string> {
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
    Object.assign(h, o.system, lockHeaders(o));
    return h;
  }

  /** S3's KMS request for an upload's data key (admitted or throttled like any other). */
  gateUploadKey(bucket: Bucket, enc: Encryption & { type: 'aws:kms' }): void {
    try {
      this.kmsGate?.('Decrypt', enc.keyArn, bucket.region, enc.context);
    } catch (e) {
      throw kmsToS3(e);
    }
  }
}
