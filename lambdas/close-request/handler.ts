import type { IncidentRequest } from '../domain/contracts';
import { loadConfig } from '../adapters/config';
import { taskHandler } from '../adapters/lambda-handler';
import { Ledger } from '../adapters/ledger';
import { dynamoClient } from '../adapters/dynamodb-client';

export interface CloseInput {
  request: IncidentRequest;
  executionArn: string;
  anyFailed: boolean;
}

/**
 * CloseRequest: mark the finding's claim DONE, or FAILED so that the next delivery of the same
 * finding gets another try. Duplicates and manual requests hold no claim.
 */
export async function closeRequest(input: CloseInput, ledger: Ledger): Promise<{ closed: boolean }> {
  const { request } = input;
  if (request.source === 'manual' || !request.findingId || request.duplicateOf) return { closed: false };
  await ledger.closeRequest(request.requestId, input.executionArn, input.anyFailed ? 'FAILED' : 'DONE');
  return { closed: true };
}

export const handler = taskHandler('close-request', (input: CloseInput) => {
  const config = loadConfig();
  return closeRequest(input, new Ledger(config.ledgerTable, dynamoClient(config.region)));
});
