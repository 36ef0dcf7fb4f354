import { DescribeExecutionCommand, GetExecutionHistoryCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { main } from '../../cli/main';
import { ACCOUNT, captureIo, History, K1_ARN, keyResult, keyTask, runSummary, STATE_MACHINE } from './helpers';

const sfn = mockClient(SFNClient);
const NAME = 'manual-1234abcd-20250302T101542-9f3a';
const EXECUTION = `arn:aws:states:us-east-1:${ACCOUNT}:execution:KmsIncidentRotation:${NAME}`;
const startDate = new Date('2025-03-02T10:15:42Z');
const K2_ARN = `arn:aws:kms:us-east-1:${ACCOUNT}:key/0987dcba-09fe-87dc-65ba-ab0987654321`;

beforeEach(() => sfn.reset());

/** Two keys: K1 rotates after a throttled first attempt; K2 fails with AccessDenied in Assess. */
function twoKeyHistory() {
  const request = { keys: [K1_ARN, K2_ARN], source: 'guardduty' };
  const k2 = { ref: K2_ARN, request };
  const summary = runSummary(
    [
      keyResult(),
      keyResult({
        ref: K2_ARN,
        keyArn: K2_ARN,
        aliases: [],
        outcome: 'FAILED',
        reason: 'ACCESS_DENIED',
        detail: null,
        onDemandRotationsUsed: null,
        onDemandRotationsRemaining: null,
      }),
    ],
    {
      source: 'guardduty',
      findingId: 'f-1',
      findingType: 'Exfiltration:S3/AnomalousBehavior',
      severity: 8,
      severityLabel: 'HIGH',
      reason: 'Anomalous S3 data access',
    },
  );
  const h = new History()
    .started({ source: 'aws.guardduty' })
    .task('Intake', {}, { request }, 0, 1)
    .entered('Map', 'ForEachKey', { request }, 1)
    .task('Assess', { ref: K1_ARN, request }, keyTask(), 1, 2)
    .entered('Task', 'Rotate', keyTask(), 3)
    .lambdaScheduled(3)
    .lambdaFailed(
      'ThrottlingException',
      JSON.stringify({ errorType: 'ThrottlingException', errorMessage: 'Rate exceeded' }),
      3,
    )
    .lambdaScheduled(5)
    .exited('Task', 'Rotate', keyTask({ next: 'POLL' }), 6)
    .entered('Task', 'Assess', k2, 6)
    .lambdaScheduled(6)
    .lambdaFailed(
      'AccessDeniedException',
      JSON.stringify({ errorType: 'AccessDeniedException', errorMessage: 'not allowed kms:DescribeKey' }),
      6,
    )
    .exited(
      'Task',
      'Assess',
      { ...k2, error: { Error: 'AccessDeniedException', Cause: '{"errorMessage":"not allowed kms:DescribeKey"}' } },
      6,
    )
    .entered('Pass', 'Failed_ACCESS_DENIED', { ...k2 }, 6)
    .exited('Pass', 'Failed_ACCESS_DENIED', { ...k2, failure: { outcome: 'FAILED', reason: 'ACCESS_DENIED' } }, 6)
    .task(
      'CheckRotation',
      keyTask({ next: 'POLL' }),
      keyTask({ next: 'DONE', outcome: 'ROTATED', detail: 'Rotated on demand.' }),
      20,
      21,
    )
    .exited('Map', 'ForEachKey', { request, results: [{}, {}] }, 21)
    .task('Notify', { request }, { request, notification: { summary, anyFailed: true } }, 21, 22)
    .entered('Fail', 'KeysFailed', {}, 22)
    .failed('KeyRotationFailed', 'At least one key ended FAILED.', 22);
  return { events: h.events, summary };
}

describe('kms-rotate watch', () => {
  it('follows an execution by name: paginated history, retries and caught errors, then the summary (exit 1)', async () => {
    // Given
    const { events } = twoKeyHistory();
    sfn.on(DescribeExecutionCommand).resolvesOnce({ executionArn: EXECUTION, status: 'RUNNING', startDate }).resolves({
      executionArn: EXECUTION,
      status: 'FAILED',
      startDate,
      error: 'KeyRotationFailed',
      cause: 'At least one key ended FAILED.',
    });
    // Poll 1: a page and a next page. Poll 2: the whole history in two pages.
    sfn
      .on(GetExecutionHistoryCommand)
      .resolvesOnce({ events: events.slice(0, 5), nextToken: 't1' })
      .resolvesOnce({ events: events.slice(5, 10) })
      .resolvesOnce({ events: events.slice(0, 20), nextToken: 't2' })
      .resolves({ events: events.slice(20) });
    const { io, stdout } = captureIo({ KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });

    // When
    const code = await main(['watch', NAME], io);

    // Then
    expect(code).toBe(1);
    expect(sfn).toHaveReceivedCommandWith(DescribeExecutionCommand, { executionArn: EXECUTION });
    expect(sfn).toHaveReceivedCommandWith(GetExecutionHistoryCommand, {
      executionArn: EXECUTION,
      reverseOrder: false,
      nextToken: 't1',
    });
    const out = stdout();
    expect(out).toMatch(/00:05 {2}Rotate +key\/1234abcd\S+ {2}retried after ThrottlingException \(retry 1\)/);
    expect(out).toMatch(/Assess +key\/0987dcba\S+ {2}-> error AccessDeniedException - not allowed kms:DescribeKey/);
    expect(out).toMatch(/Failed_ACCESS_DENIED +key\/0987dcba\S+ {2}FAILED ACCESS_DENIED/);
    expect(out).toMatch(/KeysFailed +failing the execution/);
    expect(out).toMatch(/Execution +FAILED KeyRotationFailed/);
    // Every event once, although the second poll read the history again from the start.
    expect(out.match(/Intake +started/g)).toHaveLength(1);
    expect(out).toContain('KMS incident rotation: FAILED - 2 keys: 1 rotated, 1 failed.');
    expect(out).toContain('Finding id:   f-1');
    expect(out).toMatch(/exit 1\n$/);
  });

  it('exits 0 for an execution that already SUCCEEDED, given by ARN (no state machine lookup)', async () => {
    const summary = runSummary([keyResult()]);
    sfn
      .on(DescribeExecutionCommand)
      .resolves({ executionArn: EXECUTION, status: 'SUCCEEDED', startDate, output: JSON.stringify(summary) });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: new History().started({}).succeeded(summary, 30).events });
    const { io, stdout } = captureIo();

    expect(await main(['watch', EXECUTION], io)).toBe(0);
    expect(stdout()).toMatch(/00:30 {2}Execution +SUCCEEDED/);
    expect(stdout()).toMatch(/Execution SUCCEEDED: ROTATED {2}exit 0/);
  });

  it('exits 2 for an execution that does not exist', async () => {
    sfn
      .on(DescribeExecutionCommand)
      .rejects(Object.assign(new Error('Execution Does Not Exist'), { name: 'ExecutionDoesNotExist', $metadata: {} }));
    const { io, stderr } = captureIo();

    expect(await main(['watch', EXECUTION], io)).toBe(2);
    expect(stderr()).toContain(`No execution ${EXECUTION} (ExecutionDoesNotExist)`);
  });

  it('exits 2 for something that is neither an execution name nor an ARN', async () => {
    const { io, stderr } = captureIo({ KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });

    expect(await main(['watch', 'has spaces/and:colons'], io)).toBe(2);
    expect(stderr()).toContain('execution: expected an execution name');
    expect(sfn).toHaveReceivedCommandTimes(DescribeExecutionCommand, 0);
  });

  it('on a terminal, shows a spinner with the next check on stderr and clears it', async () => {
    const summary = runSummary([keyResult()]);
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce({ executionArn: EXECUTION, status: 'RUNNING', startDate })
      .resolves({ executionArn: EXECUTION, status: 'SUCCEEDED', startDate, output: JSON.stringify(summary) });
    sfn.on(GetExecutionHistoryCommand).resolves({
      events: new History().started({}).entered('Wait', 'WaitForRotation', keyTask({ waitSeconds: 40 }), 1).events,
    });
    const { io, stderr, stdout } = captureIo({ NO_COLOR: '1' }, { stderrIsTTY: true, isTTY: true });

    expect(await main(['watch', EXECUTION], io)).toBe(0);
    expect(stderr()).toMatch(/⠋ RUNNING \d+:\d\d(:\d\d)?, next check in \d+s/);
    expect(stderr()).toContain('\r\u001b[K');
    // NO_COLOR: no escape sequences in the results.
    expect(stdout()).not.toContain('\u001b[');
  });
});
