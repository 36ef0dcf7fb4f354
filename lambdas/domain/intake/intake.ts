/**
 * Intake: turns a security finding (an EventBridge event from GuardDuty, Security Hub CSPM or IAM
 * Access Analyzer) or an on-call engineer's manual request into one normalised `IncidentRequest`.
 *
 * Pure: no AWS calls, no clock. Finding content is untrusted: for an event of a known source and
 * detail-type this never throws; whatever it cannot read contributes no keys. Only a request that
 * is neither a known finding event nor a valid manual request is rejected, with an
 * `InvalidRequestError` naming the field and what was expected.
 */
import { createHash } from 'node:crypto';
import type { IncidentRequest, RequestSource } from '../contracts';
import { readAccessAnalyzer } from './access-analyzer';
import { readGuardDuty } from './guardduty';
import { isAccount, isRegion } from './key-refs';
import { parseManual } from './manual';
import {
  boundedReason,
  capKeys,
  type FindingFacts,
  type FindingSource,
  type IntakeContext,
  InvalidRequestError,
  isObj,
  KeyCollector,
  MAX_KEYS,
  MAX_REASON_LENGTH,
  type Obj,
  own,
  shown,
  text,
} from './read';
import { readSecurityHub } from './securityhub';
import { BucketCollector, type RequestTarget } from './targets';

// The module is the one entry (Lambda handler, CLI, bench); one module per source does the reading.
export { classifyKeyRef } from './key-refs';
export { InvalidRequestError, MAX_REASON_LENGTH } from './read';
export type { IntakeContext } from './read';

interface SourceSpec {
  source: FindingSource;
  detailTypes: readonly string[];
  name: string;
  /** Keys go to `keys`; the buckets whose objects a named key may protect to `buckets`. */
  read: (detail: unknown, keys: KeyCollector, ctx: IntakeContext, buckets: BucketCollector) => FindingFacts;
}

const SOURCES: Record<string, SourceSpec> = {
  'aws.guardduty': { source: 'guardduty', detailTypes: ['GuardDuty Finding'], name: 'GuardDuty', read: readGuardDuty },
  'aws.securityhub': {
    source: 'securityhub',
    // Only what the rules in lib/ send; no rule sends custom actions.
    detailTypes: ['Security Hub Findings - Imported'],
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
  return `${source}-${createHash('sha256')
    .update(source + findingId)
    .digest('hex')
    .slice(0, 32)}`;
}

/** The source spec of a known finding event; throws naming `source` or `detail-type` otherwise. */
function knownSource(event: Obj): SourceSpec {
  const sourceName = own(event, 'source');
  const spec = typeof sourceName === 'string' && Object.hasOwn(SOURCES, sourceName) ? SOURCES[sourceName] : undefined;
  if (!spec) throw new InvalidRequestError(`source: ${EXPECTED_SOURCE}, got ${shown(sourceName)}`);
  const detailType = own(event, 'detail-type');
  if (typeof detailType !== 'string' || !spec.detailTypes.includes(detailType)) {
    const expected = spec.detailTypes.map((t) => `'${t}'`).join(' or ');
    throw new InvalidRequestError(
      `detail-type: expected ${expected} for source ${sourceName}, got ${shown(detailType)}`,
    );
  }
  return spec;
}

/** The envelope's account and Region, when well-formed. */
function envelopeLocation(event: Obj): { account: string | null; region: string | null } {
  const account = own(event, 'account');
  const region = own(event, 'region');
  return { account: isAccount(account) ? account : null, region: isRegion(region) ? region : null };
}

/** Reads a known finding event: its facts, its (capped, sorted) keys and bucket targets. Never throws. */
function readFinding(
  event: Obj,
  spec: SourceSpec,
  ctx: IntakeContext,
): { facts: FindingFacts; keys: string[]; dropped: number; targets: RequestTarget[]; targetsDropped: number } {
  const collector = new KeyCollector([
    envelopeLocation(event),
    { account: ctx.account, region: ctx.region, partition: ctx.partition ?? 'aws' },
  ]);
  const buckets = new BucketCollector();
  const facts = spec.read(own(event, 'detail'), collector, ctx, buckets);
  const { targets, dropped: targetsDropped } = buckets.targets();
  return { facts, ...capKeys(collector.values(), ctx), targets, targetsDropped };
}

function parseFindingEvent(event: Obj, ctx: IntakeContext): IncidentRequest {
  const spec = knownSource(event);
  // From here on the event is of a known kind: nothing in it may make Intake throw.
  const { account, region } = envelopeLocation(event);
  const { facts, keys, dropped, targets, targetsDropped } = readFinding(event, spec, ctx);

  const findingId = facts.findingId ?? null;
  const dedupeOn = findingId ?? text(own(event, 'id')) ?? '';
  let reason =
    boundedReason(facts.title ?? '') || `${spec.name} finding ${facts.findingType ?? findingId ?? '(untitled)'}`;
  if (dropped > 0) {
    const note = ` [${keys.length + dropped} keys named; ${MAX_KEYS} handled, ${dropped} not]`;
    reason = boundedReason(reason, MAX_REASON_LENGTH - note.length) + note;
  }
  if (targetsDropped > 0) {
    const note = ` [${targets.length + targetsDropped} buckets named; ${targets.length} re-encryption targets kept]`;
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
    breakGlass: false,
    requestedBy: null,
    account,
    region,
    // No bucket target without a key: a bucket is a target only because a named key protects it.
    ...(targets.length > 0 && keys.length > 0 ? { reEncryptTargets: targets } : {}),
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
  const kind = inputKind(input);
  if (kind === 'finding') return parseFindingEvent(input, ctx);
  if (kind === 'manual') return parseManual(input, ctx);
  throw new InvalidRequestError(`source: ${EXPECTED_SOURCE}, got nothing`);
}

/**
 * Which state machine an Intake serves (a constant in its task parameters):
 * - `automatic`: only the EventBridge rules may start it; it accepts finding events only;
 * - `manual`: only the front door may start it; it accepts only the front door's request shape,
 *   with the caller (`requestedBy`) the front door read from AWS authentication.
 */
export type IntakeMode = 'automatic' | 'manual';

/**
 * Intake for one state machine: `parseIncident`, refusing any input that is not its own shape, so
 * a person cannot submit a finding (or claim a finding id, or appear as a finding source) through
 * the manual machine, nor a manual request through the automatic one.
 */
export function parseForMode(input: unknown, ctx: IntakeContext, mode: IntakeMode): IncidentRequest {
  const kind = inputKind(input);
  if (mode === 'automatic') {
    if (kind !== 'finding') {
      throw new InvalidRequestError(
        'request: the automatic workflow takes finding events from EventBridge only; manual requests go through the front door (kms-rotate start)',
      );
    }
    return parseIncident(input, ctx);
  }
  if (kind !== 'manual') {
    throw new InvalidRequestError(
      "request: the manual workflow takes the front door's requests only (keyId, reason, requestedBy); findings arrive through EventBridge",
    );
  }
  const request = parseIncident(input, ctx);
  if (!request.requestedBy)
    throw new InvalidRequestError(
      'requestedBy: the front door sets the verified caller; a request without one is refused',
    );
  if (request.force && !request.breakGlass)
    throw new InvalidRequestError('force: only the break-glass route forces a rotation');
  return { ...request, force: request.breakGlass };
}

/**
 * How Intake reads an input (the dispatch of `parseIncident`, shared with `kms-rotate resolve`):
 * an object with `detail` or `detail-type` (or a `source` and no `keyId`/`reason`) is a finding
 * event, one with `keyId` or `reason` a manual request; anything else is neither (null).
 */
export function inputKind(input: unknown): 'finding' | 'manual' | null {
  if (!isObj(input)) return null;
  const manualShaped = has(input, 'keyId') || has(input, 'reason');
  if (has(input, 'detail') || has(input, 'detail-type') || (has(input, 'source') && !manualShaped)) return 'finding';
  return manualShaped ? 'manual' : null;
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
