import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricUnit as Unit } from '@aws-lambda-powertools/metrics/types';
import type { KeyResult, RunSummary } from '../domain/contracts';
import type { TargetReport } from '../domain/reencryption';
import {
  DIMENSION,
  METRIC,
  METRICS_NAMESPACE,
  METRICS_SERVICE,
  outcomeDimensions,
  secondsToConfirmedRotation,
} from '../domain/metrics';

/**
 * Powertools Metrics' own warnings. "No application metrics to publish" is the normal case for
 * the tasks that emit nothing (Intake, Claim, ...): not worth a log line per invocation.
 */
const quiet: NonNullable<NonNullable<ConstructorParameters<typeof Metrics>[0]>['logger']> = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (...content) => console.error(...content),
};

/**
 * The product's metrics (EMF on stdout; Lambda's log agent turns them into CloudWatch metrics).
 * Flushed once per invocation by the shared wrapper (lambda-handler.ts, logMetrics middleware).
 * Names and dimensions: lambdas/domain/metrics.ts.
 */
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE, logger: quiet });

/**
 * A metric with its own dimensions, printed at once as its own EMF line: one invocation may emit
 * metrics with different dimension sets (Record: by outcome, and by key).
 */
function emitWith(dimensions: Record<string, string>, name: string, unit: Unit, value: number): void {
  const single = metrics.singleMetric();
  single.addDimensions(dimensions);
  single.addMetric(name, unit, value);
}

/** Record: the key's outcome and reason, and its remaining on-demand rotations when known. */
export function emitKeyResult(
  result: Pick<KeyResult, 'keyArn' | 'outcome' | 'reason' | 'onDemandRotationsRemaining'>,
): void {
  emitWith(outcomeDimensions(result), METRIC.keysHandled, MetricUnit.Count, 1);
  if (result.keyArn && result.onDemandRotationsRemaining !== null) {
    emitWith(
      { [DIMENSION.keyArn]: result.keyArn },
      METRIC.rotationsRemaining,
      MetricUnit.Count,
      result.onDemandRotationsRemaining,
    );
  }
}

/** Notify, after a publish: one notification, and each ROTATED key's time to confirmation. */
export function emitNotification(summary: Pick<RunSummary, 'startedAt' | 'keys'>): void {
  metrics.addMetric(METRIC.notificationsSent, MetricUnit.Count, 1);
  // Same name added several times: one EMF value array, so p50/p90 see every key.
  for (const seconds of secondsToConfirmedRotation(summary))
    metrics.addMetric(METRIC.timeToConfirmedRotation, MetricUnit.Seconds, seconds);
}

/** Rotate: RotateKeyOnDemand was accepted (one rotation of the lifetime budget spent). */
export function emitRotationStarted(): void {
  metrics.addMetric(METRIC.rotationsStarted, MetricUnit.Count, 1);
}

/** LockKey: an approval that was not the front door's answer was refused (pages like a failed execution). */
export function emitApprovalUnverified(): void {
  metrics.addMetric(METRIC.approvalsUnverified, MetricUnit.Count, 1);
}

/** RequestApproval: an approval request was published. */
export function emitApprovalRequested(): void {
  metrics.addMetric(METRIC.approvalsRequested, MetricUnit.Count, 1);
}

/** ApprovalWatch: how many approvals are waiting past half their window right now. */
export function emitApprovalsOverdue(count: number): void {
  metrics.addMetric(METRIC.approvalsOverdue, MetricUnit.Count, count);
}

/** A KMS task saw ThrottlingException (counted before it propagates to Step Functions' retrier). */
export function emitKmsThrottled(): void {
  metrics.addMetric(METRIC.kmsThrottled, MetricUnit.Count, 1);
}

/** SummarizeReencryption: one target's objects re-encrypted and failed, and the throttles its batches absorbed. */
export function emitReencryption(
  report: Pick<TargetReport, 'objectsReencrypted' | 'objectsFailed' | 'throttlesRetried'>,
): void {
  metrics.addMetric(METRIC.objectsReencrypted, MetricUnit.Count, report.objectsReencrypted);
  metrics.addMetric(METRIC.objectsReencryptionFailed, MetricUnit.Count, report.objectsFailed);
  metrics.addMetric(METRIC.reencryptionThrottlesRetried, MetricUnit.Count, report.throttlesRetried);
}
