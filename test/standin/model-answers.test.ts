import {
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GetKeyRotationStatusCommand,
  ListAliasesCommand,
  ListKeysCommand,
  ListKeyRotationsCommand,
  ListResourceTagsCommand,
  ReEncryptCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  TagResourceCommand,
  CreateGrantCommand,
  ListGrantsCommand,
  RetireGrantCommand,
  RevokeGrantCommand,
} from '@aws-sdk/client-kms';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  GetObjectAclCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectTaggingCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { CreateTopicCommand, PublishCommand } from '@aws-sdk/client-sns';
import {
  GetBucketVersioningCommand,
  GetObjectLegalHoldCommand,
  GetObjectRetentionCommand,
  ListObjectVersionsCommand,
  PutObjectLegalHoldCommand,
  PutObjectRetentionCommand,
} from '@aws-sdk/client-s3';
import { loadModel } from '../../local/models/model';
import { validateOutput } from '../../local/models/validate';
import { startStandIn, type StandIn } from '../../local/standin';
import { KMS_OPERATIONS } from '../../local/standin/kms';
import { S3_OPERATIONS } from '../../local/standin/s3';
import { SNS_OPERATIONS } from '../../local/standin/sns';
import { clients, KEY_ID, world } from './helpers';

/**
 * Every operation the stand-in serves, called with the real SDK client; the deserialized answer
 * must fit the operation's output shape in the pinned model (types, enums, constraints, members).
 * The KMS JSON is also checked inside the stand-in before it is sent; S3 answer headers too.
 */

let s: StandIn;
let c: ReturnType<typeof clients>;
const checked = { kms: new Set<string>(), s3: new Set<string>(), sns: new Set<string>() };

beforeAll(async () => {
  s = await startStandIn(
    world({
      keys: [{ id: KEY_ID, aliases: ['alias/data'], tags: { team: 'sec' } }],
      buckets: [
        {
          name: 'data-bucket',
          defaultKmsKeyId: 'alias/data',
          versioning: true,
          bucketKeyEnabled: true,
          objects: [{ key: 'a.txt', body: 'alpha' }],
        },
        {
          name: 'lock-bucket',
          versioning: true,
          objectLock: { enabled: true },
          objects: [{ key: 'l.txt', body: 'l' }],
        },
      ],
    }),
    { speed: 1000 },
  );
  c = clients(s);
});
afterAll(() => s.close());

function fits(service: 'kms' | 's3' | 'sns', op: string, output: object): void {
  checked[service].add(op);
  expect({ op, issues: validateOutput(loadModel(service), op, output) }).toEqual({ op, issues: [] });
}

test('KMS answers fit the KMS output shapes', async () => {
  const created = await c.kms.send(
    new CreateKeyCommand({ Description: 'model check', Tags: [{ TagKey: 'k', TagValue: 'v' }] }),
  );
  fits('kms', 'CreateKey', created);
  fits('kms', 'DescribeKey', await c.kms.send(new DescribeKeyCommand({ KeyId: 'alias/data' })));
  fits('kms', 'ListAliases', await c.kms.send(new ListAliasesCommand({ KeyId: KEY_ID })));
  fits('kms', 'ListKeys', await c.kms.send(new ListKeysCommand({ Limit: 1 })));
  fits('kms', 'ListResourceTags', await c.kms.send(new ListResourceTagsCommand({ KeyId: KEY_ID })));
  fits('kms', 'RotateKeyOnDemand', await c.kms.send(new RotateKeyOnDemandCommand({ KeyId: KEY_ID })));
  fits('kms', 'GetKeyRotationStatus', await c.kms.send(new GetKeyRotationStatusCommand({ KeyId: KEY_ID })));
  fits(
    'kms',
    'ListKeyRotations',
    await c.kms.send(new ListKeyRotationsCommand({ KeyId: KEY_ID, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' })),
  );
  const encrypted = await c.kms.send(
    new EncryptCommand({ KeyId: KEY_ID, Plaintext: Buffer.from('secret'), EncryptionContext: { a: 'b' } }),
  );
  fits('kms', 'Encrypt', encrypted);
  fits(
    'kms',
    'Decrypt',
    await c.kms.send(new DecryptCommand({ CiphertextBlob: encrypted.CiphertextBlob, EncryptionContext: { a: 'b' } })),
  );
  fits('kms', 'GenerateDataKey', await c.kms.send(new GenerateDataKeyCommand({ KeyId: KEY_ID, KeySpec: 'AES_256' })));
  fits(
    'kms',
    'ReEncrypt',
    await c.kms.send(
      new ReEncryptCommand({
        CiphertextBlob: encrypted.CiphertextBlob,
        SourceEncryptionContext: { a: 'b' },
        DestinationKeyId: KEY_ID,
      }),
    ),
  );
  fits(
    'kms',
    'TagResource',
    await c.kms.send(
      new TagResourceCommand({
        KeyId: created.KeyMetadata!.KeyId,
        Tags: [{ TagKey: 'owner', TagValue: 'model check' }],
      }),
    ),
  );
  fits(
    'kms',
    'ScheduleKeyDeletion',
    await c.kms.send(new ScheduleKeyDeletionCommand({ KeyId: created.KeyMetadata!.KeyId, PendingWindowInDays: 7 })),
  );
  const grantee = 'arn:aws:iam::111122223333:role/Worker';
  const grant = await c.kms.send(
    new CreateGrantCommand({
      KeyId: KEY_ID,
      GranteePrincipal: grantee,
      Operations: ['Decrypt'],
      Constraints: { EncryptionContextSubset: { a: 'b' } },
      Name: 'model-check',
      RetiringPrincipal: 'arn:aws:iam::111122223333:user/stand-in-test',
    }),
  );
  fits('kms', 'CreateGrant', grant);
  fits('kms', 'ListGrants', await c.kms.send(new ListGrantsCommand({ KeyId: KEY_ID })));
  fits('kms', 'RetireGrant', await c.kms.send(new RetireGrantCommand({ GrantToken: grant.GrantToken })));
  const second = await c.kms.send(
    new CreateGrantCommand({ KeyId: KEY_ID, GranteePrincipal: grantee, Operations: ['Encrypt'] }),
  );
  fits('kms', 'RevokeGrant', await c.kms.send(new RevokeGrantCommand({ KeyId: KEY_ID, GrantId: second.GrantId })));
  expect([...checked.kms].sort()).toEqual([...KMS_OPERATIONS].sort());
});

test('S3 answers fit the S3 output shapes', async () => {
  const Bucket = 'data-bucket';
  const context = Buffer.from(JSON.stringify({ purpose: 'check' })).toString('base64');
  fits(
    's3',
    'PutObject',
    await c.s3.send(
      new PutObjectCommand({
        Bucket,
        Key: 'b.txt',
        Body: 'beta',
        ServerSideEncryption: 'aws:kms',
        SSEKMSEncryptionContext: context,
        Metadata: { m: '1' },
      }),
    ),
  );
  fits('s3', 'HeadObject', await c.s3.send(new HeadObjectCommand({ Bucket, Key: 'b.txt' })));
  const got = await c.s3.send(new GetObjectCommand({ Bucket, Key: 'b.txt' }));
  expect(await got.Body!.transformToString()).toBe('beta');
  // Body is the streaming payload (a stream, not a value to check); every other member is checked.
  fits('s3', 'GetObject', { ...got, Body: undefined });
  fits('s3', 'ListObjectsV2', await c.s3.send(new ListObjectsV2Command({ Bucket, MaxKeys: 10 })));
  fits(
    's3',
    'CopyObject',
    await c.s3.send(
      new CopyObjectCommand({
        Bucket,
        Key: 'a.txt',
        CopySource: `${Bucket}/a.txt`,
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: KEY_ID,
      }),
    ),
  );
  fits(
    's3',
    'PutObjectTagging',
    await c.s3.send(
      new PutObjectTaggingCommand({ Bucket, Key: 'a.txt', Tagging: { TagSet: [{ Key: 't', Value: 'v' }] } }),
    ),
  );
  fits('s3', 'GetObjectTagging', await c.s3.send(new GetObjectTaggingCommand({ Bucket, Key: 'a.txt' })));
  fits('s3', 'GetObjectAcl', await c.s3.send(new GetObjectAclCommand({ Bucket, Key: 'b.txt' })));
  const upload = await c.s3.send(
    new CreateMultipartUploadCommand({ Bucket, Key: 'c.txt', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KEY_ID }),
  );
  fits('s3', 'CreateMultipartUpload', upload);
  const part = await c.s3.send(
    new UploadPartCopyCommand({
      Bucket,
      Key: 'c.txt',
      UploadId: upload.UploadId,
      PartNumber: 1,
      CopySource: `${Bucket}/a.txt`,
    }),
  );
  fits('s3', 'UploadPartCopy', part);
  fits(
    's3',
    'CompleteMultipartUpload',
    await c.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key: 'c.txt',
        UploadId: upload.UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.CopyPartResult!.ETag }] },
      }),
    ),
  );
  const other = await c.s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'd.txt' }));
  fits(
    's3',
    'AbortMultipartUpload',
    await c.s3.send(new AbortMultipartUploadCommand({ Bucket, Key: 'd.txt', UploadId: other.UploadId })),
  );
  fits('s3', 'ListObjectVersions', await c.s3.send(new ListObjectVersionsCommand({ Bucket, MaxKeys: 2 })));
  fits('s3', 'GetBucketVersioning', await c.s3.send(new GetBucketVersioningCommand({ Bucket })));
  const lock = { Bucket: 'lock-bucket', Key: 'l.txt' };
  const Retention = { Mode: 'GOVERNANCE' as const, RetainUntilDate: new Date('2099-01-01T00:00:00Z') };
  fits('s3', 'PutObjectRetention', await c.s3.send(new PutObjectRetentionCommand({ ...lock, Retention })));
  fits('s3', 'GetObjectRetention', await c.s3.send(new GetObjectRetentionCommand(lock)));
  fits(
    's3',
    'PutObjectLegalHold',
    await c.s3.send(new PutObjectLegalHoldCommand({ ...lock, LegalHold: { Status: 'ON' } })),
  );
  fits('s3', 'GetObjectLegalHold', await c.s3.send(new GetObjectLegalHoldCommand(lock)));
  expect([...checked.s3].sort()).toEqual([...S3_OPERATIONS].sort());
});

test('SNS answers fit the SNS output shapes', async () => {
  fits('sns', 'CreateTopic', await c.sns.send(new CreateTopicCommand({ Name: 'other-topic' })));
  fits(
    'sns',
    'Publish',
    await c.sns.send(
      new PublishCommand({
        TopicArn: s.topicArn,
        Message: 'm',
        MessageAttributes: { a: { DataType: 'String', StringValue: 'x' } },
      }),
    ),
  );
  expect([...checked.sns].sort()).toEqual([...SNS_OPERATIONS].sort());
});
