/**
 * The product's CloudWatch metrics: one declaration of names, units and dimensions, used by the
 * handlers that emit them (lambdas/adapters/metrics.ts, EMF through Powertools) and by the stack
 * that alarms on them and draws them (lib/observability/observability.ts). Pure: no Powertools, no CDK.
 */
import type { KeyResult, RunSummary } from './contracts';

/** The CloudWatch namespace of every product metric. */
export const METRICS_NAMESPACE = 'KmsIncidentRotation';

/** Powertools adds `service` = this to every metric (its default dimension). */
export const METRICS_SERVICE = 'kms-incident-rotation';

/** Dimension names (besides `service`). */
export const DIMENSION = {
  outcome: 'Outcome',
  reason: 'Reason',
  keyArn: 'KeyArn',
} as const;

/** The Reason dimension's value for an outcome without a reason (ROTATED, DRY_RUN). */
export const NO_REASON = 'NONE';

/**
 * Every metric, with the handler that emits it and its extra dimensions. `service` is on all.
 * - KeysHandled (Record, Count, Outcome + Reason): one per key and execution.
 * - OnDemandRotationsRemaining (Record, Count, KeyArn): the key's remaining lifetime budget,
 *   whenever Record knows it. One time series per key ever touched (see docs/operating.md).
 * - RotationsStarted (Rotate, Count): RotateKeyOnDemand accepted, i.e. budget spent.
 * - TimeToConfirmedRotation (Notify, Seconds): execution start (the finding's arrival) to the
 *   confirmation, one value per ROTATED key.
 * - NotificationsSent (Notify, Count): summary messages published (not re-publications).
 * - ApprovalsRequested (RequestApproval, Count): approval requests published.
 * - ApprovalsOverdue (ApprovalWatch, every 5 min, Count): unanswered approvals past half their
 *   window and not yet timed out (a gauge: 0 is emitted too, so the alarm sees it clear).
 * - ApprovalsUnverified (LockKey, Count): an approval gate answered by someone other than the
 *   front door (no matching answer in the ledger); the ExecutionsFailed alarm counts it.
 * - KmsThrottled (Assess, Rotate, CheckRotation, Count): a KMS ThrottlingException that reached
 *   the task (Rotate's client has no SDK retries, so every one; the others after the SDK's own).
 * - ObjectsReencrypted / ObjectsReencryptionFailed / ReencryptionThrottlesRetried
 *   (SummarizeReencryption, Count): per target run, the objects given new data keys, those that
 *   failed (changed during the run included), and the throttled S3/KMS requests retried.
 */
export const METRIC = {
  keysHandled: 'KeysHandled',
  rotationsRemaining: 'OnDemandRotationsRemaining',
  rotationsStarted: 'RotationsStarted',
  timeToConfirmedRotation: 'TimeToConfirmedRotation',
  notificationsSent: 'NotificationsSent',
  approvalsRequested: 'ApprovalsRequested',
  approvalsOverdue: 'ApprovalsOverdue',
  approvalsUnverified: 'ApprovalsUnverified',
  kmsThrottled: 'KmsThrottled',
  objectsReencrypted: 'ObjectsReencrypted',
  objectsReencryptionFailed: 'ObjectsReencryptionFailed',
  reencryptionThrottlesRetried: 'ReencryptionThrottlesRetried',
} as const;

/** The dimensions KeysHandled carries for one key's result. */
export function outcomeDimensions(result: Pick<KeyResult, 'outcome' | 'reason'>): Record<string, string> {
  return { [DIMENSION.outcome]: result.outcome, [DIMENSION.reason]: result.reason ?? NO_REASON };
}

/**
 * Seconds from the execution's start to each ROTATED key's confirmation (whole seconds, never
 * negative). Keys without a confirmation time are left out.
 */
export function secondsToConfirmedRotation(summary: Pick<RunSummary, 'startedAt' | 'keys'>): number[] {
  const started = summary.startedAt ? Date.parse(summary.startedAt) : NaN;
  if (!Number.isFinite(started)) return [];
  return summary.keys
    .filter((k) => k.outcome === 'ROTATED' && k.confirmedAt)
    .map((k) => Date.parse(k.confirmedAt!))
    .filter((t) => Number.isFinite(t))
    .map((t) => Math.max(0, Math.round((t - started) / 1000)));
}
