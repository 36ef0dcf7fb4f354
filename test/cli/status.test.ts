import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { main } from '../../cli/main';
import { ACCOUNT, captureIo, History, K1, K1_ARN, keyResult, runSummary, STATE_MACHINE } from './helpers';

const sfn = mockClient(SFNClient);
const cfn = mockClient(CloudFormationClient);
const K2_ARN = `arn:aws:kms:us-east-1:${ACCOUNT}:key/0987dcba-09fe-87dc-65ba-ab0987654321`;
const arnOf = (name: string) => `arn:aws:states:us-east-1:${ACCOUNT}:execution:KmsIncidentRotation:${name}`;

const executions = [
  {
    name: 'manual-1234abcd-20250302T120000-aaaa',
    status: 'RUNNING',
    start: '2025-03-02T12:00:00Z',
    input: { keyId: K1 },
  },
  {
    name: 'guardduty-5ec4b7b1a8d3f0e2c6a9b4d1',
    status: 'FAILED',
    start: '2025-03-02T11:00:00Z',
    summary: runSummary(
      [keyResult(), keyResult({ ref: K2_ARN, keyArn: K2_ARN, outcome: 'FAILED', reason: 'ACCESS_DENIED' })],
      { source: 'guardduty' },
    ),
  },
  {
    name: 'manual-0987dcba-20250302T100000-bbbb',
    status: 'SUCCEEDED',
    start: '2025-03-02T10:00:00Z',
    summary: runSummary([keyResult({ ref: K2_ARN, keyArn: K2_ARN, outcome: 'SKIPPED', reason: 'RECENTLY_ROTATED' })]),
  },
] as const;

beforeEach(() => {
  sfn.reset();
  cfn.reset();
  sfn.on(ListExecutionsCommand).resolves({
    executions: executions.map((e) => ({
      executionArn: arnOf(e.name),
      stateMachineArn: STATE_MACHINE,
      name: e.name,
      status: e.status,
      startDate: new Date(e.start),
    })),
  });
  for (const e of executions) {
    const summary = 'summary' in e ? e.summary : undefined;
    sfn.on(DescribeExecutionCommand, { executionArn: arnOf(e.name) }).resolves({
      executionArn: arnOf(e.name),
      name: e.name,
      status: e.status,
      startDate: new Date(e.start),
      input: JSON.stringify('input' in e ? e.input : {}),
      ...(e.status === 'SUCCEEDED' ? { output: JSON.stringify(summary) } : {}),
      ...(e.status === 'FAILED' ? { error: 'KeyRotationFailed' } : {}),
    });
    if (e.status === 'FAILED' && summary) {
      // Newest first, as the CLI asks (reverseOrder).
      const events = new History()
        .started({})
        .exited('Task', 'Notify', { request: {}, notification: { summary } }, 30)
        .failed('KeyRotationFailed', 'x', 31)
        .events.reverse();
      sfn.on(GetExecutionHistoryCommand, { executionArn: arnOf(e.name) }).resolves({ events });
    }
  }
});

describe('kms-rotate status', () => {
  it('prints an aligned table, newest first, with the outcome and every key', async () => {
    const { io, stdout } = captureIo({ KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });

    const code = await main(['status'], io);

    expect(code).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(ListExecutionsCommand, { stateMachineArn: STATE_MACHINE, maxResults: 10 });
    const lines = stdout().trimEnd().split('\n');
    expect(lines[0]).toMatch(/^STARTED \(UTC\) +STATUS +OUTCOME +KEYS +EXECUTION$/);
    expect(lines[1]).toMatch(
      /^2025-03-02 12:00:00 +RUNNING +\.\.\. +key\/1234abcd-12ab-34cd-56ef-1234567890ab \.\.\. +manual-1234abcd-20250302T120000-aaaa$/,
    );
    expect(lines[2]).toMatch(
      /^2025-03-02 11:00:00 +FAILED +FAILED +key\/1234abcd\S+ ROTATED +guardduty-5ec4b7b1a8d3f0e2c6a9b4d1$/,
    );
    expect(lines[3]).toMatch(/^ +key\/0987dcba\S+ FAILED ACCESS_DENIED$/);
    expect(lines[4]).toMatch(
      /^2025-03-02 10:00:00 +SUCCEEDED +SKIPPED +key\/0987dcba\S+ SKIPPED RECENTLY_ROTATED +manual-0987dcba/,
    );
    // Columns line up: each column starts at the same offset on every row.
    for (const column of ['STATUS', 'OUTCOME', 'KEYS', 'EXECUTION']) {
      const at = lines[0]!.indexOf(column);
      expect(lines[1]![at - 1]).toBe(' ');
      expect(lines[2]![at - 1]).toBe(' ');
      expect(lines[2]![at]).not.toBe(' ');
    }
    expect(lines[3]!.indexOf('key/')).toBe(lines[0]!.indexOf('KEYS'));
  });

  it('--key filters on the keys of each execution; --json prints an array', async () => {
    const { io, stdout } = captureIo({ KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });

    const code = await main(['status', '--key', '0987DCBA', '--json', '--limit', '5'], io);

    expect(code).toBe(0);
    const rows = JSON.parse(stdout());
    expect(rows.map((r: { name: string }) => r.name)).toEqual([
      'guardduty-5ec4b7b1a8d3f0e2c6a9b4d1',
      'manual-0987dcba-20250302T100000-bbbb',
    ]);
    expect(rows[0]).toMatchObject({
      status: 'FAILED',
      outcome: 'FAILED',
      executionArn: arnOf('guardduty-5ec4b7b1a8d3f0e2c6a9b4d1'),
      startDate: '2025-03-02T11:00:00.000Z',
    });
    expect(rows[0].summary.keys[1]).toMatchObject({ keyArn: K2_ARN, outcome: 'FAILED', reason: 'ACCESS_DENIED' });
    expect(rows[1]).toMatchObject({ status: 'SUCCEEDED', outcome: 'SKIPPED' });
  });

  it('--limit stops early; an empty state machine says so', async () => {
    const { io, stdout } = captureIo({ KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });
    expect(await main(['status', '--limit', '1', '--json'], io)).toBe(0);
    expect(JSON.parse(stdout())).toHaveLength(1);
    expect(sfn).toHaveReceivedCommandTimes(DescribeExecutionCommand, 1);

    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    const empty = captureIo({ KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });
    expect(await main(['status'], empty.io)).toBe(0);
    expect(empty.stdout()).toBe(`No executions of ${STATE_MACHINE} yet.\n`);
  });

  it('rejects a bad --limit (exit 2)', async () => {
    const { io, stderr } = captureIo({ KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });
    expect(await main(['status', '--limit', 'ten'], io)).toBe(2);
    expect(stderr()).toContain("option '--limit <n>' argument 'ten' is invalid. expected a whole number of at least 1");
  });

  it('a key filter that matches nothing', async () => {
    const { io, stdout } = captureIo({ KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });
    expect(await main(['status', '--key', K1_ARN.replace('1234abcd', 'ffffffff')], io)).toBe(0);
    expect(stdout()).toContain('No recent execution of');
  });

  it('prints the dashboard URL from the stack outputs it read the state machine from (not with --state-machine)', async () => {
    // Given
    const url =
      'https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards:name=ObservabilityDashboard-abc';
    cfn.on(DescribeStacksCommand, { StackName: 'KmsIncidentRotation' }).resolves({
      Stacks: [
        {
          StackName: 'KmsIncidentRotation',
          CreationTime: new Date(),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: [
            { OutputKey: 'StateMachineArn', OutputValue: STATE_MACHINE },
            { OutputKey: 'DashboardUrl', OutputValue: url },
          ],
        },
      ],
    });
    const fromStack = captureIo();
    const given = captureIo({ KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });

    // When
    const codes = [await main(['status'], fromStack.io), await main(['status'], given.io)];

    // Then
    expect(codes).toEqual([0, 0]);
    expect(fromStack.stdout().trimEnd().split('\n').pop()).toBe(`Dashboard: ${url}`);
    expect(given.stdout()).not.toContain('Dashboard:');
  });
});
