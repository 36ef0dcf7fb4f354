/**
 * KMS key references: what counts as one, and how a bare key id or alias name becomes an ARN.
 *
 * Everything here is pure and total: any input (including hostile finding content) yields either
 * a well-formed reference or `null`, never an exception.
 */

import {
  ALIAS_NAME_PATTERN,
  aliasArn as buildAliasArn,
  isAccount,
  isPartition,
  isRegion,
  KEY_ID_PATTERN,
  keyArn as buildKeyArn,
  parseKmsArn,
} from '../arn';

export { isAccount, isPartition, isRegion };

const KEY_ID_RE = new RegExp(`^${KEY_ID_PATTERN}$`);
/** The part of an alias name after `alias/`. */
const ALIAS_RESOURCE_RE = new RegExp(`^${ALIAS_NAME_PATTERN.slice('alias/'.length)}$`);
const ALIAS_NAME_RE = new RegExp(`^${ALIAS_NAME_PATTERN}$`);

/**
 * No valid reference is longer than this (an alias ARN with a 256-character alias name and a long
 * partition/Region is about 330). Longer strings are rejected before any regular expression runs.
 */
export const MAX_KEY_REF_LENGTH = 400;

export type KeyRefKind = 'keyArn' | 'aliasArn' | 'keyId' | 'aliasName';

/** What a key reference is made of. `id` for keys, `alias` (`alias/...`) for aliases. */
export interface KeyRefInfo {
  kind: KeyRefKind;
  partition?: string;
  region?: string;
  account?: string;
  id?: string;
  alias?: string;
}

/** Where a key lives; every field optional and untrusted until checked. */
export interface KeyLocation {
  partition?: unknown;
  region?: unknown;
  account?: unknown;
}

/** A location whose every field is known to be well-formed. */
export interface ResolvedLocation {
  partition: string;
  region: string;
  account: string;
}

/**
 * Says what kind of KMS key reference `ref` is, or `null` when it is none: a key ARN, an alias
 * ARN, a bare key id, or an alias name. Exact match only: no trimming, no case folding (KMS ids
 * are lowercase; an uppercase one would not resolve).
 */
export function classifyKeyRef(ref: string): KeyRefInfo | null {
  if (typeof ref !== 'string' || ref.length === 0 || ref.length > MAX_KEY_REF_LENGTH) return null;
  // An ARN must also name its key or alias strictly (KMS ARNs as such admit more resource names).
  const arn = parseKmsArn(ref);
  if (arn) {
    const { partition, region, account, resource } = arn;
    if (arn.resourceType === 'key' && KEY_ID_RE.test(resource))
      return { kind: 'keyArn', partition, region, account, id: resource };
    if (arn.resourceType === 'alias' && ALIAS_RESOURCE_RE.test(resource))
      return { kind: 'aliasArn', partition, region, account, alias: `alias/${resource}` };
    return null;
  }
  if (KEY_ID_RE.test(ref)) return { kind: 'keyId', id: ref };
  if (ALIAS_NAME_RE.test(ref)) return { kind: 'aliasName', alias: ref };
  return null;
}

/**
 * Picks, field by field, the first well-formed value among `layers` (most specific first).
 * Returns null when some field has no well-formed value anywhere.
 */
export function resolveLocation(...layers: (KeyLocation | undefined)[]): ResolvedLocation | null {
  const pick = <T extends keyof KeyLocation>(field: T, ok: (v: unknown) => v is string): string | undefined => {
    for (const layer of layers) {
      const v = layer?.[field];
      if (ok(v)) return v;
    }
    return undefined;
  };
  const partition = pick('partition', isPartition);
  const region = pick('region', isRegion);
  const account = pick('account', isAccount);
  return partition && region && account ? { partition, region, account } : null;
}

/** The key ARN of key id `id` in `loc`. */
export const keyArn = (loc: ResolvedLocation, id: string): string =>
  buildKeyArn(loc.partition, loc.region, loc.account, id);
/** The alias ARN of alias name `alias` (`alias/...`) in `loc`. */
export const aliasArn = (loc: ResolvedLocation, alias: string): string =>
  buildAliasArn(loc.partition, loc.region, loc.account, alias);

/**
 * Turns any value into a KMS key ARN or alias ARN, or `null`. ARNs are kept exactly as given
 * (whatever their account or partition: a later step reports FOREIGN_ACCOUNT); a bare key id or
 * alias name becomes an ARN in the first well-formed location among `layers`.
 */
export function toKmsArn(ref: unknown, ...layers: (KeyLocation | undefined)[]): string | null {
  if (typeof ref !== 'string') return null;
  const info = classifyKeyRef(ref);
  if (!info) return null;
  if (info.kind === 'keyArn' || info.kind === 'aliasArn') return ref;
  const loc = resolveLocation(...layers);
  if (!loc) return null;
  return info.kind === 'keyId' ? keyArn(loc, ref) : aliasArn(loc, ref);
}
