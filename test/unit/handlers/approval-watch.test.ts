/**
 * The approval watch with aws-sdk-client-mock: the exact Query it sends (the sparse index, open
 * windows only, past half), paging, and the ApprovalsOverdue value it emits.
 */
import type {} from 'aws-sdk-client-mock-jest';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBClient, PutItemCommand, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { watchApprovals } from '../../../lambdas/approval-watch/handler';
import { Ledger } from '../../../lambdas/adapters/ledger';
import { metrics } from '../../../lambdas/adapters/metrics';
import { approvalOverdueAt } from '../../../lambdas/domain/approvals/approval';
import { METRIC } from '../../../lambdas/domain/metrics';
import { NOW } from './fixtures';

const dynamo = mockClient(DynamoDBClient);
const ledger = () => new Ledger('ledger', new DynamoDBClient({ region: 'us-east-1' }));

/** The ApprovalsOverdue values the handler added to its metrics while `run` ran (flushed as EMF by the wrapper). */
async function overdueValuesPrinted(run: () => Promise<unknown>): Promise<unknown[]> {
  const spy = jest.spyOn(metrics, 'addMetric');
  try {
    await run();
    return spy.mock.calls
      .filter(([name]) => name === METRIC.approvalsOverdue)
      .map(([, unit, value]) => ({ unit, value }));
  } finally {
    spy.mockRestore();
  }
}

beforeEach(() => dynamo.reset());

test('counts unanswered approvals whose window is open and half gone, with one Query of the PendingApprovals index', async () => {
  dynamo.on(QueryCommand).resolves({ Count: 2 });

  const printed = await overdueValuesPrinted(async () =>
    expect(await watchApprovals(ledger(), NOW)).toEqual({ overdue: 2 }),
  );

  expect(dynamo).toHaveReceivedCommandTimes(QueryCommand, 1);
  expect(dynamo).toHaveReceivedCommandWith(QueryCommand, {
    TableName: 'ledger',
    IndexName: 'PendingApprovals',
    KeyConditionExpression: '#pending = :pending AND #answerBy > :now',
    FilterExpression: '#overdueAt <= :now',
    ExpressionAttributeNames: { '#pending': 'pendingApproval', '#answerBy': 'answerBy', '#overdueAt': 'overdueAt' },
    ExpressionAttributeValues: { ':pending': { S: 'APPROVAL#PENDING' }, ':now': { S: NOW.toISOString() } },
    Select: 'COUNT',
  });
  expect(printed).toEqual([{ unit: 'Count', value: 2 }]);
});

test('follows LastEvaluatedKey and sums every page', async () => {
  const page2 = {
    pendingApproval: { S: 'APPROVAL#PENDING' },
    answerBy: { S: 'x' },
    pk: { S: 'APPROVAL#ap-1' },
    sk: { S: 'APPROVAL' },
  };
  dynamo.on(QueryCommand).resolvesOnce({ Count: 1, LastEvaluatedKey: page2 }).resolvesOnce({ Count: 3 });

  expect(await watchApprovals(ledger(), NOW)).toEqual({ overdue: 4 });

  expect(dynamo).toHaveReceivedCommandTimes(QueryCommand, 2);
  expect(dynamo.commandCalls(QueryCommand)[1]!.args[0].input.ExclusiveStartKey).toEqual(page2);
});

test('prints 0 when nothing is overdue, so the alarm clears', async () => {
  dynamo.on(QueryCommand).resolves({ Count: 0 });
  expect(await overdueValuesPrinted(() => watchApprovals(ledger(), NOW))).toEqual([{ unit: 'Count', value: 0 }]);
});

test('an approval enters the index when requested (with its half-way time) and leaves it when answered', async () => {
  dynamo.on(PutItemCommand).resolves({});
  dynamo.on(UpdateItemCommand).resolves({});
  const answerBy = new Date(NOW.getTime() + 3_600_000).toISOString();

  await ledger().putApproval({
    approvalId: 'ap-1',
    token: 'T',
    requestedBy: null,
    keyArn: 'k',
    executionArn: 'e',
    expiresAt: answerBy,
    overdueAt: approvalOverdueAt(NOW, 3600),
    status: 'PENDING',
  });
  await ledger().answerApproval('ap-1', 'APPROVED', 'bob', NOW);

  expect(dynamo).toHaveReceivedCommandWith(PutItemCommand, {
    Item: expect.objectContaining({
      pendingApproval: { S: 'APPROVAL#PENDING' },
      answerBy: { S: answerBy },
      overdueAt: { S: '2025-06-01T12:30:00.000Z' },
    }),
  });
  const update = dynamo.commandCalls(UpdateItemCommand)[0]!.args[0].input;
  expect(update.UpdateExpression).toMatch(/REMOVE #pending$/);
  expect(update.ExpressionAttributeNames).toMatchObject({ '#pending': 'pendingApproval' });
});
