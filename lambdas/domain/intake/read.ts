/**
 * What every finding reader and the manual-request parser share: bounded reading of untrusted
 * JSON, the intake limits and error, and the collector that turns key references into ARNs.
 * Pure: no AWS calls, no clock.
 */
import type { RequestSource } from '../contracts';
import { classifyKeyRef, KeyLocation, toKmsArn } from './key-refs';

/** At most this many keys per request: bounds the Map state and the rotation budget at risk. */
export const MAX_KEYS = 50;
/** Reasons (finding titles, manual reasons) are at most this many characters. */
export const MAX_REASON_LENGTH = 512;
/** Finding ids and types longer than this are treated as absent. */
export const MAX_FINDING_ID_LENGTH = 512;
/** Only the first this-many elements of any array (or entries of any map) in a finding are read. */
export const MAX_SCAN = 1000;

/** A request Intake cannot accept. `message` names the field and what was expected. */
export class InvalidRequestError extends Error {
  override name = 'InvalidRequest';
}

export interface IntakeContext {
  /** The account and Region this deployment runs in (and where manual bare key ids live). */
  account: string;
  region: string;
  /** Default `aws`. */
  partition?: string;
  /** Id for manual requests; default `crypto.randomUUID()`. */
  newRequestId?: () => string;
  /**
   * Security Hub re-checks (the rule filters too; intake checks every finding of a multi-finding
   * event): the severity labels acted on and the ProductArn prefixes accepted. Absent: not checked.
   */
  securityHub?: { severityLabels: readonly string[]; productArnPrefixes: readonly string[] };
}

export type FindingSource = Exclude<RequestSource, 'manual'>;

// ---------------------------------------------------------------------------------------------
// Reading untrusted JSON

export type Obj = Record<string, unknown>;

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An own property only: finding content must not reach `constructor`, `__proto__`, .... */
export function own(v: unknown, key: string): unknown {
  return isObj(v) && Object.prototype.hasOwnProperty.call(v, key) ? v[key] : undefined;
}

export function at(v: unknown, ...path: string[]): unknown {
  let cur = v;
  for (const key of path) cur = own(cur, key);
  return cur;
}

/** The first MAX_SCAN elements of an array; [] for anything else. */
export const items = (v: unknown): unknown[] => (Array.isArray(v) ? v.slice(0, MAX_SCAN) : []);

/** A non-empty string of at most `max` characters, else undefined. */
export function text(v: unknown, max = MAX_FINDING_ID_LENGTH): string | undefined {
  return typeof v === 'string' && v.length > 0 && v.length <= max ? v : undefined;
}

/** One line of text for people: control characters and runs of whitespace become one space. */
export function boundedReason(v: string, max = MAX_REASON_LENGTH): string {
  const flat = v
    .slice(0, max * 4)
    .replace(/[\p{Cc}\s]+/gu, ' ') // \p{Cc} is U+0000-001F and U+007F-009F
    .trim();
  const chars = Array.from(flat); // by code point, so a surrogate pair is never split
  return chars.length <= max ? flat : `${chars.slice(0, max - 1).join('')}…`;
}

/** How a value shows in an error message: bounded, quoted, never multi-line. */
export function shown(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') {
    const s = v.length > 64 ? `${v.slice(0, 64)}…` : v;
    return JSON.stringify(s);
  }
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${String(v)}`;
  return `a ${typeof v}`;
}

// ---------------------------------------------------------------------------------------------
// Keys named by a finding

/**
 * Collects the KMS keys a finding names as ARNs, de-duplicated. A bare key id or alias name
 * becomes an ARN in the most specific well-formed location known (the resource's, then the
 * finding's, then the event envelope's, then this deployment's).
 */
export class KeyCollector {
  private readonly arns = new Set<string>();

  constructor(private readonly fallbacks: KeyLocation[]) {}

  /** Adds `ref` when it is a KMS key reference; says whether it was one. */
  add(ref: unknown, ...hints: KeyLocation[]): boolean {
    const arn = toKmsArn(ref, ...hints, ...this.fallbacks);
    if (arn === null) return false;
    if (this.arns.size < MAX_SCAN) this.arns.add(arn);
    return true;
  }

  values(): string[] {
    return [...this.arns];
  }
}

/**
 * Chooses at most MAX_KEYS of `arns` and sorts them. When there are more, keys of this
 * deployment's account and partition (the ones it can rotate) are kept first, then the rest, each
 * group in code-unit order: the same finding always gives the same keys.
 */
export function capKeys(arns: string[], ctx: IntakeContext): { keys: string[]; dropped: number } {
  const unique = [...new Set(arns)].sort(compare);
  if (unique.length <= MAX_KEYS) return { keys: unique, dropped: 0 };
  const partition = ctx.partition ?? 'aws';
  const local = (arn: string): boolean => {
    const info = classifyKeyRef(arn);
    return info?.account === ctx.account && info.partition === partition;
  };
  const chosen = [...unique.filter(local), ...unique.filter((a) => !local(a))].slice(0, MAX_KEYS);
  return { keys: chosen.sort(compare), dropped: unique.length - MAX_KEYS };
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** What a finding parser reads; keys go to the collector. */
export interface FindingFacts {
  findingId?: string;
  findingType?: string;
  severity?: number;
  severityLabel?: string;
  title?: string;
}

/** S3 default encryption values that name a KMS key (SSE-KMS and dual-layer DSSE-KMS). */
const KMS_SSE = new Set(['aws:kms', 'aws:kms:dsse']);

/**
 * A bucket's default-encryption key counts when the encryption type says KMS, or when it is
 * absent and a key is named anyway (the key is still named: Assess decides). An explicit other
 * type (`AES256`, ...) means the named key does not protect the bucket's new objects: ignored.
 */
export function namesKmsEncryption(type: unknown): boolean {
  return type === undefined || type === null || (typeof type === 'string' && KMS_SSE.has(type.toLowerCase()));
}
