/**
 * `kms-rotate simulate --s3-report FILE` and `--json`'s re-encryption: the real workflow on the
 * stand-in rotates a key and re-encrypts a bucket; the report shows every object's current
 * version (which key material protects it, its attributes, the plaintext's hash), and the JSON
 * counts what still needs a person by reason (archived objects, older versions).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../cli/main';
import { captureIo } from './helpers';

jest.setTimeout(120_000);

const KEY = '1234abcd-12ab-34cd-56ef-1234567890ab';
const ARN = `arn:aws:kms:us-east-1:111122223333:key/${KEY}`;
const dir = mkdtempSync(join(tmpdir(), 'kms-rotate-s3-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(content));
  return path;
};
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

interface ReportObject {
  bucket: string;
  key: string;
  versionCount: number;
  sse: string;
  kmsKeyArn: string | null;
  keyMaterialId: string | null;
  plaintextSha256: string | null;
  envelope: { algorithmSuiteId: number; wrappedBy: { keyArn: string; keyMaterialId: string }[] } | null;
  [field: string]: unknown;
}

test("--s3-report writes every object's current version; --json counts what needs action by reason", async () => {
  const world = file('world.json', {
    keys: [{ id: KEY }, { id: 'other' }],
    settings: { reEncryptBuckets: ['orders-data', 'sealed-data'] },
    buckets: [
      {
        name: 'orders-data',
        versioning: true,
        objects: [
          {
            key: 'a.json',
            body: '{"a":1}',
            kmsKeyId: KEY,
            tags: { team: 'orders' },
            previousVersions: [{ kmsKeyId: KEY, body: 'old a' }],
          },
          { key: 'cold.json', body: 'cold', kmsKeyId: KEY, storageClass: 'GLACIER' },
          { key: 'other.json', body: 'o', kmsKeyId: 'other' },
          { key: 'plain.txt', body: 'p' },
        ],
      },
      { name: 'sealed-data', objects: [{ key: 'e.bin', body: 'secret', envelopeKeyId: KEY }] },
    ],
  });
  const request = file('request.json', {
    keyId: KEY,
    reason: 'INC-18',
    reEncrypt: {
      targets: [
        { type: 's3-sse-kms', bucket: 'orders-data' },
        { type: 'envelope', bucket: 'sealed-data' },
      ],
    },
  });
  const reportPath = join(dir, 'report.json');
  const { io, stdout } = captureIo();

  await main(
    ['simulate', '--world', world, '--request', request, '--json', '--speed', '100', '--s3-report', reportPath],
    io,
  );

  const result = JSON.parse(stdout());
  expect(result.keys[0]).toMatchObject({ outcome: 'ROTATED', currentKeyMaterialId: expect.any(String) });
  const newMaterial: string = result.keys[0].currentKeyMaterialId;
  expect(result.reencryption.actionRequired).toBe(true);
  // a.json: its seeded older version + the one re-encryption made noncurrent.
  expect(result.reencryption.actionRequiredByReason).toEqual({ ARCHIVED_NEEDS_RESTORE: 1, OLDER_VERSIONS: 2 });

  const report = JSON.parse(readFileSync(reportPath, 'utf8')) as { objects: ReportObject[] };
  expect(Object.keys(report)).toEqual(['objects']);
  const byKey = new Map(report.objects.map((o) => [`${o.bucket}/${o.key}`, o]));
  expect([...byKey.keys()]).toEqual([
    'orders-data/a.json',
    'orders-data/cold.json',
    'orders-data/other.json',
    'orders-data/plain.txt',
    'sealed-data/e.bin',
  ]);
  for (const o of report.objects) {
    expect(Object.keys(o).sort()).toEqual(
      [
        'bucket',
        'key',
        'versionCount',
        'sse',
        'kmsKeyArn',
        'keyMaterialId',
        'bucketKeyEnabled',
        'storageClass',
        'tags',
        'metadata',
        'contentType',
        'cacheControl',
        'checksumAlgorithm',
        'plaintextSha256',
        'envelope',
      ].sort(),
    );
  }
  expect(byKey.get('orders-data/a.json')).toMatchObject({
    versionCount: 3,
    sse: 'aws:kms',
    kmsKeyArn: ARN,
    keyMaterialId: newMaterial,
    bucketKeyEnabled: false,
    tags: { team: 'orders' },
    plaintextSha256: sha256('{"a":1}'),
    envelope: null,
  });
  const cold = byKey.get('orders-data/cold.json')!;
  expect(cold).toMatchObject({ versionCount: 1, storageClass: 'GLACIER', kmsKeyArn: ARN });
  expect(cold.keyMaterialId).not.toBe(newMaterial);
  expect(byKey.get('orders-data/plain.txt')).toMatchObject({
    sse: 'AES256',
    kmsKeyArn: null,
    keyMaterialId: null,
    plaintextSha256: sha256('p'),
  });
  // The envelope: what a reader gets after decrypting it, and the material that wraps its data key now.
  expect(byKey.get('sealed-data/e.bin')).toMatchObject({
    sse: 'AES256',
    plaintextSha256: sha256('secret'),
    envelope: { algorithmSuiteId: expect.any(Number), wrappedBy: [{ keyArn: ARN, keyMaterialId: newMaterial }] },
  });
});
