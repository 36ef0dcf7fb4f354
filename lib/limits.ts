/**
 * What one execution can cost at most, from the settings alone: history events, state
 * transitions and wall-clock time. The settings schema rejects settings whose worst case does
 * not fit Step Functions (25,000 history events, one year per execution), and the stack sets the
 * execution timeout to the derived duration. Pure; no CDK import.
 *
 * Event counts follow the execution history Step Functions writes (and local/runner.ts counts):
 * a Lambda Task state is 5 events (entered, scheduled, started, succeeded, exited) and each
 * failed attempt before a retry 3 more; a callback Task is 6; a Wait, Choice, Pass or Succeed
 * state 2; a Map state 4 plus 2 per iteration; the execution itself 2.
 */
import { pollTimes } from '../lambdas/domain/backoff';
import { MAX_KEYS } from '../lambdas/domain/intake/read';
import { maxRetries, maxRetryDelaySeconds, RETRIERS, type RetriedTask } from './retriers';

/** Step Functions (Standard): events in one execution's history. */
export const HISTORY_EVENT_LIMIT = 25_000;
/** Step Functions (Standard): longest execution. */
export const MAX_EXECUTION_SECONDS = 365 * 24 * 3600;
/** Inline Map: at most 40 iterations run at once, whatever MaxConcurrency says. */
export const INLINE_MAP_CONCURRENCY = 40;
/** Every Lambda Task's TimeoutSeconds (lib/workflow.ts). */
export const TASK_TIMEOUT_SECONDS = 60;

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
  const loopsPerKey = pollTimes({ shortestSeconds: settings.pollInitialSeconds, maxSeconds: settings.pollMaxSeconds }, settings.rotationTimeoutMinutes * 60).length;
  const once = (events: number) => events + FAILED_ATTEMPT; // a step with one transient retry
  const rotateThrottled = LAMBDA_TASK + (RETRIERS.rotateThrottling.maxAttempts - 1) * FAILED_ATTEMPT;
  const perKeyEvents =
    FLOW_STATE + // Map iteration started + succeeded
    once(LAMBDA_TASK) + FLOW_STATE + // Assess, AfterAssess
    once(CALLBACK_TASK) + // RequestApproval (times out)
    once(LAMBDA_TASK) + FLOW_STATE + // LockKey, AfterLock
    rotateThrottled + FLOW_STATE + // Rotate, AfterRotate
    loopsPerKey * (FLOW_STATE + LAMBDA_TASK + FLOW_STATE) + // Wait, Rotate|CheckRotation, Choice
    FLOW_STATE + FLOW_STATE + // ClassifyFailure, Failed_<reason>
    once(LAMBDA_TASK) + FLOW_STATE; // Record, KeyResult
  // States entered plus retries: Assess+1, AfterAssess, RequestApproval+1, LockKey+1, AfterLock,
  // Rotate + its throttling retries, AfterRotate, 3 per loop, ClassifyFailure, Failed_, Record+1, KeyResult.
  const perKeyTransitions = 2 + 1 + 2 + 2 + 1 + RETRIERS.rotateThrottling.maxAttempts + 1 + 3 * loopsPerKey + 1 + 1 + 2 + 1;
  const fullyRetried = (task: RetriedTask) => LAMBDA_TASK + maxRetries(task) * FAILED_ATTEMPT;
  const executionEvents =
    2 + // ExecutionStarted, ExecutionSucceeded|Failed
    fullyRetried('Intake') +
    fullyRetried('ClaimRequest') +
    4 + // ForEachKey
    fullyRetried('Notify') +
    fullyRetried('CloseRequest') +
    FLOW_STATE + FLOW_STATE; // AnyKeyFailed, Done|KeysFailed
  const executionTransitions = 7 + maxRetries('Intake') + maxRetries('ClaimRequest') + maxRetries('Notify') + maxRetries('CloseRequest');
  return {
    loopsPerKey,
    eventsPerKey: perKeyEvents,
    historyEvents: executionEvents + keys * perKeyEvents,
    stateTransitions: executionTransitions + keys * perKeyTransitions,
  };
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
  const perKeySteps = (['Assess', 'RequestApproval', 'LockKey', 'Rotate', 'Record'] as const).reduce((s, t) => s + longestTaskSeconds(t), 0);
  // The last wait may end up to a second past the deadline, and the look after it takes a task.
  const perWave = settings.approvalTimeoutMinutes * 60 + settings.rotationTimeoutMinutes * 60 + 1 + longestTaskSeconds('CheckRotation') + perKeySteps;
  const executionSteps = (['Intake', 'ClaimRequest', 'Notify', 'CloseRequest'] as const).reduce((s, t) => s + longestTaskSeconds(t), 0);
  return Math.ceil((waves * perWave + executionSteps) / 60) * 60;
}

/** A settings combination that cannot fit, with the settings it names. */
export interface LimitProblem {
  settings: (keyof LimitSettings)[];
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
  if (timeout > MAX_EXECUTION_SECONDS) {
    problems.push({
      settings: ['approvalTimeoutMinutes', 'rotationTimeoutMinutes'],
      message:
        `approvalTimeoutMinutes ${settings.approvalTimeoutMinutes} and rotationTimeoutMinutes ${settings.rotationTimeoutMinutes} need an execution timeout of ` +
        `${Math.ceil(timeout / 86400)} days, over Step Functions' 1-year maximum.`,
    });
  }
  return problems;
}
