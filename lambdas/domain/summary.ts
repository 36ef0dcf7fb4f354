import type { CaughtFailure, IncidentRequest, KeyResult, KeyTask, Outcome, RunSummary } from './contracts';
import { classifyError } from './reasons';

/** Longest error detail kept for people; longer messages are cut with an ellipsis. */
export const MAX_ERROR_DETAIL = 300;

/** One Map iteration's end state: a finished task, or the task as it was when a step threw. */
export type IterationResult = KeyTask & CaughtFailure;

export interface SummariseInput {
  request: IncidentRequest;
  results: IterationResult[];
  executionArn?: string | null;
  startedAt?: string | null;
}

/** Worst first: a failure outranks a rotation, which outranks a dry run, which outranks a skip. */
const SEVERITY: Record<Outcome, number> = { FAILED: 3, ROTATED: 2, DRY_RUN: 1, SKIPPED: 0 };

/**
 * Summarise one execution: every key's result in input order, the worst outcome across keys
 * (FAILED > ROTATED > DRY_RUN > SKIPPED; NONE when no key was implicated) and whether any failed.
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
    executionArn: input.executionArn ?? null,
    startedAt: input.startedAt ?? null,
    outcome: worstOutcome(keys.map((k) => k.outcome)),
    anyFailed: keys.some((k) => k.outcome === 'FAILED'),
    keys,
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
export function toKeyResult(task: IterationResult): KeyResult {
  const base = {
    ref: task.ref,
    keyArn: task.keyArn ?? null,
    via: task.via ?? null,
    aliases: Array.isArray(task.aliases) ? task.aliases : [],
    onDemandRotationsUsed: task.onDemandRotationsUsed ?? null,
    onDemandRotationsRemaining: task.onDemandRotationsRemaining ?? null,
    previousKeyMaterialId: task.previousKeyMaterialId ?? null,
    currentKeyMaterialId: task.currentKeyMaterialId ?? null,
    joined: task.joined === true,
    rotationStartedAt: task.rotationStartedAt ?? null,
    confirmedAt: task.confirmedAt ?? null,
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
    const reason = task.outcome === 'FAILED' ? (task.reason ?? 'INTERNAL') : task.outcome === 'SKIPPED' ? task.reason : null;
    return { ...base, outcome: task.outcome, reason, detail: task.detail ?? null };
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

interface ParsedCause {
  message: string | null;
  errorType: string | null;
}

/**
 * Step Functions `Cause`: from a Lambda, JSON `{"errorType","errorMessage","trace",...}`; from an
 * SDK integration or a States.* error, plain text (or nothing).
 */
export function parseCause(cause: string | undefined | null): ParsedCause {
  if (typeof cause !== 'string' || cause.trim() === '') return { message: null, errorType: null };
  const trimmed = cause.trim();
  if (trimmed.startsWith('{')) {
    try {
      const json: unknown = JSON.parse(trimmed);
      if (json && typeof json === 'object' && !Array.isArray(json)) {
        const o = json as Record<string, unknown>;
        const message = firstString(o.errorMessage, o.message, o.Message, o.cause, o.Cause);
        const errorType = firstString(o.errorType, o.name, o.__type, o.code, o.Code);
        return { message: message === null ? null : cleanMessage(message), errorType };
      }
    } catch {
      // Not JSON after all: treat it as text.
    }
  }
  return { message: cleanMessage(trimmed), errorType: null };
}

function firstString(...values: unknown[]): string | null {
  for (const v of values) if (typeof v === 'string' && v.trim() !== '') return v;
  return null;
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

/** Drop stack frames, ANSI colour codes and control characters; keep one line. */
function cleanMessage(message: string): string {
  // A stack trace starts at the first "    at " frame line (Node) — everything after goes.
  const withoutStack = message.split(/\r?\n\s*at\s/)[0] ?? '';
  return oneLine(withoutStack, MAX_ERROR_DETAIL * 4);
}

/** Collapse a string to one clean line (no control or format characters), at most `max` characters. */
export function oneLine(text: string, max: number): string {
  const clean = String(text)
    // eslint-disable-next-line no-control-regex -- ESC (U+001B) starts the ANSI sequences removed here
    .replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, '') // ANSI escape sequences
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu, ' ') // control, format, separators, lone surrogates
    .replace(/\s+/gu, ' ')
    .trim();
  return cut(clean, max);
}

/** Cut to at most `max` characters (UTF-16 units, never splitting a pair), ending with an ellipsis when cut. */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 1) return max === 1 ? '…' : '';
  let end = max - 1;
  // Do not leave half a surrogate pair before the ellipsis.
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return `${text.slice(0, end).trimEnd()}…`;
}
