import type { IncomingHttpHeaders } from 'node:http';
import { createHash } from 'node:crypto';
import { ServiceError, xmlUnescape } from './errors';
import { CHECKSUM_ALGORITHMS, checksumOf } from './s3-checksums';
import type { S3Core } from './s3-core';
import { header } from './s3-request';
import { XMLNS, xmlDoc, type Bucket, type ObjectLockState, type S3Request, type S3Response } from './s3-types';

/**
 * The Object Lock subresources of a version (S3 model: GetObjectRetention, PutObjectRetention,
 * GetObjectLegalHold, PutObjectLegalHold; `?retention` and `?legal-hold`). Answers and errors as
 * S3 gives them (recorded against AWS in localstack's S3 snapshot tests): a bucket without Object
 * Lock is `400 InvalidRequest` "Bucket is missing Object Lock Configuration"; a version that never
 * had the setting is `404 NoSuchObjectLockConfiguration`; a change that would weaken an active
 * retention is `403 AccessDenied` "Access Denied because object protected by object lock."
 * (COMPLIANCE: always; GOVERNANCE: unless `x-amz-bypass-governance-retention: true`, whose
 * s3:BypassGovernanceRetention right local/iam checks). The IAM actions are checked before
 * these run (local/iam/s3-object-lock-checks.ts).
 */

const MALFORMED_XML = 'The XML you provided was not well-formed or did not validate against our published schema';
const PROTECTED = 'Access Denied because object protected by object lock.';

function requireObjectLock(bucket: Bucket): void {
  if (!bucket.objectLock) throw new ServiceError('InvalidRequest', 'Bucket is missing Object Lock Configuration', 400);
}

function noConfiguration(): ServiceError {
  return new ServiceError(
    'NoSuchObjectLockConfiguration',
    'The specified object does not have a ObjectLock configuration',
    404,
  );
}

/** GetObjectRetention: the version's mode and retain-until date. */
export function getRetention(core: S3Core, bucket: Bucket, req: S3Request): S3Response {
  requireObjectLock(bucket);
  const o = core.find(bucket, req.key, req.query.get('versionId'));
  if (!o.retention) throw noConfiguration();
  return xmlAnswer(
    `<Retention xmlns="${XMLNS}"><Mode>${o.retention.mode}</Mode><RetainUntilDate>${o.retention.retainUntil.toISOString()}</RetainUntilDate></Retention>`,
  );
}

/**
 * GetObjectLegalHold: ON or OFF; a version that never had a legal hold applied has no
 * configuration (HeadObject API reference: "not returned if ... never had a legal hold applied").
 */
export function getLegalHold(core: S3Core, bucket: Bucket, req: S3Request): S3Response {
  requireObjectLock(bucket);
  const o = core.find(bucket, req.key, req.query.get('versionId'));
  if (o.legalHold === undefined) throw noConfiguration();
  return xmlAnswer(`<LegalHold xmlns="${XMLNS}"><Status>${o.legalHold ? 'ON' : 'OFF'}</Status></LegalHold>`);
}

/**
 * PutObjectRetention. An empty body removes the retention. A change that shortens the date,
 * removes the retention or turns COMPLIANCE into GOVERNANCE weakens it: refused while the
 * retention is active (COMPLIANCE always, GOVERNANCE without the bypass header). Extending the
 * date, or GOVERNANCE to COMPLIANCE, needs no bypass (S3 User Guide, "Retention periods":
 * extending is a new lock request with a later date). A retention past its date protects nothing.
 */
export function putRetention(core: S3Core, bucket: Bucket, req: S3Request, now: Date): S3Response {
  requireObjectLock(bucket);
  checkRequiredChecksum(req.headers, req.body);
  const o = core.find(bucket, req.key, req.query.get('versionId'));
  const next = retentionOfBody(req.body.toString('utf8'));
  if (next && next.retainUntil <= now)
    throw new ServiceError('InvalidArgument', 'The retain until date must be in the future!', 400, {
      ArgumentName: 'RetainUntilDate',
      ArgumentValue: next.retainUntil.toISOString(),
    });
  const current = o.retention && o.retention.retainUntil > now ? o.retention : undefined;
  if (current && weakens(current, next)) {
    const bypass = header(req.headers, 'x-amz-bypass-governance-retention')?.toLowerCase() === 'true';
    if (current.mode === 'COMPLIANCE' || !bypass) throw new ServiceError('AccessDenied', PROTECTED, 403);
  }
  o.retention = next;
  return { status: 200, headers: {} };
}

/** PutObjectLegalHold: Status ON or OFF (either is a legal hold configuration applied to the version). */
export function putLegalHold(core: S3Core, bucket: Bucket, req: S3Request): S3Response {
  requireObjectLock(bucket);
  checkRequiredChecksum(req.headers, req.body);
  const o = core.find(bucket, req.key, req.query.get('versionId'));
  const status = /<Status>([\s\S]*?)<\/Status>/.exec(req.body.toString('utf8'))?.[1];
  if (status !== 'ON' && status !== 'OFF') throw new ServiceError('MalformedXML', MALFORMED_XML, 400);
  o.legalHold = status === 'ON';
  return { status: 200, headers: {} };
}

type Retention = NonNullable<ObjectLockState['retention']>;

/** Whether `next` (undefined: removed) is weaker than `current`. */
function weakens(current: Retention, next: Retention | undefined): boolean {
  if (!next) return true;
  if (next.retainUntil < current.retainUntil) return true;
  return current.mode === 'COMPLIANCE' && next.mode === 'GOVERNANCE';
}

/**
 * The Retention of a PutObjectRetention body; undefined for an empty body (the payload member is
 * optional in the model). Mode and RetainUntilDate are both required (MalformedXML otherwise).
 */
export function retentionOfBody(xml: string): Retention | undefined {
  if (!xml.trim() || !/<Retention[\s>]/.test(xml)) return undefined;
  const mode = xmlUnescape(/<Mode>([\s\S]*?)<\/Mode>/.exec(xml)?.[1] ?? '');
  const until = new Date(xmlUnescape(/<RetainUntilDate>([\s\S]*?)<\/RetainUntilDate>/.exec(xml)?.[1] ?? ''));
  if ((mode !== 'GOVERNANCE' && mode !== 'COMPLIANCE') || Number.isNaN(until.getTime()))
    throw new ServiceError('MalformedXML', MALFORMED_XML, 400);
  return { mode, retainUntil: until };
}

/**
 * Both Put operations are `requestChecksumRequired` in the S3 model: a request without
 * Content-MD5 or an x-amz-checksum-* header is refused, and one whose digest does not match its
 * body is `400 BadDigest`. The exact wording of the missing-header refusal is not documented;
 * the stand-in names both headers.
 */
function checkRequiredChecksum(h: IncomingHttpHeaders, body: Buffer): void {
  const md5 = header(h, 'content-md5');
  if (md5 !== undefined) {
    if (createHash('md5').update(body).digest('base64') !== md5)
      throw new ServiceError('BadDigest', 'The Content-MD5 you specified did not match what we received.', 400);
    return;
  }
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const sent = header(h, `x-amz-checksum-${algorithm.toLowerCase()}`);
    if (sent === undefined) continue;
    if (checksumOf(algorithm, body) !== sent)
      throw new ServiceError('BadDigest', `The ${algorithm} you specified did not match the calculated checksum.`, 400);
    return;
  }
  throw new ServiceError(
    'InvalidRequest',
    'Missing required header for this request: Content-MD5 or x-amz-checksum-*',
    400,
  );
}

function xmlAnswer(body: string): S3Response {
  return { status: 200, headers: { 'content-type': 'application/xml' }, body: xmlDoc(body) };
}
