import type { CaughtFailure, IncidentRequest, KeyResult, KeyTask, Outcome, RunSummary } from '../contracts';
import { isExplicitApproval } from '../approvals/approval';
import { classifyError } from '../failures';
import { keyArnOfRef } from './key-task';
import type { ReencryptionState } from '../reencryption';
import { summarizeReencryption } from '../reencryption/report';
import { cut, MAX_ERROR_DETAIL, oneLine, parseCause, type ParsedCause } from '../text';

/** One Map iteration's end state: a finished task, or the task as it was when a step threw. */
export type IterationResult = KeyTask & CaughtFailure;

export interface SummariseInput {
  request: IncidentRequest;
  results: IterationResult[];
  executionArn?: string | null;
  startedAt?: string | null;
  /** The workflow's `$.reencryption` after the re-encryption branch (null or absent: none). */
  reencryption?: ReencryptionState | null;
}

/** Longest detail a key's result keeps (the notification shows at most 600 characters of it). */
export const MAX_RESULT_DETAIL = 1000;

/** Worst first: a failure outranks a rotation, which outranks a dry run, which outranks a skip. */
const SEVERITY: Record<Outcome, number> = { FAILED: 3, ROTATED: 2, REENCRYPT_ONLY: 1.5, DRY_RUN: 1, SKIPPED: 0 };

/**
 * Summarise one execution: every key's result in input order, the worst outcome across keys
 * (FAILED > ROTATED > DRY_RUN > SKIPPED; NONE when no key was implicated), whether any failed,
 * and what the re-encryption branch did (`reencryption`, null when it had nothing to consider).
 * A key whose iteration was caught after a step threw becomes FAILED, with the state machine's
 * reason when it set one, else the reason its error name stands for, and a one-line detail taken
 * from the error message (never a stack trace).
 */
export function summarise(input: SummariseInput): RunSummary {
  const { request } = input;
  const keys = input.results.map(toKeyResult);
  return {
    requestId: request.requestId,
    source: request.source,
    findingId: request.findingId,
    findingType: request.findingType,
    severity: request.severity,
    severityLabel: request.severityLabel,
    reason: request.reason,
    dryRun: request.dryRun,
    breakGlass: request.breakGlass === true,
    executionArn: input.executionArn ?? null,
    startedAt: input.startedAt ?? null,
    outcome: worstOutcome(keys.map((k) => k.outcome)),
    anyFailed: keys.some((k) => k.outcome === 'FAILED'),
    keys,
    reencryption: summarizeReencryption(input.reencryption),
  };
}

/** The worst of the outcomes, or NONE for none. */
export function worstOutcome(outcomes: readonly Outcome[]): Outcome | 'NONE' {
  let worst: Outcome | 'NONE' = 'NONE';
  for (const outcome of outcomes) {
    if (worst === 'NONE' || SEVERITY[outcome] > SEVERITY[worst]) worst = outcome;
  }
  return worst;
}

/** One iteration's end state as a key result. */
/** The KeyResult fields a result already settled by Record may carry. */
const settled = (task: IterationResult): Partial<KeyResult> => task as Partial<KeyResult>;

export function toKeyResult(task: IterationResult): KeyResult {
  const base = {
    ref: task.ref,
    // A step can fail before Assess sets keyArn; a reference that is a key ARN still names the key.
    keyArn: task.keyArn ?? keyArnOfRef(task.ref),
    via: task.via ?? null,
    aliases: Array.isArray(task.aliases) ? task.aliases : [],
    moreAliases: typeof task.moreAliases === 'number' && task.moreAliases > 0 ? task.moreAliases : 0,
    onDemandRotationsUsed: task.onDemandRotationsUsed ?? null,
    onDemandRotationsRemaining: task.onDemandRotationsRemaining ?? null,
    previousKeyMaterialId: task.previousKeyMaterialId ?? null,
    currentKeyMaterialId: task.currentKeyMaterialId ?? null,
    joined: task.joined === true,
    rotationStartedAt: task.rotationStartedAt ?? null,
    confirmedAt: task.confirmedAt ?? null,
    // Who approved, for keys approved at the gate; null otherwise (always present: the state
    // machine's ResultSelector reads every KeyResult field, and a missing path fails in AWS).
    // (A result Record already settled carries them as fields; its approval is gone by then.)
    approvedBy: isExplicitApproval(task.approval) ? (task.approval.by ?? null) : (settled(task).approvedBy ?? null),
    approvalReason: isExplicitApproval(task.approval)
      ? (task.approval.reason ?? null)
      : (settled(task).approvalReason ?? null),
  };

  if (task.error || task.failure) {
    const parsed = task.error ? parseCause(task.error.Cause) : { message: null, errorType: null };
    const reason =
      task.failure?.reason ??
      (task.error ? secondOpinion(classifyError(task.error.Error), parsed.errorType) : 'INTERNAL');
    const what = task.error ? errorSentence(task.error.Error, parsed) : null;
    return { ...base, outcome: 'FAILED', reason, detail: failureDetail(task, what) };
  }

  if (task.outcome) {
    const reason =
      task.outcome === 'FAILED' ? (task.reason ?? 'INTERNAL') : task.outcome === 'SKIPPED' ? task.reason : null;
    // Details can quote people (a denial's reason): bounded, like every free text in a result.
    return {
      ...base,
      outcome: task.outcome,
      reason,
      detail: task.detail == null ? null : cut(String(task.detail), MAX_RESULT_DETAIL),
    };
  }

  return {
    ...base,
    outcome: 'FAILED',
    reason: 'INTERNAL',
    detail: `The key's iteration ended without an outcome (next step was ${oneLine(String(task.next ?? 'unknown'), 40)}); this is a workflow bug.${
      task.rotationStartedAt ? ` ${rotationMayBeRunning(task.rotationStartedAt)}` : ''
    }`,
  };
}

/** A Lambda error wrapped as States.TaskFailed or Lambda.Unknown may still name its real type. */
function secondOpinion(primary: ReturnType<typeof classifyError>, errorType: string | null) {
  return primary === 'INTERNAL' && errorType ? classifyError(errorType) : primary;
}

/** What the key's state was when the step failed, so nobody spends a second rotation by mistake. */
function failureDetail(task: IterationResult, what: string | null): string {
  const parts: string[] = [];
  if (task.outcome === 'ROTATED') {
    parts.push('The key WAS rotated (do not rotate it again), but a later step failed.');
  } else if (task.outcome) {
    parts.push(`The key was ${task.outcome}${task.reason ? ` (${task.reason})` : ''} when a later step failed.`);
  } else if (task.rotationStartedAt) {
    parts.push(rotationMayBeRunning(task.rotationStartedAt));
  }
  parts.push(what ?? task.detail ?? 'The step failed without an error message.');
  return cut(parts.join(' '), MAX_ERROR_DETAIL + 150);
}

function rotationMayBeRunning(startedAt: string): string {
  return `A rotation was requested at ${oneLine(startedAt, 40)} and may still complete; check before rotating again.`;
}

/** One human sentence from the error: its message and name, short, without a stack trace. */
function errorSentence(errorName: string, parsed: ParsedCause): string {
  const name = oneLine(typeof errorName === 'string' && errorName.trim() ? errorName : 'an unnamed error', 100);
  const type = parsed.errorType ? oneLine(parsed.errorType, 100) : null;
  const label = type && !name.endsWith(type) ? `${name}: ${type}` : name;
  if (!parsed.message) {
    if (name === 'States.Timeout') return 'The step timed out (States.Timeout).';
    if (name === 'States.HeartbeatTimeout') return 'The step stopped sending heartbeats (States.HeartbeatTimeout).';
    return `The step failed with ${label} and no message.`;
  }
  const message = parsed.message.includes(name) ? parsed.message : `${parsed.message} (${label})`;
  return cut(message, MAX_ERROR_DETAIL);
}
