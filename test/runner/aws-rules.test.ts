/**
 * The runner refuses definitions and fails executions where Step Functions does, beyond what
 * aws-local-stepfunctions checks: the effective Parameters of a Pass or Task are a payload,
 * CreateStateMachine's definition rules (HeartbeatSeconds, States.ALL, Express callbacks, Map
 * Label), a ResultPath that cannot be applied, and a missed heartbeat matching States.Timeout.
 * Hand-written definitions keep each rule on its own.
 */
import type { DefinitionRunOptions } from '../../local/runner/runner';
import { runDefinition } from '../../local/runner/run-definition';
import { DefinitionRefusedError, PAYLOAD_LIMIT_BYTES } from '../../local/limits';
import { DISTRIBUTED_MAP_EVENTS } from '../../lib/limits';

const run = (definition: unknown, extra: Partial<DefinitionRunOptions> = {}) =>
  runDefinition({
    definition,
    input: {},
    tasks: {},
    executionArn: 'arn:aws:states:us-east-1:111122223333:execution:T:t',
    executionName: 't',
    ...extra,
  });

const FN = 'arn:aws:lambda:us-east-1:111122223333:function:f';
const task = (extra: Record<string, unknown> = {}) => ({ Type: 'Task', Resource: FN, End: true, ...extra });
const callbackTask = (extra: Record<string, unknown> = {}) => ({
  Type: 'Task',
  Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
  Parameters: { FunctionName: FN, Payload: { 'token.$': '$$.Task.Token' } },
  End: true,
  ...extra,
});
/** A Map state in Distributed mode whose children run `states` (first one first). */
const distributedMap = (
  executionType: 'STANDARD' | 'EXPRESS',
  states: Record<string, unknown>,
  fields: Record<string, unknown> = {},
) => ({
  Type: 'Map',
  ItemsPath: '$.items',
  ItemProcessor: {
    ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: executionType },
    StartAt: Object.keys(states)[0],
    States: states,
  },
  End: true,
  ...fields,
});
/** A state that goes on to its Next instead of ending. */
const withoutEnd = ({ End: _end, ...state }: Record<string, unknown>) => state;
const fails = (name: string) => async () => {
  throw Object.assign(new Error('failed'), { name });
};

describe('the effective Parameters are a payload: over 256 KiB is States.DataLimitExceeded even when ResultPath discards them', () => {
  // Two copies of a 140,000-byte string: the input fits, the parameters (280,000 bytes) do not.
  const half = 'p'.repeat(140_000);
  const doubling = { 'a.$': '$.s', 'b.$': '$.s' };

  test('Pass with Parameters and ResultPath null', async () => {
    const definition = {
      StartAt: 'P',
      States: { P: { Type: 'Pass', Parameters: doubling, ResultPath: null, End: true } },
    };
    const result = await run(definition, { input: { s: half } });
    expect(result).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded' });
    expect(result.cause).toMatch(/parameters of Pass state P/);
  });

  test('Task with Parameters and ResultPath null (not caught by States.ALL)', async () => {
    const definition = {
      StartAt: 'T',
      States: {
        T: task({ Parameters: doubling, ResultPath: null, Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Caught' }] }),
        Caught: { Type: 'Succeed' },
      },
    };
    const result = await run(definition, { input: { s: half }, tasks: { T: async () => 'small' } });
    expect(result).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded' });
    expect(result.events.some((e) => e.state?.name === 'Caught')).toBe(false);
  });

  test('under the limit the Pass runs as written: ResultPath null keeps the input, the trace shows a Pass', async () => {
    const definition = {
      StartAt: 'P',
      States: {
        P: { Type: 'Pass', Parameters: doubling, ResultPath: null, Next: 'Q' },
        Q: { Type: 'Pass', Parameters: doubling, End: true },
      },
    };
    const result = await run(definition, { input: { s: 'x' } });
    expect(result).toMatchObject({ status: 'SUCCEEDED', output: { a: 'x', b: 'x' } });
    expect(result.events.filter((e) => e.type === 'StateEntered').map((e) => e.state?.type)).toEqual(['Pass', 'Pass']);
    // ExecutionStarted, 2 x (PassStateEntered, PassStateExited), ExecutionSucceeded: no task events.
    expect(result.metrics.historyEvents).toBe(6);
    expect(result.metrics.largestPayloadBytes).toBeLessThan(PAYLOAD_LIMIT_BYTES);
  });

  test('a Pass with Result and Parameters outputs its Result', async () => {
    const definition = {
      StartAt: 'P',
      States: { P: { Type: 'Pass', Parameters: doubling, Result: { fixed: true }, ResultPath: '$.r', End: true } },
    };
    const result = await run(definition, { input: { s: 'x' } });
    expect(result).toMatchObject({ status: 'SUCCEEDED', output: { s: 'x', r: { fixed: true } } });
  });
});

describe('definitions CreateStateMachine refuses are refused before any state runs', () => {
  const refused = async (definition: unknown, pattern: RegExp, extra: Partial<DefinitionRunOptions> = {}) => {
    let called = false;
    const attempt = run(definition, {
      tasks: { T: async () => (called = true) },
      callbacks: { C: async () => (called = true) },
      ...extra,
    });
    await expect(attempt).rejects.toThrow(DefinitionRefusedError);
    await expect(attempt).rejects.toThrow(pattern);
    expect(called).toBe(false);
  };

  test.each([
    [10, 10],
    [20, 10],
  ])('HeartbeatSeconds %p with TimeoutSeconds %p', async (heartbeat, timeout) => {
    const definition = {
      StartAt: 'C',
      States: { C: callbackTask({ HeartbeatSeconds: heartbeat, TimeoutSeconds: timeout }) },
    };
    await refused(definition, /State C: HeartbeatSeconds .* smaller than TimeoutSeconds/);
  });

  test('States.ALL with another error in one retrier', async () => {
    const retry = [{ ErrorEquals: ['States.ALL', 'Boom'] }];
    await refused(
      { StartAt: 'T', States: { T: task({ Retry: retry }) } },
      /State T: Retry\[0\]: States.ALL must appear alone/,
    );
  });

  test('States.ALL in a catcher that is not the last', async () => {
    const catchers = [
      { ErrorEquals: ['States.ALL'], Next: 'A' },
      { ErrorEquals: ['Boom'], Next: 'A' },
    ];
    const definition = { StartAt: 'T', States: { T: task({ Catch: catchers }), A: { Type: 'Succeed' } } };
    await refused(definition, /State T: Catch\[0\]: States.ALL must appear in the last catcher/);
  });

  test('a .waitForTaskToken task in an Express execution', async () => {
    const definition = { StartAt: 'C', States: { C: callbackTask() } };
    await refused(definition, /State C: Express workflows do not support the .waitForTaskToken/, {
      executionType: 'EXPRESS',
    });
  });

  test('a .waitForTaskToken task in the EXPRESS children of a Distributed Map', async () => {
    const definition = {
      StartAt: 'M',
      States: {
        M: distributedMap('EXPRESS', { C: callbackTask() }),
      },
    };
    await refused(definition, /State C: Express workflows do not support/, { input: { items: [1] } });
  });

  test.each([['x'.repeat(41)], ['has space'], ['a/b'], ['semi;colon']])('a Map Label %p', async (label) => {
    const definition = {
      StartAt: 'M',
      States: { M: distributedMap('STANDARD', { T: task() }, { Label: label }) },
    };
    await refused(definition, /State M: the Map Label/, { input: { items: [1] } });
  });

  test('the same shapes within the rules run (a 40-character Label, HeartbeatSeconds below TimeoutSeconds)', async () => {
    const definition = {
      StartAt: 'M',
      States: {
        M: withoutEnd(distributedMap('STANDARD', { T: task() }, { Label: 'L'.repeat(40), Next: 'C' })),
        C: callbackTask({ HeartbeatSeconds: 9, TimeoutSeconds: 10 }),
      },
    };
    const result = await run(definition, {
      input: { items: [1] },
      tasks: { T: async () => 'ok' },
      callbacks: { C: async () => undefined },
      onTaskToken: (t, tokens) => setImmediate(() => tokens.sendTaskSuccess(t.token, { done: true })),
    });
    expect(result).toMatchObject({ status: 'SUCCEEDED', output: { done: true } });
  });
});

describe('a ResultPath that cannot be applied to the input fails the state with States.Runtime (no Catch handles it)', () => {
  const caughtInto = (resultPath: string) => ({
    StartAt: 'T',
    States: {
      T: task({
        Catch: [
          { ErrorEquals: ['Boom'], ResultPath: resultPath, Next: 'Caught' },
          { ErrorEquals: ['States.ALL'], Next: 'Other' },
        ],
      }),
      Caught: { Type: 'Succeed' },
      Other: { Type: 'Succeed' },
    },
  });

  test("a catcher's ResultPath $.a.b when $.a is a string", async () => {
    const result = await run(caughtInto('$.a.b'), { input: { a: 'text' }, tasks: { T: fails('Boom') } });
    expect(result).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(result.cause).toMatch(/state 'T'.*ResultPath '\$\.a\.b'.*'\$\.a' is "text"/);
    expect(result.events.some((e) => e.type === 'StateEntered' && e.state?.name === 'Other')).toBe(false);
  });

  test('the same catcher creates missing fields and keeps existing objects', async () => {
    const missing = await run(caughtInto('$.a.b'), { input: {}, tasks: { T: fails('Boom') } });
    expect(missing).toMatchObject({ status: 'SUCCEEDED', output: { a: { b: { Error: 'Boom' } } } });
    const existing = await run(caughtInto('$.a.b'), { input: { a: { kept: 1 } }, tasks: { T: fails('Boom') } });
    expect(existing).toMatchObject({ status: 'SUCCEEDED', output: { a: { kept: 1, b: { Error: 'Boom' } } } });
  });

  test("a state's own ResultPath into a number", async () => {
    const catchAll = [{ ErrorEquals: ['States.ALL'], Next: 'Other' }];
    const definition = {
      StartAt: 'T',
      States: { T: task({ ResultPath: '$.n.r', Catch: catchAll }), Other: { Type: 'Succeed' } },
    };
    const result = await run(definition, { input: { n: 3 }, tasks: { T: async () => 'result' } });
    expect(result).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(result.events.some((e) => e.type === 'StateEntered' && e.state?.name === 'Other')).toBe(false);
  });

  test("a state's ResultPath on an input that is not an object (the library's catchable error is not enough)", async () => {
    const catchAll = [{ ErrorEquals: ['States.ALL'], Next: 'Other' }];
    const definition = {
      StartAt: 'T',
      States: { T: task({ ResultPath: '$.r', Catch: catchAll }), Other: { Type: 'Succeed' } },
    };
    const result = await run(definition, { input: 'just a string', tasks: { T: async () => 'result' } });
    expect(result).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
  });
});

describe('a missed heartbeat is States.HeartbeatTimeout, which States.Timeout also matches', () => {
  const silent = { callbacks: { C: async () => undefined }, onTaskToken: () => undefined, speed: 1000 };
  const withCatch = (errors: string[][]) => ({
    StartAt: 'C',
    States: {
      C: callbackTask({
        TimeoutSeconds: 10_000,
        HeartbeatSeconds: 20,
        Catch: errors.map((e, i) => ({ ErrorEquals: e, ResultPath: '$.error', Next: `Caught${i}` })),
      }),
      ...Object.fromEntries(errors.map((_, i) => [`Caught${i}`, { Type: 'Succeed' }])),
    },
  });

  test('a catcher naming States.Timeout catches it; the error output keeps its own name', async () => {
    const result = await run(withCatch([['States.Timeout']]), silent);
    expect(result).toMatchObject({ status: 'SUCCEEDED', output: { error: { Error: 'States.HeartbeatTimeout' } } });
  });

  test('the first catcher that matches wins: States.HeartbeatTimeout listed first', async () => {
    const result = await run(withCatch([['States.HeartbeatTimeout'], ['States.Timeout']]), silent);
    expect(result.events.some((e) => e.type === 'StateEntered' && e.state?.name === 'Caught0')).toBe(true);
  });

  test('a retrier naming States.Timeout retries it', async () => {
    let attempts = 0;
    const retry = [{ ErrorEquals: ['States.Timeout'], MaxAttempts: 2 }];
    const definition = {
      StartAt: 'C',
      States: { C: callbackTask({ TimeoutSeconds: 10_000, HeartbeatSeconds: 20, Retry: retry }) },
    };
    const result = await run(definition, { ...silent, callbacks: { C: async () => void attempts++ } });
    expect(result).toMatchObject({ status: 'FAILED', error: 'States.HeartbeatTimeout' });
    expect(attempts).toBe(3);
  });

  test('a catcher naming another error does not catch it, nor States.TaskFailed (every error but a timeout); States.ALL does', async () => {
    expect(await run(withCatch([['Boom']]), silent)).toMatchObject({
      status: 'FAILED',
      error: 'States.HeartbeatTimeout',
    });
    expect(await run(withCatch([['States.TaskFailed']]), silent)).toMatchObject({
      status: 'FAILED',
      error: 'States.HeartbeatTimeout',
    });
    expect(await run(withCatch([['States.ALL']]), silent)).toMatchObject({
      status: 'SUCCEEDED',
      output: { error: { Error: 'States.HeartbeatTimeout' } },
    });
  });

  test('a task failure is still matched by States.TaskFailed', async () => {
    const catchers = [{ ErrorEquals: ['States.TaskFailed'], ResultPath: '$.error', Next: 'Caught' }];
    const definition = { StartAt: 'T', States: { T: task({ Catch: catchers }), Caught: { Type: 'Succeed' } } };
    expect(await run(definition, { tasks: { T: fails('Boom') } })).toMatchObject({
      status: 'SUCCEEDED',
      output: { error: { Error: 'Boom' } },
    });
  });
});

describe("a Distributed Map's events in the parent's history: the runner counts what lib/limits.ts budgets", () => {
  const distributed = (extra: Record<string, unknown> = {}, others: Record<string, unknown> = {}) => ({
    StartAt: 'M',
    States: {
      M: distributedMap('EXPRESS', { T: task() }, extra),
      ...others,
    },
  });

  test('succeeded: ExecutionStarted + 6 + ExecutionSucceeded, whatever the number of children', async () => {
    expect(DISTRIBUTED_MAP_EVENTS).toBe(6);
    const result = await run(distributed(), { input: { items: [1, 2, 3] }, tasks: { T: async () => 'ok' } });
    expect(result.status).toBe('SUCCEEDED');
    expect(result.metrics.historyEvents).toBe(8);
    expect(result.metrics.historyEvents).toBe(2 + DISTRIBUTED_MAP_EVENTS);
  });

  test("failed and caught: the same 6, then the catcher's state", async () => {
    const definition = distributed(
      { Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Caught' }] },
      { Caught: { Type: 'Succeed' } },
    );
    const result = await run(definition, { input: { items: [1, 2] }, tasks: { T: fails('Boom') } });
    expect(result.status).toBe('SUCCEEDED');
    expect(result.events.some((e) => e.type === 'MapRunFailed')).toBe(true);
    // ExecutionStarted + 6 + Caught (entered, exited) + ExecutionSucceeded
    expect(result.metrics.historyEvents).toBe(10);
    expect(result.metrics.historyEvents).toBe(2 + DISTRIBUTED_MAP_EVENTS + 2);
  });
});
