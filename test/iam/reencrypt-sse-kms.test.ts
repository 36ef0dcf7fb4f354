import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { parseSettings } from '../../lib/settings/settings';
import { createAccountIam } from '../../local/iam';
import { startStandIn, type StandIn } from '../../local/standin';
import { resolveIntrinsics, synthTemplate } from '../../local/template';
import { parseWorld } from '../../local/world';

/**
 * ReencryptObjects' SSE-KMS statement, taken from the template and given alone to a principal:
 * S3 may decrypt and make data keys for it for the listed buckets' objects only, and the same
 * rights are refused for any other bucket and for direct KMS calls. (The role also holds the
 * envelope path's unconditioned statement, which this narrowing cannot outweigh yet.)
 */
const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const template = synthTemplate(parseSettings({ reEncryptBuckets: ['orders-data', 'keyed-data'] }, 'test'), {
  account: ACCOUNT,
  region: REGION,
});
const statements = Object.values(template.Resources)
  .filter((r) => r.Type === 'AWS::IAM::Policy')
  .flatMap((r) => r.Properties.PolicyDocument.Statement as { Sid?: string }[])
  .filter((st) => st.Sid === 'SseKmsThroughS3ForListedBucketsOnly');
const sseKmsOnly = resolveIntrinsics(statements[0], { account: ACCOUNT, region: REGION });
const copier = {
  arn: `arn:aws:sts::${ACCOUNT}:assumed-role/Copier/c`,
  accessKeyId: 'AKIATESTCOPIERXXXXXX',
  secretAccessKey: 'secret-of-copier-for-tests',
  policies: [
    {
      Version: '2012-10-17',
      Statement: [
        sseKmsOnly,
        {
          Effect: 'Allow',
          Action: 's3:GetObject',
          Resource: ['arn:aws:s3:::orders-data/*', 'arn:aws:s3:::keyed-data/*', 'arn:aws:s3:::other-data/*'],
        },
      ],
    },
  ],
};
const world = parseWorld(
  {
    account: ACCOUNT,
    region: REGION,
    keys: [{ id: KEY_ID }],
    buckets: [
      { name: 'orders-data', objects: [{ key: 'a.txt', body: 'listed', kmsKeyId: KEY_ID }] },
      { name: 'keyed-data', bucketKeyEnabled: true, objects: [{ key: 'k.txt', body: 'bucket key', kmsKeyId: KEY_ID }] },
      { name: 'other-data', objects: [{ key: 'b.txt', body: 'not listed', kmsKeyId: KEY_ID }] },
    ],
    people: { copier },
  },
  'sse-kms statement test',
);

let standIn: StandIn;
beforeAll(async () => {
  standIn = await startStandIn(world, {
    iam: createAccountIam({ template, world, account: ACCOUNT, region: REGION, resources: {} }),
  });
});
afterAll(() => standIn.close());

const credentials = { accessKeyId: copier.accessKeyId, secretAccessKey: copier.secretAccessKey };
const s3 = () =>
  new S3Client({ endpoint: standIn.endpoint, region: REGION, credentials, maxAttempts: 1, forcePathStyle: true });
const kms = () => new KMSClient({ endpoint: standIn.endpoint, region: REGION, credentials, maxAttempts: 1 });
async function errorOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (e) {
    return (e as Error).name;
  }
  return 'none';
}

describe("the SSE-KMS path's KMS rights (kms:ViaService S3, the listed buckets' encryption context)", () => {
  it("is one statement of ReencryptObjects' role", () => {
    expect(statements).toHaveLength(1);
  });

  it("S3 decrypts a listed bucket's object for it", async () => {
    const got = await s3().send(new GetObjectCommand({ Bucket: 'orders-data', Key: 'a.txt' }));
    expect(await got.Body!.transformToString()).toBe('listed');
  });

  it("with an S3 Bucket Key the context is the bucket ARN: a listed bucket's still decrypts", async () => {
    const got = await s3().send(new GetObjectCommand({ Bucket: 'keyed-data', Key: 'k.txt' }));
    expect(await got.Body!.transformToString()).toBe('bucket key');
  });

  it('S3 refuses an object of a bucket not listed (the encryption context names it)', async () => {
    expect(await errorOf(s3().send(new GetObjectCommand({ Bucket: 'other-data', Key: 'b.txt' })))).toBe('AccessDenied');
  });

  it('direct KMS calls are refused (no kms:ViaService)', async () => {
    expect(
      await errorOf(
        kms().send(
          new GenerateDataKeyCommand({
            KeyId: KEY_ID,
            KeySpec: 'AES_256',
            EncryptionContext: { 'aws:s3:arn': 'arn:aws:s3:::orders-data/a.txt' },
          }),
        ),
      ),
    ).toBe('AccessDeniedException');
    expect(
      await errorOf(kms().send(new DecryptCommand({ KeyId: KEY_ID, CiphertextBlob: Buffer.from('x'.repeat(64)) }))),
    ).toMatch(/AccessDeniedException|InvalidCiphertextException/);
  });
});
