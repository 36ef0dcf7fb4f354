import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_POLL_SECONDS } from './follow';
import type { Io } from './io';
import { usageError } from './errors';
import { loadWorldFile, WorldError, type World } from '../local/world';

/** `--profile` and `--region`, on every command that calls AWS. */
export function withAwsOptions(cmd: Command): Command {
  return cmd
    .option('--profile <name>', 'AWS profile to use (default: AWS_PROFILE, then the default credential chain)')
    .option('--region <region>', "AWS Region (default: AWS_REGION, then the profile's Region)", region);
}

export function withStateMachineOption(cmd: Command): Command {
  return cmd.option(
    '--state-machine <arn>',
    "the workflow's state machine ARN (default: $KMS_ROTATE_STATE_MACHINE, else the StateMachineArn output of the KmsIncidentRotation stack)",
  );
}

export function withIntervalOption(cmd: Command): Command {
  return cmd.addOption(
    new Option('--interval <seconds>', 'seconds between status checks while following')
      .default(DEFAULT_POLL_SECONDS)
      .argParser(positiveNumber),
  );
}

export function region(value: string): string {
  if (!/^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$/.test(value))
    throw new InvalidArgumentError(`expected an AWS Region such as us-east-1, got ${JSON.stringify(value)}`);
  return value;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0)
    throw new InvalidArgumentError(`expected a positive number, got ${JSON.stringify(value)}`);
  return n;
}

export function positiveInteger(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1)
    throw new InvalidArgumentError(`expected a whole number of at least 1, got ${JSON.stringify(value)}`);
  return n;
}

export function nonNegativeInteger(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n))
    throw new InvalidArgumentError(`expected a whole number (0 or more), got ${JSON.stringify(value)}`);
  return n;
}

/** The poll interval in ms: the test override, else --interval. */
export function intervalMs(io: Io, seconds: number | undefined): number {
  return io.pollIntervalMs ?? Math.round((seconds ?? DEFAULT_POLL_SECONDS) * 1000);
}

/** A world file for `simulate` and `sandbox`: a bad file is bad input (exit 2), naming the file and the field. */
export function loadWorld(path: string): World {
  try {
    return loadWorldFile(path);
  } catch (error) {
    if (error instanceof WorldError) throw usageError(error.message);
    throw error;
  }
}
