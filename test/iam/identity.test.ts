import { setTimeout as sleep } from 'node:timers/promises';
import { DescribeKeyCommand } from '@aws-sdk/client-kms';
import { kmsClient } from '../../lambdas/adapters/kms-client';
import { createAccountIam, type Principal } from '../../local/iam';
import { withInvocationEnvironment } from '../../local/iam/invocation-env';
import { startStandIn, type StandIn } from '../../local/standin';
import { synthTemplate } from '../../local/template';
import { parseSettings } from '../../lib/settings/settings';
import { parseWorld } from '../../local/world';

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const template = synthTemplate(parseSettings({}, 'test'), { account: ACCOUNT, region: REGION });
const world = parseWorld({ account: ACCOUNT, region: REGION, keys: [{ id: KEY_ID }] }, 'identity test');
const iam = createAccountIam({ template, world, account: ACCOUNT, region: REGION });

let s: StandIn;
beforeAll(async () => {
  s = await startStandIn(world, { iam });
});
afterAll(() => s.close());

/** What the runner gives an invocation: the stand-in's endpoint and the function role's credentials. */
function invocation(role: Principal, times: number, pauseMs: number): Promise<void> {
  const env = {
    AWS_REGION: REGION,
    AWS_ENDPOINT_URL: s.endpoint,
    AWS_ACCESS_KEY_ID: role.accessKeyId,
    AWS_SECRET_ACCESS_KEY: role.secretAccessKey,
    AWS_SESSION_TOKEN: '',
  };
  return withInvocationEnvironment(env, async () => {
    for (let i = 0; i < times; i++) {
      // The handlers' own client factory: one client per Region, endpoint and credentials.
      await kmsClient(REGION).send(new DescribeKeyCommand({ KeyId: KEY_ID }));
      await sleep(pauseMs);
    }
  });
}

describe('handler identity in one process', () => {
  it('two functions with different roles running concurrently: each request is signed by its own role', async () => {
    const assess = iam.principals.functionRole('assess');
    const rotate = iam.principals.functionRole('rotate');
    expect(assess.accessKeyId).not.toBe(rotate.accessKeyId);
    const first = s.calls.length;
    await Promise.all([invocation(assess, 6, 7), invocation(rotate, 6, 5)]);
    const callers = s.calls.slice(first).map((c) => c.caller);
    expect(callers.filter((c) => c === assess.arn)).toHaveLength(6);
    expect(callers.filter((c) => c === rotate.arn)).toHaveLength(6);
    // Interleaved, not one invocation after the other.
    expect(callers.slice(0, 6).every((c) => c === callers[0])).toBe(false);
    expect(s.calls.slice(first).every((c) => !c.error)).toBe(true);
  });

  it("outside an invocation, process.env is the process's own (an invocation's variables do not leak)", async () => {
    const before = process.env.AWS_ACCESS_KEY_ID;
    await invocation(iam.principals.functionRole('assess'), 1, 0);
    expect(process.env.AWS_ACCESS_KEY_ID).toBe(before);
    await withInvocationEnvironment({ ONLY_INSIDE: 'x' }, async () => {
      process.env.WRITTEN_INSIDE = 'y';
      expect(process.env.ONLY_INSIDE).toBe('x');
      expect('ONLY_INSIDE' in process.env).toBe(true);
      expect(Object.keys(process.env)).toContain('ONLY_INSIDE');
    });
    expect(process.env.ONLY_INSIDE).toBeUndefined();
    expect(process.env.WRITTEN_INSIDE).toBeUndefined();
  });
});
