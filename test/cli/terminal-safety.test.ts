/**
 * Terminal safety and both machines: execution data (key ids, field names, reasons) full of
 * escape sequences prints harmlessly, and status lists manual and finding-triggered runs.
 */
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
import { clean, cleanJson, guardOutput } from '../../cli/sanitise';
import { ACCOUNT, captureIo, keyResult, runSummary, STATE_MACHINE } from './helpers';

const sfn = mockClient(SFNClient);
const cfn = mockClient(CloudFormationClient);
const ESC = '\u001b';
/** Clear the screen, home the cursor, a fake green "APPROVED" line, an OSC title, a bidi override. */
const HOSTILE = `${ESC}[2J${ESC}[H${ESC}[32mAPPROVED by security${ESC}[0m\r\n${ESC}]0;owned\u0007\u202Egnp.exe\u009b31m`;
const AUTOMATIC = `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:KmsIncidentRotation`;
const MANUAL = `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:KmsIncidentRotationManual`;
const arnOf = (machine: string, name: string) => `${machine.replace(':stateMachine:', ':execution:')}:${name}`;

/** True when `text` holds nothing a terminal would act on (the CLI's own colours aside: none here). */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const harmless = (text: string) => !/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(text);

beforeEach(() => {
  sfn.reset();
  cfn.reset();
});

describe('the sanitiser', () => {
  it('shows controls, ESC/CSI/OSC sequences and bidi overrides escaped, keeping the text visible', () => {
    expect(clean(HOSTILE)).toBe(
      '\\x1B[2J\\x1B[H\\x1B[32mAPPROVED by security\\x1B[0m\\x0D\\x0A\\x1B]0;owned\\x07\\u202Egnp.exe\\x9B31m',
    );
    expect(harmless(clean(HOSTILE))).toBe(true);
    expect(cleanJson({ [`key${ESC}[2J`]: [`a${ESC}b`] })).toEqual({ 'key\\x1B[2J': ['a\\x1Bb'] });
  });

  it("the output guard keeps only the CLI's own colour and erase-line sequences, newlines and tabs", () => {
    expect(guardOutput(`${ESC}[32mok${ESC}[39m\tx\n\r${ESC}[K`)).toBe(`${ESC}[32mok${ESC}[39m\tx\n\r${ESC}[K`);
    expect(guardOutput(`${ESC}]0;t\u0007${ESC}[2J\u202E`)).toBe('\\x1B]0;t\\x07\\x1B[2J\\u202E');
  });
});

describe('execution data full of escape sequences prints harmlessly', () => {
  it('watch: a key id and a field name with escape sequences', async () => {
    // Given: a manual input whose key id and an unknown field name are hostile, and a summary
    // whose key ref and detail are too.
    const name = 'manual-1234abcd-20250302T120000-aaaa';
    const summary = runSummary(
      [keyResult({ ref: `key/${HOSTILE}`, keyArn: null, outcome: 'SKIPPED', reason: 'NOT_FOUND', detail: HOSTILE })],
      { reason: HOSTILE },
    );
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: arnOf(MANUAL, name),
      name,
      status: 'SUCCEEDED',
      startDate: new Date('2025-03-02T12:00:00Z'),
      stopDate: new Date('2025-03-02T12:00:05Z'),
      input: JSON.stringify({ keyId: HOSTILE, reason: HOSTILE, [`field${HOSTILE}`]: HOSTILE }),
      output: JSON.stringify({ ...summary, [`extra${HOSTILE}`]: HOSTILE }),
    });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    const { io, stdout, stderr } = captureIo({ KMS_ROTATE_STATE_MACHINE: MANUAL });

    // When
    const code = await main(['watch', arnOf(MANUAL, name)], io);

    // Then
    expect(code).toBe(3);
    expect(stdout()).toContain('\\x1B[2J\\x1B[H\\x1B[32mAPPROVED by security');
    expect(harmless(stdout().replaceAll('\n', ''))).toBe(true);
    expect(harmless(stderr().replaceAll('\n', ''))).toBe(true);
  });

  it("status: the key named by a running execution's input", async () => {
    const name = 'manual-evil';
    sfn.on(ListExecutionsCommand).resolves({
      executions: [
        {
          executionArn: arnOf(MANUAL, name),
          stateMachineArn: MANUAL,
          name,
          status: 'RUNNING',
          startDate: new Date('2025-03-02T12:00:00Z'),
        },
      ],
    });
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: arnOf(MANUAL, name),
      name,
      status: 'RUNNING',
      startDate: new Date('2025-03-02T12:00:00Z'),
      input: JSON.stringify({ keyId: HOSTILE }),
    });
    const { io, stdout } = captureIo({ KMS_ROTATE_STATE_MACHINE: MANUAL });

    expect(await main(['status'], io)).toBe(0);
    expect(stdout()).toContain('\\x1B[2J');
    expect(harmless(stdout().replaceAll('\n', ''))).toBe(true);
  });
});

describe('status sees both machines', () => {
  it('lists manual and finding-triggered executions together, newest first', async () => {
    // Given
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'KmsIncidentRotation',
          CreationTime: new Date(),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: [
            { OutputKey: 'StateMachineArn', OutputValue: MANUAL },
            { OutputKey: 'ManualStateMachineArn', OutputValue: MANUAL },
            { OutputKey: 'AutomaticStateMachineArn', OutputValue: AUTOMATIC },
          ],
        },
      ],
    });
    const runs = [
      { machine: MANUAL, name: 'manual-1234abcd-20250302T100000-aaaa', start: '2025-03-02T10:00:00Z' },
      { machine: AUTOMATIC, name: 'guardduty-5ec4b7b1', start: '2025-03-02T11:00:00Z' },
    ];
    for (const r of runs) {
      sfn.on(ListExecutionsCommand, { stateMachineArn: r.machine }).resolves({
        executions: [
          {
            executionArn: arnOf(r.machine, r.name),
            stateMachineArn: r.machine,
            name: r.name,
            status: 'SUCCEEDED',
            startDate: new Date(r.start),
          },
        ],
      });
      sfn.on(DescribeExecutionCommand, { executionArn: arnOf(r.machine, r.name) }).resolves({
        executionArn: arnOf(r.machine, r.name),
        name: r.name,
        status: 'SUCCEEDED',
        startDate: new Date(r.start),
        input: '{}',
        output: JSON.stringify(runSummary([keyResult()])),
      });
    }
    const { io, stdout } = captureIo();

    // When
    expect(await main(['status'], io)).toBe(0);

    // Then
    const lines = stdout().trimEnd().split('\n');
    expect(lines[1]).toMatch(/guardduty-5ec4b7b1$/);
    expect(lines[2]).toMatch(/manual-1234abcd-20250302T100000-aaaa$/);
    expect(STATE_MACHINE).toBe(AUTOMATIC);
  });
});
