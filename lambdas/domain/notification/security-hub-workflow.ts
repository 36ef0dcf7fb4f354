/**
 * Closing the loop in Security Hub: what the workflow writes to the findings that started a run
 * (BatchUpdateFindings Workflow.Status and Note), as Automated Security Response on AWS does when
 * it acts. Pure: the adapter (lambdas/adapters/notification/security-hub-workflow.ts) makes the call.
 */
import type { IncidentRequest, RunSummary } from '../contracts';
import type { WorkflowPhase } from './security-hub-update';

export type { WorkflowPhase, WorkflowUpdateResult } from './security-hub-update';

/** ASFF Note.Text is at most 512 characters (Security Hub user guide, ASFF attributes: Note). */
export const NOTE_MAX = 512;
/** Who the note says wrote it (Note.UpdatedBy). */
export const NOTE_AUTHOR = 'kms-incident-rotation';

/** One update of the run's Security Hub findings. */
export interface WorkflowUpdate {
  phase: WorkflowPhase;
  findings: { Id: string; ProductArn: string }[];
  status: 'NOTIFIED' | 'RESOLVED';
  note: string;
}

/** The note within ASFF's limit (cut on a code point, marked with an ellipsis). */
export function boundedNote(text: string): string {
  const chars = Array.from(text.replace(/[\p{Cc}]+/gu, ' '));
  return chars.length <= NOTE_MAX ? chars.join('') : `${chars.slice(0, NOTE_MAX - 1).join('')}…`;
}

/**
 * The update when a run starts: NOTIFIED, with a note naming the execution. None for a request
 * with no Security Hub findings, a duplicate (the run that claimed the finding writes to it), or
 * a finding not confirmed by Security Hub.
 */
export function startUpdate(request: IncidentRequest, executionArn: string): WorkflowUpdate | null {
  const findings = request.securityHubFindings ?? [];
  if (findings.length === 0 || request.duplicateOf || request.notConfirmed) return null;
  const keys = request.keys.length === 1 ? '1 KMS key' : `${request.keys.length} KMS keys`;
  return {
    phase: 'start',
    findings,
    status: 'NOTIFIED',
    note: boundedNote(`kms-incident-rotation is rotating ${keys} named by this finding. Execution: ${executionArn}`),
  };
}

/**
 * The update when the run ends: RESOLVED when every implicated key ended ROTATED (at least one
 * key), else NOTIFIED with each key's outcome and reason; the note names the execution and when.
 */
export function endUpdate(request: IncidentRequest, summary: RunSummary, now: Date): WorkflowUpdate | null {
  const findings = request.securityHubFindings ?? [];
  if (findings.length === 0 || request.duplicateOf || request.notConfirmed) return null;
  const resolved = summary.keys.length > 0 && summary.keys.every((k) => k.outcome === 'ROTATED');
  const lines = summary.keys.map((k) => `${k.keyArn ?? k.ref}: ${k.outcome}${k.reason ? ` ${k.reason}` : ''}`);
  const head = resolved
    ? 'Every KMS key of this finding was rotated on demand'
    : 'Not every KMS key of this finding was rotated';
  const tail = ` Execution: ${summary.executionArn ?? '(unknown)'}, ${now.toISOString()}.`;
  // The tail (execution, when) always fits; the key lines take what is left.
  // `${head}: ${body}.${tail}`: three characters besides the parts.
  const room = NOTE_MAX - tail.length - head.length - 3;
  let body = lines.join('; ');
  if (Array.from(body).length > room)
    body = `${Array.from(body)
      .slice(0, Math.max(0, room - 1))
      .join('')}…`;
  return {
    phase: 'end',
    findings,
    status: resolved ? 'RESOLVED' : 'NOTIFIED',
    note: boundedNote(`${head}: ${body}.${tail}`),
  };
}
