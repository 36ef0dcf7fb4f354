import { BatchUpdateFindingsCommand, type SecurityHubClient } from '@aws-sdk/client-securityhub';
import {
  NOTE_AUTHOR,
  type WorkflowUpdate,
  type WorkflowUpdateResult,
} from '../../domain/notification/security-hub-workflow';
import { logger } from '../lambda-handler';

/**
 * Writes a workflow update to Security Hub: ONE BatchUpdateFindings call for all of the run's
 * findings (at most 100, what one call takes). Never throws: a failure is returned (and logged)
 * so that the run goes on; Security Hub's bookkeeping must not stop a rotation or its notice.
 */
export async function applyWorkflowUpdate(
  client: SecurityHubClient,
  update: WorkflowUpdate,
): Promise<WorkflowUpdateResult> {
  const base = { phase: update.phase, status: update.status };
  try {
    const out = await client.send(
      new BatchUpdateFindingsCommand({
        FindingIdentifiers: update.findings.slice(0, 100),
        Workflow: { Status: update.status },
        Note: { Text: update.note, UpdatedBy: NOTE_AUTHOR },
      }),
    );
    const unprocessed = (out.UnprocessedFindings ?? []).map((u) => ({
      Id: u.FindingIdentifier?.Id ?? '',
      ErrorCode: u.ErrorCode ?? '',
    }));
    if (unprocessed.length)
      logger.warn('Security Hub did not update every finding', { phase: update.phase, unprocessed });
    return { ...base, processed: out.ProcessedFindings?.length ?? 0, unprocessed, error: null };
  } catch (e) {
    const error = `${(e as Error)?.name ?? 'Error'}: ${String((e as Error)?.message ?? e).slice(0, 300)}`;
    logger.warn('Security Hub workflow update failed; the run goes on', { phase: update.phase, error });
    return { ...base, processed: 0, unprocessed: [], error };
  }
}
