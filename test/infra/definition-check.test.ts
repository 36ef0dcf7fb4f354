/**
 * What CreateStateMachine would refuse is refused at synth: lib/definition-check.ts on hand-made
 * definitions (one rule each), its hook on both state machines of the real stack, and the
 * synthesized definitions' own shape: one retrier per error name, Rotate's "it may have rotated"
 * catcher naming every way a Lambda timeout surfaces, every Task waiting longer than its function.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { definitionProblems, MAP_LABEL_MAX_LENGTH } from '../../lib/definition-check';
import { KmsIncidentRotationStack } from '../../lib/stack';
import { parseSettings } from '../../lib/settings/settings';
import { synthesizedDefinition } from '../../lib/synthesized-definition';
import { extractWorkflow } from '../../local/template';

const env = { account: '111122223333', region: 'us-east-1' };
const FN = 'arn:aws:lambda:us-east-1:111122223333:function:f';
const task = (extra: Record<string, unknown> = {}) => ({ Type: 'Task', Resource: FN, End: true, ...extra });
const machine = (state: Record<string, unknown>, others: Record<string, unknown> = {}) => ({
  StartAt: 'S',
  States: { S: state, ...others },
});
const distributedMap = (
  fields: Record<string, unknown>,
  child: Record<string, unknown> = task(),
  executionType = 'STANDARD',
) => ({
  Type: 'Map',
  ItemProcessor: {
    ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: executionType },
    StartAt: 'C',
    States: { C: child },
  },
  End: true,
  ...fields,
});

describe('definitionProblems: one rule at a time, worded as AWS words it', () => {
  test('a definition within every rule has no problems', () => {
    const definition = machine(
      task({
        TimeoutSeconds: 60,
        HeartbeatSeconds: 59,
        Retry: [
          {
            ErrorEquals: ['A'],
            IntervalSeconds: 1,
            MaxAttempts: 0,
            BackoffRate: 1,
            MaxDelaySeconds: 31_622_400,
            JitterStrategy: 'NONE',
          },
          { ErrorEquals: ['States.ALL'] },
        ],
        Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Done' }],
        End: undefined,
        Next: 'M',
      }),
      {
        M: distributedMap({ Label: 'L'.repeat(MAP_LABEL_MAX_LENGTH), Next: 'Done', End: undefined }),
        Done: { Type: 'Succeed' },
      },
    );
    expect(definitionProblems(definition)).toEqual([]);
  });

  test.each([
    [
      { HeartbeatSeconds: 60, TimeoutSeconds: 60 },
      'State S: HeartbeatSeconds (60) must be smaller than TimeoutSeconds (60).',
    ],
    [
      { HeartbeatSeconds: 61, TimeoutSeconds: 60 },
      'State S: HeartbeatSeconds (61) must be smaller than TimeoutSeconds (60).',
    ],
    [{ TimeoutSeconds: 0 }, 'State S: TimeoutSeconds must be a positive integer of at most 99999999 (got 0).'],
    [{ TimeoutSeconds: 1.5 }, 'State S: TimeoutSeconds must be a positive integer of at most 99999999 (got 1.5).'],
    [{ HeartbeatSeconds: -1 }, 'State S: HeartbeatSeconds must be a positive integer of at most 99999999 (got -1).'],
    [
      { TimeoutSeconds: 5, TimeoutSecondsPath: '$.t' },
      'State S: TimeoutSeconds and TimeoutSecondsPath cannot both be set.',
    ],
  ])('Task %p', (fields, message) => {
    expect(definitionProblems(machine(task(fields)))).toEqual([message]);
  });

  test.each([
    [
      'Retry',
      [{ ErrorEquals: ['States.ALL', 'A'] }],
      ['State S: Retry[0]: States.ALL must appear alone in the ErrorEquals array.'],
    ],
    [
      'Retry',
      [{ ErrorEquals: ['States.ALL'] }, { ErrorEquals: ['A'] }],
      ['State S: Retry[0]: States.ALL must appear in the last retrier of the Retry array.'],
    ],
    [
      'Catch',
      [{ ErrorEquals: ['A', 'States.ALL'], Next: 'X' }],
      ['State S: Catch[0]: States.ALL must appear alone in the ErrorEquals array.'],
    ],
    [
      'Catch',
      [
        { ErrorEquals: ['States.ALL'], Next: 'X' },
        { ErrorEquals: ['A'], Next: 'X' },
      ],
      ['State S: Catch[0]: States.ALL must appear in the last catcher of the Catch array.'],
    ],
    ['Retry', [{ ErrorEquals: [] }], ['State S: Retry[0].ErrorEquals must be a non-empty array of error names.']],
  ])('%s %j', (field, handlers, messages) => {
    expect(definitionProblems(machine(task({ [field]: handlers }), { X: { Type: 'Succeed' } }))).toEqual(messages);
  });

  test.each([
    [{ IntervalSeconds: 0 }, /Retry\[0\]\.IntervalSeconds must be a positive integer/],
    [{ MaxAttempts: -1 }, /Retry\[0\]\.MaxAttempts must be a non-negative integer/],
    [{ BackoffRate: 0.5 }, /Retry\[0\]\.BackoffRate must be a number greater than or equal to 1\.0/],
    [{ MaxDelaySeconds: 31_622_401 }, /Retry\[0\]\.MaxDelaySeconds must be a positive integer below 31622401/],
    [{ JitterStrategy: 'HALF' }, /Retry\[0\]\.JitterStrategy must be FULL or NONE/],
  ])('retrier field %p', (fields, message) => {
    const problems = definitionProblems(machine(task({ Retry: [{ ErrorEquals: ['A'], ...fields }] })));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  test.each([
    ['arn:aws:states:::lambda:invoke.waitForTaskToken'],
    ['arn:aws:states:::states:startExecution.sync:2'],
    ['arn:aws:states:::ecs:runTask.sync'],
  ])('an Express machine cannot use %s', (resource) => {
    const definition = machine(task({ Resource: resource }));
    const refusal = /^State S: Express workflows do not support the \.(waitForTaskToken|sync) integration pattern/;
    expect(definitionProblems(definition, 'EXPRESS')).toEqual([expect.stringMatching(refusal)]);
    expect(definitionProblems(definition, 'STANDARD')).toEqual([]);
  });

  test('the EXPRESS children of a Distributed Map cannot wait for a task token; STANDARD children can', () => {
    const callback = task({ Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken' });
    expect(definitionProblems(machine(distributedMap({}, callback, 'EXPRESS')))).toEqual([
      expect.stringMatching(/^State C: Express workflows do not support/),
    ]);
    expect(definitionProblems(machine(distributedMap({}, callback, 'STANDARD')))).toEqual([]);
  });

  const badLabels = [
    'x'.repeat(MAP_LABEL_MAX_LENGTH + 1),
    'two words',
    'tab\there',
    'a/b',
    'a:b',
    'star*',
    'br[ack]et',
    'ctrl\u0001',
  ];
  test.each(badLabels.map((label) => [label]))('Map Label %j', (label) => {
    expect(definitionProblems(machine(distributedMap({ Label: label })))).toEqual([
      expect.stringMatching(/^State S: the Map Label/),
    ]);
  });

  test('rules apply inside Parallel branches and Map processors too', () => {
    const bad = task({ HeartbeatSeconds: 5, TimeoutSeconds: 5 });
    const parallel = { Type: 'Parallel', Branches: [{ StartAt: 'B', States: { B: bad } }], End: true };
    const inline = {
      Type: 'Map',
      ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, StartAt: 'I', States: { I: bad } },
      End: true,
    };
    expect(definitionProblems(machine(parallel))).toEqual([expect.stringMatching(/^State B: HeartbeatSeconds/)]);
    expect(definitionProblems(machine(inline))).toEqual([expect.stringMatching(/^State I: HeartbeatSeconds/)]);
  });
});

describe('the stack refuses at synth what CreateStateMachine would refuse', () => {
  const build = () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new KmsIncidentRotationStack(app, 'KmsIncidentRotation', {
      settings: parseSettings({ reEncryptBuckets: ['orders-data'] }),
      env,
    });
    return { app, stack, machines: [stack.workflow.stateMachine, stack.manualWorkflow.stateMachine] };
  };

  test('both synthesized definitions pass the check (and the stack synthesizes)', () => {
    const { app, machines } = build();
    for (const m of machines)
      expect(definitionProblems(synthesizedDefinition(m.node.defaultChild as sfn.CfnStateMachine))).toEqual([]);
    expect(() => app.synth()).not.toThrow();
  });

  test('the hook is on each state machine and reads the definition the template carries: a refused one fails synth naming state and rule', () => {
    const { app, machines } = build();
    for (const m of machines) expect(m.node.validate()).toEqual([]);
    const cfn = machines[1]!.node.defaultChild as sfn.CfnStateMachine;
    cfn.definitionString = JSON.stringify(machine(task({ HeartbeatSeconds: 300, TimeoutSeconds: 60 })));
    expect(machines[1]!.node.validate()).toEqual([
      'State S: HeartbeatSeconds (300) must be smaller than TimeoutSeconds (60).',
    ]);
    expect(() => app.synth()).toThrow(/State S: HeartbeatSeconds \(300\) must be smaller than TimeoutSeconds \(60\)/);
  });
});

describe('the synthesized definition (with the re-encryption branch)', () => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new KmsIncidentRotationStack(app, 'KmsIncidentRotation', {
    settings: parseSettings({ reEncryptBuckets: ['orders-data'] }),
    env,
  });
  const { definition, functions } = extractWorkflow(Template.fromStack(stack).toJSON() as any, env);
  const states: [string, any][] = [];
  const visit = (machineStates: Record<string, any>) => {
    for (const [name, state] of Object.entries(machineStates)) {
      states.push([name, state]);
      if (state.ItemProcessor) visit(state.ItemProcessor.States);
      for (const branch of state.Branches ?? []) visit(branch.States);
    }
  };
  visit(definition.States);

  test('no error name appears in two retriers of one state (Step Functions applies only the first)', () => {
    const withRetry = states.filter(([, s]) => Array.isArray(s.Retry));
    expect(withRetry.length).toBeGreaterThan(10);
    for (const [name, state] of withRetry) {
      const names = state.Retry.flatMap((r: { ErrorEquals: string[] }) => r.ErrorEquals);
      expect({ state: name, repeated: names.filter((n: string, i: number) => names.indexOf(n) !== i) }).toEqual({
        state: name,
        repeated: [],
      });
    }
  });

  test("Rotate's first catcher takes every way a function timeout surfaces to the consistency wait", () => {
    const [, rotate] = states.find(([n]) => n === 'Rotate')!;
    expect(rotate.Catch[0]).toEqual({
      ErrorEquals: ['Sandbox.Timedout', 'Lambda.Unknown', 'States.Timeout'],
      Next: 'RotateTimedOut',
      ResultPath: '$.rotateTimedOut',
    });
  });

  test('every Lambda Task waits longer than its function may run (the function timeout surfaces first)', () => {
    const lambdaTasks = states.filter(([, s]) => s.Type === 'Task' && functions.has(s.Resource));
    expect(lambdaTasks.length).toBeGreaterThanOrEqual(12);
    for (const [name, state] of lambdaTasks) {
      const fn = functions.get(state.Resource)!;
      expect({ name, longer: state.TimeoutSeconds > fn.timeoutSeconds }).toEqual({ name, longer: true });
    }
    const [, summarize] = lambdaTasks.find(([n]) => n === 'SummarizeReencryption')!;
    expect(summarize.TimeoutSeconds).toBe(60);
    expect(functions.get(summarize.Resource)!.timeoutSeconds).toBe(50);
  });
});
