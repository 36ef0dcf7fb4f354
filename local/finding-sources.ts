import type { StandIn } from './standin';

// How a finding event reaches a simulated account: its source service holds the finding (so the
// workflow's confirmation finds it) and EventBridge's rule for that source starts the machine.

/** Detail-types each finding source files (others are refused by Intake, so there is nothing to file). */
const FILED_DETAIL_TYPES: Record<string, string> = {
  'aws.guardduty': 'GuardDuty Finding',
  'aws.securityhub': 'Security Hub Findings - Imported',
  'aws.access-analyzer': 'Access Analyzer Finding',
};

/** Files a finding event's finding with the stand-in's source service (an event Intake would refuse is not filed). */
export function fileWithSource(standIn: StandIn, input: unknown): void {
  const event = input as { source?: unknown; 'detail-type'?: unknown } | null;
  const source = typeof event?.source === 'string' ? event.source : '';
  if (!Object.hasOwn(FILED_DETAIL_TYPES, source) || FILED_DETAIL_TYPES[source] !== event?.['detail-type']) return;
  standIn.fileFinding(input);
}

/** The `source` of an EventBridge event (`aws.guardduty`, ...): which rule of the stack takes it. */
export function eventSource(input: unknown): string {
  const source = (input as { source?: unknown } | null)?.source;
  if (typeof source !== 'string')
    throw new Error(
      'simulate: a finding event needs its EventBridge "source" (e.g. "aws.guardduty"): no rule of the stack would take it otherwise',
    );
  return source;
}
