import { createHash } from 'node:crypto';
import { ServiceError, xmlEscape, xmlUnescape } from './errors';
import type { S3Core } from './s3-core';
import { XMLNS, xmlDoc, type Bucket, type S3Request, type S3Response } from './s3-types';

/** Object subresources of the S3 stand-in: tagging and ACL. */

/** A stand-in canonical user id for an account (64 hex characters, as S3's). */
export function canonicalIdOf(account: string): string {
  return createHash('sha256').update(`canonical:${account}`).digest('hex');
}

export function getTagging(core: S3Core, bucket: Bucket, req: S3Request): S3Response {
  const o = core.find(bucket, req.key, req.query.get('versionId'));
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
export function getAcl(core: S3Core, bucket: Bucket, req: S3Request): S3Response {
  const o = core.find(bucket, req.key, req.query.get('versionId'));
  const owner = canonicalIdOf(core.kms.account);
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

export function putTagging(core: S3Core, bucket: Bucket, req: S3Request): S3Response {
  const o = core.find(bucket, req.key, req.query.get('versionId'));
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
