/**
 * The state names of the workflow: one declaration that the state machine (lib/workflow.ts), the
 * CLI's live view and the local runner all read, so a renamed state cannot leave a reader behind.
 * Import-free on purpose: the CLI and local/ use it without loading aws-cdk-lib.
 */
export const STATE = {
  intake: 'Intake',
  invalidRequest: 'InvalidRequest',
  claimRequest: 'ClaimRequest',
  forEachKey: 'ForEachKey',
  assess: 'Assess',
  requestApproval: 'RequestApproval',
  lockKey: 'LockKey',
  rotate: 'Rotate',
  waitForRotation: 'WaitForRotation',
  waitBeforeRetryingRotation: 'WaitBeforeRetryingRotation',
  checkRotation: 'CheckRotation',
  record: 'Record',
  planReencryption: 'PlanReencryption',
  moreToReencrypt: 'MoreToReencrypt',
  reencryptTarget: 'ReencryptTarget',
  reencryptObjects: 'ReencryptObjects',
  summarizeReencryption: 'SummarizeReencryption',
  reencryptionFailed: 'ReencryptionFailed',
  notify: 'Notify',
  closeRequest: 'CloseRequest',
  notificationFailed: 'NotificationFailed',
  keysFailed: 'KeysFailed',
  done: 'Done',
} as const;

export type StateName = (typeof STATE)[keyof typeof STATE];

/** The Wait states (the local runner runs them as tasks, so its events do not say "Wait"). */
export const WAIT_STATES: readonly StateName[] = [STATE.waitForRotation, STATE.waitBeforeRetryingRotation];

/**
 * The Pass states that settle a caught error into a FAILED reason are named `Failed_<reason>`
 * (`Failed_THROTTLED`, `Failed_INTERNAL`).
 */
export const FAILED_STATE_PREFIX = 'Failed_';

/** The name of the Pass state that settles a caught error as FAILED `reason`. */
export function failedStateName(reason: string): string {
  return `${FAILED_STATE_PREFIX}${reason}`;
}
