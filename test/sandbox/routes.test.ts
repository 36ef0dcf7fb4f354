import { connect } from 'node:net';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeKeyCommand, KMSClient, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import {
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { signedPost } from '../../local/front-door-client';
import { HistoryTranslator } from '../../cli/live/history-events';
import { TEST_CREDENTIALS } from '../../local/iam';
import { startSandbox, type Sandbox } from '../../local/sandbox';
import { loadWorldFile } from '../../local/world';

const world = loadWorldFile(join(__dirname, 'approval-world.json'));
const ALICE = world.people.alice;
const BILLING = 'alias/billing';
let box: Sandbox;

/** SDK client settings for a person: exactly what their env file gives the SDK. */
function as(person: string) {
  const env = box.envOf(person);
  const credentials = { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY };
  return { endpoint: env.AWS_ENDPOINT_URL, region: env.AWS_REGION, credentials, maxAttempts: 1 };
}

async function outputs(): Promise<Record<string, string>> {
  const out = await new CloudFormationClient(as('alice')).send(
    new DescribeStacksCommand({ StackName: 'KmsIncidentRotation' }),
  );
  return Object.fromEntries((out.Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey!, o.OutputValue!]));
}

/** A manual run through the front door (the only way people start one), as `kms-rotate start` sends it. */
async function startThroughFrontDoor(key: string, name: string): Promise<string> {
  const body = { keyId: key, reason: 'route test', name };
  const answer = await signedPost(
    (await outputs()).FrontDoorUrl,
    'request',
    {},
    body,
    as('alice').credentials,
    world.region,
  );
  if (answer.status !== 200) throw new Error(`front door answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return String(answer.body.executionArn);
}

async function untilEnded(sfn: SFNClient, executionArn: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (d.status !== 'RUNNING') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${executionArn} still running`);
}

beforeAll(async () => {
  box = await startSandbox({ world, speed: 50 });
}, 30_000);
afterAll(() => box?.close());

describe('sandbox routes, with the real SDK clients', () => {
  it('STS GetCallerIdentity names the signing person', async () => {
    const out = await new STSClient(as('alice')).send(new GetCallerIdentityCommand({}));
    expect(out).toMatchObject({ Account: world.account, Arn: ALICE.arn });
    expect(out.UserId).toMatch(/^AROA[A-Z0-9]{17}:alice$/);
  });

  it('refuses a request signed with the wrong secret or an unknown key', async () => {
    const wrongSecret = {
      ...as('alice'),
      credentials: { accessKeyId: ALICE.accessKeyId, secretAccessKey: 'not-alices-secret-at-all' },
    };
    await expect(new STSClient(wrongSecret).send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
      name: 'SignatureDoesNotMatch',
    });
    const unknown = {
      ...as('alice'),
      credentials: { accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'whatever-secret-000' },
    };
    await expect(
      new SFNClient(unknown).send(new ListExecutionsCommand({ stateMachineArn: (await outputs()).StateMachineArn })),
    ).rejects.toMatchObject({
      name: 'UnrecognizedClientException',
    });
  });

  it('CloudFormation DescribeStacks: the stack outputs the CLI reads, FrontDoorUrl on the sandbox', async () => {
    const o = await outputs();
    expect(o.StateMachineArn).toBe(
      `arn:aws:states:${world.region}:${world.account}:stateMachine:KmsIncidentRotationManual`,
    );
    expect(o.ManualStateMachineArn).toBe(o.StateMachineArn);
    expect(o.AutomaticStateMachineArn).toBe(
      `arn:aws:states:${world.region}:${world.account}:stateMachine:KmsIncidentRotation`,
    );
    expect(o.FrontDoorUrl).toBe(`${box.endpoint}/v1/`);
    expect(JSON.parse(o.Settings)).toMatchObject({ rotationBudget: 25, optOutTag: 'kms-incident-rotation' });
    expect(o.LedgerTableName).toBe('kms-incident-rotation-ledger');
    // alice's on-call policy names this stack only: another name is refused, not looked up.
    await expect(
      new CloudFormationClient(as('alice')).send(new DescribeStacksCommand({ StackName: 'NoSuchStack' })),
    ).rejects.toMatchObject({
      name: 'AccessDenied',
      message: expect.stringContaining(
        'cloudformation:DescribeStacks on resource: arn:aws:cloudformation:us-east-1:111122223333:stack/NoSuchStack/*',
      ),
    });
    const admin = { ...as('alice'), credentials: TEST_CREDENTIALS };
    await expect(
      new CloudFormationClient(admin).send(new DescribeStacksCommand({ StackName: 'NoSuchStack' })),
    ).rejects.toMatchObject({
      name: 'ValidationError',
      message: 'Stack with id NoSuchStack does not exist',
    });
  });

  it('KMS goes to the stand-in through the same endpoint', async () => {
    const out = await new KMSClient(as('bob')).send(new DescribeKeyCommand({ KeyId: BILLING }));
    expect(out.KeyMetadata?.KeyId).toBe('0987dcba-09fe-87dc-65ba-ab0987654321');
  });

  it('KMS writes are refused to people: ScheduleKeyDeletion is AccessDeniedException (the on-call policy reads only)', async () => {
    const deletion = new ScheduleKeyDeletionCommand({
      KeyId: '0987dcba-09fe-87dc-65ba-ab0987654321',
      PendingWindowInDays: 7,
    });
    await expect(new KMSClient(as('carol')).send(deletion)).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
  });

  it('an on-call person cannot StartExecution directly (only through the front door)', async () => {
    const sfn = new SFNClient(as('alice'));
    const direct = new StartExecutionCommand({
      stateMachineArn: (await outputs()).StateMachineArn,
      input: JSON.stringify({ keyId: BILLING, reason: 'x' }),
    });
    await expect(sfn.send(direct)).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
  });

  it('Step Functions: Describe, List and a paged History of a front-door run, in the API shapes', async () => {
    const sfn = new SFNClient(as('bob'));
    const name = `manual-routes-${Date.now()}`;
    const executionArn = await startThroughFrontDoor(BILLING, name);
    expect(executionArn).toBe(
      `arn:aws:states:${world.region}:${world.account}:execution:KmsIncidentRotationManual:${name}`,
    );
    await untilEnded(sfn, executionArn);

    const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(d).toMatchObject({
      executionArn,
      name,
      status: 'SUCCEEDED',
      stateMachineArn: (await outputs()).StateMachineArn,
    });
    expect(d.startDate).toBeInstanceOf(Date);
    expect(d.stopDate!.getTime()).toBeGreaterThanOrEqual(d.startDate!.getTime());
    expect(JSON.parse(d.input!)).toMatchObject({ keyId: BILLING, requestedBy: ALICE.arn });
    expect(JSON.parse(d.output!)).toMatchObject({ outcome: 'ROTATED' });

    const machine = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: d.stateMachineArn }));
    const roleArn = expect.stringMatching(/^arn:aws:iam::111122223333:role\//);
    expect(machine).toMatchObject({ name: 'KmsIncidentRotationManual', status: 'ACTIVE', type: 'STANDARD', roleArn });
    expect(JSON.parse(machine.definition!)).toMatchObject({ StartAt: 'Intake' });

    const list = await sfn.send(new ListExecutionsCommand({ stateMachineArn: d.stateMachineArn }));
    expect(list.executions?.find((e) => e.executionArn === executionArn)).toMatchObject({ name, status: 'SUCCEEDED' });

    // Paged three at a time, following nextToken, as the CLI pages.
    const events: HistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 3, nextToken }));
      expect(page.events!.length).toBeLessThanOrEqual(3);
      events.push(...page.events!);
      nextToken = page.nextToken;
    } while (nextToken);
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
    expect(events[0]).toMatchObject({ type: 'ExecutionStarted', previousEventId: 0 });
    expect(events.at(-1)).toMatchObject({ type: 'ExecutionSucceeded' });
    for (const e of events.slice(1)) expect(e.previousEventId).toBeLessThan(e.id!);
    expect(events[0].timestamp).toBeInstanceOf(Date);
    const types = events.map((e) => e.type);
    const expected = [
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionSucceeded',
      'MapStateEntered',
      'MapIterationStarted',
      'WaitStateEntered',
      'ChoiceStateExited',
    ];
    expect(types).toEqual(expect.arrayContaining(expected));
    const assess = events.find((e) => e.type === 'TaskStateEntered' && e.stateEnteredEventDetails?.name === 'Assess');
    const scheduled = events.find((e) => e.type === 'LambdaFunctionScheduled' && e.previousEventId === assess?.id);
    expect(scheduled?.lambdaFunctionScheduledEventDetails?.resource).toMatch(
      /^arn:aws:lambda:us-east-1:111122223333:function:/,
    );

    // What the CLI's history reader makes of it: every state entered, the wait, the end.
    const translator = new HistoryTranslator();
    const trace = events.flatMap((e) => translator.translate(e));
    const entered = trace.flatMap((t) => (t.kind === 'entered' ? [t.state] : []));
    expect(entered).toEqual(expect.arrayContaining(['Intake', 'Assess', 'Rotate', 'CheckRotation', 'Notify']));
    expect(trace.some((t) => t.kind === 'wait' && t.state === 'WaitForRotation' && t.key === BILLING)).toBe(true);
    expect(trace.at(-1)).toMatchObject({ kind: 'succeeded' });

    const newestFirst = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 1, includeExecutionData: false }),
    );
    expect(newestFirst.events![0]).toMatchObject({ type: 'ExecutionSucceeded', executionSucceededEventDetails: {} });
    expect(newestFirst.events![0].executionSucceededEventDetails?.output).toBeUndefined();
  });

  it('Step Functions validates like the API: tokens of other listings, maxResults out of range, unknown executions and task tokens', async () => {
    const sfn = new SFNClient(as('bob'));
    const { StateMachineArn } = await outputs();
    const executionArn = (await sfn.send(new ListExecutionsCommand({ stateMachineArn: StateMachineArn })))
      .executions![0].executionArn!;
    const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1 }));
    await expect(
      sfn.send(new ListExecutionsCommand({ stateMachineArn: StateMachineArn, nextToken: page.nextToken })),
    ).rejects.toMatchObject({ name: 'InvalidToken' });
    await expect(sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1001 }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
    await expect(
      sfn.send(
        new DescribeExecutionCommand({
          executionArn: `${StateMachineArn.replace(':stateMachine:', ':execution:')}:nope`,
        }),
      ),
    ).rejects.toMatchObject({ name: 'ExecutionDoesNotExist' });
    await expect(sfn.send(new DescribeExecutionCommand({ executionArn: 'not-an-arn' }))).rejects.toMatchObject({
      name: 'InvalidArn',
    });
    await expect(
      sfn.send(new SendTaskSuccessCommand({ taskToken: 'AAAA-not-a-token-of-this-account', output: '{}' })),
    ).rejects.toMatchObject({ name: 'InvalidToken' });
    await expect(
      sfn.send(
        new SendTaskHeartbeatCommand({ taskToken: 'local-RequestApproval-00000000-0000-0000-0000-000000000000' }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidToken' });
  });

  it('a request without a signature is refused', async () => {
    const res = await fetch(box.endpoint, { method: 'POST', body: 'Action=GetCallerIdentity&Version=2011-06-15' });
    expect(res.status).toBe(403);
  });

  it('close() closes every port it announced', async () => {
    await box.close();
    const refused = (port: number) =>
      new Promise<string>((resolve) => {
        const socket = connect(port, '127.0.0.1');
        socket.once('connect', () => (socket.destroy(), resolve('open')));
        socket.once('error', (e: NodeJS.ErrnoException) => resolve(String(e.code)));
      });
    expect(box.ports).toHaveLength(4);
    for (const port of box.ports) expect(await refused(port)).toBe('ECONNREFUSED');
  });
});
