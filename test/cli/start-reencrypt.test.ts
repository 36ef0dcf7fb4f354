/** `kms-rotate start --reencrypt`: parsing, help, what reaches the front door, and the re-encryption report in start/status output. */
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { InvalidArgumentError } from 'commander';
import { main } from '../../cli/main';
import { parseReencryptOption } from '../../cli/commands/start';
import { formatStatusTable, reencryptionCell } from '../../cli/commands/status';
import { paint } from '../../cli/io';
import type { ReencryptionSummary } from '../../lambdas/domain/reencryption';
import { emptyTargetReport, recordOutcome } from '../../lambdas/domain/reencryption';
import {
  ACCOUNT,
  CALLER,
  captureIo,
  K1,
  K1_ARN,
  keyResult,
  rotationHistory,
  runSummary,
  STATE_MACHINE,
  testFrontDoor,
} from './helpers';

let door: Awaited<ReturnType<typeof testFrontDoor>>;
beforeAll(async () => {
  door = await testFrontDoor();
});
afterAll(() => door.close());

const sfn = mockClient(SFNClient);
const sts = mockClient(STSClient);
const EXECUTION = `arn:aws:states:us-east-1:${ACCOUNT}:execution:KmsIncidentRotation:manual-1234abcd-20250302T101542-9f3a`;
const startDate = new Date('2025-03-02T10:15:42Z');

beforeEach(() => {
  sfn.reset();
  sts.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: CALLER, UserId: 'AROA:alice' });
});

function reencryption(over: Partial<ReencryptionSummary> = {}): ReencryptionSummary {
  let t = emptyTargetReport('s3-sse-kms', 'orders-data', 'exports/', K1_ARN, 'request');
  t = recordOutcome(t, {
    key: 'exports/a.json',
    result: 'REENCRYPTED',
    bytes: 10,
    oldVersionLeft: false,
    bucketKey: false,
  });
  t = recordOutcome(t, { key: 'exports/b.json', result: 'FAILED', error: 'AccessDenied' });
  return {
    mode: 'RUN',
    objectsScanned: 2,
    objectsReencrypted: 1,
    objectsSkipped: 0,
    objectsFailed: 1,
    actionRequired: true,
    targets: [{ ...t, batches: 1 }],
    refused: [],
    planned: [],
    ...over,
  };
}

describe('--reencrypt values', () => {
  it.each([
    ['s3-sse-kms:orders-data/exports/2025/', { type: 's3-sse-kms', bucket: 'orders-data', prefix: 'exports/2025/' }],
    ['envelope:orders-data', { type: 'envelope', bucket: 'orders-data', prefix: '' }],
    ['envelope:orders-data/', { type: 'envelope', bucket: 'orders-data', prefix: '' }],
    ['s3-sse-kms:orders-data/a:b/c d', { type: 's3-sse-kms', bucket: 'orders-data', prefix: 'a:b/c d' }],
  ])('%s', (value, target) => {
    expect(parseReencryptOption(value, undefined)).toEqual([target]);
  });

  it('accumulates repeated values', () => {
    expect(parseReencryptOption('envelope:bbb', parseReencryptOption('s3-sse-kms:aaa', undefined))).toEqual([
      { type: 's3-sse-kms', bucket: 'aaa', prefix: '' },
      { type: 'envelope', bucket: 'bbb', prefix: '' },
    ]);
  });

  it.each([
    ['orders-data', /expected s3-sse-kms:<bucket>\[\/<prefix>\] or envelope:<bucket>\[\/<prefix>\], got "orders-data"/],
    ['sse-s3:orders-data', /, got "sse-s3:orders-data"$/],
    ['s3-sse-kms:', /expected an S3 bucket name .*got ""/],
    ['s3-sse-kms:Orders_Data/x', /expected an S3 bucket name .*got "Orders_Data"/],
    ['envelope:s3://orders-data', /expected an S3 bucket name .*got "s3:"/],
    [`envelope:orders-data/${'p'.repeat(257)}`, /the prefix is at most 256 characters/],
  ])('rejects %s', (value, message) => {
    expect(() => parseReencryptOption(value, undefined)).toThrow(InvalidArgumentError);
    expect(() => parseReencryptOption(value, undefined)).toThrow(message);
  });
});

describe('kms-rotate start --reencrypt', () => {
  it('help explains --reencrypt and that the bucket must be in reEncryptBuckets', async () => {
    const { io, stdout } = captureIo();
    expect(await main(['start', '--help'], io)).toBe(0);
    const help = stdout();
    expect(help).toMatch(/--reencrypt <type:bucket\/prefix>/);
    expect(help).toContain('s3-sse-kms:<bucket>[/<prefix>]');
    expect(help).toContain('envelope:<bucket>[/<prefix>]');
    expect(help).toMatch(/reEncryptBuckets setting/);
    expect(help).toMatch(/NEW data keys/);
    expect(help).toContain('--reencrypt s3-sse-kms:orders-data/exports/ --reencrypt envelope:orders-archive');
  });

  it('sends reEncrypt.targets through the front door to the manual machine', async () => {
    // Given
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate });
    const { io, stderr } = captureIo({ ...door.env, KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });

    // When
    const code = await main(
      [
        'start',
        '--key',
        K1,
        '--reason',
        'INC-9',
        '--reencrypt',
        's3-sse-kms:orders-data/exports/',
        '--reencrypt',
        'envelope:orders-archive',
        '--no-wait',
      ],
      io,
    );

    // Then
    expect(code).toBe(0);
    const sent = JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input.input!);
    expect(sent).toEqual({
      keyId: K1,
      reason: 'INC-9',
      dryRun: false,
      breakGlass: false,
      requestedBy: CALLER,
      reEncrypt: {
        targets: [
          { type: 's3-sse-kms', bucket: 'orders-data', prefix: 'exports/' },
          { type: 'envelope', bucket: 'orders-archive', prefix: '' },
        ],
      },
    });
    expect(stderr()).toContain('then re-encrypts: s3-sse-kms:orders-data/exports/, envelope:orders-archive');
  });

  it('sends no reEncrypt without --reencrypt', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate });
    const { io } = captureIo({ ...door.env, KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });
    expect(await main(['start', '--key', K1, '--reason', 'INC-9', '--no-wait'], io)).toBe(0);
    expect(JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input.input!)).not.toHaveProperty(
      'reEncrypt',
    );
  });

  it.each([
    [
      'a bad value',
      ['--reencrypt', 'orders-data'],
      /option '--reencrypt <type:bucket\/prefix>' argument 'orders-data' is invalid\. expected s3-sse-kms:<bucket>/,
    ],
    ['a bad bucket', ['--reencrypt', 'envelope:ORDERS'], /expected an S3 bucket name/],
    [
      '21 targets',
      Array.from({ length: 21 }, (_, i) => ['--reencrypt', `envelope:bucket-${i}`]).flat(),
      /--reencrypt: expected at most 20 targets/,
    ],
  ])('rejects %s before any call (exit 2)', async (_label, args, message) => {
    const { io, stderr } = captureIo({ ...door.env, KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });
    const code = await main(['start', '--key', K1, '--reason', 'x', ...args], io);
    expect(code).toBe(2);
    expect(stderr()).toMatch(message);
    expect(sts).toHaveReceivedCommandTimes(GetCallerIdentityCommand, 0);
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 0);
  });

  function finished(summary: ReturnType<typeof runSummary>, status: 'SUCCEEDED' | 'FAILED') {
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate });
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: EXECUTION,
      status,
      startDate,
      stopDate: new Date('2025-03-02T10:15:53Z'),
      input: JSON.stringify({ keyId: K1, requestedBy: CALLER }),
      ...(status === 'SUCCEEDED'
        ? { output: JSON.stringify(summary) }
        : { error: 'ReencryptionFailed', cause: 'The re-encryption failed.' }),
    });
    sfn
      .on(GetExecutionHistoryCommand)
      .resolves({ events: rotationHistory(summary, status === 'SUCCEEDED' ? 'succeeded' : 'failed').events });
  }

  it('start (waiting) prints the re-encryption report and exits 1 when the re-encryption failed the execution', async () => {
    finished(runSummary([keyResult()], { reencryption: reencryption() }), 'FAILED');
    const { io, stdout } = captureIo({ ...door.env, KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });

    const code = await main(
      ['start', '--key', K1, '--reason', 'INC-9', '--reencrypt', 's3-sse-kms:orders-data/exports/'],
      io,
    );

    expect(code).toBe(1);
    const out = stdout();
    expect(out).toContain('Re-encryption (ran)');
    expect(out).toContain('1. s3-sse-kms s3://orders-data/exports/');
    expect(out).toContain('- exports/b.json: AccessDenied');
    expect(out).toContain('ACTION REQUIRED');
  });

  it('start --json carries summary.reencryption', async () => {
    finished(
      runSummary([keyResult()], { reencryption: reencryption({ objectsFailed: 0, actionRequired: false }) }),
      'SUCCEEDED',
    );
    const { io, stdout } = captureIo({ ...door.env, KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });

    const code = await main(
      ['start', '--key', K1, '--reason', 'INC-9', '--reencrypt', 's3-sse-kms:orders-data/exports/', '--json'],
      io,
    );

    expect(code).toBe(0);
    const result = JSON.parse(stdout());
    expect(result.summary.reencryption).toMatchObject({
      mode: 'RUN',
      objectsReencrypted: 1,
      targets: [expect.objectContaining({ bucket: 'orders-data', prefix: 'exports/' })],
    });
  });
});

describe('kms-rotate status: re-encryption', () => {
  it('adds a re-encryption line under the keys of a run that has one', async () => {
    // Given
    const name = 'manual-1234abcd-20250302T101542-9f3a';
    sfn.on(ListExecutionsCommand).resolves({
      executions: [{ executionArn: EXECUTION, stateMachineArn: STATE_MACHINE, name, status: 'SUCCEEDED', startDate }],
    });
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: EXECUTION,
      name,
      status: 'SUCCEEDED',
      startDate,
      input: '{}',
      output: JSON.stringify(runSummary([keyResult()], { reencryption: reencryption() })),
    });
    const { io, stdout } = captureIo({ KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });

    // When
    const code = await main(['status'], io);

    // Then
    expect(code).toBe(0);
    const lines = stdout().trimEnd().split('\n');
    expect(lines[1]).toMatch(/key\/1234abcd\S+ ROTATED +manual-/);
    expect(lines[2]).toMatch(/^ +re-encryption: 1 re-encrypted, 0 skipped, 1 failed \(action required\)$/);
    expect(lines[2]!.indexOf('re-encryption')).toBe(lines[0]!.indexOf('KEYS'));
  });

  it('describes each mode in one line', () => {
    expect(
      reencryptionCell(
        reencryption({
          mode: 'REPORT_ONLY',
          planned: [{ type: 'envelope', bucket: 'b-1', prefix: '', keyArn: K1_ARN, origin: 'finding' }],
          actionRequired: false,
        }),
      ),
    ).toBe('re-encryption: report only, 1 target(s) planned');
    expect(
      reencryptionCell(
        reencryption({
          mode: 'NONE',
          targets: [],
          refused: [
            {
              type: 'envelope',
              bucket: 'b-1',
              prefix: '',
              keyArn: null,
              origin: 'request',
              reason: 'BUCKET_NOT_ALLOWED',
              detail: 'x',
            },
          ],
        }),
      ),
    ).toBe('re-encryption: nothing run, 1 refused (action required)');
    const table = formatStatusTable(
      [
        {
          name: 'n',
          executionArn: EXECUTION,
          status: 'SUCCEEDED',
          startDate: null,
          stopDate: null,
          outcome: 'ROTATED',
          error: null,
          requestedKey: null,
          summary: runSummary([keyResult()]),
        },
      ],
      null,
      paint(false),
    );
    expect(table).not.toContain('re-encryption');
  });
});
