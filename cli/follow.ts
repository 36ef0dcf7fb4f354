import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type DescribeExecutionCommandOutput,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import { executionArn as buildExecutionArn, isAccount, isPartition, isRegion, parseArn } from '../lambdas/domain/arn';
import type { RunSummary } from '../lambdas/domain/contracts';
import { STATE } from '../lambdas/domain/workflow-states';
import { formatSummaryText } from '../lambdas/domain/notification/message';
import type { Aws } from './aws';
import { usageError } from './errors';
import { exitCodeForRun, type ExitCode } from './exit-codes';
import { colourFor, lineWriter, sleepOf, type Io, type Writer } from './io';
import { budgetOf, homeOfArn, isRunSummary, parseJson } from './keys';
import { clockTime } from './live/describe';
import { HistoryTranslator } from './live/history-events';
import { LiveTrace } from './live/trace';

/** How an execution ended, with the summary people read. */
export interface ExecutionResult {
  executionArn: string;
  status: string;
  error: string | null;
  cause: string | null;
  /** The RunSummary: the execution output, or (FAILED) the Notify state's output. */
  summary: RunSummary | null;
  requestedBy: string | null;
  startDate: string | null;
  stopDate: string | null;
}

const RUNNING = new Set(['RUNNING', 'PENDING_REDRIVE']);
export const DEFAULT_POLL_SECONDS = 5;

/** State machine and execution names: letters, digits, - and _, at most 80. */
const EXECUTION_NAME = /^[A-Za-z0-9_-]{1,80}$/;

/** True for a Step Functions execution ARN (`...:states:<region>:<account>:execution:<machine>:<name>`). */
function isExecutionArn(ref: string): boolean {
  const arn = parseArn(ref);
  if (
    !arn ||
    arn.service !== 'states' ||
    !isPartition(arn.partition) ||
    !isRegion(arn.region) ||
    !isAccount(arn.account)
  )
    return false;
  const [kind, machine, name, ...rest] = arn.resource.split(':');
  return (
    kind === 'execution' && rest.length === 0 && EXECUTION_NAME.test(machine ?? '') && EXECUTION_NAME.test(name ?? '')
  );
}

/** An execution ARN from an ARN or a bare name (which needs the state machine). */
export async function executionArnOf(ref: string, stateMachine: () => Promise<string>): Promise<string> {
  if (ref.startsWith('arn:')) {
    if (!isExecutionArn(ref))
      throw usageError(
        `execution: expected an execution ARN (arn:aws:states:<region>:<account>:execution:<state machine>:<name>) or a name, got ${JSON.stringify(ref.slice(0, 200))}`,
      );
    return ref;
  }
  if (!EXECUTION_NAME.test(ref))
    throw usageError(
      `execution: expected an execution name (letters, digits, - and _, at most 80) or ARN, got ${JSON.stringify(ref.slice(0, 200))}`,
    );
  const machine = await stateMachine();
  const arn = buildExecutionArn(machine, ref);
  if (!arn)
    throw usageError(`state machine: expected a state machine ARN, got ${JSON.stringify(machine.slice(0, 200))}`);
  return arn;
}

function notFound(executionArn: string) {
  return (e: Error) =>
    e.name === 'ExecutionDoesNotExist' || e.name === 'InvalidArn'
      ? usageError(
          `No execution ${executionArn} (${e.name}). Check the name or ARN, the Region (--region) and the account (--profile).`,
        )
      : undefined;
}

/** Every history event after `afterId`, oldest first, following nextToken. */
export async function historySince(aws: Aws, executionArn: string, afterId: number): Promise<HistoryEvent[]> {
  const sfn = aws.sfn(homeOfArn(executionArn)?.region);
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await aws.call(
      'states:GetExecutionHistory',
      () =>
        sfn.send(
          new GetExecutionHistoryCommand({
            executionArn,
            maxResults: 1000,
            reverseOrder: false,
            includeExecutionData: true,
            nextToken,
          }),
        ),
      notFound(executionArn),
    );
    for (const e of page.events ?? []) if ((e.id ?? 0) > afterId) events.push(e);
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

export async function describeExecution(aws: Aws, executionArn: string): Promise<DescribeExecutionCommandOutput> {
  const sfn = aws.sfn(homeOfArn(executionArn)?.region);
  return aws.call(
    'states:DescribeExecution',
    () => sfn.send(new DescribeExecutionCommand({ executionArn })),
    notFound(executionArn),
  );
}

/** The Notify state's output (`{ request, results, notification: { summary } }`), newest first. */
export function notifyOutputIn(events: readonly HistoryEvent[]): Record<string, unknown> | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    if (e.type === 'TaskStateExited' && e.stateExitedEventDetails?.name === STATE.notify) {
      const out = parseJson(e.stateExitedEventDetails.output);
      if (typeof out === 'object' && out !== null) return out as Record<string, unknown>;
    }
  }
  return undefined;
}

/** Builds the result from DescribeExecution and (for FAILED executions) the Notify output. */
export function resultOf(
  desc: DescribeExecutionCommandOutput,
  executionArn: string,
  notifyOutput: Record<string, unknown> | undefined,
): ExecutionResult {
  const output = parseJson(desc.output);
  const fromNotify = (notifyOutput?.notification as { summary?: unknown } | undefined)?.summary;
  const summary = isRunSummary(output) ? output : isRunSummary(fromNotify) ? fromNotify : null;
  const input = parseJson(desc.input) as { requestedBy?: unknown } | undefined;
  const request = notifyOutput?.request as { requestedBy?: unknown } | undefined;
  const requestedBy =
    typeof input?.requestedBy === 'string'
      ? input.requestedBy
      : typeof request?.requestedBy === 'string'
        ? request.requestedBy
        : null;
  return {
    executionArn,
    status: desc.status ?? 'UNKNOWN',
    error: desc.error ?? null,
    cause: desc.cause ?? null,
    summary,
    requestedBy,
    startDate: desc.startDate?.toISOString() ?? null,
    stopDate: desc.stopDate?.toISOString() ?? null,
  };
}

export interface FollowOptions {
  /** Where the live trace goes (null: no trace). */
  traceTo: Writer | null;
  traceStream: 'stdout' | 'stderr';
  intervalMs: number;
}

/**
 * Follows an execution until it ends: polls DescribeExecution and the new history events (by
 * event id), renders each state as it is entered and left, and shows a spinner on a terminal
 * (stderr) or nothing between polls otherwise.
 */
export async function followExecution(
  aws: Aws,
  io: Io,
  executionArn: string,
  opts: FollowOptions,
): Promise<ExecutionResult> {
  const home = homeOfArn(executionArn);
  const onTerminal = io.stderrIsTTY === true;
  const trace = opts.traceTo
    ? new LiveTrace({
        out: opts.traceTo,
        paint: colourFor(io, opts.traceStream),
        status: onTerminal ? io.stderr : null,
        home,
      })
    : null;
  const translator = new HistoryTranslator();
  const sleep = sleepOf(io);
  let lastId = 0;
  const seen: HistoryEvent[] = [];
  try {
    for (;;) {
      const desc = await describeExecution(aws, executionArn);
      if (desc.startDate) trace?.setStart(desc.startDate.getTime());
      const events = await historySince(aws, executionArn, lastId);
      for (const e of events) {
        lastId = Math.max(lastId, e.id ?? 0);
        seen.push(e);
        trace?.push(translator.translate(e));
      }
      const status = desc.status ?? 'UNKNOWN';
      if (!RUNNING.has(status)) return resultOf(desc, executionArn, notifyOutputIn(seen));
      const nextAt = Date.now() + opts.intervalMs;
      const started = desc.startDate?.getTime() ?? Date.now();
      trace?.setActivity(
        () =>
          `${status} ${clockTime((Date.now() - started) / 1000)}, next check in ${Math.max(0, Math.ceil((nextAt - Date.now()) / 1000))}s`,
      );
      await sleep(opts.intervalMs);
      trace?.setActivity(null);
    }
  } finally {
    trace?.close();
  }
}

/**
 * Prints how an execution ended: the notification text (formatSummaryText, the same the SNS
 * message carries), or the error when there is no summary; returns the exit code.
 */
export function printOutcome(io: Io, result: ExecutionResult, out: Writer = io.stdout): ExitCode {
  const line = lineWriter(out);
  const p = colourFor(io, out === io.stdout ? 'stdout' : 'stderr');
  const region = homeOfArn(result.executionArn)?.region ?? 'us-east-1';
  line();
  if (result.summary) {
    out.write(
      formatSummaryText(result.summary, {
        region,
        rotationBudget: budgetOf(result.summary),
        requestedBy: result.requestedBy,
        maxBytes: Number.POSITIVE_INFINITY,
      }),
    );
    line();
  }
  const code = exitCodeForRun(result.status, result.summary);
  const what =
    result.status === 'SUCCEEDED'
      ? (result.summary?.outcome ?? 'NONE')
      : `${result.status}${result.error ? ` (${result.error})` : ''}`;
  line(`Execution ${p.outcome(result.status)}: ${p.outcome(what)}  exit ${code}`);
  if (result.status !== 'SUCCEEDED' && result.cause && !result.summary) line(`Cause: ${result.cause}`);
  return code;
}

/** The execution result as JSON (`--json`), with the exit code it maps to. */
export function resultJson(result: ExecutionResult, exitCode: ExitCode): string {
  return `${JSON.stringify({ ...result, exitCode }, null, 2)}\n`;
}

/**
 * Follow an execution to its end and report it: the live trace (stdout, or stderr with --json),
 * then the summary text or the JSON result. Shared by `start` and `watch`.
 */
export async function followAndReport(
  aws: Aws,
  io: Io,
  executionArn: string,
  opts: { json?: boolean; intervalMs: number },
): Promise<ExitCode> {
  const result = await followExecution(aws, io, executionArn, {
    traceTo: opts.json ? io.stderr : io.stdout,
    traceStream: opts.json ? 'stderr' : 'stdout',
    intervalMs: opts.intervalMs,
  });
  if (opts.json) {
    const code = exitCodeForRun(result.status, result.summary);
    io.stdout.write(resultJson(result, code));
    return code;
  }
  return printOutcome(io, result);
}
