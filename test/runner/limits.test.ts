/**
 * The local runner fails where Step Functions fails: Wait values, payload and history limits,
 * task and heartbeat timeouts, unique task tokens, and Retry timing from the Retry fields.
 * Hand-written definitions keep each rule on its own.
 */
import type { DefinitionRunOptions, TaskTokens } from '../../local/runner/runner';
import type { CallbackTask } from '../../local/runner/run-contract';
import { runDefinition } from '../../local/runner/run-definition';
import { HISTORY_EVENT_LIMIT, PAYLOAD_LIMIT_BYTES } from '../../local/limits';

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
  Parameters: { FunctionName: FN, Payload: { 'token.$': '$$.Task.Token', 'item.$': '$' } },
  End: true,
  ...extra,
});

describe('Wait SecondsPath is validated as Step Functions does', () => {
  const waitThen = { StartAt: 'W', States: { W: { Type: 'Wait', SecondsPath: '$.s', End: true } } };

  test.each([[2.5], [-1], ['3'], [null], [undefined]])('%p fails the execution with States.Runtime', async (s) => {
    const result = await run(waitThen, { input: s === undefined ? {} : { s } });
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('States.Runtime');
    expect(result.cause).toMatch(/SecondsPath/);
  });

  test.each([[0], [3]])('%p waits (scaled) and succeeds', async (s) => {
    const started = Date.now();
    const result = await run(waitThen, { input: { s }, speed: 100 });
    expect(result.status).toBe('SUCCEEDED');
    expect(Date.now() - started).toBeGreaterThanOrEqual((s * 1000) / 100 - 2);
  });
});

describe('256 KiB per state payload: States.DataLimitExceeded, which no Catch handles', () => {
  const big = 'x'.repeat(PAYLOAD_LIMIT_BYTES);

  test('a task result over the limit fails the execution even with Catch States.ALL', async () => {
    const definition = {
      StartAt: 'T',
      States: { T: task({ Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Caught' }] }), Caught: { Type: 'Succeed' } },
    };
    const result = await run(definition, { tasks: { T: async () => ({ big }) } });
    expect(result).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded' });
    expect(result.events.some((e) => e.state?.name === 'Caught')).toBe(false);
  });

  test('a Pass state whose output is over the limit fails the execution', async () => {
    const definition = { StartAt: 'P', States: { P: { Type: 'Pass', Result: { big }, End: true } } };
    const result = await run(definition);
    expect(result).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded' });
  });

  test('multi-byte characters count as UTF-8 bytes, not characters', async () => {
    // 100,000 characters of 3 bytes each: 300,000 bytes.
    const definition = { StartAt: 'T', States: { T: task() } };
    const result = await run(definition, { tasks: { T: async () => ({ text: '€'.repeat(100_000) }) } });
    expect(result.error).toBe('States.DataLimitExceeded');
  });

  test('just under the limit passes, and the largest payload is reported', async () => {
    const definition = { StartAt: 'T', States: { T: task({ ResultPath: '$.r' }) } };
    const result = await run(definition, { tasks: { T: async () => 'y'.repeat(200_000) } });
    expect(result.status).toBe('SUCCEEDED');
    expect(result.metrics.largestPayloadBytes).toBeGreaterThanOrEqual(200_002);
    expect(result.metrics.largestPayloadBytes).toBeLessThanOrEqual(PAYLOAD_LIMIT_BYTES);
  });
});

describe('25,000 history events per execution', () => {
  // Pass (2 events) + Choice (2 events) per round.
  const loop = (rounds: number) => ({
    StartAt: 'Count',
    States: {
      Count: { Type: 'Pass', Parameters: { 'i.$': 'States.MathAdd($.i, 1)' }, Next: 'More' },
      More: { Type: 'Choice', Choices: [{ Variable: '$.i', NumericLessThan: rounds, Next: 'Count' }], Default: 'Done' },
      Done: { Type: 'Succeed' },
    },
  });

  test('a loop that needs more than 25,000 events fails', async () => {
    const result = await run(loop(6_500), { input: { i: 0 } });
    expect(result).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(result.cause).toMatch(/25000 events/);
    expect(result.metrics.historyEvents).toBeGreaterThanOrEqual(HISTORY_EVENT_LIMIT);
  });

  test('one that fits succeeds, with its events and transitions counted', async () => {
    const result = await run(loop(1_000), { input: { i: 0 } });
    expect(result.status).toBe('SUCCEEDED');
    // ExecutionStarted + 1,000 x (Count 2 + More 2) + Done (entered, exited) + ExecutionSucceeded
    expect(result.metrics.historyEvents).toBe(1 + 4_000 + 2 + 1);
    expect(result.metrics.stateTransitions).toBe(2_000 + 1);
  });

  test('a Lambda task adds its scheduled/started/succeeded events, each retry again', async () => {
    let calls = 0;
    const definition = {
      StartAt: 'T',
      States: { T: task({ Retry: [{ ErrorEquals: ['Boom'], IntervalSeconds: 1, MaxAttempts: 2 }] }) },
    };
    const result = await run(definition, {
      speed: 1000,
      tasks: {
        T: async () => {
          if (calls++ === 0) throw Object.assign(new Error('first'), { name: 'Boom' });
          return {};
        },
      },
    });
    expect(result.status).toBe('SUCCEEDED');
    // ExecutionStarted + TaskStateEntered + 2 x 3 Lambda events + TaskStateExited + ExecutionSucceeded
    expect(result.metrics.historyEvents).toBe(1 + 1 + 6 + 1 + 1);
    expect(result.metrics.stateTransitions).toBe(2);
  });
});

describe('callback tasks: unique tokens, TimeoutSeconds and HeartbeatSeconds (scaled)', () => {
  const started = async () => undefined;

  test('each task gets its own token; a token works once; unknown tokens are refused', async () => {
    const seen: CallbackTask[] = [];
    let tokens!: TaskTokens;
    const definition = {
      StartAt: 'M',
      States: {
        M: {
          Type: 'Map',
          ItemsPath: '$.items',
          ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, StartAt: 'C', States: { C: callbackTask() } },
          End: true,
        },
      },
    };
    const result = await run(definition, {
      input: { items: [1, 2, 3] },
      callbacks: { C: started },
      onTaskToken: (t, tt) => {
        seen.push(t);
        tokens = tt;
        setImmediate(() => tt.sendTaskSuccess(t.token, { ok: (t.payload as { item: number }).item }));
      },
    });
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toEqual([{ ok: 1 }, { ok: 2 }, { ok: 3 }]);
    expect(new Set(seen.map((t) => t.token)).size).toBe(3);
    expect((seen[0].payload as { token: string }).token).toBe(seen[0].token);
    expect(() => tokens.sendTaskSuccess(seen[0].token, {})).toThrow(
      expect.objectContaining({ name: 'TaskDoesNotExist' }),
    );
    expect(() => tokens.sendTaskFailure('made-up', 'X')).toThrow(expect.objectContaining({ name: 'InvalidToken' }));
  });

  test('sendTaskFailure fails the task with the error given (catchable)', async () => {
    const definition = {
      StartAt: 'C',
      States: {
        C: callbackTask({ Catch: [{ ErrorEquals: ['APPROVAL_DENIED'], Next: 'Denied' }] }),
        Denied: { Type: 'Succeed' },
      },
    };
    const result = await run(definition, {
      callbacks: { C: started },
      onTaskToken: (t, tt) => setImmediate(() => tt.sendTaskFailure(t.token, 'APPROVAL_DENIED', 'no')),
    });
    expect(result.status).toBe('SUCCEEDED');
    expect(result.events.some((e) => e.type === 'StateEntered' && e.state?.name === 'Denied')).toBe(true);
  });

  test('no answer: States.Timeout after TimeoutSeconds / speed; a late answer is TaskTimedOut', async () => {
    let late: (() => void) | undefined;
    const definition = { StartAt: 'C', States: { C: callbackTask({ TimeoutSeconds: 100 }) } };
    const t0 = Date.now();
    const result = await run(definition, {
      speed: 1000,
      callbacks: { C: started },
      onTaskToken: (t, tt) => (late = () => tt.sendTaskSuccess(t.token, {})),
    });
    expect(result).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(95);
    expect(() => late!()).toThrow(expect.objectContaining({ name: 'TaskTimedOut' }));
  });

  test('heartbeats keep a task alive; when they stop, States.HeartbeatTimeout', async () => {
    const definition = { StartAt: 'C', States: { C: callbackTask({ TimeoutSeconds: 10_000, HeartbeatSeconds: 50 }) } };
    const beating = await run(definition, {
      speed: 1000,
      callbacks: { C: started },
      onTaskToken: (t, tt) => {
        let beats = 0;
        const timer = setInterval(() => {
          if (++beats < 6) tt.sendTaskHeartbeat(t.token);
          else {
            clearInterval(timer);
            tt.sendTaskSuccess(t.token, { beats });
          }
        }, 20);
      },
    });
    expect(beating).toMatchObject({ status: 'SUCCEEDED', output: { beats: 6 } });

    const silent = await run(definition, { speed: 1000, callbacks: { C: started }, onTaskToken: () => undefined });
    expect(silent).toMatchObject({ status: 'FAILED', error: 'States.HeartbeatTimeout' });
  });
});

describe('Retry follows IntervalSeconds, BackoffRate, MaxDelaySeconds and JitterStrategy (scaled)', () => {
  const failing = (times: number, stamps: number[]) => async () => {
    stamps.push(Date.now());
    if (stamps.length <= times) throw Object.assign(new Error('again'), { name: 'Transient' });
    return {};
  };

  test('no jitter: 2 s, 4 s, then capped at 5 s, at speed 20 -> 100, 200, 250 ms', async () => {
    const stamps: number[] = [];
    const retrier = {
      ErrorEquals: ['Transient'],
      IntervalSeconds: 2,
      BackoffRate: 2,
      MaxDelaySeconds: 5,
      MaxAttempts: 3,
      JitterStrategy: 'NONE',
    };
    const result = await run(
      { StartAt: 'T', States: { T: task({ Retry: [retrier] }) } },
      { speed: 20, tasks: { T: failing(3, stamps) } },
    );
    expect(result.status).toBe('SUCCEEDED');
    const gaps = stamps.slice(1).map((t, i) => t - stamps[i]);
    [100, 200, 250].forEach((expected, i) => {
      expect(gaps[i]).toBeGreaterThanOrEqual(expected - 5);
      expect(gaps[i]).toBeLessThan(expected + 100);
    });
  });

  test('FULL jitter: every wait is at most the capped back-off', async () => {
    const stamps: number[] = [];
    const retrier = {
      ErrorEquals: ['Transient'],
      IntervalSeconds: 4,
      BackoffRate: 2,
      MaxDelaySeconds: 6,
      MaxAttempts: 4,
      JitterStrategy: 'FULL',
    };
    const result = await run(
      { StartAt: 'T', States: { T: task({ Retry: [retrier] }) } },
      { speed: 40, tasks: { T: failing(4, stamps) } },
    );
    expect(result.status).toBe('SUCCEEDED');
    const gaps = stamps.slice(1).map((t, i) => t - stamps[i]);
    [100, 150, 150, 150].forEach((cap, i) => expect(gaps[i]).toBeLessThan(cap + 100));
  });

  test('MaxAttempts runs out: the error stands', async () => {
    const stamps: number[] = [];
    const retrier = { ErrorEquals: ['Transient'], IntervalSeconds: 1, MaxAttempts: 2 };
    const result = await run(
      { StartAt: 'T', States: { T: task({ Retry: [retrier] }) } },
      { speed: 100, tasks: { T: failing(5, stamps) } },
    );
    expect(result).toMatchObject({ status: 'FAILED', error: 'Transient' });
    expect(stamps).toHaveLength(3);
  });
});

describe('a ResultSelector path that matches nothing fails the state, as Step Functions does', () => {
  const definition = {
    StartAt: 'T',
    States: {
      T: task({
        ResultSelector: { 'kept.$': '$.present', nested: { 'deep.$': '$.a.b' } },
        Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Caught' }],
      }),
      Caught: { Type: 'Succeed' },
    },
  };

  test('a missing field: States.Runtime, not caught by States.ALL', async () => {
    const result = await run(definition, { tasks: { T: async () => ({ present: 1, a: {} }) } });
    expect(result).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(result.cause).toMatch(/'\$\.a\.b' specified for the field 'deep\.\$' could not be found/);
    expect(result.events.some((e) => e.state?.name === 'Caught')).toBe(false);
  });

  test('present fields, null included, pass', async () => {
    const result = await run(definition, { tasks: { T: async () => ({ present: null, a: { b: 2 } }) } });
    expect(result).toMatchObject({ status: 'SUCCEEDED', output: { kept: null, nested: { deep: 2 } } });
  });
});
