import type { RunSummary } from '../lambdas/domain/contracts';

/**
 * kms-rotate's exit codes, one table for every command. `simulate` and `resolve` use only 0, 1
 * and 2 (see their --help); the others map the run's outcome with `exitCodeForRun`.
 */
export const EXIT = {
  /** ROTATED or DRY_RUN, or a read-only command that answered. */
  OK: 0,
  /** A key FAILED, the execution failed, a drill failed, or an unexpected error. */
  FAILED: 1,
  /** Bad input or configuration: an option, a key reference, a file, no state machine, an invalid token. */
  USAGE: 2,
  /** Every key was SKIPPED. */
  SKIPPED: 3,
  /** AWS refused or could not be reached: no or expired credentials, access denied, network. */
  AWS: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The table as --help prints it. */
export const EXIT_CODE_HELP = [
  'Exit codes:',
  '  0  success: every key ROTATED or DRY_RUN, or a read-only command answered',
  '  1  FAILED: a key failed, the execution failed, or an unexpected error',
  '  2  bad input or configuration (option, key reference, file, state machine, token)',
  '  3  every key was SKIPPED',
  '  4  AWS refused or was unreachable (credentials, expired session, access denied, network)',
].join('\n');

/**
 * The exit code for a finished execution: 1 when it did not succeed or any key FAILED, 3 when
 * every key was SKIPPED, else 0 (ROTATED, DRY_RUN, or no key at all).
 */
export function exitCodeForRun(status: string, summary: Pick<RunSummary, 'keys'> | null): ExitCode {
  if (status !== 'SUCCEEDED') return EXIT.FAILED;
  const keys = summary?.keys ?? [];
  if (keys.some((k) => k.outcome === 'FAILED')) return EXIT.FAILED;
  if (keys.length > 0 && keys.every((k) => k.outcome === 'SKIPPED')) return EXIT.SKIPPED;
  return EXIT.OK;
}
