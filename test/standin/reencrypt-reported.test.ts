/**
 * Data still under the exposed key after a batch is reported with action required, by reason:
 * archived objects, older versions (counted with ListObjectVersions, never deleted), and objects
 * under a multi-Region replica of the rotated key. Real adapter, real SDK, the stand-in.
 */
import { ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { startStandIn, type StandIn } from '../../local/standin';
import { reencryptObjects } from '../../lambdas/adapters/reencryption/s3-reencrypt';
import { emptyTargetReport, type ReencryptionState, type TargetReport } from '../../lambdas/domain/reencryption';
import { summarizeReencryption } from '../../lambdas/domain/reencryption/report';
import { parseWorld, WorldError } from '../../local/world';
import { clients, KEY_ID, world } from './helpers';

const ARN = `arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}`;
const MRK = 'mrk-1234abcd12ab34cd56ef1234567890ab';
const PRIMARY = `arn:aws:kms:us-east-1:111122223333:key/${MRK}`;
let s: StandIn;

beforeAll(async () => {
  s = await startStandIn(
    world({
      keys: [
        { id: KEY_ID },
        { id: 'other' },
        { id: MRK, multiRegion: true },
        { id: MRK, multiRegion: true, multiRegionKeyType: 'REPLICA', region: 'eu-west-1', primaryArn: PRIMARY },
      ],
      buckets: [
        {
          name: 'cold',
          objects: [
            { key: 'glacier.json', body: 'g', kmsKeyId: KEY_ID, storageClass: 'GLACIER' },
            { key: 'deep.json', body: 'd', kmsKeyId: KEY_ID, storageClass: 'DEEP_ARCHIVE' },
            { key: 'warm.json', body: 'w', kmsKeyId: KEY_ID },
          ],
        },
        {
          name: 'history',
          versioning: true,
          objects: [
            {
              key: 'h.json',
              body: 'now',
              kmsKeyId: KEY_ID,
              previousVersions: [
                { kmsKeyId: KEY_ID, body: 'v1' },
                { kmsKeyId: 'other', body: 'v2' },
              ],
            },
            { key: 'h.json.bak', body: 'bak', kmsKeyId: 'other' },
            {
              key: 'moved.json',
              body: 'now',
              kmsKeyId: 'other',
              previousVersions: [{ kmsKeyId: KEY_ID, body: 'was under the key' }],
            },
            { key: 'single.json', body: 'one', kmsKeyId: KEY_ID },
          ],
        },
        {
          name: 'far',
          region: 'eu-west-1',
          objects: [{ key: 'r.json', body: 'r', kmsKeyId: `arn:aws:kms:eu-west-1:111122223333:key/${MRK}` }],
        },
      ],
    }),
    { speed: 1000 },
  );
});
afterAll(() => s.close());

function state(reports: TargetReport[]): ReencryptionState {
  return {
    mode: 'RUN',
    units: [],
    refused: [],
    refusedMore: 0,
    index: 0,
    remaining: 0,
    current: null,
    reports,
    mapRun: null,
    mapRunError: null,
  };
}

test('archived objects under the key: left untouched, action required (ARCHIVED_NEEDS_RESTORE)', async () => {
  const report = await reencryptObjects({ s3: clients(s).s3 }, { type: 's3-sse-kms', bucket: 'cold' }, ARN, [
    'glacier.json',
    'deep.json',
    'warm.json',
  ]);
  expect(report).toMatchObject({
    objectsReencrypted: 1,
    objectsSkipped: 2,
    skippedByReason: { ARCHIVED_NEEDS_RESTORE: 2 },
  });
  // A bucket that never had versioning holds no older versions: asked once per batch, never listed.
  const calls = (op: string) =>
    s.calls.filter(
      (c) => c.service === 's3' && c.operation === op && (c.input as { Bucket?: string }).Bucket === 'cold',
    ).length;
  expect([calls('GetBucketVersioning'), calls('ListObjectVersions')]).toEqual([1, 0]);
  const summary = summarizeReencryption(state([report]))!;
  expect(summary.actionRequired).toBe(true);
  expect(summary.actionRequiredByReason).toEqual({ ARCHIVED_NEEDS_RESTORE: 2 });
});

test('older versions under the key are counted with ListObjectVersions and never deleted (OLDER_VERSIONS)', async () => {
  const s3 = clients(s).s3;
  const keys = ['h.json', 'h.json.bak', 'moved.json', 'single.json'];
  const report = await reencryptObjects({ s3 }, { type: 's3-sse-kms', bucket: 'history' }, ARN, keys);
  expect(report).toMatchObject({ objectsReencrypted: 2, objectsSkipped: 2, objectsFailed: 0 });
  // h.json: v1 (under the key) + the version this run made noncurrent; v2 is under another key.
  // moved.json: its current version is under another key, its older one under the exposed key.
  // single.json: the version this run made noncurrent. h.json.bak: nothing under the key.
  expect(report.olderVersionsUnderKey).toBe(2 + 1 + 1);
  expect(summarizeReencryption(state([report]))!.actionRequiredByReason).toEqual({ OLDER_VERSIONS: 4 });
  // Nothing deleted: every version is still there.
  expect(s.s3Object('history', 'h.json')!.versions).toBe(4);
  expect(s.s3Object('history', 'moved.json')!.versions).toBe(2);
  const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: 'history', Prefix: 'h.json' }));
  expect(listed.Versions!.map((v) => [v.Key, v.IsLatest])).toEqual([
    ['h.json', true],
    ['h.json', false],
    ['h.json', false],
    ['h.json', false],
    ['h.json.bak', true],
  ]);
});

test('ListObjectVersions pages by key and version markers', async () => {
  const s3 = clients(s).s3;
  const seen: string[] = [];
  let page = await s3.send(new ListObjectVersionsCommand({ Bucket: 'history', MaxKeys: 2 }));
  for (;;) {
    seen.push(...page.Versions!.map((v) => `${v.Key}@${v.VersionId}`));
    if (!page.IsTruncated) break;
    page = await s3.send(
      new ListObjectVersionsCommand({
        Bucket: 'history',
        MaxKeys: 2,
        KeyMarker: page.NextKeyMarker,
        VersionIdMarker: page.NextVersionIdMarker,
      }),
    );
  }
  expect(seen).toHaveLength(4 + 1 + 2 + 2);
  expect(new Set(seen).size).toBe(seen.length);
});

test('an object under a multi-Region replica of the rotated key is reported (MULTI_REGION_REPLICA), not "another key"', async () => {
  // The batch's S3 client addresses the bucket's Region (S3 answers 301 PermanentRedirect otherwise).
  const report = await reencryptObjects(
    { s3: clients(s, 'eu-west-1').s3 },
    { type: 's3-sse-kms', bucket: 'far' },
    PRIMARY,
    ['r.json'],
  );
  expect(report).toMatchObject({ objectsSkipped: 1, skippedByReason: { MULTI_REGION_REPLICA: 1 } });
  expect(summarizeReencryption(state([report]))!.actionRequiredByReason).toEqual({ MULTI_REGION_REPLICA: 1 });
});

test('an empty target needs no action', () => {
  expect(
    summarizeReencryption(state([emptyTargetReport('s3-sse-kms', 'cold', '', ARN, 'request')]))!.actionRequired,
  ).toBe(false);
});

test('world: previousVersions need a versioned bucket', () => {
  const bad = () =>
    parseWorld(
      {
        keys: [{ id: KEY_ID }],
        buckets: [{ name: 'flat', objects: [{ key: 'a', kmsKeyId: KEY_ID, previousVersions: [{ body: 'old' }] }] }],
      },
      'w.json',
    );
  expect(bad).toThrow(WorldError);
  expect(bad).toThrow(/buckets\[0\]\.objects\[0\]\.previousVersions: only a versioned bucket/);
});
