import type { World } from '../world';
import { checksumOf, syntheticChecksum, type ChecksumAlgorithm, type StoredChecksum } from './s3-checksums';
import { md5, type S3Core } from './s3-core';
import { envelopeMessage } from './s3-envelopes';
import { MAX_COPY_BYTES, type Bucket, type StoredObject } from './s3-types';

/** Seeding the S3 stand-in from the world: objects, their older versions, and Encryption SDK envelopes. */

/** A world envelope object, made asynchronously once KMS is ready (seedEnvelopes). */
export interface PendingEnvelope {
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
  retention?: StoredObject['retention'];
  legalHold?: boolean;
  encryptionContext?: Record<string, string>;
  contentType?: string;
  checksumAlgorithm?: ChecksumAlgorithm;
}

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

/** Store the world's buckets and objects; envelope objects are returned to be made by seedEnvelopes. */
export function seedWorld(core: S3Core, world: World): PendingEnvelope[] {
  const pendingEnvelopes: PendingEnvelope[] = [];
  world.buckets.forEach((b, i) => {
    const bucket: Bucket = {
      name: b.name,
      region: b.region,
      defaultKmsKeyId: b.defaultKmsKeyId,
      bucketKeyEnabled: b.bucketKeyEnabled,
      versioning: b.versioning,
      objectLock: b.objectLock?.enabled ? { defaultRetention: b.objectLock.defaultRetention } : undefined,
      objectOwnership: b.objectOwnership ?? 'BucketOwnerEnforced',
      objects: new Map(),
      uploads: new Map(),
      bucketKeys: new Map(),
    };
    core.buckets.set(b.name, bucket);
    b.objects.forEach((o, j) => {
      const where = `buckets[${i}].objects[${j}]`;
      try {
        const sse = o.kmsKeyId
          ? { type: o.dsse ? ('aws:kms:dsse' as const) : ('aws:kms' as const), keyId: o.kmsKeyId }
          : undefined;
        const system: Record<string, string> = o.cacheControl !== undefined ? { 'cache-control': o.cacheControl } : {};
        const grants =
          o.grants &&
          Object.entries(o.grants).flatMap(([permission, grantees]) => grantees.map((g) => `${permission} ${g}`));
        const attributes = {
          metadata: { ...o.metadata },
          system,
          grants,
          retention: o.retention && { mode: o.retention.mode, retainUntil: new Date(o.retention.retainUntil) },
          legalHold: o.legalHold || undefined,
        };
        const envelopeKeyIds = o.envelopeKeyIds ?? (o.envelopeKeyId ? [o.envelopeKeyId] : undefined);
        if (envelopeKeyIds) {
          // An Encryption SDK message is made asynchronously: startStandIn awaits seedEnvelopes().
          pendingEnvelopes.push({
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
            encryptionContext: o.encryptionContext,
            ...attributes,
          });
          return;
        }
        seedPreviousVersions(core, bucket, o.key, o.previousVersions ?? [], sse, o.storageClass ?? 'STANDARD');
        const enc = o.sseC
          ? { enc: { type: 'SSE-C' as const } }
          : core.encryptionFor(bucket, o.key, sse, undefined, o.encryptionContext);
        const plain = o.sizeBytes === undefined ? Buffer.from(o.body ?? 'hello', 'utf8') : undefined;
        const seededParts = Math.max(1, Math.ceil((o.sizeBytes ?? 0) / MAX_COPY_BYTES));
        core.store(bucket, o.key, enc.enc, enc.dataKey, plain, o.sizeBytes ?? plain!.length, {
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
  return pendingEnvelopes;
}

/** The world's `previousVersions` of one object, oldest first, stored before the object itself. */
export function seedPreviousVersions(
  core: S3Core,
  bucket: Bucket,
  key: string,
  previous: { kmsKeyId?: string; body?: string }[],
  sse: { type: 'aws:kms' | 'aws:kms:dsse'; keyId: string } | undefined,
  storageClass: string,
): void {
  for (const v of previous) {
    const enc = core.encryptionFor(
      bucket,
      key,
      v.kmsKeyId ? { type: 'aws:kms', keyId: v.kmsKeyId } : sse,
      undefined,
      undefined,
    );
    const plain = Buffer.from(v.body ?? 'hello', 'utf8');
    core.store(bucket, key, enc.enc, enc.dataKey, plain, plain.length, {
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
export async function seedEnvelopes(core: S3Core, pending: PendingEnvelope[]): Promise<void> {
  for (const p of pending.splice(0)) {
    try {
      const message = await envelopeMessage(core, p.keyIds, p.suite, p.bucket.region, Buffer.from(p.body, 'utf8'));
      const enc = core.encryptionFor(p.bucket, p.key, p.sse, undefined, p.encryptionContext);
      core.store(p.bucket, p.key, enc.enc, enc.dataKey, message, message.length, {
        contentType: p.contentType ?? 'application/octet-stream',
        metadata: p.metadata,
        system: p.system,
        grants: p.grants,
        retention: p.retention,
        legalHold: p.legalHold,
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
