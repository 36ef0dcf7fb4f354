/**
 * KMS key references: what counts as one, and how a bare key id or alias name becomes an ARN.
 *
 * Everything here is pure and total: any input (including hostile finding content) yields either
 * a well-formed reference or `null`, never an exception.
 */

/** `aws`, `aws-cn`, `aws-us-gov`, `aws-iso-b`, `aws-eusc`, ... */
const PARTITION = 'aws(?:-[a-z]+)*';
/** `us-east-1`, `us-gov-west-1`, `cn-north-1`, `eu-isoe-west-1`, `eusc-de-east-1`, ... */
const REGION = '[a-z]+(?:-[a-z]+)+-\\d{1,2}';
const ACCOUNT = '\\d{12}';
/** KMS key ids are lowercase: a UUID, or `mrk-` + 32 hex digits for a multi-Region key. */
const KEY_ID = '(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})';
/**
 * KMS alias names: `alias/` + letters, digits, `/`, `_`, `-`; 256 characters in all. (The API
 * pattern also admits `:`, but KMS rejects it in practice and it would make ARNs ambiguous.)
 */
const ALIAS = 'alias/[a-zA-Z0-9/_-]{1,250}';

const KEY_ARN_RE = new RegExp(`^arn:(${PARTITION}):kms:(${REGION}):(${ACCOUNT}):key/(${KEY_ID})$`);
const ALIAS_ARN_RE = new RegExp(`^arn:(${PARTITION}):kms:(${REGION}):(${ACCOUNT}):(${ALIAS})$`);
const KEY_ID_RE = new RegExp(`^${KEY_ID}$`);
const ALIAS_NAME_RE = new RegExp(`^${ALIAS}$`);
const PARTITION_RE = new RegExp(`^${PARTITION}$`);
const REGION_RE = new RegExp(`^${REGION}$`);
const ACCOUNT_RE = new RegExp(`^${ACCOUNT}$`);

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

export const isPartition = (v: unknown): v is string =>
  typeof v === 'string' && v.length <= 32 && PARTITION_RE.test(v);
export const isRegion = (v: unknown): v is string => typeof v === 'string' && v.length <= 32 && REGION_RE.test(v);
export const isAccount = (v: unknown): v is string => typeof v === 'string' && ACCOUNT_RE.test(v);

/**
 * Says what kind of KMS key reference `ref` is, or `null` when it is none: a key ARN, an alias
 * ARN, a bare key id, or an alias name. Exact match only: no trimming, no case folding (KMS ids
 * are lowercase; an uppercase one would not resolve).
 */
export function classifyKeyRef(ref: string): KeyRefInfo | null {
  if (typeof ref !== 'string' || ref.length === 0 || ref.length > MAX_KEY_REF_LENGTH) return null;
  let m = KEY_ARN_RE.exec(ref);
  if (m) return { kind: 'keyArn', partition: m[1], region: m[2], account: m[3], id: m[4] };
  m = ALIAS_ARN_RE.exec(ref);
  if (m) return { kind: 'aliasArn', partition: m[1], region: m[2], account: m[3], alias: m[4] };
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

export const keyArn = (loc: ResolvedLocation, id: string): string =>
  `arn:${loc.partition}:kms:${loc.region}:${loc.account}:key/${id}`;
export const aliasArn = (loc: ResolvedLocation, alias: string): string =>
  `arn:${loc.partition}:kms:${loc.region}:${loc.account}:${alias}`;

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
