/**
 * PlanReencryption's decision: which (key, target) units run, which targets are refused and why,
 * and the mode. Pure: the handler passes the workflow's request, key results and settings.
 */

import { parseKmsArn } from '../arn';
import type { IncidentRequest } from '../contracts';
import {
  MAX_LISTED_REFUSALS,
  MAX_REENCRYPTION_UNITS,
  type ReencryptionMode,
  type ReencryptionSettings,
  type ReencryptionState,
  type ReencryptionUnit,
  type ReencryptTargetSpec,
  type RefusedTarget,
} from './vocabulary';

/** What PlanReencryption needs of each key's result (a KeyResult has these fields). */
export interface RotatedKeyFacts {
  keyArn: string | null;
  outcome: string;
  /** The skip reason, when SKIPPED (a manual re-run inside the cooldown: RECENTLY_ROTATED). */
  reason?: string | null;
  /** Alias names (`alias/orders`). */
  aliases: string[];
}

/** Whether setting `reEncryptTargets`' map key names this key: its ARN, its id, one of its alias names or alias ARNs. */
function settingNamesKey(settingKey: string, key: { keyArn: string; aliases: string[] }): boolean {
  if (settingKey === key.keyArn) return true;
  if (settingKey.startsWith('alias/')) return key.aliases.includes(settingKey);
  const keyArn = parseKmsArn(key.keyArn);
  const named = parseKmsArn(settingKey);
  if (!keyArn) return false;
  if (!named) return settingKey === keyArn.resource; // a bare key id
  if (named.partition !== keyArn.partition || named.region !== keyArn.region || named.account !== keyArn.account)
    return false;
  return named.resourceType === 'alias'
    ? key.aliases.includes(`alias/${named.resource}`)
    : named.resource === keyArn.resource;
}

const unitId = (u: ReencryptTargetSpec & { keyArn: string | null }) =>
  JSON.stringify([u.type, u.bucket, u.prefix, u.keyArn]);
const where = (t: ReencryptTargetSpec) => `${t.type} s3://${t.bucket}/${t.prefix}`;

/**
 * PlanReencryption: the units to run (each ROTATED key x each target of the request or finding,
 * and each of setting `reEncryptTargets` that names the key by ARN or alias), de-duplicated by
 * (type, bucket, prefix, key); the targets refused before any work, each with its reason; and the
 * mode. Pure: the handler passes the workflow's request, key results and settings.
 */
export function planReencryption(
  request: Pick<IncidentRequest, 'source' | 'dryRun' | 'reEncryptTargets'>,
  results: RotatedKeyFacts[],
  settings: ReencryptionSettings,
): ReencryptionState {
  // A dry run rotates nothing: its DRY_RUN keys are the ones that would rotate, so their targets
  // are what would run (REPORT_ONLY below); a real run re-encrypts only under keys it rotated.
  // A manual request may also name a key rotated on demand within the cooldown (SKIPPED
  // RECENTLY_ROTATED): its current material is already new, so re-encrypting makes new data keys
  // without spending a rotation. That is how on-call re-runs a re-encryption that failed. A
  // finding's repeat never does (GuardDuty repeats findings; each would re-encrypt again).
  const wouldRotate = request.dryRun ? 'DRY_RUN' : 'ROTATED';
  const reRun = (r: RotatedKeyFacts) =>
    !request.dryRun && request.source === 'manual' && r.outcome === 'SKIPPED' && r.reason === 'RECENTLY_ROTATED';
  // REENCRYPT_ONLY: a re-encrypt-only request whose key's current material post-dates the
  // exposure (Assess checked it): planned as a rotated key, without a rotation.
  const current = (r: RotatedKeyFacts) =>
    r.outcome === wouldRotate || (!request.dryRun && r.outcome === 'REENCRYPT_ONLY') || reRun(r);
  const rotated = results.filter(
    (r): r is RotatedKeyFacts & { keyArn: string } => current(r) && typeof r.keyArn === 'string' && r.keyArn !== '',
  );
  const requested = request.reEncryptTargets ?? [];
  const refused: RefusedTarget[] = [];
  const refusedIds = new Set<string>();
  let refusedMore = 0;
  // A bucket refusal does not depend on the key: one per target, not one per key x target. The
  // list is bounded (the state and the notification carry it); the rest are counted.
  const refuse = (r: RefusedTarget) => {
    const keyed = r.reason === 'BUCKET_NOT_ALLOWED' ? { ...r, keyArn: null } : r;
    const id = JSON.stringify([keyed.reason, keyed.origin, unitId(keyed)]);
    if (refusedIds.has(id)) return;
    refusedIds.add(id);
    if (refused.length < MAX_LISTED_REFUSALS) refused.push(keyed);
    else refusedMore++;
  };
  const spec = (t: ReencryptTargetSpec): ReencryptTargetSpec => ({
    type: t.type,
    bucket: t.bucket,
    prefix: t.prefix ?? '',
  });

  if (!rotated.length) {
    const predates = results.some((r) => r.outcome === 'SKIPPED' && r.reason === 'MATERIAL_PREDATES_EXPOSURE');
    for (const t of requested) {
      if (predates) {
        refuse({
          ...spec(t),
          keyArn: null,
          origin: t.origin,
          reason: 'MATERIAL_PREDATES_EXPOSURE',
          detail: `${where(spec(t))} was not re-encrypted: the key's newest key material predates the exposure; rotate the key first (kms-rotate start --reencrypt ...).`,
        });
      } else {
        refuse({
          ...spec(t),
          keyArn: null,
          origin: t.origin,
          reason: 'KEY_NOT_ROTATED',
          detail: `${where(spec(t))} was not re-encrypted: no key was rotated by this execution, so new data keys would come from the same key material.`,
        });
      }
    }
  }
  const candidates: ReencryptionUnit[] = [];
  for (const key of rotated) {
    for (const t of requested) candidates.push({ ...spec(t), keyArn: key.keyArn, origin: t.origin });
    for (const [settingKey, targets] of Object.entries(settings.targets)) {
      if (settingNamesKey(settingKey, key))
        for (const t of targets) candidates.push({ ...spec(t), keyArn: key.keyArn, origin: 'setting' });
    }
  }
  const seen = new Set<string>();
  const units: ReencryptionUnit[] = [];
  for (const c of candidates) {
    if (seen.has(unitId(c))) continue;
    seen.add(unitId(c));
    if (!settings.buckets.includes(c.bucket)) {
      refuse({
        ...c,
        reason: 'BUCKET_NOT_ALLOWED',
        detail: `${where(c)} was refused: bucket ${c.bucket} is not in setting reEncryptBuckets, so the stack may not touch it.`,
      });
    } else if (units.length >= MAX_REENCRYPTION_UNITS) {
      refuse({
        ...c,
        reason: 'TOO_MANY_TARGETS',
        detail: `${where(c)} was refused: one execution re-encrypts at most ${MAX_REENCRYPTION_UNITS} targets; start another run for the rest.`,
      });
    } else {
      units.push(c);
    }
  }
  const mode: ReencryptionMode = !units.length
    ? 'NONE'
    : request.dryRun || (request.source !== 'manual' && !settings.auto)
      ? 'REPORT_ONLY'
      : 'RUN';
  const run = mode === 'RUN';
  return {
    mode,
    units,
    refused,
    refusedMore,
    index: 0,
    remaining: run ? units.length : 0,
    current: run ? units[0]! : null,
    reports: [],
    mapRun: null,
    mapRunError: null,
  };
}
