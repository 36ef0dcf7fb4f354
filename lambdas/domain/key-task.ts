import { parseKmsArn } from './arn';
import type { IncidentRequest, KeyTask } from './contracts';

/**
 * A fresh per-key task for the reference a Map iteration starts with (`{ ref, request }`): every
 * field present, so later JSONPath references never miss.
 */
export function newKeyTask(item: { ref: string; request: IncidentRequest; executionArn?: string | null }): KeyTask {
  return {
    ref: item.ref,
    request: item.request,
    executionArn: item.executionArn ?? null,
    next: 'DONE',
    keyArn: null,
    via: null,
    aliases: [],
    outcome: null,
    reason: null,
    detail: null,
    onDemandRotationsUsed: null,
    onDemandRotationsRemaining: null,
    previousRotationDate: null,
    previousKeyMaterialId: null,
    currentKeyMaterialId: null,
    joined: false,
    rotationStartedAt: null,
    rotateAttemptedAt: null,
    rotateTimedOut: null,
    deadline: null,
    confirmedAt: null,
    pollAttempt: 0,
    waitSeconds: 0,
    lockOwner: null,
    approval: null,
    approvalError: null,
    recordError: null,
  };
}

/**
 * The key ARN a reference names, when the reference is a key ARN (not an alias, id or alias
 * name): what a key's result and audit entry carry when the iteration ended before Assess
 * looked the key up.
 */
export function keyArnOfRef(ref: string): string | null {
  return typeof ref === 'string' && parseKmsArn(ref)?.resourceType === 'key' ? ref : null;
}
