import { parseKmsArn } from '../arn';
import type { KeyRequest, KeyTask } from '../contracts';
import { cut } from '../text';

/** Aliases a key's state and texts carry; the rest are counted ("and N more"). */
export const MAX_ALIASES = 5;
/** KMS alias names are at most 256 characters; nothing longer is kept. */
export const MAX_ALIAS_LENGTH = 256;

/**
 * The first MAX_ALIASES aliases (each at most MAX_ALIAS_LENGTH characters) and how many more
 * there are: a key's state stays a few KiB whatever the key carries. Pure.
 */
export function capAliases(aliases: readonly string[]): { aliases: string[]; moreAliases: number } {
  const shown = aliases.slice(0, MAX_ALIASES).map((a) => cut(String(a), MAX_ALIAS_LENGTH));
  return { aliases: shown, moreAliases: Math.max(0, aliases.length - shown.length) };
}

/**
 * A fresh per-key task for the reference a Map iteration starts with (`{ ref, request }`): every
 * field present, so later JSONPath references never miss.
 */
export function newKeyTask(item: { ref: string; request: KeyRequest; executionArn?: string | null }): KeyTask {
  return {
    ref: item.ref,
    request: item.request,
    executionArn: item.executionArn ?? null,
    next: 'DONE',
    keyArn: null,
    via: null,
    aliases: [],
    moreAliases: 0,
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
