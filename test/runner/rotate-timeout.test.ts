/**
 * A Rotate function that times out after RotateKeyOnDemand (Lambda reports `Sandbox.Timedout`)
 * takes the synthesized definition's "it may have rotated" path: the consistency wait, then a
 * Rotate that confirms instead of rotating again. Run offline on the synthesized state machine.
 */
import { simulate } from '../../local/simulate';
import { parseWorld } from '../../local/world';
import * as rotateModule from '../../lambdas/rotate/handler';
import { guardDutyFinding } from '../workflow/helpers';

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const KEY_ID = '77777777-7777-7777-7777-777777777777';
const KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/${KEY_ID}`;

afterEach(() => jest.restoreAllMocks());

test.each([['Sandbox.Timedout'], ['Lambda.Unknown']])(
  'Rotate ends with %s after calling KMS: one rotation, confirmed, the key ROTATED',
  async (errorName) => {
    // Given: the first Rotate does its work (RotateKeyOnDemand), then fails as a timed-out
    // function does. The runner keeps the handlers it loaded at its first run, so this test takes
    // a fresh copy of it, which loads the (spied) handler.
    let simulateIsolated!: typeof simulate;
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- jest.isolateModules needs a synchronous require
      simulateIsolated = require('../../local/simulate').simulate;
    });
    const original = rotateModule.handler;
    jest.spyOn(rotateModule, 'handler').mockImplementationOnce(async (event: unknown, context: unknown) => {
      await (original as (e: unknown, c: unknown) => Promise<unknown>)(event, context);
      throw Object.assign(new Error('Task timed out after 30.00 seconds'), { name: errorName });
    });
    const world = parseWorld(
      { account: ACCOUNT, region: REGION, keys: [{ id: KEY_ID, rotationSeconds: 20 }] },
      'one key',
    );

    // When
    const run = await simulateIsolated({
      world,
      input: guardDutyFinding([KEY_ARN], `rotate-timeout-${errorName}`),
      speed: 200,
    });

    // Then
    const entered = (name: string) =>
      run.events.filter((e) => e.type === 'StateEntered' && e.state?.name === name).length;
    expect(entered('RotateTimedOut')).toBe(1);
    expect(entered('ClassifyFailure')).toBe(0);
    expect(run.calls.filter((c) => c.operation === 'RotateKeyOnDemand' && !c.error)).toHaveLength(1);
    expect(run.result.keys).toEqual([expect.objectContaining({ keyArn: KEY_ARN, outcome: 'ROTATED' })]);
  },
  60_000,
);
