/**
 * "Nothing is lost" end to end on the stand-in: the synthesized state machine runs the
 * real ReencryptObjects handler (with the stack's IAM) on SSE-KMS, DSSE-KMS, multipart, envelope
 * and Bucket Key objects; afterwards every attribute a reader, policy or lifecycle rule depends on
 * is as it was, and every re-encrypted object is under the key's NEW material.
 */
import { DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { openSimulation, type SimulationRun } from '../../local/simulate';
import type { StandIn } from '../../local/standin';
import type { S3ObjectInfo } from '../../local/standin/s3-types';
import { parseWorld } from '../../local/world';
import type { TargetReport } from '../../lambdas/domain/reencryption';
import { TEST_CREDENTIALS } from '../../local/iam';

jest.setTimeout(180_000);

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const K1 = '1234abcd-12ab-34cd-56ef-1234567890ab';
const arn = (id: string) => `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`;
const credentials = { ...TEST_CREDENTIALS };
const GiB = 1024 ** 3;
/** Slow enough that the Bucket Key the stand-in made when seeding is still reused after the rotation (an hour / 20). */
const SPEED = 20;
const ATTRIBUTES = {
  metadata: { owner: 'team-a' },
  contentType: 'text/csv',
  cacheControl: 'max-age=60',
  tags: { class: 'secret', lifecycle: 'keep-7y' },
  grants: { READ: ['uri="http://acs.amazonaws.com/groups/global/AllUsers"'] },
};

const world = parseWorld(
  {
    account: ACCOUNT,
    region: REGION,
    keys: [{ id: K1, rotationSeconds: 5 }],
    buckets: [
      {
        name: 'keep-data',
        // ACLs kept: a bucket whose Object Ownership lets objects have grants.
        objectOwnership: 'ObjectWriter',
        objects: [
          {
            key: 'meta.csv',
            body: 'a,b\n1,2\n',
            kmsKeyId: K1,
            storageClass: 'STANDARD_IA',
            checksumAlgorithm: 'SHA256',
            ...ATTRIBUTES,
          },
          { key: 'dsse.txt', body: 'two layers', kmsKeyId: K1, dsse: true },
          { key: 'big.bin', sizeBytes: 6 * GiB, kmsKeyId: K1, checksumAlgorithm: 'CRC32C', ...ATTRIBUTES },
          { key: 'env/e.bin', envelopeKeyId: K1, body: 'enveloped', checksumAlgorithm: 'SHA1', ...ATTRIBUTES },
        ],
      },
      {
        name: 'keyed-data',
        defaultKmsKeyId: K1,
        bucketKeyEnabled: true,
        objects: [
          { key: 'x.json', body: 'x' },
          { key: 'y.json', body: 'y' },
        ],
      },
    ],
    settings: { reEncryptBuckets: ['keep-data', 'keyed-data'] },
  },
  'keep world',
);

const OBJECTS: [string, string][] = [
  ['keep-data', 'meta.csv'],
  ['keep-data', 'dsse.txt'],
  ['keep-data', 'big.bin'],
  ['keep-data', 'env/e.bin'],
  ['keyed-data', 'x.json'],
  ['keyed-data', 'y.json'],
];
const id = (b: string, k: string) => `${b}/${k}`;

let run!: SimulationRun;
const before = new Map<string, S3ObjectInfo>();
const after = new Map<string, S3ObjectInfo>();
let material = '';
const bodies: Record<string, string> = {};

beforeAll(async () => {
  let standIn!: StandIn;
  const sim = await openSimulation({ world, speed: SPEED, onStandIn: (s) => (standIn = s) });
  try {
    for (const [b, k] of OBJECTS) before.set(id(b, k), standIn.s3Object(b, k)!);
    run = await sim.run({
      keyId: K1,
      reason: 'exposed data keys',
      reEncrypt: {
        targets: [
          { type: 's3-sse-kms', bucket: 'keep-data' },
          { type: 'envelope', bucket: 'keep-data', prefix: 'env/' },
          { type: 's3-sse-kms', bucket: 'keyed-data' },
        ],
      },
    });
    for (const [b, k] of OBJECTS) after.set(id(b, k), standIn.s3Object(b, k)!);
    const kms = new KMSClient({ endpoint: standIn.endpoint, region: REGION, credentials });
    material = (await kms.send(new DescribeKeyCommand({ KeyId: K1 }))).KeyMetadata!.CurrentKeyMaterialId!;
    const s3 = new S3Client({ endpoint: standIn.endpoint, region: REGION, credentials, forcePathStyle: true });
    for (const [b, k] of [
      ['keep-data', 'meta.csv'],
      ['keep-data', 'dsse.txt'],
      ['keyed-data', 'x.json'],
    ])
      bodies[id(b!, k!)] = await (await s3.send(new GetObjectCommand({ Bucket: b, Key: k }))).Body!.transformToString();
  } finally {
    await sim.close();
  }
});

const kept = (o: S3ObjectInfo) => ({
  grants: o.grants,
  metadata: o.metadata,
  contentType: o.contentType,
  systemHeaders: o.systemHeaders,
  tags: o.tags,
  storageClass: o.storageClass,
  checksumAlgorithm: o.checksumAlgorithm,
});
const target = (type: string, bucket: string): TargetReport =>
  run.result.reencryption!.targets.find((t) => t.type === type && t.bucket === bucket)!;

test('the run SUCCEEDS with every targeted object re-encrypted and none failed', () => {
  expect(run.result.executionStatus).toBe('SUCCEEDED');
  expect(run.result.keys.map((k) => k.outcome)).toEqual(['ROTATED']);
  expect(target('s3-sse-kms', 'keep-data')).toMatchObject({
    objectsReencrypted: 3,
    objectsFailed: 0,
    skippedByReason: { NOT_SSE_KMS: 1 },
  });
  expect(target('envelope', 'keep-data')).toMatchObject({ objectsReencrypted: 1, objectsFailed: 0 });
  expect(target('s3-sse-kms', 'keyed-data')).toMatchObject({ objectsReencrypted: 2, objectsFailed: 0 });
});

test('tags, metadata, system headers, storage class and checksum algorithm are kept on the copy, multipart and envelope paths', () => {
  for (const key of ['meta.csv', 'big.bin', 'env/e.bin']) {
    const was = before.get(id('keep-data', key))!;
    expect(was).toMatchObject({
      ...ATTRIBUTES,
      grants: ['READ uri="http://acs.amazonaws.com/groups/global/AllUsers"'],
    });
    expect(kept(after.get(id('keep-data', key))!)).toEqual(kept(was));
  }
  expect(after.get(id('keep-data', 'meta.csv'))).toMatchObject({
    storageClass: 'STANDARD_IA',
    checksumAlgorithm: 'SHA256',
  });
  expect(after.get(id('keep-data', 'big.bin'))).toMatchObject({
    checksumAlgorithm: 'CRC32C',
    checksumType: 'COMPOSITE',
  });
  expect(after.get(id('keep-data', 'env/e.bin'))!.checksumAlgorithm).toBe('SHA1');
  expect(bodies[id('keep-data', 'meta.csv')]).toBe('a,b\n1,2\n');
});

test('every re-encrypted SSE-KMS object is under the NEW material, a Bucket Key bucket included; DSSE-KMS stays DSSE-KMS', () => {
  for (const [b, k] of OBJECTS.filter(([, k]) => k !== 'env/e.bin')) {
    expect(before.get(id(b, k))!.keyMaterialId).not.toBe(material);
    expect(after.get(id(b, k))).toMatchObject({ kmsKeyArn: arn(K1), keyMaterialId: material, bucketKeyEnabled: false });
  }
  expect(before.get(id('keyed-data', 'x.json'))!.bucketKeyEnabled).toBe(true);
  expect(after.get(id('keep-data', 'dsse.txt'))!.serverSideEncryption).toBe('aws:kms:dsse');
  expect(bodies[id('keep-data', 'dsse.txt')]).toBe('two layers');
  expect(bodies[id('keyed-data', 'x.json')]).toBe('x');
  expect(after.get(id('keep-data', 'env/e.bin'))!.envelope!.dataKeyFingerprint).not.toBe(
    before.get(id('keep-data', 'env/e.bin'))!.envelope!.dataKeyFingerprint,
  );
});
