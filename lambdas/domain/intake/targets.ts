/**
 * Re-encryption targets as Intake reads them: the S3 bucket-name rule, the buckets a
 * finding names (untrusted: validated, bounded, de-duplicated) and the manual request's
 * `reEncrypt.targets` (validated with messages naming the field). Pure.
 */
import * as z from 'zod/mini';
import type { IncidentRequest } from '../contracts';
import {
  MAX_PREFIX_LENGTH,
  MAX_REENCRYPTION_UNITS,
  REENCRYPTION_KINDS,
  type ReencryptTargetSpec,
} from '../reencryption';
import { MAX_SCAN, shown } from './read';

/** A target as the request carries it (contracts.ts IncidentRequest.reEncryptTargets). */
export type RequestTarget = NonNullable<IncidentRequest['reEncryptTargets']>[number];

/** A target's prefix: at most MAX_PREFIX_LENGTH characters (see lambdas/domain/reencryption/index.ts for why). */
export { MAX_PREFIX_LENGTH };

const BUCKET_NAME_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IP_ADDRESS_RE = /^\d{1,3}(\.\d{1,3}){3}$/;
/** Reserved by S3 for other kinds of names (access point aliases, Object Lambda, MRAP, directory and table buckets). */
const RESERVED_PREFIXES = ['xn--', 'sthree-'];
const RESERVED_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'];

/** What an S3 bucket name is, for error messages. */
export const BUCKET_NAME_EXPECTED =
  'expected an S3 bucket name (3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit, no "..", not an IP address)';

/**
 * True for a general purpose S3 bucket name under the current naming rules: 3-63 characters of
 * `a-z0-9.-`, starting and ending with a letter or digit, no adjacent dots, not formatted as an
 * IP address, none of the reserved prefixes and suffixes. (Legacy us-east-1 names with capitals
 * or underscores are not accepted: the workflow could not name them in IAM the same way.)
 */
export function isBucketName(value: unknown): value is string {
  if (typeof value !== 'string' || !BUCKET_NAME_RE.test(value)) return false;
  if (value.includes('..') || IP_ADDRESS_RE.test(value)) return false;
  return !RESERVED_PREFIXES.some((p) => value.startsWith(p)) && !RESERVED_SUFFIXES.some((s) => value.endsWith(s));
}

/** The bucket name of an S3 bucket ARN (`arn:<partition>:s3:::<name>`), when it is one. */
export function bucketOfArn(value: unknown): string | null {
  if (typeof value !== 'string' || value.length > 200) return null;
  const m = /^arn:aws[a-z-]{0,20}:s3:::([^/]+)$/.exec(value);
  return m && isBucketName(m[1]) ? m[1] : null;
}

/**
 * The buckets a finding names whose objects a named key may protect (their default encryption
 * named it): each becomes an `s3-sse-kms` target on the whole bucket. Invalid names are dropped,
 * never an error; at most MAX_SCAN are collected (the request keeps MAX_REENCRYPTION_UNITS).
 */
export class BucketCollector {
  private readonly names = new Set<string>();

  /** Adds `name` when it is a bucket name; says whether it was one. */
  add(name: unknown): boolean {
    if (!isBucketName(name)) return false;
    if (this.names.size < MAX_SCAN) this.names.add(name);
    return true;
  }

  /**
   * The targets, in code-unit order of the bucket name (the same finding always gives the same
   * targets), at most MAX_REENCRYPTION_UNITS; `dropped` counts the rest.
   */
  targets(): { targets: RequestTarget[]; dropped: number } {
    const sorted = [...this.names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const kept = sorted.slice(0, MAX_REENCRYPTION_UNITS);
    return {
      targets: kept.map((bucket) => ({ type: 's3-sse-kms', bucket, prefix: '', origin: 'finding' })),
      dropped: sorted.length - kept.length,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// A manual request's reEncrypt.targets

const TARGET_FIELDS = ['type', 'bucket', 'prefix'] as const;
const KINDS_TEXT = REENCRYPTION_KINDS.map((k) => `"${k}"`).join(' or ');

const TargetSchema = z.strictObject(
  {
    type: z.enum(REENCRYPTION_KINDS, { error: (i) => `expected ${KINDS_TEXT}, got ${shown(i.input)}` }),
    bucket: z
      .string({ error: (i) => `${BUCKET_NAME_EXPECTED}, got ${shown(i.input)}` })
      .check(z.refine(isBucketName, { error: (i) => `${BUCKET_NAME_EXPECTED}, got ${shown(i.input)}` })),
    prefix: z.optional(
      z
        .string({ error: (i) => `expected a key prefix (a string, '' for the whole bucket), got ${shown(i.input)}` })
        .check(
          z.maxLength(MAX_PREFIX_LENGTH, {
            error: `expected at most ${MAX_PREFIX_LENGTH} characters (an S3 key prefix)`,
          }),
        ),
    ),
  },
  { error: (i) => `expected a target {type, bucket, prefix?}, got ${shown(i.input)}` },
);

/** The `reEncrypt` field of a manual request (and of the front door's body). */
export const ReEncryptSchema = z.strictObject(
  {
    targets: z
      .array(TargetSchema, {
        error: (i) => `expected an array of targets ({type, bucket, prefix?}), got ${shown(i.input)}`,
      })
      .check(
        z.maxLength(MAX_REENCRYPTION_UNITS, {
          error: `expected at most ${MAX_REENCRYPTION_UNITS} targets (one execution re-encrypts at most that many)`,
        }),
      ),
  },
  { error: (i) => `expected {"targets": [{type, bucket, prefix?}, ...]}, got ${shown(i.input)}` },
);

/** The field list an unknown field's message gives, by where it is. */
export function knownFieldsAt(path: readonly PropertyKey[]): string | null {
  if (path.length === 1 && path[0] === 'reEncrypt') return 'reEncrypt has targets';
  if (path.length === 3 && path[0] === 'reEncrypt' && path[1] === 'targets')
    return `a target has ${TARGET_FIELDS.join(', ')}`;
  return null;
}

/** `reEncrypt.targets[2].bucket`: how a field's path reads in a message. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${String(part)}` : String(part)),
    '',
  );
}

/**
 * The targets of a valid `reEncrypt` value: prefix '' when absent, de-duplicated (same type,
 * bucket and prefix), in the order given; undefined when there are none.
 */
export function requestTargets(
  reEncrypt: { targets: { type: ReencryptTargetSpec['type']; bucket: string; prefix?: string }[] } | undefined,
): RequestTarget[] | undefined {
  if (!reEncrypt) return undefined;
  const seen = new Set<string>();
  const out: RequestTarget[] = [];
  for (const t of reEncrypt.targets) {
    const target: RequestTarget = { type: t.type, bucket: t.bucket, prefix: t.prefix ?? '', origin: 'request' };
    const id = JSON.stringify([target.type, target.bucket, target.prefix]);
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(target);
  }
  return out.length > 0 ? out : undefined;
}
