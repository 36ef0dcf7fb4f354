import type { World } from '../world';
import type { KmsKeys } from './kms-keys';
import { ServiceError } from './errors';
import { S3Core } from './s3-core';
import { reportObject, inspect } from './s3-inspect';
import { getVersioning, list, listVersions } from './s3-listing';
import { abortUpload, completeUpload, createUpload, uploadPartCopy } from './s3-multipart';
import { copy, get, put } from './s3-objects';
import { getLegalHold, getRetention, putLegalHold, putRetention } from './s3-object-lock-ops';
import { seedEnvelopes, seedWorld, type PendingEnvelope } from './s3-seed';
import { getAcl, getTagging, putTagging } from './s3-subresources';
import type { KmsGate, S3ObjectInfo, S3ReportObject, S3Request, S3Response } from './s3-types';

/**
 * S3 stand-in: REST-XML, path-style (`/bucket/key`). SSE-KMS really calls the stand-in's KMS
 * (in process): each object stores the KMS-encrypted data key and its body is AES-256-GCM
 * encrypted under the data key. Request shapes were checked against the installed client-s3
 * (it sends `?x-id=<Operation>` on most object operations, `?uploads` for CreateMultipartUpload,
 * `?uploadId=` for CompleteMultipartUpload, and aws-chunked bodies for stream uploads).
 *
 * This class routes; each idea lives in a sibling module: s3-request (routing, parsing), s3-core
 * (state, SSE-KMS and Bucket Keys, versions), s3-objects, s3-multipart, s3-listing,
 * s3-subresources (tagging, ACL), s3-seed (the world), s3-envelopes and s3-inspect (tests, reports).
 */

export { S3_OPERATIONS, s3Operation } from './s3-request';
export { type KmsGate, type S3ObjectInfo, type S3ReportObject, type S3Request, type S3Response } from './s3-types';

/** The S3 stand-in: one account's buckets, answering S3 requests as S3 does. */
export class S3 {
  private readonly core: S3Core;
  private readonly pendingEnvelopes: PendingEnvelope[];

  constructor(world: World, kms: KmsKeys) {
    this.core = new S3Core(kms);
    this.pendingEnvelopes = seedWorld(this.core, world);
  }

  /** Set by the server once the world is seeded: KMS request quotas for the calls S3 makes. */
  get kmsGate(): KmsGate | undefined {
    return this.core.kmsGate;
  }
  set kmsGate(gate: KmsGate | undefined) {
    this.core.kmsGate = gate;
  }

  /**
   * Store the world's `envelopeKeyId` objects as real Encryption SDK messages. The SDK's KMS
   * keyring talks to the in-process KMS (not over HTTP, so these calls are not in `calls`).
   */
  async seedEnvelopes(): Promise<void> {
    await seedEnvelopes(this.core, this.pendingEnvelopes);
  }

  /** An existing object's tags (IAM's s3:ExistingObjectTag/<k>); undefined when there is no such object. */
  objectTags(bucketName: string, key: string, versionId: string | null): Record<string, string> | undefined {
    const bucket = this.core.buckets.get(bucketName);
    if (!bucket) return undefined;
    try {
      return { ...this.core.find(bucket, key, versionId).tags };
    } catch {
      return undefined;
    }
  }

  /** What a test can inspect about an object's latest version. */
  objectInfo(bucketName: string, key: string): S3ObjectInfo | undefined {
    // A test looking is not a KMS request anyone made: past the quotas and the counters.
    return this.ungated(() => inspect(this.core, bucketName, key));
  }

  /**
   * `simulate --s3-report`: the current version of every object in `bucketNames` (all buckets
   * when absent), as a reader and an auditor see it. An inspection: its KMS use is not a request
   * anyone made, so it passes no quota and no counter.
   */
  async report(bucketNames?: readonly string[]): Promise<S3ReportObject[]> {
    return this.ungated(async () => {
      const out: S3ReportObject[] = [];
      for (const bucket of this.core.buckets.values()) {
        if (bucketNames && !bucketNames.includes(bucket.name)) continue;
        for (const key of [...bucket.objects.keys()].sort()) out.push(await reportObject(this.core, bucket, key));
      }
      return out;
    });
  }

  /** Runs `fn` with no KMS gate (restored when `fn`, or the promise it returns, settles). */
  private ungated<T>(fn: () => T): T {
    const gate = this.core.kmsGate;
    this.core.kmsGate = undefined;
    let result: T;
    try {
      result = fn();
    } catch (e) {
      this.core.kmsGate = gate;
      throw e;
    }
    if (result instanceof Promise)
      return result.finally(() => {
        this.core.kmsGate = gate;
      }) as T;
    this.core.kmsGate = gate;
    return result;
  }

  /** Serve one S3 request already named by s3Operation. */
  handle(op: string, req: S3Request): S3Response {
    const core = this.core;
    const bucket = core.buckets.get(req.bucket);
    if (!bucket)
      throw new ServiceError('NoSuchBucket', 'The specified bucket does not exist', 404, { BucketName: req.bucket });
    if (bucket.region !== req.region) {
      throw new ServiceError(
        'PermanentRedirect',
        'The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.',
        301,
        { Bucket: bucket.name, Region: bucket.region },
      );
    }
    switch (op) {
      case 'ListObjectsV2':
        return list(core, bucket, req);
      case 'HeadObject':
        return get(core, bucket, req, true);
      case 'GetObject':
        return get(core, bucket, req, false);
      case 'PutObject':
        return put(core, bucket, req);
      case 'CopyObject':
        return copy(core, bucket, req);
      case 'CreateMultipartUpload':
        return createUpload(core, bucket, req);
      case 'UploadPartCopy':
        return uploadPartCopy(core, bucket, req);
      case 'CompleteMultipartUpload':
        return completeUpload(core, bucket, req);
      case 'AbortMultipartUpload':
        return abortUpload(bucket, req);
      case 'GetObjectTagging':
        return getTagging(core, bucket, req);
      case 'GetObjectAcl':
        return getAcl(core, bucket, req);
      case 'PutObjectTagging':
        return putTagging(core, bucket, req);
      case 'GetObjectRetention':
        return getRetention(core, bucket, req);
      case 'PutObjectRetention':
        return putRetention(core, bucket, req, new Date());
      case 'GetObjectLegalHold':
        return getLegalHold(core, bucket, req);
      case 'PutObjectLegalHold':
        return putLegalHold(core, bucket, req);
      case 'ListObjectVersions':
        return listVersions(bucket, req);
      case 'GetBucketVersioning':
        return getVersioning(bucket);
      default:
        throw new Error(`unrouted S3 operation ${op}`);
    }
  }
}
