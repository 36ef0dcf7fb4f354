/**
 * Notify, the ledger steps and the approval request, with aws-sdk-client-mock: the exact SNS and
 * DynamoDB commands each sends.
 */
import type {} from 'aws-sdk-client-mock-jest';
import { mockClient } from 'aws-sdk-client-mock';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { notify } from '../../../lambdas/notify/handler';
import { claimRequest } from '../../../lambdas/claim-request/handler';
import { closeRequest } from '../../../lambdas/close-request/handler';
import { lockKey } from '../../../lambdas/lock-key/handler';
import { record } from '../../../lambdas/record/handler';
import { requestApproval } from '../../../lambdas/request-approval/handler';
import { Ledger } from '../../../lambdas/adapters/ledger';
import { NotificationTopic } from '../../../lambdas/adapters/notification/sns';
import { newKeyTask } from '../../../lambdas/domain/rotation/key-task';
import type { KeyTask } from '../../../lambdas/domain/contracts';
import { approvalIdOf } from '../../../lambdas/domain/approvals/approval';
import { ACCOUNT, KEY_ARN, NOW, config, request } from './fixtures';

const sns = mockClient(SNSClient);
const dynamo = mockClient(DynamoDBClient);
const TOPIC = `arn:aws:sns:us-east-1:${ACCOUNT}:kms-incident-rotation`;
const EXECUTION = `arn:aws:states:us-east-1:${ACCOUNT}:execution:KmsIncidentRotation:exec-1`;
const ledger = () => new Ledger('ledger', new DynamoDBClient({ region: 'us-east-1' }));
const topic = () => new NotificationTopic(new SNSClient({ region: 'us-east-1' }), TOPIC);
const conditionFailed = () =>
  new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });

function rotatedTask(overrides: Partial<KeyTask> = {}): KeyTask {
  return {
    ...newKeyTask({ ref: KEY_ARN, request: request(), executionArn: EXECUTION }),
    keyArn: KEY_ARN,
    aliases: ['alias/orders'],
    outcome: 'ROTATED',
    onDemandRotationsUsed: 4,
    onDemandRotationsRemaining: 21,
    previousKeyMaterialId: 'm1',
    currentKeyMaterialId: 'm2',
    ...overrides,
  };
}

beforeEach(() => {
  sns.reset();
  dynamo.reset();
});

describe('notify', () => {
  const NOTIFY_KEY = { pk: { S: `NOTIFY#${EXECUTION}` }, sk: { S: 'NOTIFY' } };

  test('publishes one message with the subject and the filterable attributes, then remembers it', async () => {
    // Given
    sns.on(PublishCommand).resolves({ MessageId: 'msg-1' });
    dynamo.on(GetItemCommand).resolves({});
    dynamo.on(PutItemCommand).resolves({});

    // When
    const out = await notify(
      { request: request(), results: [rotatedTask()], executionArn: EXECUTION, startedAt: NOW.toISOString() },
      config({ topicArn: TOPIC }),
      topic(),
      ledger(),
      NOW,
    );

    // Then
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: TOPIC,
      Subject: '[ROTATED] 1 key - GuardDuty UnauthorizedAccess:IAMUser/AnomalousBehavior',
      MessageAttributes: {
        outcome: { DataType: 'String', StringValue: 'ROTATED' },
        source: { DataType: 'String', StringValue: 'guardduty' },
        severity: { DataType: 'String', StringValue: 'HIGH' },
        actionRequired: { DataType: 'String', StringValue: 'false' },
        duplicate: { DataType: 'String', StringValue: 'false' },
      },
    });
    expect(dynamo).toHaveReceivedCommandWith(GetItemCommand, {
      TableName: 'ledger',
      Key: NOTIFY_KEY,
      ConsistentRead: true,
    });
    expect(dynamo).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: 'ledger',
      Item: expect.objectContaining({ ...NOTIFY_KEY, messageId: { S: 'msg-1' }, at: { S: NOW.toISOString() } }),
    });
    expect(out).toMatchObject({
      request: request(),
      messageId: 'msg-1',
      anyFailed: false,
      summary: { outcome: 'ROTATED' },
    });
  });

  test('a retry after a successful publish (e.g. the function timed out after the call) does not publish again', async () => {
    // Given
    dynamo
      .on(GetItemCommand)
      .resolves({ Item: { ...NOTIFY_KEY, messageId: { S: 'msg-1' }, at: { S: NOW.toISOString() } } });

    // When
    const out = await notify(
      { request: request(), results: [rotatedTask()], executionArn: EXECUTION },
      config({ topicArn: TOPIC }),
      topic(),
      ledger(),
      NOW,
    );

    // Then
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 0);
    expect(dynamo).toHaveReceivedCommandTimes(PutItemCommand, 0);
    expect(out).toMatchObject({
      messageId: 'msg-1',
      anyFailed: false,
      summary: { outcome: 'ROTATED', keys: [expect.objectContaining({ outcome: 'ROTATED' })] },
    });
  });

  test('a publish error propagates (Step Functions retries, then fails the execution) and nothing is remembered', async () => {
    sns
      .on(PublishCommand)
      .rejects(Object.assign(new Error('Invalid parameter: Subject'), { name: 'InvalidParameterException' }));
    dynamo.on(GetItemCommand).resolves({});
    await expect(
      notify(
        { request: request(), results: [rotatedTask()], executionArn: EXECUTION },
        config({ topicArn: TOPIC }),
        topic(),
        ledger(),
      ),
    ).rejects.toMatchObject({
      name: 'InvalidParameterException',
    });
    expect(dynamo).toHaveReceivedCommandTimes(PutItemCommand, 0);
  });

  test('a ledger that cannot be read fails the step before anything is published (the retry publishes once)', async () => {
    dynamo
      .on(GetItemCommand)
      .rejects(Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' }));
    await expect(
      notify(
        { request: request(), results: [rotatedTask()], executionArn: EXECUTION },
        config({ topicArn: TOPIC }),
        topic(),
        ledger(),
      ),
    ).rejects.toMatchObject({
      name: 'ProvisionedThroughputExceededException',
    });
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 0);
  });

  test('a marker that cannot be written after a publish does not fail the step (failing would publish again)', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'msg-2' });
    dynamo.on(GetItemCommand).resolves({});
    dynamo
      .on(PutItemCommand)
      .rejects(Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' }));
    const out = await notify(
      { request: request(), results: [rotatedTask()], executionArn: EXECUTION },
      config({ topicArn: TOPIC }),
      topic(),
      ledger(),
    );
    expect(out.messageId).toBe('msg-2');
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
  });
});

describe('claim-request', () => {
  test('claims a finding with a conditional write; a second execution learns it is a duplicate', async () => {
    dynamo.on(PutItemCommand).resolvesOnce({}).rejects(conditionFailed());
    dynamo
      .on(GetItemCommand)
      .resolves({ Item: { executionArn: { S: EXECUTION }, claimedAt: { S: NOW.toISOString() } } });

    const first = await claimRequest({ request: request(), executionArn: EXECUTION }, config(), ledger(), NOW);
    const second = await claimRequest({ request: request(), executionArn: `${EXECUTION}-2` }, config(), ledger(), NOW);

    expect(first.request.duplicateOf).toBeNull();
    expect(second.request.duplicateOf).toBe(EXECUTION);
    expect(dynamo).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: 'ledger',
      ConditionExpression: 'attribute_not_exists(pk) OR executionArn = :me OR #status = :failed OR leaseUntil < :now',
    });
    expect(dynamo.commandCalls(PutItemCommand)[0].args[0].input.Item?.pk).toEqual({ S: 'REQUEST#req-0001' });
    // The claim's lease is the execution timeout the stack derived from its settings.
    const leaseUntil = dynamo.commandCalls(PutItemCommand)[0].args[0].input.Item?.leaseUntil?.S;
    expect(Date.parse(leaseUntil!) - NOW.getTime()).toBe(config().executionTimeoutSeconds * 1000);
    // The refusal carried no holder (as from dynalite): read back, strongly consistent.
    expect(dynamo).toHaveReceivedCommandWith(PutItemCommand, { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' });
    expect(dynamo).toHaveReceivedCommandWith(GetItemCommand, { ConsistentRead: true });
  });

  test('manual requests are not claimed', async () => {
    const out = await claimRequest(
      { request: request({ source: 'manual', findingId: null }), executionArn: EXECUTION },
      config(),
      ledger(),
      NOW,
    );
    expect(out.request.duplicateOf).toBeNull();
    expect(dynamo).not.toHaveReceivedCommand(PutItemCommand);
  });

  test('close marks the claim FAILED when a key failed, only if this execution holds it', async () => {
    dynamo.on(UpdateItemCommand).resolves({});
    await closeRequest({ request: request(), executionArn: EXECUTION, anyFailed: true }, ledger());
    expect(dynamo).toHaveReceivedCommandWith(UpdateItemCommand, {
      ConditionExpression: 'executionArn = :me',
      ExpressionAttributeValues: { ':status': { S: 'FAILED' }, ':me': { S: EXECUTION } },
    });
  });
});

describe('lock-key', () => {
  test('acquires the lease for the rotation timeout plus a margin', async () => {
    dynamo.on(PutItemCommand).resolves({});
    const out = await lockKey(
      rotatedTask({ outcome: null, next: 'ROTATE' }),
      config({ rotationTimeoutSeconds: 1800 }),
      ledger(),
      NOW,
    );
    expect(out).toMatchObject({ next: 'ROTATE', lockOwner: `${EXECUTION}#${KEY_ARN}` });
    const item = dynamo.commandCalls(PutItemCommand)[0].args[0].input.Item!;
    expect(item.pk).toEqual({ S: `LOCK#${KEY_ARN}` });
    expect(item.leaseUntil).toEqual({ S: new Date(NOW.getTime() + 2400 * 1000).toISOString() });
  });

  test('a key locked by another execution is SKIPPED RECENTLY_ROTATED, naming it', async () => {
    dynamo.on(PutItemCommand).rejects(conditionFailed());
    dynamo
      .on(GetItemCommand)
      .resolves({ Item: { owner: { S: 'exec-other' }, leaseUntil: { S: '2025-06-01T13:00:00.000Z' } } });
    const out = await lockKey(rotatedTask({ outcome: null, next: 'ROTATE' }), config(), ledger(), NOW);
    expect(out).toMatchObject({ next: 'DONE', outcome: 'SKIPPED', reason: 'RECENTLY_ROTATED' });
    expect(out.detail).toContain('exec-other');
  });

  test('reads the holder from the refusal itself (ALL_OLD), without a second read', async () => {
    // Given
    const refusal = conditionFailed();
    refusal.Item = { owner: { S: 'exec-holder' }, leaseUntil: { S: '2025-06-01T13:00:00.000Z' } };
    dynamo.on(PutItemCommand).rejects(refusal);

    // When
    const out = await lockKey(rotatedTask({ outcome: null, next: 'ROTATE' }), config(), ledger(), NOW);

    // Then
    expect(out).toMatchObject({ next: 'DONE', outcome: 'SKIPPED', reason: 'RECENTLY_ROTATED' });
    expect(out.detail).toContain('exec-holder');
    expect(out.detail).toContain('2025-06-01T13:00:00.000Z');
    expect(dynamo).toHaveReceivedCommandWith(PutItemCommand, { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' });
    expect(dynamo).not.toHaveReceivedCommand(GetItemCommand);
  });

  test('a task without a key ARN fails with a named error (INTERNAL), touching nothing', async () => {
    await expect(
      lockKey(rotatedTask({ keyArn: null, outcome: null, next: 'ROTATE' }), config(), ledger(), NOW),
    ).rejects.toMatchObject({
      name: 'MissingKeyArnError',
      message: 'LockKey called without a key ARN',
    });
    expect(dynamo).not.toHaveReceivedCommand(PutItemCommand);
  });
});

describe('ledger configuration', () => {
  test('a missing table name is a ConfigurationError', () => {
    expect(() => new Ledger('', new DynamoDBClient({ region: 'us-east-1' }))).toThrow(
      expect.objectContaining({ name: 'ConfigurationError' }),
    );
  });
});

describe('record', () => {
  test('writes the audit entry and releases the lock this execution holds', async () => {
    dynamo.on(PutItemCommand).resolves({});
    dynamo.on(DeleteItemCommand).resolves({});
    const out = await record(rotatedTask({ lockOwner: EXECUTION }), config(), ledger(), NOW);
    expect(out).toMatchObject({ outcome: 'ROTATED', lockOwner: null });
    const item = dynamo.commandCalls(PutItemCommand)[0].args[0].input.Item!;
    expect(item).toMatchObject({
      pk: { S: `KEY#${KEY_ARN}` },
      sk: { S: `${NOW.toISOString()}#${EXECUTION}` },
      outcome: { S: 'ROTATED' },
      previousKeyMaterialId: { S: 'm1' },
      currentKeyMaterialId: { S: 'm2' },
      findingId: { S: 'finding-0001' },
    });
    expect(dynamo).toHaveReceivedCommandWith(DeleteItemCommand, {
      Key: { pk: { S: `LOCK#${KEY_ARN}` }, sk: { S: 'LOCK' } },
      ConditionExpression: '#owner = :me',
    });
  });

  test('a caught error becomes FAILED with its reason; the error fields are settled', async () => {
    dynamo.on(PutItemCommand).resolves({});
    const failed = {
      ...rotatedTask({ outcome: null }),
      error: {
        Error: 'ThrottlingException',
        Cause: '{"errorType":"ThrottlingException","errorMessage":"Rate exceeded"}',
      },
      failure: { outcome: 'FAILED' as const, reason: 'THROTTLED' as const },
    };
    const out = await record(failed, config(), ledger(), NOW);
    expect(out).toMatchObject({ outcome: 'FAILED', reason: 'THROTTLED' });
    expect(out).not.toHaveProperty('error');
    expect(dynamo.commandCalls(PutItemCommand)[0].args[0].input.Item).toMatchObject({
      outcome: { S: 'FAILED' },
      reason: { S: 'THROTTLED' },
    });
  });

  test('a denial becomes SKIPPED APPROVAL_DENIED with who and why', async () => {
    dynamo.on(PutItemCommand).resolves({});
    const denied = rotatedTask({
      outcome: null,
      approvalError: {
        Error: 'APPROVAL_DENIED',
        Cause: JSON.stringify({ by: 'arn:aws:sts::111122223333:assumed-role/OnCall/bob', reason: 'payments freeze' }),
      },
    });
    const out = await record(denied, config(), ledger(), NOW);
    expect(out).toMatchObject({
      outcome: 'SKIPPED',
      reason: 'APPROVAL_DENIED',
      detail: 'Denied by arn:aws:sts::111122223333:assumed-role/OnCall/bob: payments freeze.',
    });
  });
});

describe('request-approval', () => {
  test('stores the token under an approval id and publishes the id, never the token', async () => {
    // Given
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
    dynamo.on(PutItemCommand).resolves({});

    // When
    const out = await requestApproval(
      { task: rotatedTask({ outcome: null }), token: 'TOKEN-123' },
      config({ topicArn: TOPIC, approvalTimeoutSeconds: 14400 }),
      ledger(),
      topic(),
      NOW,
    );

    // Then
    expect(out.approvalId).toBe(approvalIdOf('TOKEN-123'));
    expect(out.approvalId).toMatch(/^ap-[0-9a-f]{20}$/);
    expect(dynamo).toHaveReceivedCommandWith(PutItemCommand, {
      Item: expect.objectContaining({
        pk: { S: `APPROVAL#${out.approvalId}` },
        token: { S: 'TOKEN-123' },
        keyArn: { S: KEY_ARN },
        status: { S: 'PENDING' },
        answerBy: { S: new Date(NOW.getTime() + 14400_000).toISOString() },
      }),
    });
    expect(sns).toHaveReceivedCommandWith(PublishCommand, { TopicArn: TOPIC });
    const input = sns.commandCalls(PublishCommand)[0].args[0].input;
    expect(input.Subject).toBe('[APPROVAL NEEDED] rotate alias/orders');
    expect(input.Message).not.toContain('TOKEN-123');
    expect(input.Message).toContain(`kms-rotate approve ${out.approvalId}`);
    expect(input.Message).toContain(`kms-rotate deny ${out.approvalId} --reason`);
    expect(input.Message).toContain('With no decision within 240 min the workflow will NOT rotate the key');
    expect(input.MessageAttributes?.actionRequired).toEqual({ DataType: 'String', StringValue: 'true' });
  });

  test('says what silence does as the approvalTimeoutAction setting in the config says', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
    dynamo.on(PutItemCommand).resolves({});
    await requestApproval(
      { task: rotatedTask({ outcome: null }), token: 'T' },
      config({ topicArn: TOPIC, approvalTimeoutSeconds: 600, approvalTimeoutAction: 'ROTATE' }),
      ledger(),
      topic(),
    );
    expect(sns.commandCalls(PublishCommand)[0].args[0].input.Message).toContain(
      'With no decision within 10 min the workflow will ROTATE the key anyway.',
    );
  });
});
