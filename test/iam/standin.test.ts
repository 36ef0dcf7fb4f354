import { request } from 'node:http';
import { DescribeKeyCommand, KMSClient, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { createAccountIam, TEST_CREDENTIALS, type AccountIam } from '../../local/iam';
import { signed } from '../standin/helpers';
import { startStandIn, TOPIC_NAME, type StandIn } from '../../local/standin';
import { synthTemplate } from '../../local/template';
import { parseSettings } from '../../lib/settings/settings';
import { parseWorld, type World } from '../../local/world';

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const LOCKED_KEY = '2234abcd-12ab-34cd-56ef-1234567890ab';
const KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/${KEY_ID}`;
const template = synthTemplate(parseSettings({}, 'test'), { account: ACCOUNT, region: REGION });
const topicLogicalId = Object.entries(template.Resources).find(([, r]) => r.Type === 'AWS::SNS::Topic')![0];
const TOPIC_ARN = `arn:aws:sns:${REGION}:${ACCOUNT}:${TOPIC_NAME}`;

/** Reads objects through S3 only: kms:Decrypt on condition kms:ViaService (`via`). */
const reader = (via: string) => ({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::orders/*' },
    {
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: KEY_ARN,
      Condition: { StringEquals: { 'kms:ViaService': via } },
    },
  ],
});
const person = (name: string, policies?: unknown[]) => ({
  arn: `arn:aws:sts::${ACCOUNT}:assumed-role/People/${name}`,
  accessKeyId: `AKIATEST${name.toUpperCase().padEnd(12, 'X')}`,
  secretAccessKey: `secret-of-${name}-for-tests`,
  ...(policies ? { policies } : {}),
});

const world: World = parseWorld(
  {
    account: ACCOUNT,
    region: REGION,
    keys: [
      { id: KEY_ID },
      // A key policy that trusts one other role only: the account's IAM policies count for nothing.
      {
        id: LOCKED_KEY,
        policy: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/KeyAdmin` },
              Action: 'kms:*',
              Resource: '*',
            },
          ],
        },
      },
    ],
    buckets: [
      {
        name: 'orders',
        objects: [
          { key: 'a.txt', body: 'secret', kmsKeyId: KEY_ID },
          { key: 'plain.txt', body: 'open' },
        ],
      },
    ],
    people: {
      alice: person('alice'),
      s3reader: person('s3reader', [reader(`s3.${REGION}.amazonaws.com`)]),
      ddbreader: person('ddbreader', [reader(`dynamodb.${REGION}.amazonaws.com`)]),
    },
  },
  'iam stand-in test',
);

let iam: AccountIam;
let s: StandIn;
beforeAll(async () => {
  iam = createAccountIam({
    template,
    world,
    account: ACCOUNT,
    region: REGION,
    resources: { [topicLogicalId]: TOPIC_ARN },
  });
  s = await startStandIn(world, { iam });
});
afterAll(() => s.close());

const creds = (p: { accessKeyId: string; secretAccessKey: string }) => ({
  accessKeyId: p.accessKeyId,
  secretAccessKey: p.secretAccessKey,
});
const kms = (c: { accessKeyId: string; secretAccessKey: string }) =>
  new KMSClient({ endpoint: s.endpoint, region: REGION, credentials: creds(c), maxAttempts: 1 });
const s3 = (c: { accessKeyId: string; secretAccessKey: string }) =>
  new S3Client({ endpoint: s.endpoint, region: REGION, credentials: creds(c), maxAttempts: 1, forcePathStyle: true });
const sns = (c: { accessKeyId: string; secretAccessKey: string }) =>
  new SNSClient({ endpoint: s.endpoint, region: REGION, credentials: creds(c), maxAttempts: 1 });
async function failure(p: Promise<unknown>): Promise<{ name: string; message: string; status?: number }> {
  try {
    await p;
  } catch (e) {
    const err = e as Error & { $metadata?: { httpStatusCode?: number } };
    return { name: err.name, message: err.message, status: err.$metadata?.httpStatusCode };
  }
  throw new Error('expected the request to fail');
}

describe('authentication: every request is signed by a known principal', () => {
  const unknown = { accessKeyId: 'AKIANOBODY0000000000', secretAccessKey: 'whatever-whatever' };
  const wrongSecret = {
    accessKeyId: TEST_CREDENTIALS.accessKeyId,
    secretAccessKey: 'not-the-secret-of-the-test-admin',
  };

  it('an unknown access key: KMS UnrecognizedClientException, S3 InvalidAccessKeyId, SNS InvalidClientTokenId', async () => {
    expect(await failure(kms(unknown).send(new DescribeKeyCommand({ KeyId: KEY_ID })))).toMatchObject({
      name: 'UnrecognizedClientException',
      status: 400,
    });
    expect(await failure(s3(unknown).send(new GetObjectCommand({ Bucket: 'orders', Key: 'plain.txt' })))).toMatchObject(
      { name: 'InvalidAccessKeyId', status: 403 },
    );
    expect(await failure(sns(unknown).send(new PublishCommand({ TopicArn: TOPIC_ARN, Message: 'm' })))).toMatchObject({
      name: 'InvalidClientTokenId',
      status: 403,
    });
  });

  it('a wrong secret: KMS InvalidSignatureException, S3 SignatureDoesNotMatch, SNS SignatureDoesNotMatch', async () => {
    expect(await failure(kms(wrongSecret).send(new DescribeKeyCommand({ KeyId: KEY_ID })))).toMatchObject({
      name: 'InvalidSignatureException',
      status: 400,
    });
    expect(
      await failure(s3(wrongSecret).send(new GetObjectCommand({ Bucket: 'orders', Key: 'plain.txt' }))),
    ).toMatchObject({ name: 'SignatureDoesNotMatch', status: 403 });
    expect(
      await failure(sns(wrongSecret).send(new PublishCommand({ TopicArn: TOPIC_ARN, Message: 'm' }))),
    ).toMatchObject({ name: 'SignatureDoesNotMatch', status: 403 });
  });

  it('a body changed after signing does not match its signature; no signature at all is refused', async () => {
    const body = JSON.stringify({ KeyId: KEY_ID });
    const headers = await signed(
      s.endpoint,
      'kms',
      { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.DescribeKey' },
      body,
    );
    const tampered = await post(headers, JSON.stringify({ KeyId: LOCKED_KEY }));
    expect(tampered.status).toBe(400);
    expect(JSON.parse(tampered.body).__type).toBe('InvalidSignatureException');
    expect(JSON.parse((await post(headers, body)).body).KeyMetadata.KeyId).toBe(KEY_ID);
    const { authorization: _a, ...unsigned } = headers;
    expect(JSON.parse((await post(unsigned, body)).body).__type).toBe('MissingAuthenticationTokenException');
  });
});

function post(headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(s.endpoint, { method: 'POST', headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('authorization: the action and resource AWS evaluates, with the resource policy', () => {
  it('an on-call person reads keys but may not ScheduleKeyDeletion (AccessDeniedException in AWS form)', async () => {
    const alice = iam.principals.person('alice');
    expect((await kms(alice).send(new DescribeKeyCommand({ KeyId: KEY_ID }))).KeyMetadata?.KeyId).toBe(KEY_ID);
    const denied = await failure(
      kms(alice).send(new ScheduleKeyDeletionCommand({ KeyId: KEY_ID, PendingWindowInDays: 7 })),
    );
    expect(denied).toEqual({
      name: 'AccessDeniedException',
      status: 400,
      message: `User: ${alice.arn} is not authorized to perform: kms:ScheduleKeyDeletion on resource: ${KEY_ARN} because no identity-based policy allows the kms:ScheduleKeyDeletion action`,
    });
    expect(s.s3Object('orders', 'a.txt')).toBeDefined();
  });

  it('a key policy without the account delegation refuses even a role whose policies allow', async () => {
    const assess = iam.principals.functionRole('assess');
    expect((await kms(assess).send(new DescribeKeyCommand({ KeyId: KEY_ID }))).KeyMetadata?.KeyId).toBe(KEY_ID);
    const denied = await failure(kms(assess).send(new DescribeKeyCommand({ KeyId: LOCKED_KEY })));
    expect(denied.name).toBe('AccessDeniedException');
    expect(denied.message).toContain('because no resource-based policy allows the kms:DescribeKey action');
  });

  it('S3 decrypts an SSE-KMS object as the requester, with kms:ViaService: a condition on another service denies', async () => {
    const ok = await s3(iam.principals.person('s3reader')).send(
      new GetObjectCommand({ Bucket: 'orders', Key: 'a.txt' }),
    );
    expect(await ok.Body?.transformToString()).toBe('secret');
    const ddb = iam.principals.person('ddbreader');
    const denied = await failure(s3(ddb).send(new GetObjectCommand({ Bucket: 'orders', Key: 'a.txt' })));
    expect(denied.name).toBe('AccessDenied');
    expect(denied.status).toBe(403);
    expect(denied.message).toContain(`is not authorized to perform: kms:Decrypt on resource: ${KEY_ARN}`);
    // HeadObject reads no data: no KMS call, only s3:GetObject.
    expect((await s3(ddb).send(new HeadObjectCommand({ Bucket: 'orders', Key: 'a.txt' }))).ServerSideEncryption).toBe(
      'aws:kms',
    );
  });

  it('S3 without s3:GetObject: 403 AccessDenied naming the object ARN', async () => {
    const alice = iam.principals.person('alice');
    const denied = await failure(s3(alice).send(new GetObjectCommand({ Bucket: 'orders', Key: 'plain.txt' })));
    expect(denied).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(denied.message).toBe(
      `User: ${alice.arn} is not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::orders/plain.txt" because no identity-based policy allows the s3:GetObject action`,
    );
  });

  it('SNS Publish: the Notify role may (the topic policy denies only plain HTTP), the Assess role may not', async () => {
    await sns(iam.principals.functionRole('notify')).send(
      new PublishCommand({ TopicArn: TOPIC_ARN, Message: 'hello' }),
    );
    expect(s.published.at(-1)?.message).toBe('hello');
    const denied = await failure(
      sns(iam.principals.functionRole('assess')).send(new PublishCommand({ TopicArn: TOPIC_ARN, Message: 'no' })),
    );
    expect(denied).toMatchObject({ name: 'AuthorizationErrorException', status: 403 }); // wire code AuthorizationError
    expect(denied.message).toContain('sns:Publish');
  });
});
