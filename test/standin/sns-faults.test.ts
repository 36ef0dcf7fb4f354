import { request } from 'node:http';
import {
  DescribeKeyCommand,
  KMSClient,
  ListRetirableGrantsCommand,
  RotateKeyOnDemandCommand,
} from '@aws-sdk/client-kms';
import { CreateTopicCommand, ListTopicsCommand, PublishCommand } from '@aws-sdk/client-sns';
import { startStandIn, type StandIn } from '../../local/standin';
import { clients, credentials, errorName, KEY_ID, signed, world } from './helpers';

let s: StandIn | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

function raw(
  endpoint: string,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(endpoint, { method: 'POST', headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: text, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('SNS stand-in', () => {
  test('Publish to the pre-created topic is recorded with subject and attributes', async () => {
    s = await startStandIn(world({ region: 'eu-west-1' }));
    const { sns } = clients(s, 'eu-west-1');
    expect(s.topicArn).toBe('arn:aws:sns:eu-west-1:111122223333:kms-incident-rotation');
    const out = await sns.send(
      new PublishCommand({
        TopicArn: s.topicArn,
        Subject: 'KMS key rotated',
        Message: JSON.stringify({ outcome: 'rotated' }),
        MessageAttributes: {
          outcome: { DataType: 'String', StringValue: 'rotated' },
          severity: { DataType: 'Number', StringValue: '8.5' },
        },
      }),
    );
    expect(out.MessageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(s.published).toEqual([
      {
        topicArn: s.topicArn,
        subject: 'KMS key rotated',
        message: '{"outcome":"rotated"}',
        attributes: {
          outcome: { DataType: 'String', StringValue: 'rotated' },
          severity: { DataType: 'Number', StringValue: '8.5' },
        },
        at: expect.any(Number),
      },
    ]);
    expect(s.calls).toEqual([expect.objectContaining({ service: 'sns', operation: 'Publish', region: 'eu-west-1' })]);
  });

  test('bad subjects, empty/oversized messages, bad attributes and unknown topics are refused', async () => {
    s = await startStandIn(world({}));
    const { sns } = clients(s);
    const TopicArn = s.topicArn;
    for (const Subject of ['x'.repeat(100), 'line\nbreak', 'tab\there', '']) {
      const err = await sns.send(new PublishCommand({ TopicArn, Subject, Message: 'm' })).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.name).toBe('InvalidParameterException');
      expect(err?.message).toContain('Subject');
    }
    await sns.send(new PublishCommand({ TopicArn, Subject: 'x'.repeat(99), Message: 'm' }));
    expect(await errorName(sns.send(new PublishCommand({ TopicArn, Message: 'x'.repeat(256 * 1024 + 1) })))).toBe(
      'InvalidParameterException',
    );
    await sns.send(new PublishCommand({ TopicArn, Message: 'x'.repeat(256 * 1024) }));
    expect(
      await errorName(
        sns.send(
          new PublishCommand({
            TopicArn,
            Message: 'm',
            MessageAttributes: { n: { DataType: 'Number', StringValue: 'abc' } },
          }),
        ),
      ),
    ).toBe('InvalidParameterValueException');
    expect(
      await errorName(
        sns.send(new PublishCommand({ TopicArn: 'arn:aws:sns:us-east-1:111122223333:nope', Message: 'm' })),
      ),
    ).toBe('NotFoundException');
    expect(s.published).toHaveLength(2);
  });

  test('CreateTopic makes a topic that can be published to', async () => {
    s = await startStandIn(world({}));
    const { sns } = clients(s);
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'drill' }));
    expect(TopicArn).toBe('arn:aws:sns:us-east-1:111122223333:drill');
    await sns.send(new PublishCommand({ TopicArn, Message: 'hi' }));
    expect(s.published[0]).toMatchObject({ topicArn: TopicArn, message: 'hi', attributes: {} });
    expect(s.published[0].subject).toBeUndefined();
  });
});

describe('faults and protocol', () => {
  test('world faults: 2 ThrottlingExceptions then success, each recorded in calls', async () => {
    s = await startStandIn(
      world({
        keys: [{ id: KEY_ID }],
        faults: [{ service: 'kms', operation: 'RotateKeyOnDemand', error: 'ThrottlingException', times: 2 }],
      }),
      { speed: 1000 },
    );
    const { kms } = clients(s); // maxAttempts: 1 -> the SDK does not retry throttles itself
    expect(await errorName(kms.send(new RotateKeyOnDemandCommand({ KeyId: KEY_ID })))).toBe('ThrottlingException');
    expect(await errorName(kms.send(new RotateKeyOnDemandCommand({ KeyId: KEY_ID })))).toBe('ThrottlingException');
    expect((await kms.send(new RotateKeyOnDemandCommand({ KeyId: KEY_ID }))).KeyId).toBe(KEY_ID);
    expect(s.calls.map((c) => [c.operation, c.error])).toEqual([
      ['RotateKeyOnDemand', 'ThrottlingException'],
      ['RotateKeyOnDemand', 'ThrottlingException'],
      ['RotateKeyOnDemand', undefined],
    ]);
    expect(s.calls[0].input).toEqual({ KeyId: KEY_ID });
  });

  test('the SDK retries injected throttles on its own with default maxAttempts', async () => {
    s = await startStandIn(world({ keys: [{ id: KEY_ID }] }));
    s.addFault({ service: 'kms', operation: 'DescribeKey', error: 'ThrottlingException', times: 2 });
    const kms = new KMSClient({ endpoint: s.endpoint, region: 'us-east-1', credentials, maxAttempts: 3 });
    const out = await kms.send(new DescribeKeyCommand({ KeyId: KEY_ID }));
    expect(out.KeyMetadata!.KeyId).toBe(KEY_ID);
    expect(s.calls.filter((c) => c.error)).toHaveLength(2);
  }, 15000);

  test('server faults are HTTP 500 in each protocol (KMS JSON, SNS XML, S3 XML)', async () => {
    s = await startStandIn(world({ keys: [{ id: KEY_ID }], buckets: [{ name: 'bkt', objects: [{ key: 'k' }] }] }));
    s.addFault({ service: 'kms', operation: 'DescribeKey', error: 'KMSInternalException', times: 1 });
    s.addFault({ service: 'sns', operation: 'Publish', error: 'InternalError', times: 1 });
    s.addFault({ service: 's3', operation: 'HeadObject', error: 'InternalError', times: 1 });
    s.addFault({ service: 's3', operation: 'GetObject', error: 'SlowDown', times: 1 });
    const { kms, sns, s3 } = clients(s);
    const k = await kms.send(new DescribeKeyCommand({ KeyId: KEY_ID })).then(
      () => undefined,
      (e: { name: string; $metadata: { httpStatusCode?: number }; $fault: string }) => e,
    );
    expect([k?.name, k?.$metadata.httpStatusCode, k?.$fault]).toEqual(['KMSInternalException', 500, 'server']);
    const n = await sns.send(new PublishCommand({ TopicArn: s.topicArn, Message: 'm' })).then(
      () => undefined,
      (e: { name: string; $metadata: { httpStatusCode?: number } }) => e,
    );
    expect([n?.name, n?.$metadata.httpStatusCode]).toEqual(['InternalErrorException', 500]);
    const { HeadObjectCommand, GetObjectCommand } = await import('@aws-sdk/client-s3');
    const h = await s3.send(new HeadObjectCommand({ Bucket: 'bkt', Key: 'k' })).then(
      () => undefined,
      (e: { $metadata: { httpStatusCode?: number } }) => e,
    );
    expect(h?.$metadata.httpStatusCode).toBe(500);
    const g = await s3.send(new GetObjectCommand({ Bucket: 'bkt', Key: 'k' })).then(
      () => undefined,
      (e: { name: string; $metadata: { httpStatusCode?: number } }) => e,
    );
    expect([g?.name, g?.$metadata.httpStatusCode]).toEqual(['SlowDown', 503]);
    expect(s.calls.map((c) => c.error)).toEqual(['KMSInternalException', 'InternalError', 'InternalError', 'SlowDown']);
  });

  test('the Region comes from the SigV4 credential scope; unsupported operations are named', async () => {
    s = await startStandIn(world({ keys: [{ id: KEY_ID, region: 'eu-central-1' }] }));
    const eu = clients(s, 'eu-central-1');
    const us = clients(s, 'us-east-1');
    expect((await eu.kms.send(new DescribeKeyCommand({ KeyId: KEY_ID }))).KeyMetadata!.Arn).toBe(
      `arn:aws:kms:eu-central-1:111122223333:key/${KEY_ID}`,
    );
    expect(await errorName(us.kms.send(new DescribeKeyCommand({ KeyId: KEY_ID })))).toBe('NotFoundException');
    expect(s.calls.map((c) => c.region)).toEqual(['eu-central-1', 'us-east-1']);

    const k = await us.kms.send(new ListRetirableGrantsCommand({})).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(k?.name).toBe('NotImplementedByStandIn');
    expect(k?.message).toContain('ListRetirableGrants');
    const t = await us.sns.send(new ListTopicsCommand({})).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(t?.name).toBe('NotImplementedByStandIn');
    expect(t?.message).toContain('ListTopics');
    const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
    const d = await us.s3.send(new DeleteObjectCommand({ Bucket: 'x', Key: 'y' })).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(d?.name).toBe('NotImplementedByStandIn');
    expect(d?.message).toContain('DeleteObject');
  });

  test('wire shapes: KMS JSON error body, SNS query error XML', async () => {
    s = await startStandIn(world({}));
    const k = await raw(
      s.endpoint,
      await signed(
        s.endpoint,
        'kms',
        { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.DescribeKey' },
        '{"KeyId":"nope"}',
      ),
      '{"KeyId":"nope"}',
    );
    expect(k.status).toBe(400);
    expect(k.headers['content-type']).toBe('application/x-amz-json-1.1');
    expect(JSON.parse(k.body)).toEqual({
      __type: 'NotFoundException',
      message: "Key 'arn:aws:kms:us-east-1:111122223333:key/nope' does not exist",
    });
    const publish =
      'Action=Publish&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A111122223333%3Amissing&Message=m';
    const n = await raw(
      s.endpoint,
      await signed(s.endpoint, 'sns', { 'content-type': 'application/x-www-form-urlencoded' }, publish),
      publish,
    );
    expect(n.status).toBe(404);
    expect(n.body).toMatch(
      /^<ErrorResponse xmlns="http:\/\/sns.amazonaws.com\/doc\/2010-03-31\/"><Error><Type>Sender<\/Type><Code>NotFound<\/Code><Message>Topic does not exist<\/Message><\/Error><RequestId>[0-9a-f-]+<\/RequestId><\/ErrorResponse>$/,
    );
  });

  test('close() stops pending rotation timers and the server', async () => {
    const set = jest.spyOn(global, 'setTimeout');
    const clear = jest.spyOn(global, 'clearTimeout');
    try {
      s = await startStandIn(
        world({
          keys: [
            { id: KEY_ID, rotationInProgress: true, rotationSeconds: 3600, automaticRotationDueWithinMinutes: 600 },
          ],
        }),
      );
      const timers = set.mock.results.map((r) => r.value as NodeJS.Timeout);
      expect(timers).toHaveLength(2); // the in-progress on-demand rotation and the automatic one
      await s.close();
      for (const t of timers) expect(clear).toHaveBeenCalledWith(t);
    } finally {
      set.mockRestore();
      clear.mockRestore();
    }
    const closed = s;
    s = undefined;
    await closed.close(); // idempotent
    await expect(
      new KMSClient({ endpoint: closed.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 }).send(
        new DescribeKeyCommand({ KeyId: KEY_ID }),
      ),
    ).rejects.toThrow();
  });
});
