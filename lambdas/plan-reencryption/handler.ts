import { taskHandler } from '../adapters/lambda-handler';
import type { ReencryptionSettings, ReencryptionState } from '../domain/reencryption';

/**
 * PLACEHOLDER (helper CDK, issue 11): lets the stack synthesize until the real PlanReencryption
 * handler lands. It plans nothing: mode NONE, every field present.
 */
interface PlanReencryptionInput {
  request: unknown;
  results: unknown[];
  settings: ReencryptionSettings;
}

export const handler = taskHandler('plan-reencryption', async (input: PlanReencryptionInput): Promise<ReencryptionState> => ({
  mode: 'NONE',
  units: [],
  refused: [],
  index: 0,
  remaining: 0,
  current: null,
  childKmsRequestsPerSecond: input.settings.kmsRequestsPerSecond,
  reports: [],
  mapRun: null,
  mapRunError: null,
}));
