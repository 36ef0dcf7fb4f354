import type { IncidentRequest } from '../domain/contracts';
import { loadConfig, type RuntimeConfig } from '../adapters/config';
import { taskHandler, logger } from '../adapters/lambda-handler';
import { parseForMode, type IntakeMode } from '../domain/intake/intake';
import { partitionOf } from '../domain/arn';

/**
 * What the Intake task is given: the execution input and which state machine it serves (a
 * constant in the task's parameters, set by the stack, never by the input).
 */
export interface IntakeInput {
  mode: IntakeMode;
  input: unknown;
}

/**
 * Intake: a finding event (automatic machine) or a front-door request (manual machine) in, a
 * normalised IncidentRequest out. Input of the other machine's shape, or bad input, throws
 * InvalidRequest (the state machine ends in a Fail state naming the field).
 */
export function intake(event: IntakeInput, config: RuntimeConfig): { request: IncidentRequest } {
  const ctx = {
    account: config.accountId,
    region: config.region,
    partition: partitionOf(config.region),
    securityHub: { severityLabels: config.securityHubSeverityLabels, productArnPrefixes: config.securityHubProductArnPrefixes },
  };
  const request = parseForMode(event.input, ctx, event.mode === 'manual' ? 'manual' : 'automatic');
  // The stack-wide dry-run setting wins over a request that asks for a real rotation.
  if (config.dryRun) request.dryRun = true;
  // Every later line of this invocation carries the request id (the raw finding had none).
  logger.appendKeys({ requestId: request.requestId });
  logger.info('intake', { requestId: request.requestId, source: request.source, findingId: request.findingId, keys: request.keys.length, breakGlass: request.breakGlass });
  return { request };
}

export const handler = taskHandler('intake', async (event: IntakeInput) => intake(event, loadConfig()));
