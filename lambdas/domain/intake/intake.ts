/**
 * Intake: turns a security finding (an EventBridge event from GuardDuty, Security Hub CSPM or IAM
 * Access Analyzer) or an on-call engineer's manual request into one normalised `IncidentRequest`.
 *
 * Pure: no AWS calls, no clock. Finding content is untrusted: for an event of a known source and
 * detail-type this never throws; whatever it cannot read contributes no keys. Only a request that
 * is neither a known finding event nor a valid manual request is rejected, with an
 * `InvalidRequestError` naming the field and what was expected.
 */
import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { IncidentRequest, RequestSource } from '../contracts';
import { classifyKeyRef, isAccount, isRegion, KeyLocation, resolveLocation, toKmsArn } from './key-refs';

export { classifyKeyRef, isKmsArn, MAX_KEY_REF_LENGTH, toKmsArn } from './key-refs';
export type { KeyLocation, KeyRefInfo, KeyRefKind } from './key-refs';

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
}

type FindingSource = Exclude<RequestSource, 'manual'>;

// ---------------------------------------------------------------------------------------------
// Reading untrusted JSON

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An own property only: finding content must not reach `constructor`, `__proto__`, .... */
function own(v: unknown, key: string): unknown {
  return isObj(v) && Object.prototype.hasOwnProperty.call(v, key) ? v[key] : undefined;
}

function at(v: unknown, ...path: string[]): unknown {
  let cur = v;
  for (const key of path) cur = own(cur, key);
  return cur;
}

/** The first MAX_SCAN elements of an array; [] for anything else. */
const items = (v: unknown): unknown[] => (Array.isArray(v) ? v.slice(0, MAX_SCAN) : []);

/** A non-empty string of at most `max` characters, else undefined. */
function text(v: unknown, max = MAX_FINDING_ID_LENGTH): string | undefined {
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
function shown(v: unknown): string {
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
interface FindingFacts {
  findingId?: string;
  findingType?: string;
  severity?: number;
  severityLabel?: string;
  title?: string;
}

/** GuardDuty's bands (current): Low 1.0–3.9, Medium 4.0–6.9, High 7.0–8.9, Critical 9.0–10.0. */
export function guardDutySeverityLabel(score: number): 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL' | null {
  if (!Number.isFinite(score) || score < 0 || score > 10) return null;
  if (score < 4) return 'LOW';
  if (score < 7) return 'MEDIUM';
  if (score < 9) return 'HIGH';
  return 'CRITICAL';
}

/** S3 default encryption values that name a KMS key (SSE-KMS and dual-layer DSSE-KMS). */
const KMS_SSE = new Set(['aws:kms', 'aws:kms:dsse']);

/**
 * A bucket's default-encryption key counts when the encryption type says KMS, or when it is
 * absent and a key is named anyway (the key is still named: Assess decides). An explicit other
 * type (`AES256`, ...) means the named key does not protect the bucket's new objects: ignored.
 */
function namesKmsEncryption(type: unknown): boolean {
  return type === undefined || type === null || (typeof type === 'string' && KMS_SSE.has(type.toLowerCase()));
}

/**
 * GuardDuty: keys of S3 buckets' default encryption, of scanned EBS volumes, and of KMS API calls
 * (`affectedResources`). An archived finding (`service.archived`) names no keys.
 */
function readGuardDuty(detail: unknown, keys: KeyCollector): FindingFacts {
  const score = own(detail, 'severity');
  const severity = typeof score === 'number' && guardDutySeverityLabel(score) ? score : undefined;
  const facts: FindingFacts = {
    findingId: text(own(detail, 'id')),
    findingType: text(own(detail, 'type')),
    severity,
    severityLabel: severity === undefined ? undefined : (guardDutySeverityLabel(severity) ?? undefined),
    title: text(own(detail, 'title'), Infinity),
  };
  if (at(detail, 'service', 'archived') === true) return facts;

  const where: KeyLocation = {
    account: own(detail, 'accountId'),
    region: own(detail, 'region'),
    partition: own(detail, 'partition'),
  };
  const resource = own(detail, 'resource');
  for (const bucket of items(own(resource, 's3BucketDetails'))) {
    const sse = own(bucket, 'defaultServerSideEncryption');
    if (namesKmsEncryption(own(sse, 'encryptionType'))) keys.add(own(sse, 'kmsMasterKeyArn'), where);
  }
  for (const volume of items(at(resource, 'ebsVolumeDetails', 'scannedVolumeDetails'))) {
    keys.add(own(volume, 'kmsKeyArn'), where);
  }
  const call = at(detail, 'service', 'action', 'awsApiCallAction');
  const affected = own(call, 'affectedResources');
  if (own(call, 'serviceName') === 'kms.amazonaws.com' && isObj(affected)) {
    for (const [type, value] of Object.entries(affected).slice(0, MAX_SCAN)) {
      if (type === 'AWS::KMS::Key') keys.add(value, where);
      // Another label, but the value is plainly a key ARN: keep it (never a bare id: ambiguous).
      else if (typeof value === 'string' && classifyKeyRef(value)?.kind === 'keyArn') keys.add(value);
    }
  }
  return facts;
}

const ASFF_LABELS = new Set(['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL']);
const ASFF_OPEN_WORKFLOW = new Set(['NEW', 'NOTIFIED']);

/** An ASFF finding is acted on only while ACTIVE and NEW or NOTIFIED (not SUPPRESSED/RESOLVED). */
function isOpenAsff(finding: unknown): boolean {
  const workflow = at(finding, 'Workflow', 'Status');
  return (
    own(finding, 'RecordState') === 'ACTIVE' && typeof workflow === 'string' && ASFF_OPEN_WORKFLOW.has(workflow)
  );
}

function asffFacts(finding: unknown): FindingFacts {
  const label = at(finding, 'Severity', 'Label');
  const normalized = at(finding, 'Severity', 'Normalized');
  return {
    findingId: text(own(finding, 'Id')),
    findingType: text(items(own(finding, 'Types'))[0]),
    severity:
      typeof normalized === 'number' && Number.isFinite(normalized) && normalized >= 0 && normalized <= 100
        ? normalized / 10
        : undefined,
    severityLabel: typeof label === 'string' && ASFF_LABELS.has(label) ? label : undefined,
    title: text(own(finding, 'Title'), Infinity),
  };
}

/**
 * Security Hub CSPM (ASFF): keys of `AwsKmsKey` resources and of S3 buckets' default encryption,
 * from every open finding in `detail.findings`. The facts (id, type, severity, title) are the
 * first open finding's, or the first finding's when none is open (then there are no keys).
 */
function readSecurityHub(detail: unknown, keys: KeyCollector): FindingFacts {
  const findings = items(own(detail, 'findings'));
  const open = findings.filter(isOpenAsff);
  for (const finding of open) {
    const inFinding: KeyLocation = { account: own(finding, 'AwsAccountId'), region: own(finding, 'Region') };
    for (const resource of items(own(finding, 'Resources'))) {
      const inResource: KeyLocation = { region: own(resource, 'Region'), partition: own(resource, 'Partition') };
      const details = own(resource, 'Details');
      if (own(resource, 'Type') === 'AwsKmsKey') {
        // Id is the key ARN; KeyId only when Id is unusable (building an ARN from a bare id in
        // the wrong account would name a key that does not exist).
        const kmsKey = own(details, 'AwsKmsKey');
        if (!keys.add(own(resource, 'Id'), inResource, inFinding)) {
          keys.add(own(kmsKey, 'KeyId'), { account: own(kmsKey, 'AWSAccountId') }, inResource, inFinding);
        }
      }
      const bucket = own(details, 'AwsS3Bucket');
      const owner: KeyLocation = { account: own(bucket, 'OwnerAccountId') };
      for (const rule of items(at(bucket, 'ServerSideEncryptionConfiguration', 'Rules'))) {
        const byDefault = own(rule, 'ApplyServerSideEncryptionByDefault');
        if (namesKmsEncryption(own(byDefault, 'SSEAlgorithm'))) {
          keys.add(own(byDefault, 'KMSMasterKeyID'), owner, inResource, inFinding);
        }
      }
    }
  }
  const first = open[0] ?? findings[0];
  return first === undefined ? {} : asffFacts(first);
}

/** A scalar as a short word; anything else as `?` (String() throws on some objects). */
function word(v: unknown): string {
  if (typeof v === 'string') return v.length > 128 ? `${v.slice(0, 128)}…` : v;
  return typeof v === 'number' || typeof v === 'boolean' ? String(v) : '?';
}

/** Words for an Access Analyzer principal map, e.g. `AWS: 444455556666`. */
function principalWords(principal: unknown): string | undefined {
  if (!isObj(principal)) return undefined;
  const parts = Object.entries(principal)
    .slice(0, 5)
    .map(([k, v]) => `${word(k)}: ${Array.isArray(v) ? v.slice(0, 5).map(word).join(', ') : word(v)}`);
  return parts.length > 0 ? parts.join('; ') : undefined;
}

/** IAM Access Analyzer: the finding's resource, when it is a KMS key and the finding is ACTIVE. */
function readAccessAnalyzer(detail: unknown, keys: KeyCollector): FindingFacts {
  const isKey = own(detail, 'resourceType') === 'AWS::KMS::Key';
  if (isKey && own(detail, 'status') === 'ACTIVE') {
    keys.add(own(detail, 'resource'), { account: own(detail, 'accountId'), region: own(detail, 'region') });
  }
  const resource = text(own(detail, 'resource'), 400) ?? 'a resource';
  const what = isKey ? `KMS key ${resource}` : resource;
  const principal = principalWords(own(detail, 'principal'));
  const title =
    own(detail, 'isPublic') === true
      ? `IAM Access Analyzer: the policy of ${what} allows public access`
      : `IAM Access Analyzer: ${what} is shared outside the zone of trust${principal ? ` (principal ${principal})` : ''}`;
  return {
    findingId: text(own(detail, 'id')),
    // Resource findings are external-access findings (unused access has its own detail-type).
    findingType: text(own(detail, 'findingType')) ?? 'ExternalAccess',
    title,
  };
}

interface SourceSpec {
  source: FindingSource;
  detailTypes: readonly string[];
  name: string;
  read: (detail: unknown, keys: KeyCollector) => FindingFacts;
}

const SOURCES: Record<string, SourceSpec> = {
  'aws.guardduty': { source: 'guardduty', detailTypes: ['GuardDuty Finding'], name: 'GuardDuty', read: readGuardDuty },
  'aws.securityhub': {
    source: 'securityhub',
    // A custom action carries the same ASFF findings: an analyst chose them in the console.
    detailTypes: ['Security Hub Findings - Imported', 'Security Hub Findings - Custom Action'],
    name: 'Security Hub',
    read: readSecurityHub,
  },
  'aws.access-analyzer': {
    source: 'access-analyzer',
    detailTypes: ['Access Analyzer Finding'],
    name: 'IAM Access Analyzer',
    read: readAccessAnalyzer,
  },
};

const EXPECTED_SOURCE =
  'expected aws.guardduty, aws.securityhub or aws.access-analyzer, or a manual request with keyId and reason';

/**
 * The stable id of a finding's request: `<source>-<first 32 hex of sha256(source + findingId)>`.
 * The same finding (GuardDuty re-publishes merged findings under the same id) always gives the
 * same id, which is what later steps deduplicate on.
 */
export function findingRequestId(source: FindingSource, findingId: string): string {
  return `${source}-${createHash('sha256').update(source + findingId).digest('hex').slice(0, 32)}`;
}

/** The source spec of a known finding event; throws naming `source` or `detail-type` otherwise. */
function knownSource(event: Obj): SourceSpec {
  const sourceName = own(event, 'source');
  const spec = typeof sourceName === 'string' && Object.hasOwn(SOURCES, sourceName) ? SOURCES[sourceName] : undefined;
  if (!spec) throw new InvalidRequestError(`source: ${EXPECTED_SOURCE}, got ${shown(sourceName)}`);
  const detailType = own(event, 'detail-type');
  if (typeof detailType !== 'string' || !spec.detailTypes.includes(detailType)) {
    const expected = spec.detailTypes.map((t) => `'${t}'`).join(' or ');
    throw new InvalidRequestError(`detail-type: expected ${expected} for source ${sourceName}, got ${shown(detailType)}`);
  }
  return spec;
}

/** The envelope's account and Region, when well-formed. */
function envelopeLocation(event: Obj): { account: string | null; region: string | null } {
  const account = own(event, 'account');
  const region = own(event, 'region');
  return { account: isAccount(account) ? account : null, region: isRegion(region) ? region : null };
}

/** Reads a known finding event: its facts and its (capped, sorted) keys. Never throws. */
function readFinding(
  event: Obj,
  spec: SourceSpec,
  ctx: IntakeContext,
): { facts: FindingFacts; keys: string[]; dropped: number } {
  const collector = new KeyCollector([
    envelopeLocation(event),
    { account: ctx.account, region: ctx.region, partition: ctx.partition ?? 'aws' },
  ]);
  const facts = spec.read(own(event, 'detail'), collector);
  return { facts, ...capKeys(collector.values(), ctx) };
}

/**
 * The KMS keys a finding event names, as Intake would hand them on (ARNs, de-duplicated, sorted,
 * at most MAX_KEYS). Total: `[]` for anything that is not a known finding event.
 */
export function extractKeyRefs(event: unknown, ctx: IntakeContext): string[] {
  if (!isObj(event)) return [];
  let spec: SourceSpec;
  try {
    spec = knownSource(event);
  } catch {
    return [];
  }
  return readFinding(event, spec, ctx).keys;
}

function parseFindingEvent(event: Obj, ctx: IntakeContext): IncidentRequest {
  const spec = knownSource(event);
  // From here on the event is of a known kind: nothing in it may make Intake throw.
  const { account, region } = envelopeLocation(event);
  const { facts, keys, dropped } = readFinding(event, spec, ctx);

  const findingId = facts.findingId ?? null;
  const dedupeOn = findingId ?? text(own(event, 'id')) ?? '';
  let reason = boundedReason(facts.title ?? '') || `${spec.name} finding ${facts.findingType ?? findingId ?? '(untitled)'}`;
  if (dropped > 0) {
    const note = ` [${keys.length + dropped} keys named; ${MAX_KEYS} handled, ${dropped} not]`;
    reason = boundedReason(reason, MAX_REASON_LENGTH - note.length) + note;
  }
  return {
    requestId: findingRequestId(spec.source, dedupeOn),
    source: spec.source,
    findingId,
    findingType: facts.findingType ?? null,
    severity: facts.severity ?? null,
    severityLabel: facts.severityLabel ?? null,
    reason: boundedReason(reason),
    keys,
    dryRun: false,
    force: false,
    requestedBy: null,
    account,
    region,
  };
}

// ---------------------------------------------------------------------------------------------
// Manual requests

const MANUAL_FIELDS = ['keyId', 'reason', 'dryRun', 'force', 'requestedBy'] as const;
const KEY_EXPECTED = 'expected a KMS key id, key ARN, alias name or alias ARN';

const ManualRequest = z.strictObject({
  keyId: z.string({ error: (i) => `${KEY_EXPECTED}, got ${shown(i.input)}` }).trim(),
  reason: z
    .string({ error: (i) => `expected a non-empty string saying why, got ${shown(i.input)}` })
    .trim()
    .min(1, { error: 'expected a non-empty string saying why, got an empty one' })
    .max(MAX_REASON_LENGTH, { error: `expected at most ${MAX_REASON_LENGTH} characters` }),
  dryRun: z.boolean({ error: (i) => `expected true or false, got ${shown(i.input)}` }).optional(),
  force: z.boolean({ error: (i) => `expected true or false, got ${shown(i.input)}` }).optional(),
  requestedBy: z
    .string({ error: (i) => `expected a string (an IAM principal), got ${shown(i.input)}` })
    .trim()
    .min(1, { error: 'expected a non-empty string (an IAM principal)' })
    .max(2048, { error: 'expected at most 2048 characters' })
    .optional(),
});

function parseManual(input: Obj, ctx: IntakeContext): IncidentRequest {
  const parsed = ManualRequest.safeParse(input);
  if (!parsed.success) {
    const messages = parsed.error.issues.map((issue) =>
      issue.code === 'unrecognized_keys'
        ? `${issue.keys.join(', ')}: unknown field; a manual request has ${MANUAL_FIELDS.join(', ')}`
        : `${issue.path.join('.') || 'request'}: ${issue.message}`,
    );
    throw new InvalidRequestError(messages.join('; '));
  }
  const req = parsed.data;
  const info = classifyKeyRef(req.keyId);
  if (!info) throw new InvalidRequestError(`keyId: ${KEY_EXPECTED}, got ${shown(req.keyId)}`);
  let key = req.keyId;
  if (info.kind === 'keyId') {
    const arn = toKmsArn(req.keyId, { account: ctx.account, region: ctx.region, partition: ctx.partition ?? 'aws' });
    if (!arn) {
      throw new InvalidRequestError(
        `keyId: a bare key id needs this deployment's account and Region to become a key ARN, and they ` +
          `are not valid (account ${shown(ctx.account)}, region ${shown(ctx.region)}); give the key ARN`,
      );
    }
    key = arn;
  }
  const loc = resolveLocation({ account: ctx.account, region: ctx.region, partition: ctx.partition ?? 'aws' });
  return {
    requestId: ctx.newRequestId?.() ?? randomUUID(),
    source: 'manual',
    findingId: null,
    findingType: null,
    severity: null,
    severityLabel: null,
    reason: req.reason,
    keys: [key],
    dryRun: req.dryRun ?? false,
    force: req.force ?? false,
    requestedBy: req.requestedBy ?? null,
    account: loc?.account ?? null,
    region: loc?.region ?? null,
  };
}

// ---------------------------------------------------------------------------------------------

const has = (o: Obj, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

/**
 * Normalises a finding event or a manual request into an `IncidentRequest`.
 *
 * An object with `detail` or `detail-type` (or a `source` and no `keyId`/`reason`) is read as an
 * EventBridge finding event; one with `keyId` or `reason` as a manual request.
 *
 * @throws InvalidRequestError for anything else, an unknown source or detail-type, or an invalid
 *   manual request. Never for an event of a known source and detail-type, whatever its content.
 */
export function parseIncident(input: unknown, ctx: IntakeContext): IncidentRequest {
  if (!isObj(input)) {
    throw new InvalidRequestError(
      `request: expected an object (a finding event or a manual request with keyId and reason), got ${shown(input)}`,
    );
  }
  const manualShaped = has(input, 'keyId') || has(input, 'reason');
  if (has(input, 'detail') || has(input, 'detail-type') || (has(input, 'source') && !manualShaped)) {
    return parseFindingEvent(input, ctx);
  }
  if (manualShaped) return parseManual(input, ctx);
  throw new InvalidRequestError(`source: ${EXPECTED_SOURCE}, got nothing`);
}

/** What `kms-rotate resolve --event FILE` prints: which finding, how severe, which keys. */
export interface ResolveSummary {
  source: RequestSource;
  findingId: string | null;
  severity: number | null;
  severityLabel: string | null;
  keys: string[];
}

/** The part of a request that `kms-rotate resolve` shows. */
export function summariseForResolve(req: IncidentRequest): ResolveSummary {
  return {
    source: req.source,
    findingId: req.findingId,
    severity: req.severity,
    severityLabel: req.severityLabel,
    keys: [...req.keys],
  };
}
