import {
  CreateKeyCommand,
  KMSClient,
  ListKeyRotationsCommand,
  ScheduleKeyDeletionCommand,
  TagResourceCommand,
} from '@aws-sdk/client-kms';
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
import { DrillKeys } from '../../lambdas/drill/handler';
import { drillKeyPolicy } from '../../lambdas/domain/drill';
import { signedPost } from '../../local/front-door-client';
import {
  ACCOUNT,
  CALLER,
  captureIo,
  keyResult,
  rotationHistory,
  runSummary,
  STATE_MACHINE,
  testFrontDoor,
} from './helpers';

const DRILL_ROLE = `arn:aws:iam::${ACCOUNT}:role/FrontDoorDrillRole`;
/** The drill component's DRILL# records, in memory. */
const drills = new Map<string, { createdBy: string; createdAt: string; status: string; openSk: string }>();
let door: Awaited<ReturnType<typeof testFrontDoor>>;
beforeAll(async () => {
  // The drill component as deployed (its KMS calls go to the mocked KMSClient), behind the front door.
  const component = new DrillKeys(
    new KMSClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
    {
      openDrill: async () => undefined,
      completeDrill: async (intent, keyArn) =>
        void drills.set(keyArn, {
          createdBy: intent.createdBy,
          createdAt: intent.createdAt,
          status: 'CREATED',
          openSk: intent.intentId,
        }),
      getDrill: async (keyArn) => drills.get(keyArn) ?? null,
      markDrillDeleted: async (keyArn) =>
        void drills.set(keyArn, { ...drills.get(keyArn)!, status: 'SCHEDULED_FOR_DELETION' }),
      countDrill: async () => true,
      openDrillsBefore: async () => [],
      closeOpenDrill: async () => undefined,
    },
    { partition: 'aws', region: 'us-east-1', account: ACCOUNT, roleArn: DRILL_ROLE, dailyCap: 3 },
  );
  door = await testFrontDoor({ drills: component });
});
afterAll(() => door.close());

const kms = mockClient(KMSClient);
const sfn = mockClient(SFNClient);
const sts = mockClient(STSClient);
const DRILL_KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/0f0f0f0f-1111-2222-3333-444455556666`;
const EXECUTION = `arn:aws:states:us-east-1:${ACCOUNT}:execution:KmsIncidentRotation:drill-0f0f0f0f-20250302T101542-abcd`;

function workflowEndsWith(outcome: 'ROTATED' | 'SKIPPED') {
  const summary = runSummary([
    keyResult({ ref: DRILL_KEY, keyArn: DRILL_KEY, outcome, reason: outcome === 'SKIPPED' ? 'OPTED_OUT' : null }),
  ]);
  sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: new Date() });
  sfn
    .on(DescribeExecutionCommand)
    .resolves({ executionArn: EXECUTION, status: 'SUCCEEDED', startDate: new Date(), output: JSON.stringify(summary) });
  sfn.on(GetExecutionHistoryCommand).resolves({ events: rotationHistory(summary).events });
}

beforeEach(() => {
  kms.reset();
  sfn.reset();
  drills.clear();
  sts.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: CALLER });
  kms.on(CreateKeyCommand).resolves({ KeyMetadata: { KeyId: '0f0f0f0f-1111-2222-3333-444455556666', Arn: DRILL_KEY } });
  kms.on(ScheduleKeyDeletionCommand).resolves({ KeyId: DRILL_KEY, PendingWindowInDays: 7 });
});

describe('kms-rotate drill', () => {
  it('PASS: the drill component creates a tagged throwaway key, the workflow rotates it, it is verified and scheduled for deletion', async () => {
    workflowEndsWith('ROTATED');
    kms.on(ListKeyRotationsCommand).resolves({
      Rotations: [{ KeyId: DRILL_KEY, RotationType: 'ON_DEMAND', RotationDate: new Date() }],
      Truncated: false,
    });
    const { io, stdout } = captureIo({ ...door.env, KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });

    const code = await main(['drill'], io);

    expect(code).toBe(0);
    // Tagged after creation, through the key policy: tag-on-create would need kms:TagResource on every key.
    expect(kms).toHaveReceivedCommandWith(CreateKeyCommand, { KeySpec: 'SYMMETRIC_DEFAULT' });
    expect(kms.commandCalls(CreateKeyCommand)[0]!.args[0].input.Tags).toBeUndefined();
    expect(JSON.parse(kms.commandCalls(CreateKeyCommand)[0]!.args[0].input.Policy!)).toEqual(
      drillKeyPolicy('aws', ACCOUNT, DRILL_ROLE),
    );
    expect(kms).toHaveReceivedCommandWith(TagResourceCommand, {
      KeyId: DRILL_KEY,
      Tags: [{ TagKey: 'kms-incident-rotation:drill', TagValue: 'true' }],
    });
    expect(kms.commandCalls(CreateKeyCommand)[0]!.args[0].input.Description).toMatch(
      /^kms-incident-rotation drill [0-9a-f-]{36} \d{4}-\d\d-\d\d for alice /,
    );
    const started = sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    // A fresh key needs no force: the drill goes through the on-call route.
    expect(JSON.parse(started.input!)).toEqual({
      keyId: DRILL_KEY,
      reason: 'drill',
      dryRun: false,
      breakGlass: false,
      requestedBy: CALLER,
    });
    expect(started.name).toMatch(/^drill-0f0f0f0f-\d{8}T\d{6}-[0-9a-f]{4}$/);
    expect(kms).toHaveReceivedCommandWith(ScheduleKeyDeletionCommand, { KeyId: DRILL_KEY, PendingWindowInDays: 7 });
    expect(drills.get(DRILL_KEY)).toMatchObject({ createdBy: CALLER, status: 'SCHEDULED_FOR_DELETION' });
    expect(stdout()).toMatch(/PASS {2}ListKeyRotations shows an ON_DEMAND rotation/);
    expect(stdout()).toMatch(/Drill PASS\n$/);
  });

  it('FAIL (exit 1) when the key was not rotated, and the key is still scheduled for deletion', async () => {
    workflowEndsWith('SKIPPED');
    kms.on(ListKeyRotationsCommand).resolves({ Rotations: [], Truncated: false });
    const { io, stdout } = captureIo({ ...door.env, KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });

    expect(await main(['drill'], io)).toBe(1);
    expect(stdout()).toMatch(/FAIL {2}the workflow rotated the key: execution SUCCEEDED, key SKIPPED OPTED_OUT/);
    expect(stdout()).toMatch(/FAIL {2}ListKeyRotations shows an ON_DEMAND rotation/);
    expect(stdout()).toMatch(/Drill FAIL\n$/);
    expect(kms).toHaveReceivedCommandTimes(ScheduleKeyDeletionCommand, 1);
  });

  it('FAIL (exit 1) when the workflow cannot be started, still deleting the key', async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException', $metadata: {} }));
    const { io, stdout } = captureIo({ ...door.env, KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });

    expect(await main(['drill'], io)).toBe(1);
    expect(stdout()).toMatch(/FAIL {2}drill step: The front door failed to start the drill run \(HTTP 500\)/);
    expect(kms).toHaveReceivedCommandWith(ScheduleKeyDeletionCommand, { KeyId: DRILL_KEY });
  });

  it('exit 4 when the drill component cannot create the key (nothing to clean up)', async () => {
    kms
      .on(CreateKeyCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException', $metadata: {} }));
    const { io, stderr } = captureIo({ ...door.env, KMS_ROTATE_STATE_MACHINE: STATE_MACHINE });

    expect(await main(['drill'], io)).toBe(4);
    expect(stderr()).toContain('The front door failed to create a drill key (HTTP 500)');
    expect(kms).toHaveReceivedCommandTimes(ScheduleKeyDeletionCommand, 0);
  });

  it('the drill component never deletes a key it did not create, even one tagged as a drill', async () => {
    kms.on(ScheduleKeyDeletionCommand).resolves({});

    const answer = await signedPost(
      door.env.KMS_ROTATE_FRONT_DOOR_URL,
      'drillCleanup',
      { keyId: '0f0f0f0f-1111-2222-3333-444455556666' },
      {},
      { accessKeyId: door.env.AWS_ACCESS_KEY_ID, secretAccessKey: door.env.AWS_SECRET_ACCESS_KEY },
      'us-east-1',
    );

    expect(answer).toMatchObject({ status: 403, body: { error: 'NotADrillKey' } });
    expect(kms).toHaveReceivedCommandTimes(ScheduleKeyDeletionCommand, 0);
  });
});
