import type { Settings } from '../lib/settings/settings';
import type { KeyResult, RunSummary } from '../lambdas/domain/contracts';
import type { ReencryptionSummary } from '../lambdas/domain/reencryption';
import type { RunEvent } from './runner/runner';
import type { FrontDoorExchange } from './front-door';
import type { SecurityHubUpdate, StandIn } from './standin';

// What one simulated execution produced, in the shape `kms-rotate simulate --json` prints and the
// workflow tests read.

/** One key in the simulation's summary (`kms-rotate simulate --json`). */
export interface SimulatedKey {
  keyArn: string | null;
  via: string | null;
  outcome: KeyResult['outcome'];
  reason: KeyResult['reason'];
  detail: string | null;
  aliases: string[];
  onDemandRotationsUsed: number | null;
  onDemandRotationsRemaining: number | null;
  previousKeyMaterialId: string | null;
  currentKeyMaterialId: string | null;
}

export interface SimulationResult {
  executionStatus: 'SUCCEEDED' | 'FAILED';
  error: string | null;
  cause: string | null;
  keys: SimulatedKey[];
  /** `messages`: the per-protocol messages when the notification was published with MessageStructure json. */
  notifications: {
    subject: string | null;
    message: string;
    messages?: Record<string, string>;
    attributes: Record<string, string>;
  }[];
  /**
   * What the re-encryption branch did or would do (objects scanned / re-encrypted / skipped /
   * failed in total and per target, refused targets); null when it had nothing to consider.
   */
  reencryption: ReencryptionSummary | null;
  /** Security Hub BatchUpdateFindings calls this run made (workflow status and note), in order. */
  securityHubUpdates: SecurityHubUpdate[];
  /** Events in the execution's history, as Step Functions counts them (limit 25,000). */
  historyEvents: number;
  /** Billed state transitions (states entered and retries). */
  stateTransitions: number;
  /** The largest state input/output, task parameters or result (limit 262,144 bytes). */
  largestPayloadBytes: number;
}

export interface SimulationRun {
  result: SimulationResult;
  summary: RunSummary | null;
  events: RunEvent[];
  /** Every call the stand-in served, in order (tests count RotateKeyOnDemand here). */
  calls: StandIn['calls'];
  settings: Settings;
  executionArn: string;
  /** Every request of this run through the local front door (the start, approval answers). */
  frontDoor: FrontDoorExchange[];
}

/** A key's result as the simulation's summary shows it. */
export function toSimulatedKey(k: KeyResult): SimulatedKey {
  return {
    keyArn: k.keyArn,
    via: k.via,
    outcome: k.outcome,
    reason: k.reason,
    detail: k.detail,
    aliases: k.aliases,
    onDemandRotationsUsed: k.onDemandRotationsUsed,
    onDemandRotationsRemaining: k.onDemandRotationsRemaining,
    previousKeyMaterialId: k.previousKeyMaterialId,
    currentKeyMaterialId: k.currentKeyMaterialId,
  };
}
