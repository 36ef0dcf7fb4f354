import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { main } from '../../cli/main';
import type { ApprovalRecord } from '../../lambdas/adapters/ledger/ledger-approvals';
import { ACCOUNT, CALLER, captureIo, testFrontDoor } from './helpers';
import { MemoryApprovals } from '../memory-approvals';

const sfn = mockClient(SFNClient);
const sts = mockClient(STSClient);
const ID = 'ap-0123456789abcdef0123';
const TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAe1+example+token==';
const BOB = `arn:aws:sts::${ACCOUNT}:assumed-role/OnCall/bob`;

/** The front door's approvals (the ledger's APPROVAL# items), in memory. */
const memory = new MemoryApprovals();
const approvals = memory.items;
const pending = (over: Partial<ApprovalRecord> = {}): ApprovalRecord => ({
  approvalId: ID,
  token: TOKEN,
  requestedBy: BOB,
  keyArn: `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
  executionArn: `arn:aws:states:us-east-1:${ACCOUNT}:execution:KmsIncidentRotationManual:manual-x`,
  expiresAt: new Date(Date.now() + 3600_000).toISOString(),
  status: 'PENDING',
  ...over,
});

let door: Awaited<ReturnType<typeof testFrontDoor>>;
beforeAll(async () => {
  door = await testFrontDoor({
    approvals: memory,
  });
});
afterAll(() => door.close());

beforeEach(() => {
  sfn.reset();
  sts.reset();
  approvals.clear();
  sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: CALLER });
});

describe('kms-rotate approve / deny (through the front door, by approval id)', () => {
  it('approve: the front door sends the decision with the verified caller; the token never leaves the stack', async () => {
    approvals.set(ID, pending());
    sfn.on(SendTaskSuccessCommand).resolves({});
    const { io, stdout } = captureIo(door.env);

    expect(await main(['approve', ID, '--reason', 'owner agreed'], io)).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, {
      taskToken: TOKEN,
      output: expect.stringMatching(
        /^\{"decision":"approve","by":"[^"]+","reason":"owner agreed","approvalId":"ap-0123456789abcdef0123","answerId":"[0-9a-f]{32}"\}$/,
      ),
    });
    expect(JSON.parse(String(sfn.commandCalls(SendTaskSuccessCommand)[0].args[0].input.output)).by).toBe(CALLER);
    expect(stdout()).toContain(`Approved by ${CALLER}`);
    expect(approvals.get(ID)).toMatchObject({ status: 'APPROVED', answeredBy: CALLER });
  });

  it('deny sends APPROVAL_DENIED with who and why', async () => {
    approvals.set(ID, pending());
    sfn.on(SendTaskFailureCommand).resolves({});
    const { io } = captureIo(door.env);

    expect(await main(['deny', ID, '--reason', 'key is being retired'], io)).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, {
      taskToken: TOKEN,
      error: 'APPROVAL_DENIED',
      cause: JSON.stringify({ by: CALLER, reason: 'key is being retired' }),
    });
  });

  it('two-person rule: the requester cannot approve their own manual run (exit 4, nothing sent)', async () => {
    approvals.set(ID, pending({ requestedBy: CALLER }));
    const { io, stderr } = captureIo(door.env);

    expect(await main(['approve', ID], io)).toBe(4);
    expect(stderr()).toContain('(TwoPersonRule): two-person rule:');
    expect(stderr()).toContain('cannot also approve it; another on-call engineer must');
    expect(sfn.calls()).toHaveLength(0);
    expect(approvals.get(ID)?.status).toBe('PENDING');
  });

  it.each([
    ['an unknown id', () => undefined, /no approval ap-0123456789abcdef0123/],
    [
      'an answered approval',
      () => approvals.set(ID, pending({ status: 'DENIED', answeredBy: BOB })),
      /already answered \(DENIED by .*bob\)/,
    ],
    [
      'an expired approval',
      () => approvals.set(ID, pending({ expiresAt: new Date(Date.now() - 1000).toISOString() })),
      /expired at .*the approval window closed/,
    ],
    [
      'a task that no longer waits',
      () => {
        approvals.set(ID, pending());
        sfn
          .on(SendTaskSuccessCommand)
          .rejects(Object.assign(new Error('gone'), { name: 'TaskDoesNotExist', $metadata: {} }));
      },
      /no longer waiting \(TaskDoesNotExist\)/,
    ],
  ])('%s -> exit 2 with a clear message', async (_name, prepare, message) => {
    prepare();
    const { io, stderr } = captureIo(door.env);

    expect(await main(['approve', ID], io)).toBe(2);
    expect(stderr()).toMatch(message);
  });

  it('deny needs a reason; an approval id is required (exit 2, nothing sent)', async () => {
    const before = door.exchanges.length;
    const blank = captureIo(door.env);
    expect(await main(['deny', ID, '--reason', ' '], blank.io)).toBe(2);
    expect(blank.stderr()).toContain('--reason: expected a non-empty string');

    const missing = captureIo(door.env);
    expect(await main(['approve'], missing.io)).toBe(2);
    expect(missing.stderr()).toContain("missing required argument 'approval-id'");

    const token = captureIo(door.env);
    expect(await main(['approve', TOKEN], token.io)).toBe(2);
    expect(token.stderr()).toContain('<approval-id>: expected the approval id from the notification');
    expect(sfn.calls()).toHaveLength(0);
    expect(door.exchanges.slice(before)).toHaveLength(0);
  });
});
