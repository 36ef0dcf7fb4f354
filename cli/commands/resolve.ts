import { readFileSync } from 'node:fs';
import { inputKind, InvalidRequestError, parseIncident, summariseForResolve } from '../../lambdas/domain/intake/intake';
import { usageError } from '../errors';
import { EXIT, type ExitCode } from '../exit-codes';
import type { Io } from '../io';

/** JSON with object keys in sorted order (stable output to diff and grep). */
export function sortedJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === 'object')
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
      );
    return v;
  };
  return JSON.stringify(sort(value), null, 2);
}

/** Reads a JSON file; a missing file or bad JSON is exit 2 naming the path. */
export function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : (error as Error).message;
    throw usageError(`${what} ${path}: cannot read the file (${why})`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw usageError(`${what} ${path}: not valid JSON (${(error as Error).message})`);
  }
}

function envelope(event: unknown, field: 'account' | 'region'): string {
  const v = event && typeof event === 'object' ? (event as Record<string, unknown>)[field] : undefined;
  return typeof v === 'string' ? v : '';
}

/**
 * Which finding, how severe, which keys: what Intake makes of a finding event, offline. Bare key
 * ids become ARNs in the event's own account and Region (the envelope's), as in the workflow.
 */
export async function resolve(io: Io, opts: { event: string }): Promise<ExitCode> {
  const event = readJsonFile(opts.event, '--event');
  // Intake's own dispatch: resolve reads what Intake would read as a finding event, nothing else.
  if (inputKind(event) === 'manual') {
    throw usageError(
      `--event ${opts.event}: this is a manual request (keyId, reason), not a finding event; resolve reads GuardDuty, Security Hub and IAM Access Analyzer findings (EventBridge events)`,
    );
  }
  let summary;
  try {
    const request = parseIncident(event, {
      account: envelope(event, 'account'),
      region: envelope(event, 'region'),
      newRequestId: () => 'resolve',
    });
    summary = summariseForResolve(request);
  } catch (error) {
    if (error instanceof InvalidRequestError)
      throw usageError(`--event ${opts.event}: not a finding of a known source: ${error.message}`);
    throw error;
  }
  io.stdout.write(`${sortedJson(summary)}\n`);
  return EXIT.OK;
}
