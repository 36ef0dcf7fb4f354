/**
 * What a Security Hub workflow update did, as the execution output records it. Its own module so
 * that contracts.ts (the run summary) and security-hub-workflow.ts (which builds updates from the
 * summary) do not import each other.
 */

/** When the update is made: as the run starts, or after every key has its outcome. */
export type WorkflowPhase = 'start' | 'end';

/** What an update did (reported in the execution output, never failing the run). */
export interface WorkflowUpdateResult {
  phase: WorkflowPhase;
  status: 'NOTIFIED' | 'RESOLVED';
  processed: number;
  /** Findings Security Hub did not update, with its error code. */
  unprocessed: { Id: string; ErrorCode: string }[];
  /** The call failed (after the SDK's retries): its error name and message. */
  error: string | null;
}
