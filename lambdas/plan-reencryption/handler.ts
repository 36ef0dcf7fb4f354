import { loadConfig } from '../adapters/config';
import { taskHandler } from '../adapters/lambda-handler';
import type { IncidentRequest, KeyResult } from '../domain/contracts';
import { planReencryption, type ReencryptionState, type ReencryptionTargetSettings } from '../domain/reencryption';

/**
 * What the workflow hands PlanReencryption: the request, every key's result, and the settings too
 * large for the environment (the buckets and targets; domain/function-environment.ts says why).
 */
interface PlanReencryptionInput {
  request: IncidentRequest;
  results: KeyResult[];
  settings: ReencryptionTargetSettings;
}

/**
 * PlanReencryption: which targets run for which rotated keys, which are refused and
 * why, and whether the branch runs or only reports (`autoReEncrypt`, from the environment). No
 * AWS call: the decision is in the domain.
 */
export const handler = taskHandler('plan-reencryption', (input: PlanReencryptionInput): Promise<ReencryptionState> => {
  const { autoReEncrypt } = loadConfig();
  return Promise.resolve(
    planReencryption(input.request, input.results, {
      buckets: input.settings.buckets,
      targets: input.settings.targets,
      auto: autoReEncrypt,
    }),
  );
});
