/**
 * Observability in the stack: every alarm (metric, threshold, action) and the
 * dashboard's widgets, against the metric declarations the handlers emit with.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { KmsIncidentRotationStack } from '../../lib/stack';
import { parseSettings } from '../../lib/settings/settings';
import { KMS_THROTTLE_ALARM } from '../../lib/observability/observability';
import { DIMENSION, METRIC, METRICS_NAMESPACE, METRICS_SERVICE } from '../../lambdas/domain/metrics';

const env = { account: '111122223333', region: 'us-east-1' };

function template(settings: Record<string, unknown> = {}) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return Template.fromStack(
    new KmsIncidentRotationStack(app, 'KmsIncidentRotation', { settings: parseSettings(settings), env }),
  );
}

type Props = Record<string, any>;

describe('alarms', () => {
  const t = template({ automaticReserve: 4 });
  const alarms = Object.entries(t.findResources('AWS::CloudWatch::Alarm')).map(([id, a]): Props => ({
    id,
    ...(a.Properties as Props),
  }));
  const byId = (prefix: string) => {
    const found = alarms.filter((a) => a.id.startsWith(`Observability${prefix}`));
    expect(found).toHaveLength(1);
    return found[0]!;
  };

  test('every alarm pages through the notification topic and says what to do', () => {
    expect(alarms).toHaveLength(7);
    for (const a of alarms) {
      expect(a.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^Notifications/) }]);
      expect(a.TreatMissingData).toBe('notBreaching');
      expect(a.AlarmDescription.length).toBeGreaterThan(40);
    }
  });

  test.each([
    ['ExecutionsTimedOut', 'ExecutionsTimedOut'],
    ['ExecutionsAborted', 'ExecutionsAborted'],
  ])('%s: any in 5 minutes, summed over both state machines (automatic and manual)', (id, metricName) => {
    const alarm = byId(id);
    expect(alarm).toMatchObject({
      Threshold: 1,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    const metrics: Props[] = alarm.Metrics;
    const sum = metrics.find((m) => m.Expression);
    const inputs = metrics.filter((m) => m.MetricStat);
    // Filled: a machine without executions in the period has no data, and a sum with a missing term is missing.
    expect(sum!.Expression).toBe(inputs.map((m) => `FILL(${m.Id}, 0)`).join(' + '));
    expect(inputs).toHaveLength(2);
    for (const input of inputs) {
      expect(input).toMatchObject({
        ReturnData: false,
        MetricStat: { Metric: { Namespace: 'AWS/States', MetricName: metricName }, Period: 300, Stat: 'Sum' },
      });
    }
    expect(inputs.map((m) => m.MetricStat.Metric.Dimensions[0].Value.Ref).sort()).toEqual([
      expect.stringMatching(/^ManualWorkflowStateMachine/),
      expect.stringMatching(/^WorkflowStateMachine/),
    ]);
  });

  test("ExecutionsFailed: failed executions of either machine, plus approvals that were not the front door's answer", () => {
    const alarm = byId('ExecutionsFailed');
    expect(alarm).toMatchObject({
      Threshold: 1,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    const metrics: Props[] = alarm.Metrics;
    const returned = metrics.filter((m) => m.ReturnData !== false);
    expect(returned).toEqual([expect.objectContaining({ Expression: 'FILL(failed, 0) + FILL(unverified, 0)' })]);
    expect(metrics.find((m) => m.Id === 'failed')?.Expression).toBe(
      'FILL(executionsfailed0, 0) + FILL(executionsfailed1, 0)',
    );
    const inputs = metrics.filter((m) => m.MetricStat);
    expect(
      inputs.map((m) => [m.MetricStat.Metric.Namespace, m.MetricStat.Metric.MetricName, m.MetricStat.Stat]),
    ).toEqual([
      ['AWS/States', 'ExecutionsFailed', 'Sum'],
      ['AWS/States', 'ExecutionsFailed', 'Sum'],
      [METRICS_NAMESPACE, METRIC.approvalsUnverified, 'Sum'],
    ]);
    expect(metrics.find((m) => m.Id === 'unverified')?.MetricStat.Metric.Dimensions).toEqual([
      { Name: 'service', Value: METRICS_SERVICE },
    ]);
  });

  test('dead-letter queue not empty', () => {
    expect(byId('TriggerDeadLettersNotEmpty')).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': [expect.stringMatching(/^TriggerDeadLetters/), 'QueueName'] } },
      ],
      Statistic: 'Maximum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  test("sustained KMS throttling: the handlers' KmsThrottled metric over consecutive periods", () => {
    expect(byId('KmsThrottled')).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      MetricName: METRIC.kmsThrottled,
      Dimensions: [{ Name: 'service', Value: METRICS_SERVICE }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: KMS_THROTTLE_ALARM.threshold,
      EvaluationPeriods: KMS_THROTTLE_ALARM.periods,
      DatapointsToAlarm: KMS_THROTTLE_ALARM.periods,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  test("any key at or below the automaticReserve: a Metrics Insights MIN across every key's remaining rotations", () => {
    const a = byId('RotationsRemainingLow');
    expect(a).toMatchObject({ Threshold: 4, ComparisonOperator: 'LessThanOrEqualToThreshold', EvaluationPeriods: 1 });
    expect(a.Metrics).toEqual([
      expect.objectContaining({
        Expression: `SELECT MIN(${METRIC.rotationsRemaining}) FROM SCHEMA("${METRICS_NAMESPACE}", ${DIMENSION.keyArn}, service)`,
        Period: 300,
        ReturnData: true,
      }),
    ]);
    // Follows the setting.
    const other = Object.entries(template({ automaticReserve: 1 }).findResources('AWS::CloudWatch::Alarm')).find(
      ([id]) => id.startsWith('ObservabilityRotationsRemainingLow'),
    );
    expect(other?.[1].Properties.Threshold).toBe(1);
  });

  test("approval requests waiting longer than half their timeout: the approval watch's ApprovalsOverdue at >= 1", () => {
    expect(byId('ApprovalsOverdue')).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      MetricName: METRIC.approvalsOverdue,
      Dimensions: [{ Name: 'service', Value: METRICS_SERVICE }],
      Statistic: 'Maximum',
      Period: 300,
      Threshold: 1,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    // What emits it: a function on a 5-minute schedule, querying the sparse index of unanswered approvals.
    const rules = Object.values(t.findResources('AWS::Events::Rule')).filter((r) =>
      /ApprovalWatchFunction/.test(JSON.stringify(r.Properties.Targets)),
    );
    expect(rules.map((r) => r.Properties.ScheduleExpression)).toEqual(['rate(5 minutes)']);
    t.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: [
        {
          IndexName: 'PendingApprovals',
          KeySchema: [
            { AttributeName: 'pendingApproval', KeyType: 'HASH' },
            { AttributeName: 'answerBy', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['overdueAt'] },
        },
      ],
    });
  });
});

describe('dashboard', () => {
  const t = template({ automaticReserve: 4 });
  const [dashboard] = Object.values(t.findResources('AWS::CloudWatch::Dashboard'));
  // The body is a Fn::Join of strings and tokens: render the tokens as placeholders.
  const body = JSON.parse(
    (dashboard!.Properties.DashboardBody['Fn::Join'][1] as unknown[])
      .map((part) => (typeof part === 'string' ? part : 'TOKEN'))
      .join(''),
  ) as { widgets: { type: string; properties: Props }[] };
  const titled = (title: string) => {
    const w = body.widgets.find((x) => x.properties.title === title);
    expect(w).toBeDefined();
    return w!.properties;
  };

  test('executions and their outcomes over time', () => {
    // Each line is the sum over both state machines: an expression and its two hidden inputs.
    const metrics: unknown[][] = titled('Executions and their outcomes').metrics;
    const inputs = metrics.filter((m) => m[0] === 'AWS/States');
    const sums = metrics.filter((m) => typeof (m[0] as { expression?: string }).expression === 'string');
    expect(sums.map((m) => (m[0] as { label: string }).label)).toEqual([
      'ExecutionsStarted',
      'ExecutionsSucceeded',
      'ExecutionsFailed',
      'ExecutionsTimedOut',
      'ExecutionsAborted',
    ]);
    expect(inputs.map((m) => m[1])).toEqual([
      'ExecutionsStarted',
      'ExecutionsStarted',
      'ExecutionsSucceeded',
      'ExecutionsSucceeded',
      'ExecutionsFailed',
      'ExecutionsFailed',
      'ExecutionsTimedOut',
      'ExecutionsTimedOut',
      'ExecutionsAborted',
      'ExecutionsAborted',
    ]);
  });

  test('keys by outcome and reason (Metrics Insights)', () => {
    expect(JSON.stringify(titled('Keys by outcome and reason').metrics)).toContain(`SELECT SUM(${METRIC.keysHandled})`);
  });

  test('time to confirmed rotation: p50, p90 and max', () => {
    const metrics: unknown[][] = titled('Time to confirmed rotation (s, from the execution start)').metrics;
    expect(metrics.map((m) => [m[1], (m[m.length - 1] as Props).stat])).toEqual([
      [METRIC.timeToConfirmedRotation, 'p50'],
      [METRIC.timeToConfirmedRotation, 'p90'],
      [METRIC.timeToConfirmedRotation, 'Maximum'],
    ]);
  });

  test('rotations remaining per key, lowest first, with the reserve drawn', () => {
    const w = titled('On-demand rotations remaining per key (lowest first)');
    expect(JSON.stringify(w.metrics)).toContain(`GROUP BY ${DIMENSION.keyArn} ORDER BY MIN() ASC`);
    expect(w.annotations.horizontal).toEqual([expect.objectContaining({ value: 4, label: 'automaticReserve' })]);
  });

  test('re-encryption: objects re-encrypted and failed, throttles retried', () => {
    const text = JSON.stringify(titled('Re-encryption: objects re-encrypted, failed; throttles retried').metrics);
    for (const name of [
      METRIC.objectsReencrypted,
      METRIC.objectsReencryptionFailed,
      METRIC.reencryptionThrottlesRetried,
    ])
      expect(text).toContain(name);
  });

  test('alarm status of every alarm, and the DLQ depth', () => {
    const alarms = body.widgets.find((w) => w.type === 'alarm');
    expect(alarms?.properties.alarms).toHaveLength(7);
    expect(titled('Trigger dead-letter queue depth').metrics[0]).toEqual(
      expect.arrayContaining(['AWS/SQS', 'ApproximateNumberOfMessagesVisible']),
    );
  });

  test('its URL is a stack output', () => {
    const url = JSON.stringify(t.findOutputs('DashboardUrl').DashboardUrl?.Value);
    expect(url).toContain('console.aws.amazon.com/cloudwatch/home?region=');
    expect(url).toContain('#dashboards:name=');
    expect(url).toMatch(/ObservabilityDashboard/);
  });
});
