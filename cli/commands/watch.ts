import { Aws, type AwsFlags } from '../aws';
import type { ExitCode } from '../exit-codes';
import { executionArnOf, followAndReport } from '../follow';
import type { Io } from '../io';
import { intervalMs } from '../options';

export interface WatchOptions extends AwsFlags {
  stateMachine?: string;
  json?: boolean;
  interval?: number;
}

/** Follows an execution (ARN, or a name of the workflow's state machine) until it ends. */
export async function watch(io: Io, execution: string, opts: WatchOptions): Promise<ExitCode> {
  const aws = new Aws(opts, io.env);
  const executionArn = await executionArnOf(execution, () => aws.stateMachineArn(opts.stateMachine, io.env));
  io.stderr.write(`Following ${executionArn}\n`);
  return followAndReport(aws, io, executionArn, { json: opts.json, intervalMs: intervalMs(io, opts.interval) });
}
