/** `kms-rotate reencrypt` (re-encrypt only, no rotation): what reaches the front door, and what is refused before any call. */
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { main } from '../../cli/main';
import { ACCOUNT, CALLER, captureIo, K1, STATE_MACHINE, testFrontDoor } from './helpers';

let door: Awaited<ReturnType<typeof testFrontDoor>>;
beforeAll(async () => {
  door = await testFrontDoor();
});
afterAll(() => door.close());

const sfn = mockClient(SFNClient);
const sts = mockClient(STSClient);
const EXECUTION = `arn:aws:states:us-east-1:${ACCOUNT}:execution:KmsIncidentRotation:manual-1234abcd-20250302T101542-9f3a`;

beforeEach(() => {
  sfn.reset();
  sts.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: CALLER, UserId: 'AROA:alice' });
});

test('sends reEncryptOnly with the exposure time and the targets; no break-glass', async () => {
  sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: new Date('2025-03-02T10:15:42Z') });
  const { io, stderr } = captureIo({ ...door.env, KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });

  const code = await main(
    [
      'reencrypt',
      '--key',
      K1,
      '--reason',
      'INC-9 restores done',
      '--exposed-at',
      '2025-03-01T08:00:00+01:00',
      '--target',
      's3-sse-kms:orders-data/exports/',
      '--target',
      'envelope:orders-archive',
      '--no-wait',
    ],
    io,
  );

  expect(code).toBe(0);
  expect(JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input.input!)).toEqual({
    keyId: K1,
    reason: 'INC-9 restores done',
    dryRun: false,
    breakGlass: false,
    requestedBy: CALLER,
    reEncrypt: {
      targets: [
        { type: 's3-sse-kms', bucket: 'orders-data', prefix: 'exports/' },
        { type: 'envelope', bucket: 'orders-archive', prefix: '' },
      ],
    },
    reEncryptOnly: true,
    exposedAt: '2025-03-01T07:00:00.000Z',
  });
  expect(stderr()).toContain('(re-encrypt only, no rotation)');
});

test.each([
  ['no --target', ['--exposed-at', '2025-03-01T08:00:00Z'], /required option '--target/],
  ['no --exposed-at', ['--target', 's3-sse-kms:orders-data'], /required option '--exposed-at/],
  [
    'a time without offset',
    ['--exposed-at', '2025-03-01T08:00:00', '--target', 's3-sse-kms:orders-data'],
    /--exposed-at: expected the ISO 8601 time/,
  ],
  [
    'a time in the future',
    ['--exposed-at', '2999-01-01T00:00:00Z', '--target', 's3-sse-kms:orders-data'],
    /--exposed-at: 2999-01-01T00:00:00Z is in the future/,
  ],
])('refuses %s before any call (exit 2)', async (_label, args, message) => {
  const { io, stderr } = captureIo({ ...door.env, KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });
  expect(await main(['reencrypt', '--key', K1, '--reason', 'x', ...args], io)).toBe(2);
  expect(stderr()).toMatch(message);
  expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 0);
});
