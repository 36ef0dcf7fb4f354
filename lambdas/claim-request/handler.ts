import type { IncidentRequest } from '../domain/contracts';
import { loadConfig, type RuntimeConfig } from '../adapters/config';
import { taskHandler, logger } from '../adapters/lambda-handler';
import { Ledger } from '../adapters/ledger';
import { dynamoClient } from '../adapters/dynamodb-client';
import type { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { securityHubClient } from '../adapters/securityhub-client';
import { applyWorkflowUpdate } from '../adapters/notification/security-hub-workflow';
import { startUpdate } from '../domain/notification/security-hub-workflow';

export interface ClaimInput {
  request: IncidentRequest;
  executionArn: string;
}

/**
 * ClaimRequest: exactly-once per finding. GuardDuty re-publishes a finding every 15 min to 6 h
 * and Security Hub on every update; the first execution claims the finding id and later ones
 * see `duplicateOf` (every key then ends SKIPPED DUPLICATE_FINDING). Manual requests are not
 * claimed: an engineer asking twice means it.
 */
export async function claimRequest(
  input: ClaimInput,
  config: Pick<RuntimeConfig, 'executionTimeoutSeconds'> & Partial<Pick<RuntimeConfig, 'securityHubWorkflowUpdates'>>,
  ledger: Ledger,
  now = new Date(),
  hub?: () => SecurityHubClient,
): Promise<{ request: IncidentRequest }> {
  const { executionArn } = input;
  // Every field the per-key iteration reads is present (JSONPath never misses): null when not re-encrypt-only.
  const request = { ...input.request, reEncryptOnly: input.request.reEncryptOnly ?? null };
  if (request.source === 'manual' || !request.findingId) return { request: { ...request, duplicateOf: null } };
  // A claim protects the finding as long as its execution can run (the derived execution timeout):
  // an execution that never closes its claim cannot hold it longer than that.
  const claim = await ledger.claimRequest(request.requestId, executionArn, now, config.executionTimeoutSeconds);
  if (claim.claimed) {
    const claimed: IncidentRequest = { ...request, duplicateOf: null };
    // Only the run that claims a Security Hub finding writes to it (a duplicate's run would
    // answer Security Hub's own update event with another update).
    const update = config.securityHubWorkflowUpdates ? startUpdate(claimed, executionArn) : null;
    if (update && hub) claimed.securityHubStart = await applyWorkflowUpdate(hub(), update);
    return { request: claimed };
  }
  logger.info('duplicate finding', { requestId: request.requestId, handledBy: claim.by });
  return { request: { ...request, duplicateOf: claim.by } };
}

export const handler = taskHandler('claim-request', (input: ClaimInput) => {
  const config = loadConfig();
  return claimRequest(input, config, new Ledger(config.ledgerTable, dynamoClient(config.region)), new Date(), () =>
    securityHubClient(config.region),
  );
});
