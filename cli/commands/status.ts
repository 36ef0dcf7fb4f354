import { GetExecutionHistoryCommand, ListExecutionsCommand, type ExecutionListItem } from '@aws-sdk/client-sfn';
import type { RunSummary } from '../../lambdas/domain/contracts';
import type { ReencryptionSummary } from '../../lambdas/domain/reencryption';
import { Aws, type AwsFlags } from '../aws';
import { usageError } from '../errors';
import { EXIT, type ExitCode } from '../exit-codes';
import { describeExecution, notifyOutputIn, resultOf } from '../follow';
import { colourFor, lineWriter, type Io, type Paint } from '../io';
import { homeOfArn, parseJson, shortKey, type Home } from '../keys';

export interface StatusOptions extends AwsFlags {
  key?: string;
  limit: number;
  json?: boolean;
  stateMachine?: string;
}

/** One execution as `status` shows it. */
export interface StatusRow {
  name: string;
  executionArn: string;
  status: string;
  startDate: string | null;
  stopDate: string | null;
  /** The summary's outcome; null while running or when the execution ended before Notify. */
  outcome: string | null;
  error: string | null;
  /** The key the request named, when there is no summary yet (manual requests). */
  requestedKey: string | null;
  summary: RunSummary | null;
}

/** With --key, at most this many executions are read to find --limit matches. */
const MAX_SCANNED_WITH_FILTER = 200;

export async function status(io: Io, opts: StatusOptions): Promise<ExitCode> {
  if (opts.key !== undefined && opts.key.trim() === '')
    throw usageError('--key: expected part of a key ARN, key id or alias, got an empty string');
  const aws = new Aws(opts, io.env);
  // Both machines: manual runs (front door) and finding-triggered runs, newest first.
  const machines = await aws.stateMachineArns(opts.stateMachine, io.env);
  const stateMachineArn = machines.manual;
  const rows = (
    await Promise.all(
      [machines.manual, machines.automatic].filter((m): m is string => m !== null).map((m) => listRows(aws, m, opts)),
    )
  )
    .flat()
    .sort((a, b) => (b.startDate ?? '').localeCompare(a.startDate ?? ''))
    .slice(0, opts.limit);
  if (opts.json) {
    io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return EXIT.OK;
  }
  const line = lineWriter(io.stdout);
  if (rows.length === 0) {
    line(
      opts.key
        ? `No recent execution of ${stateMachineArn} names a key matching "${opts.key}".`
        : `No executions of ${stateMachineArn} yet.`,
    );
    if (aws.dashboardUrlOutput) line(`Dashboard: ${aws.dashboardUrlOutput}`);
    return EXIT.OK;
  }
  io.stdout.write(formatStatusTable(rows, homeOfArn(stateMachineArn), colourFor(io, 'stdout')));
  // Known when the state machine came from the stack's outputs (not with --state-machine).
  if (aws.dashboardUrlOutput) line(`Dashboard: ${aws.dashboardUrlOutput}`);
  return EXIT.OK;
}

async function listRows(aws: Aws, stateMachineArn: string, opts: StatusOptions): Promise<StatusRow[]> {
  const sfn = aws.sfn(homeOfArn(stateMachineArn)?.region);
  const rows: StatusRow[] = [];
  const maxScanned = opts.key ? Math.max(MAX_SCANNED_WITH_FILTER, opts.limit) : opts.limit;
  let scanned = 0;
  let nextToken: string | undefined;
  do {
    const page = await aws.call(
      'states:ListExecutions',
      () =>
        sfn.send(
          new ListExecutionsCommand({ stateMachineArn, maxResults: Math.min(100, maxScanned - scanned), nextToken }),
        ),
      (e) =>
        e.name === 'StateMachineDoesNotExist'
          ? usageError(
              `The state machine ${stateMachineArn} does not exist. Check --state-machine, --region and --profile.`,
            )
          : undefined,
    );
    for (const item of page.executions ?? []) {
      scanned += 1;
      const row = await rowOf(aws, item);
      if (!opts.key || matchesKey(row, opts.key)) rows.push(row);
      if (rows.length >= opts.limit || scanned >= maxScanned) return rows;
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return rows;
}

async function rowOf(aws: Aws, item: ExecutionListItem): Promise<StatusRow> {
  const executionArn = item.executionArn ?? '';
  const desc = await describeExecution(aws, executionArn);
  let notifyOutput: Record<string, unknown> | undefined;
  const status = desc.status ?? item.status ?? 'UNKNOWN';
  if (status !== 'SUCCEEDED' && status !== 'RUNNING') {
    // A failed execution's summary is the Notify state's output, near the end of the history.
    const sfn = aws.sfn(homeOfArn(executionArn)?.region);
    const page = await aws.call('states:GetExecutionHistory', () =>
      sfn.send(
        new GetExecutionHistoryCommand({
          executionArn,
          reverseOrder: true,
          maxResults: 100,
          includeExecutionData: true,
        }),
      ),
    );
    notifyOutput = notifyOutputIn([...(page.events ?? [])].reverse());
  }
  const result = resultOf(desc, executionArn, notifyOutput);
  const input = parseJson(desc.input) as { keyId?: unknown } | undefined;
  return {
    name: item.name ?? desc.name ?? executionArn.split(':').pop() ?? '',
    executionArn,
    status,
    startDate: (desc.startDate ?? item.startDate)?.toISOString() ?? null,
    stopDate: (desc.stopDate ?? item.stopDate)?.toISOString() ?? null,
    outcome: result.summary?.outcome ?? null,
    error: result.error,
    requestedKey: typeof input?.keyId === 'string' ? input.keyId : null,
    summary: result.summary,
  };
}

function matchesKey(row: StatusRow, needle: string): boolean {
  const n = needle.toLowerCase();
  const names = row.summary
    ? row.summary.keys.flatMap((k) => [k.keyArn, k.ref, k.via, ...k.aliases])
    : [row.requestedKey];
  return names.some((v) => typeof v === 'string' && v.toLowerCase().includes(n));
}

/** `2025-03-02 10:15:42` */
function utc(iso: string | null): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '') : '-';
}

/**
 * The table: STARTED (UTC), STATUS, OUTCOME, KEYS, EXECUTION; a row with several keys continues
 * on the next lines, one key each, so the columns stay aligned.
 */
export function formatStatusTable(rows: StatusRow[], home: Home | null, p: Paint): string {
  const keyCells = rows.map((r) => {
    if (r.summary) {
      const keys =
        r.summary.keys.length === 0
          ? ['(no key)']
          : r.summary.keys.map(
              (k) => `${shortKey(k.keyArn ?? k.ref, home)} ${k.outcome}${k.reason ? ` ${k.reason}` : ''}`,
            );
      const reencryption = r.summary.reencryption ? reencryptionCell(r.summary.reencryption) : null;
      return reencryption ? [...keys, reencryption] : keys;
    }
    return [r.requestedKey ? `${shortKey(r.requestedKey, home)}${r.status === 'RUNNING' ? ' ...' : ''}` : '-'];
  });
  const cells = rows.map((r, i) => ({
    started: utc(r.startDate),
    status: r.status,
    outcome: r.outcome ?? (r.status === 'RUNNING' ? '...' : (r.error ?? '-')),
    keys: keyCells[i]!,
    name: r.name,
  }));
  const header = { started: 'STARTED (UTC)', status: 'STATUS', outcome: 'OUTCOME', keys: ['KEYS'], name: 'EXECUTION' };
  const w = {
    started: Math.max(header.started.length, ...cells.map((c) => c.started.length)),
    status: Math.max(header.status.length, ...cells.map((c) => c.status.length)),
    outcome: Math.max(header.outcome.length, ...cells.map((c) => c.outcome.length)),
    keys: Math.max(header.keys[0]!.length, ...cells.flatMap((c) => c.keys.map((k) => k.length))),
  };
  const lines: string[] = [];
  lines.push(
    p.bold(
      [
        header.started.padEnd(w.started),
        header.status.padEnd(w.status),
        header.outcome.padEnd(w.outcome),
        header.keys[0]!.padEnd(w.keys),
        header.name,
      ].join('  '),
    ),
  );
  for (const c of cells) {
    c.keys.forEach((k, i) => {
      const first = i === 0;
      lines.push(
        [
          (first ? c.started : '').padEnd(w.started),
          first ? p.outcome(c.status.padEnd(w.status)) : ''.padEnd(w.status),
          first ? p.outcome(c.outcome.padEnd(w.outcome)) : ''.padEnd(w.outcome),
          colourKey(k.padEnd(w.keys), p),
          first ? c.name : '',
        ]
          .join('  ')
          .trimEnd(),
      );
    });
  }
  return `${lines.join('\n')}\n`;
}

/** One line for a run's re-encryption: `re-encryption: 120 re-encrypted, 3 skipped, 2 failed, 1 refused (action required)`. */
export function reencryptionCell(r: ReencryptionSummary): string {
  const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  const refused = Array.isArray(r.refused) ? r.refused.length : 0;
  const planned = Array.isArray(r.planned) ? r.planned.length : 0;
  const what =
    r.mode === 'REPORT_ONLY'
      ? `report only, ${planned} target(s) planned`
      : r.mode === 'RUN'
        ? `${n(r.objectsReencrypted)} re-encrypted, ${n(r.objectsSkipped)} skipped, ${n(r.objectsFailed)} failed`
        : 'nothing run';
  return `re-encryption: ${what}${refused > 0 ? `, ${refused} refused` : ''}${r.actionRequired ? ' (action required)' : ''}`;
}

function colourKey(cell: string, p: Paint): string {
  return cell.replace(/\b(ROTATED|DRY_RUN|SKIPPED|FAILED)\b/, (o) => p.outcome(o));
}
