import type { HeadObjectCommandOutput } from '@aws-sdk/client-s3';
import {
  grantParameters,
  keptFromRead,
  readTagging,
  writeAttributes,
} from '../../lambdas/adapters/reencryption/object-attributes';
import type { Run } from '../../lambdas/adapters/reencryption/reencrypt-run';

/**
 * What a rewrite keeps, field by field, including what the stand-in does not model (Object Lock
 * retention and legal hold, Expires, website redirect): every attribute a HEAD answers comes back
 * as the write parameter of the same meaning.
 */

const retainUntil = new Date('2031-05-01T00:00:00Z');
const HEAD: HeadObjectCommandOutput = {
  $metadata: {},
  ContentType: 'application/json',
  ContentEncoding: 'gzip',
  ContentDisposition: 'inline',
  ContentLanguage: 'de',
  CacheControl: 'private',
  ExpiresString: 'Wed, 01 Jan 2031 00:00:00 GMT',
  WebsiteRedirectLocation: '/new',
  Metadata: { owner: 'team-a' },
  StorageClass: 'GLACIER_IR',
  ChecksumSHA1: 'qZk+NkcGgWq6PiVxeFDCbJzQ2J0=',
  ObjectLockMode: 'COMPLIANCE',
  ObjectLockRetainUntilDate: retainUntil,
  ObjectLockLegalHoldStatus: 'ON',
  TagCount: 2,
  VersionId: 'v1',
};

test('every attribute a HEAD answers is written back with the same meaning', () => {
  expect(writeAttributes(keptFromRead(HEAD))).toEqual({
    ContentType: 'application/json',
    ContentEncoding: 'gzip',
    ContentDisposition: 'inline',
    ContentLanguage: 'de',
    CacheControl: 'private',
    Expires: new Date('2031-01-01T00:00:00Z'),
    WebsiteRedirectLocation: '/new',
    Metadata: { owner: 'team-a' },
    StorageClass: 'GLACIER_IR',
    ChecksumAlgorithm: 'SHA1',
    ObjectLockMode: 'COMPLIANCE',
    ObjectLockRetainUntilDate: retainUntil,
    ObjectLockLegalHoldStatus: 'ON',
  });
});

test('absent attributes stay absent; an unparseable Expires is not invented', () => {
  expect(writeAttributes(keptFromRead({ ExpiresString: 'never' }))).toEqual({});
});

test('tags: the version read, URL-encoded; no request when the read says there are none', async () => {
  const sent: object[] = [];
  const run = {
    send: (cmd: { input: object }) => {
      sent.push(cmd.input);
      return Promise.resolve({
        TagSet: [
          { Key: 'class', Value: 'a b' },
          { Key: 'x&y', Value: '=' },
        ],
      });
    },
  } as unknown as Run;
  expect(await readTagging(run, 'b', 'k', HEAD)).toBe('class=a+b&x%26y=%3D');
  expect(sent).toEqual([{ Bucket: 'b', Key: 'k', VersionId: 'v1' }]);
  expect(await readTagging(run, 'b', 'k', { TagCount: 0 })).toBeUndefined();
  expect(sent).toHaveLength(1);
});

test("ACL: every grant but the owner's own FULL_CONTROL is written back; a grant headers cannot express stops the rewrite", () => {
  const owner = { ID: 'owner-id' };
  const user = (ID: string) => ({ Type: 'CanonicalUser' as const, ID });
  // Object Ownership "bucket owner enforced": the owner only, so nothing to write (a grant would be refused).
  expect(
    grantParameters({ Owner: owner, Grants: [{ Grantee: user('owner-id'), Permission: 'FULL_CONTROL' }] }),
  ).toEqual({});
  expect(
    grantParameters({
      Owner: owner,
      Grants: [
        { Grantee: user('owner-id'), Permission: 'FULL_CONTROL' },
        { Grantee: { Type: 'Group', URI: 'http://acs.amazonaws.com/groups/global/AllUsers' }, Permission: 'READ' },
        { Grantee: user('writer-id'), Permission: 'FULL_CONTROL' },
        { Grantee: { Type: 'AmazonCustomerByEmail', EmailAddress: 'a@example.com' }, Permission: 'READ' },
        { Grantee: user('auditor'), Permission: 'READ_ACP' },
      ],
    }),
  ).toEqual({
    GrantRead: 'uri="http://acs.amazonaws.com/groups/global/AllUsers", emailAddress="a@example.com"',
    GrantFullControl: 'id="writer-id"',
    GrantReadACP: 'id="auditor"',
  });
  expect(() => grantParameters({ Owner: owner, Grants: [{ Grantee: user('x'), Permission: 'WRITE' }] })).toThrow(
    /UnsupportedGrant/,
  );
});
