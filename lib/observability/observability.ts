import { Aws, Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { DIMENSION, METRIC, METRICS_NAMESPACE, METRICS_SERVICE } from '../../lambdas/domain/metrics';

export interface ObservabilityProps {
  /** The workflow's state machines (automatic and manual): their execution metrics are summed. */
  stateMachines: sfn.IStateMachine[];
  /** The trigger dead-letter queue (findings that could not start an execution). */
  deadLetters: sqs.IQueue;
  /** Alarms page through it. */
  topic: sns.ITopic;
  /** Remaining on-demand rotations at or below which a key pages (the automaticReserve setting). */
  automaticReserve: number;
}

/** Executions, throttles and DLQ depth are counted per 5 minutes. */
const PERIOD = Duration.minutes(5);

/**
 * Sustained KMS throttling pages; a burst does not. One incident of 40 keys sends its
 * RotateKeyOnDemand calls at once against KMS's 5/s: ~35 throttles in the first second, all
 * absorbed within about a minute by Rotate's retrier. Ten or more in each of three consecutive
 * 5-minute periods means something else is using the account's KMS quota, or incidents keep coming.
 */
export const KMS_THROTTLE_ALARM = { threshold: 10, periods: 3 } as const;

/** A product metric (EMF from the handlers), with Powertools' `service` dimension. */
function productMetric(
  metricName: string,
  statistic: string,
  dimensions: Record<string, string> = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    statistic,
    period: PERIOD,
    dimensionsMap: { service: METRICS_SERVICE, ...dimensions },
  });
}

/** Metrics Insights: each key's remaining on-demand rotations (one series per key, lowest first). */
const rotationsRemainingByKey = `SELECT MIN(${METRIC.rotationsRemaining}) FROM SCHEMA("${METRICS_NAMESPACE}", ${DIMENSION.keyArn}, service) GROUP BY ${DIMENSION.keyArn} ORDER BY MIN() ASC LIMIT 100`;
/** Metrics Insights: the lowest remaining count across every key (one series: an alarm can watch it). */
const lowestRotationsRemaining = `SELECT MIN(${METRIC.rotationsRemaining}) FROM SCHEMA("${METRICS_NAMESPACE}", ${DIMENSION.keyArn}, service)`;
const keysByOutcome = `SELECT SUM(${METRIC.keysHandled}) FROM SCHEMA("${METRICS_NAMESPACE}", ${DIMENSION.outcome}, ${DIMENSION.reason}, service) GROUP BY ${DIMENSION.outcome}, ${DIMENSION.reason}`;

/**
 * The operator's view (docs/operating.md): alarms that page through the notification topic, and
 * one CloudWatch dashboard. Every alarm's description says what to do.
 */
export class Observability extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;
  /** The dashboard in the console (a stack output and `kms-rotate status`). */
  readonly dashboardUrl: string;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const { stateMachines, deadLetters } = props;
    // One series over every machine: the same alarm pages for an automatic or a manual run.
    const acrossMachines = (
      label: string,
      metricOf: (m: sfn.IStateMachine) => cloudwatch.IMetric,
    ): cloudwatch.IMetric => {
      if (stateMachines.length === 1) return metricOf(stateMachines[0]!);
      // Ids unique per expression: a graph may hold several of them.
      const prefix = label.replace(/[^A-Za-z0-9]/g, '').toLowerCase();
      const usingMetrics = Object.fromEntries(stateMachines.map((m, i) => [`${prefix}${i}`, metricOf(m)]));
      // FILL: Step Functions emits a machine's execution metrics only while it runs executions, and
      // a sum with one series missing is missing (one machine's failure alone would never alarm).
      const expression = Object.keys(usingMetrics)
        .map((id) => `FILL(${id}, 0)`)
        .join(' + ');
      return new cloudwatch.MathExpression({ expression, usingMetrics, label, period: PERIOD });
    };
    const page = new cwActions.SnsAction(props.topic);
    const alarm = (alarmId: string, alarmProps: cloudwatch.AlarmProps) => {
      const created = new cloudwatch.Alarm(this, alarmId, {
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...alarmProps,
      });
      created.addAlarmAction(page);
      this.alarms.push(created);
      return created;
    };
    const anyIn = (alarmId: string, alarmDescription: string, metric: cloudwatch.IMetric) =>
      alarm(alarmId, {
        alarmDescription,
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      });

    const executions = {
      failed: acrossMachines('ExecutionsFailed', (m) => m.metricFailed({ period: PERIOD, statistic: 'Sum' })),
      timedOut: acrossMachines('ExecutionsTimedOut', (m) => m.metricTimedOut({ period: PERIOD, statistic: 'Sum' })),
      aborted: acrossMachines('ExecutionsAborted', (m) => m.metricAborted({ period: PERIOD, statistic: 'Sum' })),
    };
    // An approval gate answered by anyone but the front door (a SendTaskSuccess with a token read
    // from the execution history) ends the key SKIPPED, not FAILED: it pages the same way.
    const failedOrForged = new cloudwatch.MathExpression({
      expression: 'FILL(failed, 0) + FILL(unverified, 0)',
      usingMetrics: { failed: executions.failed, unverified: productMetric(METRIC.approvalsUnverified, 'Sum') },
      label: 'ExecutionsFailed + ApprovalsUnverified',
      period: PERIOD,
    });
    anyIn(
      'ExecutionsFailed',
      "A KMS incident rotation execution failed (a key was not rotated or nobody was told), or an approval was not the front door's answer " +
        '(ApprovalsUnverified: someone sent SendTaskSuccess with a token; find who in CloudTrail). ' +
        'Read the notification (or `kms-rotate status`) for the key and reason.',
      failedOrForged,
    );
    anyIn(
      'ExecutionsTimedOut',
      'A KMS incident rotation execution timed out (its timeout is derived from the settings, so this is a bug or a stuck step): check the key with `kms-rotate check` and re-run `kms-rotate start`.',
      executions.timedOut,
    );
    anyIn(
      'ExecutionsAborted',
      'A KMS incident rotation execution was stopped by someone: its keys may not be settled. Find who in CloudTrail (StopExecution) and check the keys.',
      executions.aborted,
    );
    const dlqDepth = deadLetters.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' });
    anyIn(
      'TriggerDeadLettersNotEmpty',
      'A finding could not start the workflow (see the dead-letter queue): read the message, fix the cause, start it with `kms-rotate start`.',
      dlqDepth,
    );

    const throttled = productMetric(METRIC.kmsThrottled, 'Sum');
    alarm('KmsThrottled', {
      alarmDescription: `KMS throttled the workflow ${KMS_THROTTLE_ALARM.threshold}+ times in each of ${KMS_THROTTLE_ALARM.periods} consecutive 5-minute periods: another application is using the account's KMS request quota, or incidents keep arriving. Keys may end FAILED THROTTLED; consider a quota increase.`,
      metric: throttled,
      threshold: KMS_THROTTLE_ALARM.threshold,
      evaluationPeriods: KMS_THROTTLE_ALARM.periods,
      datapointsToAlarm: KMS_THROTTLE_ALARM.periods,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    });

    alarm('RotationsRemainingLow', {
      alarmDescription: `A key touched by the workflow has ${props.automaticReserve} or fewer on-demand rotations left (the automaticReserve): findings no longer rotate it without --force. See the dashboard's "rotations remaining" widget; plan a new key.`,
      metric: new cloudwatch.MathExpression({
        expression: lowestRotationsRemaining,
        period: PERIOD,
        label: 'lowest remaining on-demand rotations',
      }),
      threshold: props.automaticReserve,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
    });

    // The approval watch (lib/people/approval-watch.ts) counts every 5 minutes; Maximum, so one approval
    // seen overdue in the period pages, and an answer clears it at the next count.
    anyIn(
      'ApprovalsOverdue',
      'An approval request has waited longer than half its timeout with no answer: the key will be handled by the approvalTimeoutAction when it runs out. Find it with `kms-rotate status`, then a second on-call person answers with `kms-rotate approve|deny <approval-id>`.',
      productMetric(METRIC.approvalsOverdue, 'Maximum'),
    );

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.days(7) });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Executions and their outcomes',
        width: 12,
        left: [
          acrossMachines('ExecutionsStarted', (m) => m.metricStarted({ period: PERIOD, statistic: 'Sum' })),
          acrossMachines('ExecutionsSucceeded', (m) => m.metricSucceeded({ period: PERIOD, statistic: 'Sum' })),
          executions.failed,
          executions.timedOut,
          executions.aborted,
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'Keys by outcome and reason',
        width: 12,
        left: [new cloudwatch.MathExpression({ expression: keysByOutcome, period: PERIOD, label: '' })],
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Time to confirmed rotation (s, from the execution start)',
        width: 12,
        left: (['p50', 'p90', 'Maximum'] as const).map((statistic) =>
          productMetric(METRIC.timeToConfirmedRotation, statistic).with({
            period: Duration.hours(1),
            label: statistic,
          }),
        ),
      }),
      new cloudwatch.GraphWidget({
        title: 'On-demand rotations remaining per key (lowest first)',
        width: 12,
        view: cloudwatch.GraphWidgetView.BAR,
        left: [
          new cloudwatch.MathExpression({ expression: rotationsRemainingByKey, period: Duration.days(1), label: '' }),
        ],
        leftAnnotations: [{ value: props.automaticReserve, label: 'automaticReserve', color: cloudwatch.Color.RED }],
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', width: 8, height: 6, alarms: this.alarms }),
      new cloudwatch.GraphWidget({ title: 'Trigger dead-letter queue depth', width: 8, left: [dlqDepth] }),
      new cloudwatch.GraphWidget({
        title: 'Rotations started, notifications, approvals, KMS throttles',
        width: 8,
        left: [METRIC.rotationsStarted, METRIC.notificationsSent, METRIC.approvalsRequested, METRIC.kmsThrottled].map(
          (name) => productMetric(name, 'Sum'),
        ),
        right: [productMetric(METRIC.approvalsOverdue, 'Maximum')],
      }),
      new cloudwatch.GraphWidget({
        title: 'Re-encryption: objects re-encrypted, failed; throttles retried',
        width: 8,
        left: [METRIC.objectsReencrypted, METRIC.objectsReencryptionFailed].map((name) => productMetric(name, 'Sum')),
        right: [productMetric(METRIC.reencryptionThrottlesRetried, 'Sum')],
      }),
    );
    this.dashboardUrl = `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards:name=${this.dashboard.dashboardName}`;
  }
}
