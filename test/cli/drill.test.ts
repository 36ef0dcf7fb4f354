import { CreateKeyCommand, KMSClient, ListKeyRotationsCommand, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { main } from '../../cli/main';
import { ACCOUNT, CALLER, captureIo, keyResult, rotationHistory, runSummary, STATE_MACHINE } from './helpers';


const kms = mockClient(KMSClient);
const sfn = mockClient(SFNClient);
const sts = mockClient(STSClient);
const DRILL_KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/0f0f0f0f-1111-2222-3333-444455556666`;
const EXECUTION = `arn:aws:states:us-east-1:${ACCOUNT}:execution:KmsIncidentRotation:drill-0f0f0f0f-20250302T101542-abcd`;

function workflowEndsWith(outcome: 'ROTATED' | 'SKIPPED') {
  const summary = runSummary([keyResult({ ref: DRILL_KEY, keyArn: DRILL_KEY, outcome, reason: outcome === 'SKIPPED' ? 'OPTED_OUT' : null })]);
  sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: new Date() });
  sfn.on(DescribeExecutionCommand).resolves({ executionArn: EXECUTION, status: 'SUCCEEDED', startDate: new Date(), output: JSON.stringify(summary) });
  sfn.on(GetExecutionHistoryCommand).resolves({ events: rotationHistory(summary).events });
}

beforeEach(() => {
  kms.reset();
  sfn.reset();
  sts.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: CALLER });
  kms.on(CreateKeyCommand).resolves({ KeyMetadata: { KeyId: '0f0f0f0f-1111-2222-3333-444455556666', Arn: DRILL_KEY } });
  kms.on(ScheduleKeyDeletionCommand).resolves({ KeyId: DRILL_KEY, PendingWindowInDays: 7 });
});

describe('kms-rotate drill', () => {
  it('PASS: a tagged throwaway key is rotated by the workflow (force), verified, and scheduled for deletion', async () => {
    workflowEndsWith('ROTATED');
    kms.on(ListKeyRotationsCommand).resolves({ Rotations: [{ KeyId: DRILL_KEY, RotationType: 'ON_DEMAND', RotationDate: new Date() }], Truncated: false });
    const { io, stdout } = captureIo({ KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });

    const code = await main(['drill'], io);

    expect(code).toBe(0);
    expect(kms).toHaveReceivedCommandWith(CreateKeyCommand, { KeySpec: 'SYMMETRIC_DEFAULT', Tags: [{ TagKey: 'kms-incident-rotation:drill', TagValue: 'true' }] });
    expect(kms.commandCalls(CreateKeyCommand)[0]!.args[0].input.Description).toMatch(/^kms-incident-rotation drill \d{4}-\d\d-\d\d/);
    const started = sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    expect(JSON.parse(started.input!)).toEqual({ keyId: DRILL_KEY, reason: 'drill', dryRun: false, force: true, requestedBy: CALLER });
    expect(started.name).toMatch(/^drill-0f0f0f0f-\d{8}T\d{6}-[0-9a-f]{4}$/);
    expect(kms).toHaveReceivedCommandWith(ScheduleKeyDeletionCommand, { KeyId: DRILL_KEY, PendingWindowInDays: 7 });
    expect(stdout()).toMatch(/PASS {2}ListKeyRotations shows an ON_DEMAND rotation/);
    expect(stdout()).toMatch(/Drill PASS\n$/);
  });

  it('FAIL (exit 1) when the key was not rotated, and the key is still scheduled for deletion', async () => {
    workflowEndsWith('SKIPPED');
    kms.on(ListKeyRotationsCommand).resolves({ Rotations: [], Truncated: false });
    const { io, stdout } = captureIo({ KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });

    expect(await main(['drill'], io)).toBe(1);
    expect(stdout()).toMatch(/FAIL {2}the workflow rotated the key: execution SUCCEEDED, key SKIPPED OPTED_OUT/);
    expect(stdout()).toMatch(/FAIL {2}ListKeyRotations shows an ON_DEMAND rotation/);
    expect(stdout()).toMatch(/Drill FAIL\n$/);
    expect(kms).toHaveReceivedCommandTimes(ScheduleKeyDeletionCommand, 1);
  });

  it('FAIL (exit 1) when the workflow cannot be started, still deleting the key', async () => {
    sfn.on(StartExecutionCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException', $metadata: {} }));
    const { io, stdout } = captureIo({ KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });

    expect(await main(['drill'], io)).toBe(1);
    expect(stdout()).toMatch(/FAIL {2}drill step: AWS denied states:StartExecution/);
    expect(kms).toHaveReceivedCommandWith(ScheduleKeyDeletionCommand, { KeyId: DRILL_KEY });
  });

  it('exit 4 when AWS refuses to create the key (nothing to clean up)', async () => {
    kms.on(CreateKeyCommand).rejects(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
    const { io, stderr } = captureIo({ KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });

    expect(await main(['drill'], io)).toBe(4);
    expect(stderr()).toContain('No AWS credentials found');
    expect(kms).toHaveReceivedCommandTimes(ScheduleKeyDeletionCommand, 0);
  });
});
