import { Aws, withAwsEnvironment, type AwsFlags } from '../aws';
import { exitCodeForRun, type ExitCode } from '../exit-codes';
import { executionArnOf, followExecution, printOutcome } from '../follow';
import type { Io } from '../io';
import { intervalMs } from '../options';
import { resultJson } from './start';

export interface WatchOptions extends AwsFlags {
  stateMachine?: string;
  json?: boolean;
  interval?: number;
}

/** Follows an execution (ARN, or a name of the workflow's state machine) until it ends. */
export async function watch(io: Io, execution: string, opts: WatchOptions): Promise<ExitCode> {
  return withAwsEnvironment(io, opts, async () => {
    const aws = new Aws(opts);
    const executionArn = await executionArnOf(execution, () => aws.stateMachineArn(opts.stateMachine, io.env));
    io.stderr.write(`Following ${executionArn}\n`);
    const result = await followExecution(aws, io, executionArn, {
      traceTo: opts.json ? io.stderr : io.stdout,
      traceStream: opts.json ? 'stderr' : 'stdout',
      intervalMs: intervalMs(io, opts.interval),
    });
    if (opts.json) {
      const code = exitCodeForRun(result.status, result.summary);
      io.stdout.write(resultJson(result, code));
      return code;
    }
    return printOutcome(io, result);
  });
}
