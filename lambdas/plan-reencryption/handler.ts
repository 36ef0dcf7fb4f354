import { taskHandler } from '../adapters/lambda-handler';
import type { IncidentRequest, KeyResult } from '../domain/contracts';
import { planReencryption, type ReencryptionSettings, type ReencryptionState } from '../domain/reencryption';

/** What the workflow hands PlanReencryption: the request, every key's result, the re-encryption settings. */
interface PlanReencryptionInput {
  request: IncidentRequest;
  results: KeyResult[];
  settings: ReencryptionSettings;
}

/**
 * PlanReencryption: which targets run for which rotated keys, which are refused and
 * why, and whether the branch runs or only reports. No AWS call: the decision is in the domain.
 */
export const handler = taskHandler('plan-reencryption', (input: PlanReencryptionInput): Promise<ReencryptionState> =>
  Promise.resolve(planReencryption(input.request, input.results, input.settings)),
);
