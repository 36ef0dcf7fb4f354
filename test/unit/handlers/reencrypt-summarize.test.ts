import { PutObjectCommand } from '@aws-sdk/client-s3';
import { startStandIn, type StandIn } from '../../../local/standin';
import { summarizeReencryption } from '../../../lambdas/summarize-reencryption/handler';
import * as productMetrics from '../../../lambdas/adapters/metrics';
import type { ReencryptionAuditEntry } from '../../../lambdas/adapters/ledger/ledger-audit';
import {
  emptyTargetReport,
  planReencryption,
  type ReencryptionState,
  type TargetReport,
} from '../../../lambdas/domain/reencryption';
import { clients, world } from '../../standin/helpers';

const KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const EXEC = 'arn:aws:states:us-east-1:111122223333:execution:kms-incident-rotation:run-42';
const NOW = new Date('2026-12-01T10:00:00.000Z');
let s: StandIn;
let c: ReturnType<typeof clients>;

beforeAll(async () => {
  s = await startStandIn(world({ buckets: [{ name: 'results' }] }));
  c = clients(s);
});
afterAll(() => s.close());

const put = (key: string, body: unknown) =>
  c.s3.send(new PutObjectCommand({ Bucket: 'results', Key: key, Body: JSON.stringify(body) }));
const plan = (): ReencryptionState =>
  planReencryption(
    {
      source: 'manual',
      dryRun: false,
      reEncryptTargets: [
        { type: 's3-sse-kms', bucket: 'orders', prefix: 'p/', origin: 'request' },
        { type: 'envelope', bucket: 'sealed', prefix: '', origin: 'request' },
      ],
    },
    [{ keyArn: KEY, outcome: 'ROTATED', aliases: [] }],
    { buckets: ['orders', 'sealed'], targets: {}, auto: false },
  );
const batch = (r: Partial<TargetReport>): TargetReport => ({
  ...emptyTargetReport('s3-sse-kms', 'orders', 'p/', KEY, 'request'),
  batches: 1,
  ...r,
});
const child = (status: string, start: string, stop: string, extra: Record<string, unknown>) => ({
  ExecutionArn: `arn:aws:states:us-east-1:111122223333:express:x:${start}`,
  Name: start,
  Status: status,
  StartDate: start,
  StopDate: stop,
  StateMachineArn: 'arn:aws:states:us-east-1:111122223333:stateMachine:x',
  RedriveCount: 0,
  RedriveStatus: 'NOT_REDRIVABLE',
  InputDetails: { Included: true },
  ...extra,
});
const input = (keys: string[]) =>
  JSON.stringify({
    BatchInput: { unit: plan().units[0] },
    Items: keys.map((key) => ({ key, size: 1, etag: '"e"' })),
  });

function fakeLedger() {
  const entries: ReencryptionAuditEntry[] = [];
  return { entries, recordReencryption: async (e: ReencryptionAuditEntry) => void entries.push(e) };
}

describe('SummarizeReencryption', () => {
  test('a map run that succeeded: SUCCEEDED children summed, FAILED children counted with their error; ledger entry; loop advanced', async () => {
    // Given: ResultWriter files as Step Functions writes them (Input/Output are JSON strings).
    const dir = 'reencryption/run-42/0/8b2c';
    await put(`${dir}/SUCCEEDED_0.json`, [
      child('SUCCEEDED', '2026-12-01T09:00:00.000Z', '2026-12-01T09:01:00.000Z', {
        Input: input(['a', 'b', 'c']),
        Output: JSON.stringify(
          batch({
            objectsScanned: 3,
            objectsReencrypted: 2,
            objectsSkipped: 1,
            skippedByReason: { OTHER_KEY: 1 },
            bytesReencrypted: 20,
            throttlesRetried: 4,
          }),
        ),
      }),
      child('SUCCEEDED', '2026-12-01T09:00:05.000Z', '2026-12-01T09:02:30.000Z', {
        Input: input(['d']),
        Output: JSON.stringify(
          batch({
            objectsScanned: 1,
            objectsFailed: 1,
            failures: [{ key: 'd', error: 'AccessDenied: no' }],
            bucketKeys: true,
          }),
        ),
      }),
    ]);
    await put(`${dir}/FAILED_0.json`, [
      child('FAILED', '2026-12-01T09:00:01.000Z', '2026-12-01T09:00:02.000Z', {
        Input: input(['e', 'f']),
        Error: 'Lambda.Unknown',
        Cause: JSON.stringify({ errorMessage: 'Task timed out after 300.00 seconds' }),
      }),
    ]);
    await put(`${dir}/manifest.json`, {
      DestinationBucket: 'results',
      MapRunArn: 'arn:aws:states:us-east-1:111122223333:mapRun:x/ReencryptTarget:8b2c',
      ResultFiles: {
        FAILED: [{ Key: `${dir}/FAILED_0.json`, Size: 1 }],
        PENDING: [],
        SUCCEEDED: [{ Key: `${dir}/SUCCEEDED_0.json`, Size: 1 }],
      },
    });
    const ledger = fakeLedger();
    const state = {
      ...plan(),
      mapRun: { MapRunArn: 'arn:x', ResultWriterDetails: { Bucket: 'results', Key: `${dir}/manifest.json` } },
    };
    const emitted = jest.spyOn(productMetrics, 'emitReencryption');
    // When
    const next = await summarizeReencryption(
      { reencryption: state, executionArn: EXEC },
      { s3: c.s3, ledger, now: NOW },
    );
    // The target's counts as metrics (ObjectsReencrypted, ObjectsReencryptionFailed, ReencryptionThrottlesRetried).
    expect(emitted).toHaveBeenCalledWith(
      expect.objectContaining({ objectsReencrypted: 2, objectsFailed: 3, throttlesRetried: 4 }),
    );
    emitted.mockRestore();
    // Then
    const report = next.reports[0];
    expect(report).toMatchObject({
      keyArn: KEY,
      bucket: 'orders',
      prefix: 'p/',
      origin: 'request',
      status: 'COMPLETED',
      error: null,
      batches: 3,
      batchesFailed: 1,
      objectsScanned: 6,
      objectsReencrypted: 2,
      objectsSkipped: 1,
      skippedByReason: { OTHER_KEY: 1 },
      objectsFailed: 3,
      bytesReencrypted: 20,
      throttlesRetried: 4,
      bucketKeys: true,
      durationMs: 150_000,
    });
    expect(report.failures).toEqual([
      { key: 'd', error: 'AccessDenied: no' },
      { key: 'e', error: 'Lambda.Unknown: Task timed out after 300.00 seconds' },
      { key: 'f', error: 'Lambda.Unknown: Task timed out after 300.00 seconds' },
    ]);
    expect(next).toMatchObject({ index: 1, remaining: 1, current: state.units[1], mapRun: null, mapRunError: null });
    expect(ledger.entries).toEqual([{ keyArn: KEY, at: NOW.toISOString(), executionArn: EXEC, index: 0, report }]);
  });

  test('a map run that failed and was caught: the manifest is found under the unit prefix; status FAILED with Error: Cause', async () => {
    const dir = 'reencryption/run-42/1/77aa';
    await put(`${dir}/PENDING_0.json`, [child('PENDING', '', '', { Input: input(['x', 'y']) })]);
    await put(`${dir}/manifest.json`, {
      DestinationBucket: 'results',
      ResultFiles: { SUCCEEDED: [], FAILED: [], PENDING: [{ Key: `${dir}/PENDING_0.json` }] },
    });
    const first = plan();
    const state: ReencryptionState = {
      ...first,
      index: 1,
      remaining: 1,
      current: first.units[1],
      mapRun: null,
      mapRunError: {
        Error: 'States.ExceedToleratedFailureThreshold',
        Cause: 'The specified tolerated failure threshold was exceeded',
      },
    };
    const ledger = fakeLedger();
    const next = await summarizeReencryption(
      { reencryption: state, executionArn: EXEC },
      { s3: c.s3, ledger, resultsBucket: 'results', now: NOW },
    );
    expect(next.reports[0]).toMatchObject({
      type: 'envelope',
      bucket: 'sealed',
      status: 'FAILED',
      error: 'States.ExceedToleratedFailureThreshold: The specified tolerated failure threshold was exceeded',
      objectsScanned: 2,
      objectsFailed: 2,
      batchesFailed: 1,
    });
    expect(next.reports[0].failures[0].error).toMatch(/^Pending: /);
    expect(next).toMatchObject({ index: 2, remaining: 0, current: null, mapRunError: null });
    expect(ledger.entries[0]).toMatchObject({ index: 1, report: { status: 'FAILED' } });
  });

  test('no manifest anywhere: FAILED, said so, and the loop still advances', async () => {
    const state: ReencryptionState = {
      ...plan(),
      mapRunError: { Error: 'States.ItemReaderFailed', Cause: 'Access Denied' },
    };
    const ledger = fakeLedger();
    const next = await summarizeReencryption(
      { reencryption: state, executionArn: `${EXEC}-other` },
      { s3: c.s3, ledger, resultsBucket: 'results', now: NOW },
    );
    expect(next.reports[0]).toMatchObject({
      status: 'FAILED',
      error: 'States.ItemReaderFailed: Access Denied',
      objectsScanned: 0,
    });
    expect(next.index).toBe(1);
  });
});
