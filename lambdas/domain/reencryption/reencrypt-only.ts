/**
 * Re-encrypt only, without a rotation: a manual request `{ keyId, reason, reEncryptOnly: true,
 * exposedAt, reEncrypt }` re-encrypts data under NEW data keys from the key's CURRENT material,
 * never calling RotateKeyOnDemand. That protects anything only if the current material is newer
 * than the exposure, so it runs only when the key's newest key material (on-demand or automatic
 * rotation, or the key's creation when never rotated) was created after `exposedAt`; otherwise the
 * key is SKIPPED MATERIAL_PREDATES_EXPOSURE (rotate first). Pure.
 */
import type { Reason } from '../contracts';
import {
  firstFailure,
  KEY_CHECKS,
  importedMaterialNotStaged,
  requiresApproval,
  type AssessContext,
  type KeyFacts,
} from '../rotation/eligibility';
import type { ReencryptOnly } from './vocabulary';

// The request's part lives with the vocabulary, which contracts.ts imports without a cycle.
export type { ReencryptOnly } from './vocabulary';

/**
 * Key material states of ListKeyRotations entries that are not the key's material yet (imported
 * material staged for an on-demand rotation). KMS API reference, ListKeyRotations / RotationsListEntry:
 * `RotationDate` is the date the rotation completed.
 */
const NOT_YET_CURRENT = new Set(['PENDING_ROTATION', 'PENDING_MULTI_REGION_IMPORT_AND_ROTATION']);

/**
 * When the key's newest key material was made: the latest completed rotation (any type), else the
 * key's creation. Null when neither is known (then nothing can be proved: refused).
 */
export function newestMaterialDate(
  rotations: readonly { RotationDate?: Date; KeyMaterialState?: string }[],
  creationDate: Date | undefined,
): Date | null {
  const dates = rotations
    .filter((r) => r.RotationDate && !NOT_YET_CURRENT.has(r.KeyMaterialState ?? ''))
    .map((r) => r.RotationDate!.getTime());
  if (dates.length) return new Date(Math.max(...dates));
  return creationDate ?? null;
}

/** What Assess does with a re-encrypt-only request for one key. */
export type ReencryptOnlyDecision =
  | { action: 'SKIP'; reason: Reason; detail: string }
  | { action: 'DRY_RUN'; detail: string }
  | { action: 'APPROVAL'; detail: string }
  | { action: 'REENCRYPT_ONLY'; detail: string };

/** The key checks that matter without a rotation (staged imported material is needed only to rotate). */
const REENCRYPT_ONLY_KEY_CHECKS = KEY_CHECKS.filter((c) => c !== importedMaterialNotStaged);

/**
 * Decide a re-encrypt-only request for one key: the key checks (not the rotation budget, cooldown
 * or caps: nothing is spent), then the material's age against `exposedAt`, then dry run, then the
 * approval gate (the two-person rule applies as to any manual request).
 */
export function assessReencryptOnly(
  facts: KeyFacts & { newestMaterialDate: Date | null },
  ctx: AssessContext,
  only: ReencryptOnly,
): ReencryptOnlyDecision {
  const keyProblem = firstFailure(REENCRYPT_ONLY_KEY_CHECKS, facts, ctx);
  if (keyProblem) return { action: 'SKIP', ...keyProblem };
  const exposed = new Date(only.exposedAt);
  const newest = facts.newestMaterialDate;
  // Strict: the material must be made AFTER the exposure; the same instant proves nothing.
  if (!newest || Number.isNaN(exposed.getTime()) || newest.getTime() <= exposed.getTime()) {
    const made = newest ? `was created at ${newest.toISOString()}` : 'has an unknown creation time';
    return {
      action: 'SKIP',
      reason: 'MATERIAL_PREDATES_EXPOSURE',
      detail: `The key's newest key material ${made}, not after the exposure (${only.exposedAt}): re-encrypting would make new data keys under exposed material. Rotate the key first (kms-rotate start), which re-encrypts too.`,
    };
  }
  const why = `its newest key material was created at ${newest.toISOString()}, after the exposure (${only.exposedAt}); no rotation is spent`;
  if (ctx.dryRun) return { action: 'DRY_RUN', detail: `Dry run: would re-encrypt only: ${why}.` };
  if (requiresApproval(facts, ctx))
    return {
      action: 'APPROVAL',
      detail: `Re-encrypt only (${why}); the key is tagged ${ctx.optOutTag}=approval, so an on-call decision is needed first.`,
    };
  return { action: 'REENCRYPT_ONLY', detail: `Re-encrypt only: ${why}.` };
}

/** ISO 8601 date-time with seconds optional and an explicit offset: no local-time ambiguity in an incident record. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/;

/** A request's `reEncryptOnly` / `exposedAt` as given (unchecked), with what else the request asks. */
export interface ReencryptOnlyFields {
  reEncryptOnly: unknown;
  exposedAt: unknown;
  /** The request lists `reEncrypt.targets`. */
  hasTargets: boolean;
  /** Break-glass / force: contradicts a request that spends no rotation. */
  forced: boolean;
}

/**
 * Check a request's re-encrypt-only fields (front door and Intake apply the same rules): null for
 * a normal request, the ReencryptOnly part, or a message naming the field.
 */
export function readReencryptOnly(
  f: ReencryptOnlyFields,
  now: Date,
): { value: ReencryptOnly | null } | { error: string } {
  if (f.reEncryptOnly !== undefined && typeof f.reEncryptOnly !== 'boolean')
    return { error: 'reEncryptOnly: expected true or false' };
  if (f.reEncryptOnly !== true) {
    return f.exposedAt === undefined
      ? { value: null }
      : { error: 'exposedAt: only with reEncryptOnly: true (a rotation needs no exposure time)' };
  }
  if (typeof f.exposedAt !== 'string' || !ISO_TIME.test(f.exposedAt) || Number.isNaN(Date.parse(f.exposedAt))) {
    return {
      error:
        'exposedAt: expected the ISO 8601 time from which the key may have been exposed, with its offset (e.g. 2026-12-04T09:30:00Z)',
    };
  }
  if (Date.parse(f.exposedAt) > now.getTime()) return { error: `exposedAt: ${f.exposedAt} is in the future` };
  if (!f.hasTargets)
    return { error: 'reEncrypt: a re-encrypt-only request needs reEncrypt.targets (there is nothing else to do)' };
  if (f.forced)
    return { error: 'reEncryptOnly: spends no rotation, so break-glass (force) is neither needed nor allowed' };
  return { value: { exposedAt: new Date(Date.parse(f.exposedAt)).toISOString() } };
}
