import type { ReencryptTargetSpec } from '../../lambdas/domain/reencryption';
import { CliError } from '../errors';
import type { ExitCode } from '../exit-codes';
import type { Io } from '../io';
import { start, type StartOptions } from './start';

export interface ReencryptOptions extends Omit<StartOptions, 'force' | 'reencrypt' | 'reencryptOnly'> {
  /** `--exposed-at`: ISO 8601 time from which the key material may have been exposed. */
  exposedAt: string;
  /** `--target`, repeatable (parsed by parseReencryptOption). */
  target: ReencryptTargetSpec[];
}

/**
 * `kms-rotate reencrypt`: re-encrypt data under NEW data keys from the key's CURRENT material,
 * without a rotation (never RotateKeyOnDemand, no rotation spent). The workflow runs it only when
 * the key's newest material was created after --exposed-at; otherwise the key is SKIPPED
 * MATERIAL_PREDATES_EXPOSURE and nothing is written (rotate first with `kms-rotate start`).
 * No break-glass; a key tagged for approval needs a second person, as any manual request.
 */
export async function reencrypt(io: Io, opts: ReencryptOptions): Promise<ExitCode> {
  try {
    return await start(io, { ...opts, reencrypt: opts.target, reencryptOnly: { exposedAt: opts.exposedAt } });
  } catch (error) {
    // start names its own option for the targets (--reencrypt); this command's is --target.
    if (error instanceof CliError) error.message = error.message.replace(/--reencrypt\b/g, '--target');
    throw error;
  }
}
