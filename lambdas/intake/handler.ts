import type { IncidentRequest } from '../domain/contracts';
import { loadConfig, type RuntimeConfig } from '../adapters/config';
import { taskHandler, logger } from '../adapters/lambda-handler';
import { parseIncident } from '../domain/intake/intake';
import { partitionOf } from '../domain/arn';

/**
 * Intake: a finding event or a manual request in, a normalised IncidentRequest out. Bad input
 * throws InvalidRequest (the state machine ends in a Fail state naming the field).
 */
export function intake(input: unknown, config: RuntimeConfig): { request: IncidentRequest } {
  const request = parseIncident(input, { account: config.accountId, region: config.region, partition: partitionOf(config.region) });
  // The stack-wide dry-run setting wins over a request that asks for a real rotation.
  if (config.dryRun) request.dryRun = true;
  // Every later line of this invocation carries the request id (the raw finding had none).
  logger.appendKeys({ requestId: request.requestId });
  logger.info('intake', { requestId: request.requestId, source: request.source, findingId: request.findingId, keys: request.keys.length });
  return { request };
}

export const handler = taskHandler('intake', async (input: unknown) => intake(input, loadConfig()));
