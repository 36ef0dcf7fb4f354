/**
 * What one execution can cost at most, from the settings alone: history events, state
 * transitions and wall-clock time. The settings schema rejects settings whose worst case does
 * not fit Step Functions (25,000 history events, one year per execution), and the stack sets the
 * execution timeout to the derived duration. Pure; no CDK import.
 *
 * Event counts follow the execution history Step Functions writes (and local/runner/runner.ts counts):
 * a Lambda Task state is 5 events (entered, scheduled, started, succeeded, exited) and each
 * failed attempt before a retry 3 more; a callback Task is 6; a Wait, Choice, Pass or Succeed
 * state 2; an inline Map state 4 plus 2 per iteration; a Distributed Map 6 (DISTRIBUTED_MAP_EVENTS); the
 * execution itself 2.
 */
import { pollTimes } from '../lambdas/domain/rotation/backoff';
import { MAX_KEYS } from '../lambdas/domain/intake/read';
import { KMS_REQUESTS_PER_OBJECT, MAX_REENCRYPTION_UNITS } from '../lambdas/domain/reencryption';
import { maxRetries, maxRetryDelaySeconds, RETRIERS, type RetriedTask } from './retriers';

/** Step Functions (Standard): events in one execution's history. */
export const HISTORY_EVENT_LIMIT = 25_000;
/** Step Functions (Standard): longest execution. */
export const MAX_EXECUTION_SECONDS = 365 * 24 * 3600;
/** Inline Map: at most 40 iterations run at once, whatever MaxConcurrency says. */
export const INLINE_MAP_CONCURRENCY = 40;
/** Every Lambda Task's TimeoutSeconds (lib/workflow.ts), except ReencryptObjects'. */
export const TASK_TIMEOUT_SECONDS = 60;
/** The re-encryption child is an Express execution: 5 minutes at most. */
export const EXPRESS_CHILD_SECONDS = 300;
/** ReencryptObjects' TimeoutSeconds: below the Express child's 5 minutes (the function's own timeout is 10 s shorter). */
export const REENCRYPT_TASK_TIMEOUT_SECONDS = 290;
/**
 * How much longer a Task waits than its function may run: the function's own timeout error
 * (Sandbox.Timedout, with its request id and log stream) must surface before the state's
 * States.Timeout, which says nothing about what the function did.
 */
export const TASK_TIMEOUT_MARGIN_SECONDS = 10;
/** SummarizeReencryption's function timeout: its Task's TimeoutSeconds less the margin. */
export const SUMMARIZE_FUNCTION_TIMEOUT_SECONDS = TASK_TIMEOUT_SECONDS - TASK_TIMEOUT_MARGIN_SECONDS;
/**
 * The largest target (objects) the execution timeout is sized for: the "normal day" of
 * a million objects, at every one of the MAX_REENCRYPTION_UNITS units. A larger target still
 * runs, but a run of many such targets at a low reEncryptKmsRequestsPerSecond may meet the
 * execution timeout (the keys stay rotated and recorded; docs/reencryption.md).
 */
export const OBJECTS_PER_TARGET_BUDGET = 1_000_000;

const LAMBDA_TASK = 5;
const CALLBACK_TASK = 6;
const FAILED_ATTEMPT = 3;
const FLOW_STATE = 2;

/** The settings the worst case depends on. */
export interface LimitSettings {
  pollInitialSeconds: number;
  pollMaxSeconds: number;
  rotationTimeoutMinutes: number;
  approvalTimeoutMinutes: number;
  /** Non-empty: the Distributed Map branch exists (lib/reencryption/reencryption.ts). */
  reEncryptBuckets?: readonly string[];
  reEncryptKmsRequestsPerSecond?: number;
}

/** Whether these settings deploy the re-encryption branch (the Distributed Map and what it needs). */
export function hasReencryptionBranch(settings: Pick<LimitSettings, 'reEncryptBuckets'>): boolean {
  return (settings.reEncryptBuckets?.length ?? 0) > 0;
}

export interface WorstCase {
  /** Looks at one stalled key: ConflictException back-off and polls share one schedule. */
  loopsPerKey: number;
  eventsPerKey: number;
  historyEvents: number;
  stateTransitions: number;
}

/**
 * The worst case of one execution: MAX_KEYS keys, each tagged for approval and left unanswered
 * with approvalTimeoutAction ROTATE (the longest path), each kept waiting by ConflictException
 * and then stalled until rotationTimeoutMinutes, its Rotate throttled through its whole
 * throttling retrier (every key rotates at once), one transient retry on every other per-key
 * step, full retries on the execution's own steps, and the key failing at the end
 * (ClassifyFailure and a Failed_ state). Polls are counted without retries: a poll that keeps
 * failing ends the key (caught), it does not prolong it.
 */
export function worstCase(settings: LimitSettings, keys = MAX_KEYS): WorstCase {
  const loopsPerKey = pollTimes(
    { shortestSeconds: settings.pollInitialSeconds, maxSeconds: settings.pollMaxSeconds },
    settings.rotationTimeoutMinutes * 60,
  ).length;
  const once = (events: number) => events + FAILED_ATTEMPT; // a step with one transient retry
  const rotateThrottled = LAMBDA_TASK + (RETRIERS.rotateThrottling.maxAttempts - 1) * FAILED_ATTEMPT;
  const perKeyEvents =
    FLOW_STATE + // Map iteration started + succeeded
    once(LAMBDA_TASK) +
    FLOW_STATE + // Assess, AfterAssess
    once(CALLBACK_TASK) + // RequestApproval (times out)
    once(LAMBDA_TASK) +
    FLOW_STATE + // LockKey, AfterLock
    rotateThrottled +
    FLOW_STATE + // Rotate, AfterRotate
    loopsPerKey * (FLOW_STATE + LAMBDA_TASK + FLOW_STATE) + // Wait, Rotate|CheckRotation, Choice
    FLOW_STATE +
    FLOW_STATE + // ClassifyFailure, Failed_<reason>
    once(LAMBDA_TASK) +
    FLOW_STATE; // Record, KeyResult
  // States entered plus retries: Assess+1, AfterAssess, RequestApproval+1, LockKey+1, AfterLock,
  // Rotate + its throttling retries, AfterRotate, 3 per loop, ClassifyFailure, Failed_, Record+1, KeyResult.
  const perKeyTransitions =
    2 + 1 + 2 + 2 + 1 + RETRIERS.rotateThrottling.maxAttempts + 1 + 3 * loopsPerKey + 1 + 1 + 2 + 1;
  const fullyRetried = (task: RetriedTask) => LAMBDA_TASK + maxRetries(task) * FAILED_ATTEMPT;
  const executionEvents =
    2 + // ExecutionStarted, ExecutionSucceeded|Failed
    fullyRetried('Intake') +
    fullyRetried('ClaimRequest') +
    4 + // ForEachKey
    fullyRetried('Notify') +
    fullyRetried('CloseRequest') +
    FLOW_STATE +
    FLOW_STATE + // AnyKeyFailed, Done|KeysFailed|ReencryptionFailed
    fullyRetried('PlanReencryption'); // always present (without the branch it only plans and refuses)
  const executionTransitions =
    8 +
    maxRetries('Intake') +
    maxRetries('ClaimRequest') +
    maxRetries('PlanReencryption') +
    maxRetries('Notify') +
    maxRetries('CloseRequest');
  const branch = reencryptionWorstCase(settings);
  return {
    loopsPerKey,
    eventsPerKey: perKeyEvents,
    historyEvents: executionEvents + keys * perKeyEvents + branch.historyEvents,
    stateTransitions: executionTransitions + keys * perKeyTransitions + branch.stateTransitions,
  };
}

/**
 * Events of a Distributed Map state in the parent's history (the children have their own):
 * MapStateEntered, MapStateStarted, MapRunStarted, MapRunSucceeded|MapRunFailed,
 * MapStateSucceeded|MapStateFailed, MapStateExited (the guide's history event types). The local
 * runner counts the same six (test/runner/aws-rules.test.ts compares them).
 */
export const DISTRIBUTED_MAP_EVENTS = 6;

/**
 * What the re-encryption loop adds to the parent's history (none without the branch): per unit
 * (at most MAX_REENCRYPTION_UNITS) the MoreToReencrypt Choice, the Distributed Map's own events
 * and SummarizeReencryption with every retry spent; plus the last MoreToReencrypt. The child
 * executions' events are in their own (Express) histories, not the parent's.
 */
export function reencryptionWorstCase(
  settings: LimitSettings,
  units = MAX_REENCRYPTION_UNITS,
): { historyEvents: number; stateTransitions: number } {
  if (!hasReencryptionBranch(settings)) return { historyEvents: 0, stateTransitions: 0 };
  const summarize = LAMBDA_TASK + maxRetries('SummarizeReencryption') * FAILED_ATTEMPT;
  return {
    historyEvents: units * (FLOW_STATE + DISTRIBUTED_MAP_EVENTS + summarize) + FLOW_STATE,
    stateTransitions: units * (3 + maxRetries('SummarizeReencryption')) + 1,
  };
}

/**
 * Longest wall-clock time of one unit's map run, sized for OBJECTS_PER_TARGET_BUDGET objects of
 * the costliest kind (envelope, KMS_REQUESTS_PER_OBJECT.envelope requests each) at
 * reEncryptKmsRequestsPerSecond (concurrency x per-child pace = the bound: reencryptionPacing),
 * plus the tail of the last batches (an Express child's 5 minutes) and SummarizeReencryption at
 * its longest. At the default 100 requests/s: 60,000 s (16.7 h) of KMS time for a million
 * envelope objects in an SSE-KMS bucket (8.3 h for SSE-KMS copies), about 16.8 h per unit in all.
 */
export function reencryptionUnitSeconds(kmsRequestsPerSecond: number): number {
  const kmsSeconds = Math.ceil((OBJECTS_PER_TARGET_BUDGET * KMS_REQUESTS_PER_OBJECT.envelope) / kmsRequestsPerSecond);
  return kmsSeconds + EXPRESS_CHILD_SECONDS + longestTaskSeconds('SummarizeReencryption');
}

/** Longest wall-clock time a Task can take: every attempt timing out, every retry delay at its cap. */
function longestTaskSeconds(task: RetriedTask): number {
  return (maxRetries(task) + 1) * TASK_TIMEOUT_SECONDS + maxRetryDelaySeconds(task);
}

/**
 * The execution timeout the stack sets: per wave of keys (an inline Map runs at most 40 at
 * once, so MAX_KEYS keys may take two waves) the approval timeout, the rotation timeout and
 * every per-key step at its longest; plus the execution's own steps at their longest. Whole
 * minutes, rounded up.
 */
export function executionTimeoutSeconds(settings: LimitSettings, keys = MAX_KEYS): number {
  const waves = Math.ceil(keys / INLINE_MAP_CONCURRENCY);
  const perKeySteps = (['Assess', 'RequestApproval', 'LockKey', 'Rotate', 'Record'] as const).reduce(
    (s, t) => s + longestTaskSeconds(t),
    0,
  );
  // The last wait may end up to a second past the deadline, and the look after it takes a task.
  const perWave =
    settings.approvalTimeoutMinutes * 60 +
    settings.rotationTimeoutMinutes * 60 +
    1 +
    longestTaskSeconds('CheckRotation') +
    perKeySteps;
  const executionSteps = (['Intake', 'ClaimRequest', 'PlanReencryption', 'Notify', 'CloseRequest'] as const).reduce(
    (s, t) => s + longestTaskSeconds(t),
    0,
  );
  // The re-encryption units run one after the other, after every key is done.
  const branch = hasReencryptionBranch(settings)
    ? MAX_REENCRYPTION_UNITS * reencryptionUnitSeconds(settings.reEncryptKmsRequestsPerSecond ?? 100)
    : 0;
  return Math.ceil((waves * perWave + executionSteps + branch) / 60) * 60;
}

/** A settings combination that cannot fit, with the settings it names. */
export interface LimitProblem {
  settings: Exclude<keyof LimitSettings, 'reEncryptBuckets'>[];
  message: string;
}

/** Why these settings could make an execution exceed a Step Functions limit (empty: they fit). */
export function limitProblems(settings: LimitSettings): LimitProblem[] {
  const problems: LimitProblem[] = [];
  const worst = worstCase(settings);
  if (worst.historyEvents >= HISTORY_EVENT_LIMIT) {
    problems.push({
      settings: ['rotationTimeoutMinutes', 'pollInitialSeconds', 'pollMaxSeconds'],
      message:
        `rotationTimeoutMinutes ${settings.rotationTimeoutMinutes} with pollInitialSeconds ${settings.pollInitialSeconds} and pollMaxSeconds ${settings.pollMaxSeconds} ` +
        `allow ${worst.loopsPerKey} polls per stalled key: ${worst.historyEvents} history events for ${MAX_KEYS} keys, over Step Functions' ${HISTORY_EVENT_LIMIT}. ` +
        'Shorten rotationTimeoutMinutes or raise pollMaxSeconds.',
    });
  }
  const timeout = executionTimeoutSeconds(settings);
  if (timeout > MAX_EXECUTION_SECONDS && hasReencryptionBranch(settings)) {
    problems.push({
      settings: ['reEncryptKmsRequestsPerSecond'],
      message:
        `reEncryptKmsRequestsPerSecond ${settings.reEncryptKmsRequestsPerSecond} re-encrypts ${MAX_REENCRYPTION_UNITS} targets of ${OBJECTS_PER_TARGET_BUDGET} objects in ` +
        `${Math.ceil(timeout / 86400)} days (with the approval and rotation timeouts), over Step Functions' 1-year maximum. Raise reEncryptKmsRequestsPerSecond.`,
    });
  } else if (timeout > MAX_EXECUTION_SECONDS) {
    problems.push({
      settings: ['approvalTimeoutMinutes', 'rotationTimeoutMinutes'],
      message:
        `approvalTimeoutMinutes ${settings.approvalTimeoutMinutes} and rotationTimeoutMinutes ${settings.rotationTimeoutMinutes} need an execution timeout of ` +
        `${Math.ceil(timeout / 86400)} days, over Step Functions' 1-year maximum.`,
    });
  }
  return problems;
}
