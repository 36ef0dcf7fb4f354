/** The ledger adapter against dynalite: the conditional writes that guard the rotation budget. */
import { DynamoDBClient, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { Ledger } from '../../lambdas/adapters/ledger';
import { auditTrail } from '../audit-trail';
import { startLocalLedger, type LocalLedger } from '../../local/ledger-local';
import { TEST_CREDENTIALS } from '../../local/iam';

const template = {
  Resources: {
    LedgerTable: {
      Type: 'AWS::DynamoDB::Table',
      Properties: {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
      },
    },
  },
};
const KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const T0 = new Date('2026-11-28T12:00:00Z');
const later = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

let local: LocalLedger;
let client: DynamoDBClient;
let ledger: Ledger;

beforeAll(async () => {
  local = await startLocalLedger(template, 'us-east-1');
  client = new DynamoDBClient({ endpoint: local.endpoint, region: 'us-east-1', credentials: { ...TEST_CREDENTIALS } });
  ledger = new Ledger(local.tableName, client);
});
afterAll(async () => {
  client.destroy();
  await local.close();
});

describe('finding claims', () => {
  test('first claim wins; others learn who holds it; the holder may claim again', async () => {
    expect(await ledger.claimRequest('req-1', 'exec-A', T0, 3600)).toEqual({ claimed: true });
    expect(await ledger.claimRequest('req-1', 'exec-B', later(1), 3600)).toEqual({
      claimed: false,
      by: 'exec-A',
      at: T0.toISOString(),
    });
    expect(await ledger.claimRequest('req-1', 'exec-A', later(2), 3600)).toEqual({ claimed: true });
  });

  test('of ten concurrent claims exactly one wins', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => ledger.claimRequest('req-race', `exec-${i}`, T0, 3600)),
    );
    expect(results.filter((r) => r.claimed)).toHaveLength(1);
  });

  test('a claim closed DONE stays; closed FAILED or past its lease can be taken over', async () => {
    await ledger.claimRequest('req-done', 'exec-A', T0, 3600);
    await ledger.closeRequest('req-done', 'exec-A', 'DONE');
    expect((await ledger.claimRequest('req-done', 'exec-B', later(10), 3600)).claimed).toBe(false);

    await ledger.claimRequest('req-failed', 'exec-A', T0, 3600);
    await ledger.closeRequest('req-failed', 'exec-A', 'FAILED');
    expect((await ledger.claimRequest('req-failed', 'exec-B', later(10), 3600)).claimed).toBe(true);

    await ledger.claimRequest('req-stale', 'exec-A', T0, 60);
    expect((await ledger.claimRequest('req-stale', 'exec-B', later(30), 60)).claimed).toBe(false);
    expect((await ledger.claimRequest('req-stale', 'exec-B', later(61), 60)).claimed).toBe(true);
  });

  test("closing another execution's claim changes nothing", async () => {
    await ledger.claimRequest('req-other', 'exec-A', T0, 3600);
    await ledger.closeRequest('req-other', 'exec-B', 'FAILED');
    expect((await ledger.claimRequest('req-other', 'exec-C', later(1), 3600)).claimed).toBe(false);
  });
});

describe('the holder read after a refused conditional write', () => {
  test('dynalite ignores ReturnValuesOnConditionCheckFailure, so these tests run the GetItem fallback', async () => {
    // If this starts failing, dynalite returns the holder itself and the fallback needs its own test here.
    const put = () =>
      client.send(
        new PutItemCommand({
          TableName: local.tableName,
          Item: { pk: { S: 'PROBE' }, sk: { S: 'PROBE' } },
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    await put();
    await expect(put()).rejects.toMatchObject({ name: 'ConditionalCheckFailedException', Item: undefined });
    expect(await ledger.acquireKeyLock(`${KEY}-probe`, 'exec-A', T0, 60)).toEqual({ acquired: true });
    expect(await ledger.acquireKeyLock(`${KEY}-probe`, 'exec-B', T0, 60)).toEqual({
      acquired: false,
      owner: 'exec-A',
      leaseUntil: later(60).toISOString(),
    });
  });
});

describe('key locks', () => {
  test('one holder at a time; released by its owner only; an expired lease can be taken over', async () => {
    expect(await ledger.acquireKeyLock(KEY, 'exec-A', T0, 600)).toEqual({ acquired: true });
    expect(await ledger.acquireKeyLock(KEY, 'exec-B', later(1), 600)).toEqual({
      acquired: false,
      owner: 'exec-A',
      leaseUntil: later(600).toISOString(),
    });
    await ledger.releaseKeyLock(KEY, 'exec-B'); // not the owner: no effect
    expect((await ledger.acquireKeyLock(KEY, 'exec-B', later(2), 600)).acquired).toBe(false);
    expect((await ledger.acquireKeyLock(KEY, 'exec-B', later(601), 600)).acquired).toBe(true);
    await ledger.releaseKeyLock(KEY, 'exec-B');
    expect((await ledger.acquireKeyLock(KEY, 'exec-C', later(602), 600)).acquired).toBe(true);
  });
});

describe('audit entries', () => {
  test('are kept per key in time order with every field', async () => {
    const entry = {
      keyArn: `${KEY}-audit`,
      outcome: 'ROTATED' as const,
      reason: null,
      detail: 'Rotated on demand.',
      source: 'guardduty' as const,
      requestId: 'req-1',
      findingId: 'f-1',
      findingType: 'Exfiltration:S3/AnomalousBehavior',
      requestedBy: null,
      breakGlass: false,
      approvedBy: null,
      approvalReason: null,
      executionArn: 'exec-A',
      via: null,
      previousKeyMaterialId: 'm1',
      currentKeyMaterialId: 'm2',
      onDemandRotationsUsed: 3,
      rotationStartedAt: T0.toISOString(),
      confirmedAt: later(30).toISOString(),
    };
    await ledger.recordOutcome({
      ...entry,
      at: later(40).toISOString(),
      executionArn: 'exec-B',
      outcome: 'SKIPPED',
      reason: 'DUPLICATE_FINDING',
    });
    await ledger.recordOutcome({ ...entry, at: later(31).toISOString() });
    const history = await auditTrail(client, local.tableName, entry.keyArn);
    expect(history.map((e) => [e.executionArn, e.outcome, e.reason])).toEqual([
      ['exec-A', 'ROTATED', null],
      ['exec-B', 'SKIPPED', 'DUPLICATE_FINDING'],
    ]);
    expect(history[0]).toEqual({ ...entry, at: later(31).toISOString() });
  });
});

describe('re-encryption audit entries', () => {
  test('appended under KEY#<arn> next to the rotation entries, never overwritten; the rotation trail reader skips them', async () => {
    // Given
    const keyArn = KEY.replace('1234abcd', '9999abcd');
    const report = {
      type: 's3-sse-kms' as const,
      bucket: 'orders',
      prefix: 'p/',
      keyArn,
      origin: 'request' as const,
      status: 'FAILED' as const,
      error: 'States.Timeout: x',
      throttlesRetried: 2,
      batches: 3,
      batchesFailed: 1,
      objectsScanned: 10,
      objectsReencrypted: 7,
      objectsSkipped: 1,
      skippedByReason: { OTHER_KEY: 1 },
      objectsFailed: 2,
      failures: [{ key: 'a', error: 'E' }],
      objectsChangedDuringRun: 0,
      bytesReencrypted: 70,
      oldVersionsLeft: 0,
      bucketKeys: false,
      durationMs: 1000,
    };
    const entry = { keyArn, at: T0.toISOString(), executionArn: 'exec-R', index: 0, report };
    // When: written twice (a retried Summarize), then a different report under the same sort key.
    await ledger.recordReencryption(entry);
    await ledger.recordReencryption(entry);
    await ledger.recordReencryption({ ...entry, report: { ...report, objectsFailed: 0 } });
    // Then
    const out = await client.send(
      new QueryCommand({
        TableName: local.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: `KEY#${keyArn}` } },
      }),
    );
    expect(out.Items).toHaveLength(1);
    expect(out.Items![0]).toMatchObject({
      sk: { S: `${T0.toISOString()}#exec-R#REENCRYPT#0` },
      kind: { S: 'REENCRYPTION' },
      status: { S: 'FAILED' },
      error: { S: 'States.Timeout: x' },
      objectsScanned: { N: '10' },
      objectsReencrypted: { N: '7' },
      objectsFailed: { N: '2' },
      failures: { S: JSON.stringify([{ key: 'a', error: 'E' }]) },
    });
    expect(await auditTrail(client, local.tableName, keyArn)).toEqual([]);
  });
});
