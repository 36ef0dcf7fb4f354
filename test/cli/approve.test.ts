import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { main } from '../../cli/main';
import { ACCOUNT, CALLER, captureIo } from './helpers';


const sfn = mockClient(SFNClient);
const sts = mockClient(STSClient);
const TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAe1+example+token==';

beforeEach(() => {
  sfn.reset();
  sts.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: CALLER });
});

describe('kms-rotate approve / deny', () => {
  it('approve sends the decision and who made it', async () => {
    sfn.on(SendTaskSuccessCommand).resolves({});
    const { io, stdout } = captureIo();

    expect(await main(['approve', TOKEN], io)).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: TOKEN, output: JSON.stringify({ decision: 'approve', by: CALLER }) });
    expect(stdout()).toContain(`Approved by ${CALLER}`);
  });

  it('deny sends APPROVAL_DENIED with who and why', async () => {
    sfn.on(SendTaskFailureCommand).resolves({});
    const { io } = captureIo();

    expect(await main(['deny', TOKEN, '--reason', 'key is being retired'], io)).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, {
      taskToken: TOKEN,
      error: 'APPROVAL_DENIED',
      cause: JSON.stringify({ by: CALLER, reason: 'key is being retired' }),
    });
  });

  it.each([
    ['TaskDoesNotExist', /not \(or no longer\) waiting for a decision/],
    ['InvalidToken', /not valid \(InvalidToken\)/],
    ['TaskTimedOut', /has expired \(TaskTimedOut\)/],
  ])('%s -> exit 2 with a clear message', async (name, message) => {
    sfn.on(SendTaskSuccessCommand).rejects(Object.assign(new Error(name), { name, $metadata: {} }));
    const { io, stderr } = captureIo();

    expect(await main(['approve', TOKEN], io)).toBe(2);
    expect(stderr()).toMatch(message);
  });

  it('deny needs a reason; a token is required (exit 2, nothing sent)', async () => {
    const blank = captureIo();
    expect(await main(['deny', TOKEN, '--reason', ' '], blank.io)).toBe(2);
    expect(blank.stderr()).toContain('--reason: expected a non-empty string');

    const missing = captureIo();
    expect(await main(['approve'], missing.io)).toBe(2);
    expect(missing.stderr()).toContain("missing required argument 'token'");
    expect(sfn.calls()).toHaveLength(0);
  });
});
