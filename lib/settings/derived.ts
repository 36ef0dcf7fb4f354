/**
 * Every value the stack computes from the settings, computed once: `deriveRuntime(settings)` is
 * called by the construct and its result handed to every consumer (the functions' environment,
 * the state machines' and the approval wait's timeouts, the Distributed Map's MaxConcurrency and
 * MaxItemsPerBatch, ReencryptObjects' per-child rate and reserved concurrency), so no two places
 * can compute one number differently and nothing recomputes it at run time. Pure; no CDK import.
 */
import { reencryptionPacing } from '../../lambdas/domain/reencryption';
import { executionTimeoutSeconds, hasReencryptionBranch, worstCase, type LimitSettings } from '../limits';

/** How the re-encryption branch is paced (present only when the branch is deployed). */
export interface DerivedReencryption {
  /** The setting itself: the bound on the branch's KMS requests per second, all children together. */
  kmsRequestsPerSecond: number;
  /** Children of the Distributed Map at once: its MaxConcurrency and ReencryptObjects' reserved concurrency. */
  maxConcurrency: number;
  /** The KMS rate one child is paced to (kmsRequestsPerSecond / maxConcurrency): ReencryptObjects' CHILD_KMS_REQUESTS_PER_SECOND. */
  childKmsRequestsPerSecond: number;
  /** Objects per batch (ItemBatcher MaxItemsPerBatch): one child's work for about two minutes. */
  maxItemsPerBatch: number;
}

/** The settings' derived values, in the units their consumers use. */
export interface DerivedRuntime {
  /** The state machines' execution timeout, and how long a claim protects a finding. */
  executionTimeoutSeconds: number;
  /** `cooldownMinutes` in seconds. */
  cooldownSeconds: number;
  /** `rotationTimeoutMinutes` in seconds. */
  rotationTimeoutSeconds: number;
  /** `approvalTimeoutMinutes` in seconds. */
  approvalTimeoutSeconds: number;
  /** `forceMinIntervalMinutes` in seconds. */
  forceMinIntervalSeconds: number;
  /** The worst case of one execution (lib/limits.ts), which the settings schema keeps within Step Functions' limits. */
  history: { loopsPerKey: number; eventsPerKey: number; historyEvents: number; stateTransitions: number };
  /** Undefined without the re-encryption branch (`reEncryptBuckets` empty). */
  reencryption: DerivedReencryption | undefined;
}

/** What deriveRuntime reads: the limit settings plus the minute-valued settings it converts. */
export type RuntimeSettings = LimitSettings & { cooldownMinutes: number; forceMinIntervalMinutes: number };

/** The derived values of `settings` (validated settings; see the settings schema). */
export function deriveRuntime(settings: RuntimeSettings): DerivedRuntime {
  return {
    executionTimeoutSeconds: executionTimeoutSeconds(settings),
    cooldownSeconds: settings.cooldownMinutes * 60,
    rotationTimeoutSeconds: settings.rotationTimeoutMinutes * 60,
    approvalTimeoutSeconds: settings.approvalTimeoutMinutes * 60,
    forceMinIntervalSeconds: settings.forceMinIntervalMinutes * 60,
    history: worstCase(settings),
    reencryption: derivedReencryption(settings),
  };
}

function derivedReencryption(settings: LimitSettings): DerivedReencryption | undefined {
  if (!hasReencryptionBranch(settings)) return undefined;
  // The schema gives the setting its default; LimitSettings leaves it optional for partial callers.
  const kmsRequestsPerSecond = settings.reEncryptKmsRequestsPerSecond ?? 100;
  return { kmsRequestsPerSecond, ...reencryptionPacing(kmsRequestsPerSecond) };
}
