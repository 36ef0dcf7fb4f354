/**
 * Retries as intended: every Task state in the synthesized template has exactly the
 * retriers its Comment names, in that order, with the fields lib/retriers.ts declares for them —
 * read from the template, not from the table alone. CDK's default Lambda retrier (no jitter)
 * appears nowhere.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { KmsIncidentRotationStack } from '../../lib/stack';
import { parseSettings } from '../../lib/settings/settings';
import { extractWorkflow } from '../../local/template';
import { RETRIERS, TASK_RETRIERS, type RetrierName, type RetrierSpec } from '../../lib/retriers';

const env = { account: '111122223333', region: 'us-east-1' };

/** The Retry array Step Functions holds for a retrier (what the synthesized template must say). */
function retrierAsl(spec: RetrierSpec): Record<string, unknown> {
  return {
    ErrorEquals: [...spec.errors],
    IntervalSeconds: spec.intervalSeconds,
    MaxAttempts: spec.maxAttempts,
    BackoffRate: spec.backoffRate,
    ...(spec.maxDelaySeconds === undefined ? {} : { MaxDelaySeconds: spec.maxDelaySeconds }),
    JitterStrategy: spec.jitter,
  };
}

/** Reads the retrier names back from a Task's comment (see retryComment). */
function retriersNamedIn(comment: string | undefined): string[] {
  const match = /Retry: ([\w, ]+)\./.exec(comment ?? '');
  return match ? match[1]!.split(',').map((n) => n.trim()) : [];
}

function taskStates(definition: any): [string, any][] {
  const out: [string, any][] = [];
  const visit = (states: Record<string, any>) => {
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Task') out.push([name, state]);
      if (state.ItemProcessor) visit(state.ItemProcessor.States);
      for (const branch of state.Branches ?? []) visit(branch.States);
    }
  };
  visit(definition.States);
  return out;
}

describe.each(['SKIP', 'ROTATE'])('retriers in the template (approvalTimeoutAction %s)', (approvalTimeoutAction) => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  // With the re-encryption branch, so that every Task of the table is in the template.
  const stack = new KmsIncidentRotationStack(app, 'KmsIncidentRotation', {
    settings: parseSettings({ approvalTimeoutAction, reEncryptBuckets: ['orders-data'] }),
    env,
  });
  const { definition } = extractWorkflow(Template.fromStack(stack).toJSON() as any, env);
  const tasks = taskStates(definition);

  test('every Task of the table is in the template, and every Task of the template is in the table', () => {
    expect(tasks.map(([name]) => name).sort()).toEqual(Object.keys(TASK_RETRIERS).sort());
  });

  test.each(Object.keys(TASK_RETRIERS))('%s: exactly the retriers its comment names, in order, as declared', (name) => {
    // Given
    const [, state] = tasks.find(([n]) => n === name)!;

    // When
    const named = retriersNamedIn(state.Comment);

    // Then
    expect(named).toEqual([...TASK_RETRIERS[name as keyof typeof TASK_RETRIERS]]);
    expect(state.Retry).toEqual(named.map((r) => retrierAsl(RETRIERS[r as RetrierName])));
    // Every retrier jitters: no CDK default retrier (it has no JitterStrategy) slipped in.
    expect(state.Retry.every((r: { JitterStrategy?: string }) => r.JitterStrategy === 'FULL')).toBe(true);
  });

  test('RequestApproval: only the jittered Lambda retrier (no CDK default before it)', () => {
    const [, gate] = tasks.find(([n]) => n === 'RequestApproval')!;
    expect(gate.Retry).toHaveLength(1);
    expect(gate.Retry[0]).toMatchObject({
      ErrorEquals: expect.arrayContaining(['Lambda.ServiceException']),
      JitterStrategy: 'FULL',
      MaxAttempts: 6,
    });
  });

  test('Rotate: throttling is retried before the general KMS retrier, with enough attempts for 50 keys at 5/s', () => {
    const [, rotate] = tasks.find(([n]) => n === 'Rotate')!;
    const throttling = rotate.Retry.findIndex(
      (r: { ErrorEquals: string[] }) => r.ErrorEquals.length === 1 && r.ErrorEquals[0] === 'ThrottlingException',
    );
    const kms = rotate.Retry.findIndex((r: { ErrorEquals: string[] }) =>
      r.ErrorEquals.includes('KMSInternalException'),
    );
    expect(throttling).toBeGreaterThanOrEqual(0);
    expect(throttling).toBeLessThan(kms);
    expect(rotate.Retry[throttling].MaxAttempts).toBeGreaterThanOrEqual(10);
  });
});
