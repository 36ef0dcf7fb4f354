import {
  CreateKeyCommand,
  DescribeKeyCommand,
  EncryptCommand,
  ListKeyRotationsCommand,
  type KeySpec,
} from '@aws-sdk/client-kms';
import {
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectTaggingCommand,
  type ServerSideEncryption,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { PublishCommand } from '@aws-sdk/client-sns';
import { startStandIn, type StandIn } from '../../local/standin';
import { Kms } from '../../local/standin/kms';
import { S3 } from '../../local/standin/s3';
import { Sns } from '../../local/standin/sns';
import { clients, KEY_ID, signedFetch, world } from './helpers';

let s: StandIn;
let c: ReturnType<typeof clients>;

beforeAll(async () => {
  s = await startStandIn(
    world({
      keys: [{ id: KEY_ID, aliases: ['alias/data'] }],
      buckets: [{ name: 'data-bucket', defaultKmsKeyId: 'alias/data', objects: [{ key: 'a.txt', body: 'alpha' }] }],
    }),
  );
  c = clients(s);
});
afterAll(() => s.close());
afterEach(() => jest.restoreAllMocks());

/** The error a call rejects with, with the SDK's parsed fields. */
type SdkError = Error & { $metadata?: { httpStatusCode?: number }; [k: string]: unknown };
async function failure(p: Promise<unknown>): Promise<SdkError> {
  return p.then(
    () => {
      throw new Error('expected the call to fail, but it succeeded');
    },
    (e: Error) => e as SdkError,
  );
}

/** A raw KMS JSON request (the SDK would not send unknown members or wrong types). */
async function kmsRaw(
  op: string,
  body: unknown,
): Promise<{ status: number; json: { __type: string; message: string } }> {
  const res = await signedFetch(
    s.endpoint,
    {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `TrentService.${op}` },
      body: JSON.stringify(body),
    },
    'kms',
  );
  return { status: res.status, json: (await res.json()) as { __type: string; message: string } };
}

describe('KMS requests are checked against the KMS model', () => {
  test("a 2,049-character KeyId: ValidationException with AWS's message, refused before the quotas (not counted)", async () => {
    const long = 'k'.repeat(2049);
    const before = JSON.stringify(s.counters());
    const e = await failure(c.kms.send(new DescribeKeyCommand({ KeyId: long })));
    expect(e.name).toBe('ValidationException');
    expect(e.$metadata?.httpStatusCode).toBe(400);
    expect(e.message).toBe(
      `1 validation error detected: Value '${long}' at 'keyId' failed to satisfy constraint: Member must have length less than or equal to 2048`,
    );
    expect(JSON.stringify(s.counters())).toBe(before);
    expect(s.calls.at(-1)).toMatchObject({ service: 'kms', operation: 'DescribeKey', error: 'ValidationException' });
  });

  test('a missing required member (Encrypt without Plaintext)', async () => {
    const e = await failure(c.kms.send(new EncryptCommand({ KeyId: KEY_ID } as never)));
    expect(e.name).toBe('ValidationException');
    expect(e.message).toBe(
      "1 validation error detected: Value null at 'plaintext' failed to satisfy constraint: Member must not be null",
    );
  });

  test('an enum value refused (CreateKey KeySpec)', async () => {
    const e = await failure(c.kms.send(new CreateKeyCommand({ KeySpec: 'AES_256' as KeySpec })));
    expect(e.name).toBe('ValidationException');
    expect(e.message).toMatch(
      /^1 validation error detected: Value 'AES_256' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: \[.*SYMMETRIC_DEFAULT/,
    );
  });

  test('a range refused (ListKeyRotations Limit 0)', async () => {
    const e = await failure(c.kms.send(new ListKeyRotationsCommand({ KeyId: KEY_ID, Limit: 0 })));
    expect(e.message).toBe(
      "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
  });

  test('an unknown member and a wrong JSON type: SerializationException', async () => {
    const unknown = await kmsRaw('DescribeKey', { KeyId: KEY_ID, KeyID: KEY_ID });
    expect(unknown.status).toBe(400);
    expect(unknown.json.__type).toBe('SerializationException');
    expect(unknown.json.message).toContain('KeyID');
    const wrongType = await kmsRaw('ListKeyRotations', { KeyId: KEY_ID, Limit: '5' });
    expect(wrongType.json).toEqual({
      __type: 'SerializationException',
      message: "STRING_VALUE can not be converted to an Integer (at 'limit')",
    });
    const notObject = await kmsRaw('DescribeKey', [KEY_ID]);
    expect(notObject.json.__type).toBe('SerializationException');
  });

  test('a valid request still works', async () => {
    await expect(c.kms.send(new DescribeKeyCommand({ KeyId: 'alias/data' }))).resolves.toMatchObject({
      KeyMetadata: { KeyId: KEY_ID },
    });
  });
});

describe('SNS requests are checked against the SNS model', () => {
  test('Publish without Message: ValidationError', async () => {
    const e = await failure(c.sns.send(new PublishCommand({ TopicArn: s.topicArn } as never)));
    expect(e.name).toBe('ValidationError');
    expect(e.$metadata?.httpStatusCode).toBe(400);
    expect(e.message).toBe(
      "1 validation error detected: Value null at 'message' failed to satisfy constraint: Member must not be null",
    );
  });

  test('Publish with a message attribute lacking its DataType: ValidationError naming the member', async () => {
    const published = s.published.length;
    const e = await failure(
      c.sns.send(
        new PublishCommand({
          TopicArn: s.topicArn,
          Message: 'm',
          MessageAttributes: { kind: { StringValue: 'x' } as never },
        }),
      ),
    );
    expect(e.name).toBe('ValidationError');
    expect(e.message).toBe(
      "1 validation error detected: Value null at 'messageAttributes.kind.member.dataType' failed to satisfy constraint: Member must not be null",
    );
    expect(s.published).toHaveLength(published);
  });
});

describe('S3 requests are checked against the S3 model', () => {
  test('a bad header value (x-amz-server-side-encryption): InvalidArgument naming the header', async () => {
    const e = await failure(
      c.s3.send(
        new PutObjectCommand({
          Bucket: 'data-bucket',
          Key: 'x',
          Body: 'x',
          ServerSideEncryption: 'aws:kms:bogus' as ServerSideEncryption,
        }),
      ),
    );
    expect(e.name).toBe('InvalidArgument');
    expect(e.$metadata?.httpStatusCode).toBe(400);
    expect(e.ArgumentName).toBe('x-amz-server-side-encryption');
    expect(e.ArgumentValue).toBe('aws:kms:bogus');
    expect(s.s3Object('data-bucket', 'x')).toBeUndefined();
  });

  test('an unknown storage class: InvalidStorageClass', async () => {
    const e = await failure(
      c.s3.send(
        new PutObjectCommand({ Bucket: 'data-bucket', Key: 'y', Body: 'y', StorageClass: 'COLD' as StorageClass }),
      ),
    );
    expect(e.name).toBe('InvalidStorageClass');
  });

  test('a query parameter of the wrong type (max-keys): InvalidArgument', async () => {
    const res = await signedFetch(`${s.endpoint}/data-bucket?list-type=2&max-keys=ten`);
    expect(res.status).toBe(400);
    const xml = await res.text();
    expect(xml).toContain('<Code>InvalidArgument</Code>');
    expect(xml).toContain('<ArgumentName>max-keys</ArgumentName>');
    await expect(c.s3.send(new ListObjectsV2Command({ Bucket: 'data-bucket', MaxKeys: 10 }))).resolves.toMatchObject({
      KeyCount: 1,
    });
  });

  test('a missing required member bound to the query (UploadPartCopy without partNumber): InvalidArgument naming it', async () => {
    const res = await signedFetch(`${s.endpoint}/data-bucket/copy.txt?uploadId=u1`, {
      method: 'PUT',
      headers: { 'x-amz-copy-source': 'data-bucket/a.txt' },
    });
    expect(res.status).toBe(400);
    const xml = await res.text();
    expect(xml).toContain('<Code>InvalidArgument</Code>');
    expect(xml).toContain('<Message>Invalid value for query parameter partNumber: Member must not be null</Message>');
    expect(xml).toContain('<ArgumentName>partNumber</ArgumentName>');
    expect(s.calls.at(-1)).toMatchObject({ operation: 'UploadPartCopy', error: 'InvalidArgument' });
  });

  test('an XML payload with an element the model does not have: MalformedXML; a missing payload: MissingRequestBodyError', async () => {
    const url = `${s.endpoint}/data-bucket/a.txt?tagging`;
    const bad = await signedFetch(url, {
      method: 'PUT',
      body: '<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value><Colour>red</Colour></Tag></TagSet></Tagging>',
    });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('<Code>MalformedXML</Code>');
    const empty = await signedFetch(url, { method: 'PUT' });
    expect(await empty.text()).toContain('<Code>MissingRequestBodyError</Code>');
    await expect(
      c.s3.send(
        new PutObjectTaggingCommand({
          Bucket: 'data-bucket',
          Key: 'a.txt',
          Tagging: { TagSet: [{ Key: 'k', Value: 'v' }] },
        }),
      ),
    ).resolves.toBeDefined();
  });
});

describe("the stand-in's answers are checked against the output shapes", () => {
  test('a KMS answer the model does not allow becomes InternalFailure "stand-in bug"', async () => {
    jest.spyOn(Kms.prototype, 'handle').mockReturnValue({ KeyMetadata: { KeyId: KEY_ID, KeyState: 'Rotating' } });
    const e = await failure(c.kms.send(new DescribeKeyCommand({ KeyId: KEY_ID })));
    expect(e.name).toBe('InternalFailure');
    expect(e.message).toContain(
      'stand-in bug: answer does not match the model: KMS DescribeKey: keyMetadata.keyState: Member must satisfy enum value set',
    );
  });

  test('an S3 answer header no output member binds to becomes InternalFailure "stand-in bug"', async () => {
    const real = S3.prototype.handle;
    jest.spyOn(S3.prototype, 'handle').mockImplementation(function (this: S3, ...args: Parameters<S3['handle']>) {
      const out = real.apply(this, args);
      return { ...out, headers: { ...out.headers, 'x-amz-object-colour': 'red' } };
    });
    const e = await failure(c.s3.send(new ListObjectsV2Command({ Bucket: 'data-bucket' })));
    expect(e.$metadata?.httpStatusCode).toBe(500);
    expect(s.calls.at(-1)?.error).toBe('InternalFailure');
  });

  test('an SNS answer with an element the output shape does not have becomes InternalFailure "stand-in bug"', async () => {
    jest
      .spyOn(Sns.prototype, 'handle')
      .mockReturnValue(
        '<PublishResponse><PublishResult><MessageId>m</MessageId><Queued>true</Queued></PublishResult></PublishResponse>',
      );
    const e = await failure(c.sns.send(new PublishCommand({ TopicArn: s.topicArn, Message: 'm' })));
    expect(e.$metadata?.httpStatusCode).toBe(500);
    expect(e.message).toContain('stand-in bug: answer does not match the model: SNS Publish: queued: Unknown member');
  });

  test('HEAD of an object written with an encryption context does not return the context header (HeadObjectOutput has no such member)', async () => {
    const context = Buffer.from(JSON.stringify({ purpose: 'test' })).toString('base64');
    const put = await c.s3.send(
      new PutObjectCommand({
        Bucket: 'data-bucket',
        Key: 'ctx.txt',
        Body: 'c',
        ServerSideEncryption: 'aws:kms',
        SSEKMSEncryptionContext: context,
      }),
    );
    // PutObjectOutput does bind the header.
    expect(JSON.parse(Buffer.from(put.SSEKMSEncryptionContext!, 'base64').toString('utf8'))).toMatchObject({
      purpose: 'test',
    });
    const head = await signedFetch(`${s.endpoint}/data-bucket/ctx.txt`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('x-amz-server-side-encryption')).toBe('aws:kms');
    expect(head.headers.get('x-amz-server-side-encryption-context')).toBeNull();
    await expect(c.s3.send(new HeadObjectCommand({ Bucket: 'data-bucket', Key: 'ctx.txt' }))).resolves.toMatchObject({
      ServerSideEncryption: 'aws:kms',
    });
  });
});
