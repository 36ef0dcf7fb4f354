/**
 * ARNs: the one place that parses and builds them. Pure and total: any input yields a parsed ARN
 * or `null`, never an exception.
 *
 * - `parseArn`: any service (`arn:<partition>:<service>:<region>:<account>:<resource>`), for the
 *   account and Region an execution or state machine ARN names.
 * - `parseKmsArn`: a KMS key or alias ARN, as KMS returns them.
 * - `KEY_ID_PATTERN` / `ALIAS_NAME_PATTERN`: what a key id or alias name from untrusted input may
 *   be (intake/key-refs.ts builds its strict key references from these and `parseKmsArn`).
 */

/** The partitions KMS runs in. */
export const PARTITIONS = [
  'aws',
  'aws-cn',
  'aws-us-gov',
  'aws-iso',
  'aws-iso-b',
  'aws-iso-e',
  'aws-iso-f',
  'aws-eusc',
] as const;

const PARTITION = `(?:${[...PARTITIONS].sort((a, b) => b.length - a.length).join('|')})`;
/** `us-east-1`, `us-gov-west-1`, `cn-north-1`, `eu-isoe-west-1`, `eusc-de-east-1`, ... */
const REGION = '[a-z]+(?:-[a-z]+)+-\\d{1,2}';
const ACCOUNT = '\\d{12}';
/** KMS key ids are lowercase: a UUID, or `mrk-` + 32 hex digits for a multi-Region key. */
export const KEY_ID_PATTERN = '(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})';
/**
 * KMS alias names: `alias/` + letters, digits, `/`, `_`, `-`; 256 characters in all. (The API
 * pattern also admits `:`, but KMS rejects it in practice and it would make ARNs ambiguous.)
 */
export const ALIAS_NAME_PATTERN = 'alias/[a-zA-Z0-9/_-]{1,250}';

/** No ARN of any service is longer than this; longer strings are rejected before any regex runs. */
const MAX_ARN_LENGTH = 2048;

const ARN = /^arn:([^:]+):([^:]+):([^:]*):([^:]*):(.+)$/s;
const KMS_ARN = new RegExp(`^arn:(${PARTITION}):kms:(${REGION}):(${ACCOUNT}):(key|alias)/([A-Za-z0-9/_+=.@-]{1,256})$`);
const PARTITION_RE = new RegExp(`^${PARTITION}$`);
const REGION_RE = new RegExp(`^${REGION}$`);
const ACCOUNT_RE = new RegExp(`^${ACCOUNT}$`);

/**
 * Any ARN, split into its parts, unchecked beyond the shape. `region` and `account` are '' for
 * global resources (S3 buckets, IAM).
 */
export interface Arn {
  partition: string;
  service: string;
  region: string;
  account: string;
  resource: string;
}

/** A KMS key or alias ARN; `resource` is the key id or the alias name without `alias/`. */
export interface KmsArn {
  partition: string;
  region: string;
  account: string;
  resourceType: 'key' | 'alias';
  resource: string;
}

/** Splits any ARN into partition, service, Region, account and resource; null for anything else. */
export function parseArn(value: string): Arn | null {
  if (typeof value !== 'string' || value.length > MAX_ARN_LENGTH) return null;
  const m = ARN.exec(value);
  if (!m) return null;
  return { partition: m[1]!, service: m[2]!, region: m[3]!, account: m[4]!, resource: m[5]! };
}

/** Parses a KMS key ARN or alias ARN; null for anything else (bare ids, other services). */
export function parseKmsArn(value: string): KmsArn | null {
  if (typeof value !== 'string' || value.length > MAX_ARN_LENGTH) return null;
  const m = KMS_ARN.exec(value);
  if (!m) return null;
  return { partition: m[1]!, region: m[2]!, account: m[3]!, resourceType: m[4] as 'key' | 'alias', resource: m[5]! };
}

/** A KMS key ARN. */
export function keyArn(partition: string, region: string, account: string, keyId: string): string {
  return `arn:${partition}:kms:${region}:${account}:key/${keyId}`;
}

/** A KMS alias ARN; `alias` is the alias name with its `alias/` prefix. */
export function aliasArn(partition: string, region: string, account: string, alias: string): string {
  return `arn:${partition}:kms:${region}:${account}:${alias}`;
}

/**
 * The ARN of execution `name` of a Step Functions state machine, or null when `stateMachineArn`
 * is not a state machine ARN.
 */
export function executionArn(stateMachineArn: string, name: string): string | null {
  const arn = parseArn(stateMachineArn);
  if (!arn || arn.service !== 'states' || !arn.resource.startsWith('stateMachine:')) return null;
  const machine = arn.resource.slice('stateMachine:'.length);
  return `arn:${arn.partition}:states:${arn.region}:${arn.account}:execution:${machine}:${name}`;
}

/** True for a Step Functions state machine ARN (`arn:<partition>:states:<region>:<account>:stateMachine:<name>`). */
export function isStateMachineArn(value: string): boolean {
  const arn = parseArn(value);
  return (
    arn !== null &&
    arn.service === 'states' &&
    isPartition(arn.partition) &&
    isRegion(arn.region) &&
    isAccount(arn.account) &&
    /^stateMachine:[A-Za-z0-9_-]{1,80}$/.test(arn.resource)
  );
}

/** True for a partition KMS runs in. */
export const isPartition = (v: unknown): v is string => typeof v === 'string' && v.length <= 32 && PARTITION_RE.test(v);
/** True for a well-formed Region name. */
export const isRegion = (v: unknown): v is string => typeof v === 'string' && v.length <= 32 && REGION_RE.test(v);
/** True for a 12-digit account id. */
export const isAccount = (v: unknown): v is string => typeof v === 'string' && ACCOUNT_RE.test(v);

/** The partition of a Region (enough for the Regions KMS runs in). */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  if (region.startsWith('eu-isoe-')) return 'aws-iso-e';
  if (region.startsWith('us-isof-')) return 'aws-iso-f';
  if (region.startsWith('eusc-')) return 'aws-eusc';
  return 'aws';
}
