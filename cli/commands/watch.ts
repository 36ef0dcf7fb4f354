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
  // A name: manual runs (manual-..., drill-...) are the manual machine's, the rest the automatic one's.
  const executionArn = await executionArnOf(execution, async () => {
    const machines = await aws.stateMachineArns(opts.stateMachine, io.env);
    return /^(manual|drill)-/.test(execution) || !machines.automatic ? machines.manual : machines.automatic;
  });
  io.stderr.write(`Following ${executionArn}\n`);
  return followAndReport(aws, io, executionArn, { json: opts.json, intervalMs: intervalMs(io, opts.interval) });
}
