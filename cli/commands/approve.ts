import { SendTaskFailureCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { APPROVAL_DENIED, encodeApproval, encodeDenial } from '../../lambdas/domain/approval';
import { MAX_REASON_LENGTH } from '../../lambdas/domain/intake/intake';
import { Aws, type AwsFlags } from '../aws';
import { usageError } from '../errors';
import { EXIT, type ExitCode } from '../exit-codes';
import { lineWriter, type Io } from '../io';

export interface DecisionOptions extends AwsFlags {
  reason?: string;
}

/** Task tokens are opaque, at most 2048 characters (SendTaskSuccess API). */
const MAX_TOKEN = 2048;

function checkToken(token: string): string {
  const t = token.trim();
  if (t === '' || t.length > MAX_TOKEN || /\s/.test(t)) throw usageError(`<token>: expected the approval task token from the notification (1-${MAX_TOKEN} characters, no spaces)`);
  return t;
}

/** TaskDoesNotExist / InvalidToken / TaskTimedOut: the decision can no longer be given. */
function tokenProblem(e: Error): ReturnType<typeof usageError> | undefined {
  switch (e.name) {
    case 'TaskDoesNotExist':
      return usageError('The approval token is not (or no longer) waiting for a decision (TaskDoesNotExist): it was already answered, the execution ended, or it belongs to another account or Region (--profile/--region).');
    case 'InvalidToken':
      return usageError('The approval token is not valid (InvalidToken): copy it whole from the notification.');
    case 'TaskTimedOut':
      return usageError('The approval token has expired (TaskTimedOut): the approval window closed, so no decision can be given any more. See `kms-rotate status`, and rerun `kms-rotate start` if the key should still be rotated.');
    default:
      return undefined;
  }
}

/** Sends "approve" for a key waiting in the approval gate. */
export async function approve(io: Io, token: string, opts: AwsFlags): Promise<ExitCode> {
  const taskToken = checkToken(token);
  const aws = new Aws(opts, io.env);
  const by = (await aws.callerIdentity()).arn;
  await aws.call('states:SendTaskSuccess', () => aws.sfn().send(new SendTaskSuccessCommand({ taskToken, output: encodeApproval(by) })), tokenProblem);
  lineWriter(io.stdout)(`Approved by ${by}. The workflow continues with the rotation.`);
  return EXIT.OK;
}

/** Sends "deny" (error APPROVAL_DENIED) for a key waiting in the approval gate. */
export async function deny(io: Io, token: string, opts: DecisionOptions): Promise<ExitCode> {
  const taskToken = checkToken(token);
  const reason = (opts.reason ?? '').trim();
  if (reason === '') throw usageError('--reason: expected a non-empty string saying why, got an empty one');
  if (reason.length > MAX_REASON_LENGTH) throw usageError(`--reason: expected at most ${MAX_REASON_LENGTH} characters, got ${reason.length}`);
  const aws = new Aws(opts, io.env);
  const by = (await aws.callerIdentity()).arn;
  await aws.call(
    'states:SendTaskFailure',
    () => aws.sfn().send(new SendTaskFailureCommand({ taskToken, error: APPROVAL_DENIED, cause: encodeDenial(by, reason) })),
    tokenProblem,
  );
  lineWriter(io.stdout)(`Denied by ${by}: ${reason}. The workflow reports the key as SKIPPED (APPROVAL_DENIED).`);
  return EXIT.OK;
}
