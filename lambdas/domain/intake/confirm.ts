/**
 * Confirming a finding with its source service before any key is touched: anyone allowed
 * `states:StartExecution` on the automatic machine can write any event, so the event only says
 * WHERE to look (detector and finding id, product ARN and finding id, analyzer and finding id);
 * what the run acts on is the source service's own copy of the finding.
 *
 * Pure: the adapter (lambdas/adapters/finding-sources.ts) makes the calls.
 */
import type { IncidentRequest } from '../contracts';
import { findingRequestId } from './intake';
import { at, boundedReason, isObj, items, own, text, type FindingSource, type IntakeContext, type Obj } from './read';
import { findingsActedOn } from './securityhub';

/** Where the source service holds the finding an event describes. */
export type FindingLocator =
  | { source: 'guardduty'; detectorId: string; findingId: string }
  | { source: 'securityhub'; findings: { Id: string; ProductArn: string }[] }
  | { source: 'access-analyzer'; analyzerArn: string; findingId: string };

/** What the source service answered: its copy (in the event's `detail` form) or why there is none. */
export type SourceCopy = { found: true; detail: Obj } | { found: false; why: string };

/**
 * At most this many Security Hub findings of one event are confirmed (one GetFindings page and
 * one BatchUpdateFindings call hold 100); events carry one finding in practice.
 */
export const MAX_SECURITY_HUB_FINDINGS = 100;

const ANALYZER_ARN = /^arn:aws[a-z-]*:access-analyzer:[a-z0-9-]+:\d{12}:analyzer\/.{1,255}$/;

const SOURCE_NAME: Record<FindingSource, string> = {
  guardduty: 'GuardDuty',
  securityhub: 'Security Hub',
  'access-analyzer': 'IAM Access Analyzer',
};

/**
 * Where to confirm the finding of a finding event (its source already known to Intake), or why it
 * cannot be confirmed: GuardDuty `detail.service.detectorId` and `detail.id`; Security Hub each
 * `detail.findings[]`'s `Id` and `ProductArn`; Access Analyzer `detail.id` and the analyzer ARN
 * that EventBridge puts in the event's `resources`.
 */
export function locateFinding(source: FindingSource, event: unknown): FindingLocator | { unlocatable: string } {
  const detail = own(event, 'detail');
  if (source === 'guardduty') {
    const detectorId = text(at(detail, 'service', 'detectorId'), 300);
    const findingId = text(own(detail, 'id'));
    if (!detectorId || !findingId)
      return {
        unlocatable: 'the GuardDuty event names no detector (detail.service.detectorId) or finding id (detail.id)',
      };
    return { source, detectorId, findingId };
  }
  if (source === 'securityhub') {
    const findings = items(own(detail, 'findings'))
      .map((f) => ({ Id: text(own(f, 'Id'), 512), ProductArn: text(own(f, 'ProductArn'), 512) }))
      .filter((f): f is { Id: string; ProductArn: string } => f.Id !== undefined && f.ProductArn !== undefined)
      .slice(0, MAX_SECURITY_HUB_FINDINGS);
    if (findings.length === 0)
      return { unlocatable: 'the Security Hub event names no finding with an Id and a ProductArn' };
    return { source, findings };
  }
  const analyzerArn = items(own(event, 'resources')).find(
    (r): r is string => typeof r === 'string' && ANALYZER_ARN.test(r),
  );
  const findingId = text(own(detail, 'id'));
  if (!analyzerArn || !findingId)
    return { unlocatable: 'the Access Analyzer event names no analyzer (resources[]) or finding id (detail.id)' };
  return { source, analyzerArn, findingId };
}

/** The event Intake reads once confirmed: the envelope as received, the source's copy as `detail`. */
export function confirmedEvent(event: Obj, copy: Obj): Obj {
  return { ...event, detail: copy };
}

/**
 * The request of a finding its source does not hold: the keys the event named (reported, never
 * looked up), a request id of its own (a forged copy of a real finding's id cannot claim the real
 * finding and make it a duplicate), no Security Hub findings to update, and why.
 */
export function unconfirmedRequest(
  claimed: IncidentRequest,
  source: FindingSource,
  eventId: unknown,
  why: string,
): IncidentRequest {
  const name = SOURCE_NAME[source];
  const sentence = boundedReason(`${name} does not confirm finding ${claimed.findingId ?? '(no id)'}: ${why}`, 400);
  const { securityHubFindings: _none, ...rest } = claimed;
  return {
    ...rest,
    requestId: findingRequestId(
      source,
      `unconfirmed:${claimed.findingId ?? ''}:${typeof eventId === 'string' ? eventId : ''}`,
    ),
    reason: boundedReason(`Unconfirmed ${name} finding ${claimed.findingId ?? '(no id)'}`),
    notConfirmed: sentence,
  };
}

/** The Security Hub findings a confirmed request acts on (open and acted on, from the confirmed copy). */
export function confirmedSecurityHubFindings(copy: Obj, ctx: IntakeContext): { Id: string; ProductArn: string }[] {
  return findingsActedOn(copy, ctx)
    .filter(isObj)
    .map((f) => ({ Id: String(f.Id), ProductArn: String(f.ProductArn) }));
}
