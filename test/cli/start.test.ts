import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { main } from '../../cli/main';
import { executionName } from '../../cli/commands/start';
import {
  ACCOUNT,
  CALLER,
  CALLER_KEYS,
  captureIo,
  K1,
  K1_ARN,
  keyResult,
  rotationHistory,
  runSummary,
  STATE_MACHINE,
  testFrontDoor,
} from './helpers';

// start reaches the workflow only through the front door (signed); the front door's
// StartExecution goes to the mocked SFNClient below.
let door: Awaited<ReturnType<typeof testFrontDoor>>;
beforeAll(async () => {
  door = await testFrontDoor();
});
afterAll(() => door.close());

const sfn = mockClient(SFNClient);
const sts = mockClient(STSClient);
const cfn = mockClient(CloudFormationClient);

const EXECUTION = `arn:aws:states:us-east-1:${ACCOUNT}:execution:KmsIncidentRotation:manual-1234abcd-20250302T101542-9f3a`;
const startDate = new Date('2025-03-02T10:15:42Z');

/** Step Functions answers for an execution that runs once and then ends as `summary` says. */
function execution(summary: ReturnType<typeof runSummary>, status: 'SUCCEEDED' | 'FAILED' = 'SUCCEEDED') {
  const history = rotationHistory(summary, status === 'SUCCEEDED' ? 'succeeded' : 'failed').events;
  sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate });
  sfn
    .on(DescribeExecutionCommand)
    .resolvesOnce({
      executionArn: EXECUTION,
      status: 'RUNNING',
      startDate,
      input: JSON.stringify({ keyId: K1, requestedBy: CALLER }),
    })
    .resolves({
      executionArn: EXECUTION,
      status,
      startDate,
      stopDate: new Date('2025-03-02T10:15:53Z'),
      input: JSON.stringify({ keyId: K1, requestedBy: CALLER }),
      ...(status === 'SUCCEEDED'
        ? { output: JSON.stringify(summary) }
        : { error: 'KeyRotationFailed', cause: 'At least one key ended FAILED.' }),
    });
  // First poll: the first half of the history; then all of it (the CLI keeps only new events).
  sfn
    .on(GetExecutionHistoryCommand)
    .resolvesOnce({ events: history.slice(0, 12) })
    .resolves({ events: history });
}

beforeEach(() => {
  sfn.reset();
  sts.reset();
  cfn.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: CALLER, UserId: 'AROA:alice' });
});

describe('kms-rotate start', () => {
  it('starts a manual request, follows it live and exits 0 when the key is ROTATED', async () => {
    // Given
    execution(runSummary([keyResult()]));
    const { io, stdout, stderr } = captureIo({ ...door.env, KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });

    // When
    const code = await main(['start', '--key', K1, '--reason', 'INC-1234 leaked credentials'], io);

    // Then
    expect(code).toBe(0);
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    const sent = sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    expect(sent.stateMachineArn).toBe(STATE_MACHINE);
    // requestedBy is what the front door read from the signed request, not what the CLI wrote.
    expect(JSON.parse(sent.input!)).toEqual({
      keyId: K1,
      reason: 'INC-1234 leaked credentials',
      dryRun: false,
      breakGlass: false,
      requestedBy: CALLER,
    });
    expect(sent.name).toMatch(/^manual-1234abcd-\d{8}T\d{6}-[0-9a-f]{4}$/);
    expect(sent.name!.length).toBeLessThanOrEqual(80);
    // The live trace: states as they start and end, per key, with elapsed times.
    const out = stdout();
    expect(out).toMatch(/00:01 {2}Assess +key\/1234abcd-12ab-34cd-56ef-1234567890ab {2}started/);
    expect(out).toMatch(/00:02 {2}Assess +key\/1234abcd-12ab-34cd-56ef-1234567890ab {2}-> ROTATE/);
    expect(out).toMatch(/Rotate +key\/1234abcd\S+ {2}-> rotation started/);
    expect(out).toMatch(/WaitForRotation +key\/1234abcd\S+ {2}waiting 5s/);
    expect(out).toMatch(/CheckRotation +key\/1234abcd\S+ {2}-> ROTATED/);
    // The summary is the notification text; the last line gives the exit code.
    expect(out).toContain('KMS incident rotation: ROTATED - 1 key: 1 rotated.');
    expect(out).toContain(`Requested by: ${CALLER}`);
    expect(out).toContain('On-demand rotations: 3 of 25 used, 22 left');
    expect(out).toMatch(/Execution SUCCEEDED: ROTATED {2}exit 0\n$/);
    // Each history event is shown once although the history was read twice.
    expect(out.match(/Assess +\S+ {2}started/g)).toHaveLength(1);
    expect(stderr()).toContain(`Started ${sent.name}`);
  });

  it('passes --dry-run and --force through and exits 0 for DRY_RUN', async () => {
    execution(
      runSummary([keyResult({ outcome: 'DRY_RUN', detail: 'Dry run: the key is eligible and would be rotated.' })], {
        dryRun: true,
      }),
    );
    const { io, stdout } = captureIo({ ...door.env, KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });

    const code = await main(['start', '--key', 'alias/orders', '--reason', 'check', '--dry-run', '--force'], io);

    expect(code).toBe(0);
    const sent = JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input.input!);
    // --force goes to the break-glass route, which marks the request.
    expect(sent).toMatchObject({ keyId: 'alias/orders', dryRun: true, breakGlass: true });
    expect(door.exchanges.at(-1)).toMatchObject({ route: 'breakGlass', statusCode: 200 });
    expect(sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input.name).toMatch(
      /^manual-alias-orders-\d{8}T\d{6}-[0-9a-f]{4}$/,
    );
    expect(stdout()).toContain('DRY RUN: nothing was changed.');
  });

  it('exits 3 when the key is SKIPPED', async () => {
    execution(
      runSummary([
        keyResult({ outcome: 'SKIPPED', reason: 'UNSUPPORTED_KEY_SPEC', detail: 'The key is RSA_2048/SIGN_VERIFY.' }),
      ]),
    );
    const { io, stdout } = captureIo({ ...door.env, KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });

    const code = await main(['start', '--key', K1_ARN, '--reason', 'x'], io);

    expect(code).toBe(3);
    expect(stdout()).toContain('Reason:      UNSUPPORTED_KEY_SPEC');
    expect(stdout()).toMatch(/Execution SUCCEEDED: SKIPPED {2}exit 3/);
  });

  it('exits 1 when the execution FAILED, reading the summary from the Notify state output', async () => {
    execution(
      runSummary([
        keyResult({
          outcome: 'FAILED',
          reason: 'ACCESS_DENIED',
          detail: null,
          onDemandRotationsUsed: null,
          onDemandRotationsRemaining: null,
        }),
      ]),
      'FAILED',
    );
    const { io, stdout } = captureIo({ ...door.env, KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });

    const code = await main(['start', '--key', K1, '--reason', 'x'], io);

    expect(code).toBe(1);
    expect(stdout()).toContain('KMS incident rotation: FAILED');
    expect(stdout()).toContain('Reason:      ACCESS_DENIED');
    expect(stdout()).toMatch(/Execution\s+FAILED KeyRotationFailed/);
    expect(stdout()).toMatch(/Execution FAILED: FAILED \(KeyRotationFailed\) {2}exit 1/);
  });

  it('with --no-wait prints the execution ARN and does not poll', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate });
    const { io, stdout } = captureIo({ ...door.env, KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });

    const code = await main(['start', '--key', K1, '--reason', 'x', '--no-wait'], io);

    expect(code).toBe(0);
    expect(stdout()).toBe(`${EXECUTION}\n`);
    expect(sfn).toHaveReceivedCommandTimes(DescribeExecutionCommand, 0);
  });

  it('with --json prints only the result JSON on stdout and the trace on stderr', async () => {
    execution(runSummary([keyResult()]));
    const { io, stdout, stderr } = captureIo({ ...door.env, KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });

    const code = await main(['start', '--key', K1, '--reason', 'x', '--json'], io);

    expect(code).toBe(0);
    const result = JSON.parse(stdout());
    expect(result).toMatchObject({
      executionArn: EXECUTION,
      status: 'SUCCEEDED',
      exitCode: 0,
      summary: { outcome: 'ROTATED' },
    });
    expect(stderr()).toMatch(/Assess +key\/1234abcd\S+ {2}-> ROTATE/);
  });

  it('finds the state machine in the KmsIncidentRotation stack outputs', async () => {
    cfn.on(DescribeStacksCommand, { StackName: 'KmsIncidentRotation' }).resolves({
      Stacks: [
        {
          StackName: 'KmsIncidentRotation',
          CreationTime: startDate,
          StackStatus: 'CREATE_COMPLETE',
          Outputs: [{ OutputKey: 'StateMachineArn', OutputValue: STATE_MACHINE }],
        },
      ],
    });
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate });
    const { io } = captureIo(door.env);

    const code = await main(['start', '--key', K1, '--reason', 'x', '--no-wait'], io);

    expect(code).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { stateMachineArn: STATE_MACHINE });
  });

  it('exits 2 with a how-to when the stack is not deployed', async () => {
    cfn.on(DescribeStacksCommand).rejects(
      Object.assign(new Error('Stack with id KmsIncidentRotation does not exist'), {
        name: 'ValidationError',
        $metadata: {},
      }),
    );
    const { io, stderr } = captureIo(door.env);

    const code = await main(['start', '--key', K1, '--reason', 'x'], io);

    expect(code).toBe(2);
    expect(stderr()).toContain('the stack KmsIncidentRotation does not exist in us-east-1');
    expect(stderr()).toContain('--state-machine');
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 0);
  });
});

describe('kms-rotate start: bad input never reaches AWS (exit 2, the problem named)', () => {
  it.each([
    ['empty reason', ['start', '--key', K1, '--reason', ''], /--reason: expected a non-empty string saying why/],
    ['blank reason', ['start', '--key', K1, '--reason', '   '], /--reason: expected a non-empty string saying why/],
    [
      'reason over 512 characters',
      ['start', '--key', K1, '--reason', 'x'.repeat(513)],
      /--reason: expected at most 512 characters/,
    ],
    [
      'not a key',
      ['start', '--key', 'not a key', '--reason', 'x'],
      /--key: expected a KMS key id, key ARN, alias name or alias ARN, got "not a key"/,
    ],
    ['unknown option', ['start', '--key', K1, '--reason', 'x', '--bogus'], /unknown option '--bogus'/],
    ['missing --key', ['start', '--reason', 'x'], /required option '--key <ref>' not specified/],
    [
      'bad --state-machine',
      ['start', '--key', K1, '--reason', 'x', '--state-machine', 'nope'],
      /--state-machine: expected a state machine ARN/,
    ],
    [
      'bad --region',
      ['start', '--key', K1, '--reason', 'x', '--region', 'Mars'],
      /expected an AWS Region such as us-east-1/,
    ],
    ['unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
  ])('%s', async (_label, argv, message) => {
    const { io, stderr } = captureIo({ ...door.env, KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });

    const code = await main(argv, io);

    expect(code).toBe(2);
    expect(stderr()).toMatch(message);
    expect(stderr()).not.toMatch(/\n\s+at /); // no stack trace
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 0);
  });

  it('--help shows examples and exits 0', async () => {
    const { io, stdout } = captureIo(door.env);
    expect(await main(['start', '--help'], io)).toBe(0);
    expect(stdout()).toContain('Examples:');
    expect(stdout()).toContain('kms-rotate start --key alias/orders');
  });
});

describe('kms-rotate start: AWS refusing (exit 4, person-readable)', () => {
  it('no credentials', async () => {
    sts.reset();
    sts
      .on(GetCallerIdentityCommand)
      .rejects(
        Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }),
      );
    const { io, stderr } = captureIo({ ...door.env, KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });

    const code = await main(['start', '--key', K1, '--reason', 'x'], io);

    expect(code).toBe(4);
    expect(stderr()).toContain('No AWS credentials found. Set AWS_PROFILE or run `aws sso login`');
    expect(stderr()).not.toMatch(/\n\s+at /);
  });

  it('an expired session', async () => {
    sts.reset();
    sts.on(GetCallerIdentityCommand).rejects(
      Object.assign(new Error('The security token included in the request is expired'), {
        name: 'ExpiredToken',
        $metadata: { httpStatusCode: 403 },
      }),
    );
    const { io, stderr } = captureIo({ ...door.env, KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });

    expect(await main(['start', '--key', K1, '--reason', 'x', '--profile', 'oncall'], io)).toBe(4);
    expect(stderr()).toContain(
      'Your AWS session has expired calling sts:GetCallerIdentity (ExpiredToken). Run `aws sso login --profile oncall`',
    );
  });

  it('the front door refusing (403) names the refusal: --force without the break-glass right', async () => {
    const onCallOnly = await testFrontDoor({
      people: {
        alice: {
          arn: CALLER,
          accessKeyId: 'AKIATESTALICE0000001',
          secretAccessKey: 'test-secret-of-alice-0000',
          breakGlass: false,
          sourceIdentity: 'alice',
        },
      },
    });
    try {
      const { io, stderr } = captureIo({ ...onCallOnly.env, KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });

      expect(await main(['start', '--key', K1, '--reason', 'x', '--force'], io)).toBe(4);
      expect(stderr()).toContain(
        `The front door refused start a forced (break-glass) run (AccessDenied): User: ${CALLER} is not authorized to perform: execute-api:Invoke`,
      );
      expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 0);
    } finally {
      await onCallOnly.close();
    }
  });

  it('a role session without a source identity is no person: refused by the API (exit 4), the CLI says what to configure', async () => {
    const plain = await testFrontDoor({
      people: {
        alice: {
          arn: CALLER,
          accessKeyId: CALLER_KEYS.AWS_ACCESS_KEY_ID,
          secretAccessKey: CALLER_KEYS.AWS_SECRET_ACCESS_KEY,
          breakGlass: false,
        },
      },
    });
    try {
      const { io, stderr } = captureIo({ ...plain.env, KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });

      expect(await main(['start', '--key', K1, '--reason', 'x'], io)).toBe(4);
      expect(stderr()).toContain(
        `The front door refused start the run (AccessDenied): User: ${CALLER} is not authorized to perform: execute-api:Invoke`,
      );
      expect(stderr()).toContain('with an explicit deny in a resource-based policy. The front door admits only people');
      expect(stderr()).toContain(
        'use a role session whose source identity equals its session name (docs/permissions.md)',
      );
      expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 0);
    } finally {
      await plain.close();
    }
  });

  it('the front door failing to start the execution is exit 4', async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error('Access denied'), { name: 'AccessDeniedException', $metadata: {} }));
    const { io, stderr } = captureIo({ ...door.env, KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });

    expect(await main(['start', '--key', K1, '--reason', 'x'], io)).toBe(4);
    expect(stderr()).toContain('The front door failed to start the run (HTTP 500) (InternalError)');
  });

  it('an unreachable endpoint', async () => {
    sts.reset();
    sts
      .on(GetCallerIdentityCommand)
      .rejects(Object.assign(new Error('getaddrinfo ENOTFOUND sts.us-east-1.amazonaws.com'), { code: 'ENOTFOUND' }));
    const { io, stderr } = captureIo({ ...door.env, KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });

    expect(await main(['start', '--key', K1, '--reason', 'x'], io)).toBe(4);
    expect(stderr()).toContain('Cannot reach AWS calling sts:GetCallerIdentity: ENOTFOUND');
  });

  it('an unexpected error is one line and a hint, without a stack trace', async () => {
    sts.reset();
    sts.on(GetCallerIdentityCommand).rejects(new TypeError('boom'));
    const { io, stderr } = captureIo({ ...door.env, KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });

    expect(await main(['start', '--key', K1, '--reason', 'x'], io)).toBe(1);
    expect(stderr()).toBe('kms-rotate: unexpected error: TypeError: boom\nrerun with KMS_ROTATE_DEBUG=1 for details\n');
  });
});

describe('executionName', () => {
  it('is short, readable and within the Step Functions rules', () => {
    const at = new Date('2025-03-02T10:15:42.123Z');
    expect(executionName(K1_ARN, at, 'abcd')).toBe('manual-1234abcd-20250302T101542-abcd');
    expect(executionName('mrk-1234abcd12ab34cd56ef1234567890ab', at, '0f0f')).toBe(
      'manual-mrk-1234abcd-20250302T101542-0f0f',
    );
    const long = executionName(`alias/${'a/b_c-'.repeat(40)}`, at, '1234');
    expect(long.length).toBeLessThanOrEqual(80);
    expect(long).toMatch(/^[A-Za-z0-9_-]+$/);
  });
});
