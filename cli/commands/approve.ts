import { APPROVAL_ID_PATTERN } from '../../lambdas/domain/approvals/approval';
import { MAX_REASON_LENGTH } from '../../lambdas/domain/intake/intake';
import { Aws, STACK_NAME, type AwsFlags } from '../aws';
import { usageError } from '../errors';
import { EXIT, type ExitCode } from '../exit-codes';
import { callFrontDoor } from '../front-door';
import { lineWriter, type Io } from '../io';
import { clean } from '../sanitise';

export interface DecisionOptions extends AwsFlags {
  reason?: string;
}

function checkApprovalId(id: string): string {
  const t = id.trim();
  if (!APPROVAL_ID_PATTERN.test(t))
    throw usageError('<approval-id>: expected the approval id from the notification (ap- and 20 hex characters)');
  return t;
}

/**
 * Sends "approve" for a key waiting in the approval gate, through the front door: it reads who
 * you are from your signed request, refuses if you asked for the rotation yourself, and answers
 * the gate once.
 */
export async function approve(io: Io, approvalId: string, opts: DecisionOptions): Promise<ExitCode> {
  const id = checkApprovalId(approvalId);
  const reason = (opts.reason ?? '').trim();
  if (reason.length > MAX_REASON_LENGTH)
    throw usageError(`--reason: expected at most ${MAX_REASON_LENGTH} characters, got ${reason.length}`);
  const aws = new Aws(opts, io.env);
  const out = await callFrontDoor(
    aws,
    io,
    STACK_NAME,
    'approval',
    { approvalId: id },
    { decision: 'approve', ...(reason ? { reason } : {}) },
    `approve ${id}`,
  );
  lineWriter(io.stdout)(`Approved by ${clean(String(out.by ?? 'you'))}. The workflow continues with the rotation.`);
  return EXIT.OK;
}

/** Sends "deny" for a key waiting in the approval gate (it ends SKIPPED APPROVAL_DENIED). */
export async function deny(io: Io, approvalId: string, opts: DecisionOptions): Promise<ExitCode> {
  const id = checkApprovalId(approvalId);
  const reason = (opts.reason ?? '').trim();
  if (reason === '') throw usageError('--reason: expected a non-empty string saying why, got an empty one');
  if (reason.length > MAX_REASON_LENGTH)
    throw usageError(`--reason: expected at most ${MAX_REASON_LENGTH} characters, got ${reason.length}`);
  const aws = new Aws(opts, io.env);
  const out = await callFrontDoor(
    aws,
    io,
    STACK_NAME,
    'approval',
    { approvalId: id },
    { decision: 'deny', reason },
    `deny ${id}`,
  );
  lineWriter(io.stdout)(
    `Denied by ${clean(String(out.by ?? 'you'))}: ${clean(reason)}. The workflow reports the key as SKIPPED (APPROVAL_DENIED).`,
  );
  return EXIT.OK;
}
