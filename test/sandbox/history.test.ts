import { HistoryTranslator } from '../../cli/live/history-events';
import { LocalEventTranslator } from '../../cli/live/local-events';
import type { TraceEvent } from '../../cli/live/events';
import type { RunEvent } from '../../local/runner/runner';
import { runDefinition } from '../../local/runner/run-definition';
import { HistoryRecorder, statesOf } from '../../local/sandbox/history';

/**
 * The sandbox's history must read, through the CLI's history reader, as the runner's own events
 * read through the local reader: same states, same failures and retries on the same states and keys.
 */
const LAMBDA = 'arn:aws:lambda:us-east-1:111122223333:function:flaky';
const definition = {
  StartAt: 'Keys',
  States: {
    Keys: {
      Type: 'Map',
      ItemsPath: '$.keys',
      Iterator: {
        StartAt: 'Flaky',
        States: {
          Flaky: {
            Type: 'Task',
            Resource: LAMBDA,
            Retry: [{ ErrorEquals: ['Boom'], IntervalSeconds: 1, MaxAttempts: 2, BackoffRate: 1 }],
            Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Gave up' }],
            Next: 'Done',
          },
          'Gave up': { Type: 'Pass', End: true },
          Done: { Type: 'Succeed' },
        },
      },
      Next: 'End',
    },
    End: { Type: 'Succeed' },
  },
};

async function run(): Promise<RunEvent[]> {
  const attempts = new Map<string, number>();
  const events: RunEvent[] = [];
  await runDefinition({
    definition,
    input: { keys: [{ ref: 'alias/a' }, { ref: 'alias/b' }] },
    tasks: {
      Flaky: async (input) => {
        const ref = (input as { ref: string }).ref;
        const n = (attempts.get(ref) ?? 0) + 1;
        attempts.set(ref, n);
        // alias/a fails once then works; alias/b always fails (retried twice, then caught).
        if (ref === 'alias/b' || n === 1) throw Object.assign(new Error(`boom ${n}`), { name: 'Boom' });
        return input;
      },
    },
    speed: 100,
    executionArn: 'arn:aws:states:us-east-1:111122223333:execution:M:history-test',
    executionName: 'history-test',
    onEvent: (e) => events.push(e),
  });
  return events;
}

const essentials = (t: TraceEvent[]) =>
  t.flatMap((e) =>
    e.kind === 'error' || e.kind === 'retried' || e.kind === 'entered' ? [`${e.kind} ${e.state} ${e.key ?? '-'}`] : [],
  );

describe('sandbox history (RunEvents as Step Functions history)', () => {
  it('failures and retries stay on their state and key, as the local trace shows them', async () => {
    const events = await run();
    const recorder = new HistoryRecorder(statesOf(definition), {
      roleArn: 'arn:aws:iam::111122223333:role/r',
      region: 'us-east-1',
    });
    for (const e of events) recorder.push(e);
    const history = recorder.events;

    const fromHistory = new HistoryTranslator();
    const viaHistory = history.flatMap((e) =>
      fromHistory.translate({ ...e, timestamp: new Date(e.timestamp * 1000) } as never),
    );
    const local = new LocalEventTranslator(100);
    const viaLocal = events.flatMap((e) => local.translate(e));

    expect(essentials(viaHistory).sort()).toEqual(essentials(viaLocal).sort());
    expect(essentials(viaHistory).filter((s) => s.startsWith('error'))).toEqual(
      expect.arrayContaining(['error Flaky alias/a', 'error Flaky alias/b']),
    );
    expect(essentials(viaHistory).filter((s) => s === 'retried Flaky alias/b')).toHaveLength(2);

    // Lambda task events as Step Functions records them for a function ARN resource.
    const types = history.map((e) => e.type);
    const expected = [
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionFailed',
      'LambdaFunctionSucceeded',
      'MapStateStarted',
      'MapIterationStarted',
    ];
    expect(types).toEqual(expect.arrayContaining(expected));
    expect(history.find((e) => e.type === 'MapStateStarted')).toMatchObject({
      mapStateStartedEventDetails: { length: 2 },
    });
    expect(history.find((e) => e.type === 'LambdaFunctionFailed')).toMatchObject({
      lambdaFunctionFailedEventDetails: { error: 'Boom' },
    });
    expect(history.at(-1)).toMatchObject({ type: 'ExecutionSucceeded' });
  });
});
