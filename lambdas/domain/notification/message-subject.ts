/**
 * The notification's subject and SNS message attributes: a subject within SNS's rules (ASCII, one
 * line, under 100 bytes) and the attributes subscription filter policies select on.
 */
import type { RequestSource, RunSummary } from '../contracts';
import { SOURCES } from '../contracts';
import { needsAction } from './reasons';
import { oneLine } from '../text';

export type MessageAttributes = Record<
  'outcome' | 'source' | 'severity' | 'actionRequired' | 'duplicate',
  { DataType: 'String'; StringValue: string }
>;

/** SNS: subject "less than 100 characters"; counted in UTF-8 bytes here, which is never more lenient. */
export const SUBJECT_MAX_BYTES = 99;

const SEVERITY_LABELS = ['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;

const SOURCE_SHORT: Record<RequestSource, string> = {
  guardduty: 'GuardDuty',
  securityhub: 'Security Hub',
  'access-analyzer': 'Access Analyzer',
  manual: 'manual:',
};
/**
 * `[OUTCOME] N keys (k failed) - <finding type or reason>`: under 100 characters (bytes, in fact),
 * one line, no control characters; the finding part is cut with an ellipsis to fit.
 */
export function formatSubject(summary: RunSummary): string {
  const n = summary.keys.length;
  const failed = summary.keys.filter((k) => k.outcome === 'FAILED').length;
  const dryRunNote =
    (summary.dryRun && summary.outcome !== 'DRY_RUN' ? ' (dry run)' : '') +
    (summary.breakGlass ? ' (break-glass)' : '');
  const count =
    n === 0
      ? `no KMS key implicated${dryRunNote}`
      : `${n} key${n === 1 ? '' : 's'}${failed > 0 && n > 1 ? ` (${failed} failed)` : ''}${dryRunNote}`;
  return subjectLine(`[${oneLine(summary.outcome, 20)}] ${count}`, subjectContext(summary));
}

/**
 * The one subject rule for every message the product publishes (notifications and approval
 * requests): `head<separator>context`, one line, within SUBJECT_MAX_BYTES, the context cut
 * with `...` to fit. Untrusted text belongs in `context`.
 */
export function subjectLine(head: string, context: string, separator = ' - '): string {
  const prefix = toAscii(oneLine(head, SUBJECT_MAX_BYTES));
  const rest = toAscii(oneLine(context, 500));
  return rest ? fitAscii(`${prefix}${separator}`, rest, SUBJECT_MAX_BYTES) : fitAscii('', prefix, SUBJECT_MAX_BYTES);
}

/**
 * SNS subjects "must be ASCII text that begins with a letter, number, or punctuation mark"
 * (Publish API reference): accents are dropped (é -> e), anything else non-ASCII becomes '?'.
 */
export function toAscii(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/…/g, '...')
    .replace(/[^\x20-\x7e]/g, '?');
}

/** `prefix + text` (both ASCII), with text cut and marked `...` so that the whole fits in max characters. */
function fitAscii(prefix: string, text: string, max: number): string {
  const whole = prefix + text;
  if (whole.length <= max) return whole;
  return `${prefix}${text.slice(0, Math.max(0, max - prefix.length - 3)).trimEnd()}...`.slice(0, max);
}

function subjectContext(summary: RunSummary): string {
  const source = sourceOf(summary);
  const what = oneLine(summary.source === 'manual' ? summary.reason : summary.findingType || summary.reason, 500);
  return oneLine(`${SOURCE_SHORT[source]} ${what}`, 500);
}
/**
 * Message attributes for SNS subscription filter policies: `outcome`, `source`, `severity` (label
 * or NONE) and `actionRequired` ('true' when any key FAILED or was SKIPPED for a reason in
 * ACTION_REQUIRED_SKIP_REASONS).
 */
export function messageAttributes(summary: RunSummary): MessageAttributes {
  const attr = (value: string) => ({ DataType: 'String' as const, StringValue: value });
  return {
    outcome: attr(summary.outcome),
    source: attr(sourceOf(summary)),
    severity: attr(severityLabel(summary) ?? 'NONE'),
    actionRequired: attr(String(actionRequired(summary))),
    duplicate: attr(String(isDuplicateOnly(summary))),
  };
}

/**
 * True when every key was handled, and reported, by another execution: a re-publication of a
 * finding already handled (DUPLICATE_FINDING; GuardDuty re-publishes every 15 min to 6 h,
 * Security Hub on every update), a key another execution rotated within the cooldown or is
 * rotating now (RECENTLY_ROTATED), or a rotation already running that this execution only joined
 * (ROTATED, joined). In an incident storm each key's rotation is then mailed once, by the execution
 * that spent it. The stack's e-mail subscriptions filter these out.
 */
export function isDuplicateOnly(summary: RunSummary): boolean {
  const handledElsewhere = (k: RunSummary['keys'][number]) =>
    (k.outcome === 'SKIPPED' && (k.reason === 'DUPLICATE_FINDING' || k.reason === 'RECENTLY_ROTATED')) ||
    (k.outcome === 'ROTATED' && k.joined);
  return summary.keys.length > 0 && summary.keys.every(handledElsewhere);
}

/**
 * True when a person must act: any key FAILED, or SKIPPED for an action-required reason, or the
 * re-encryption needs action (an object or a target failed, or a target was refused).
 */
export function actionRequired(summary: RunSummary): boolean {
  return summary.keys.some((k) => needsAction(k.outcome, k.reason)) || summary.reencryption?.actionRequired === true;
}

/** The request's source, `manual` when it is not one of the known sources. */
export function sourceOf(summary: RunSummary): RequestSource {
  return (SOURCES as readonly string[]).includes(summary.source) ? summary.source : 'manual';
}

/**
 * The severity label, upper case, from the known set; derived from GuardDuty's numeric scale
 * (Low 1.0-3.9, Medium 4.0-6.9, High 7.0-8.9, Critical 9.0-10.0) when no label was given.
 */
export function severityLabel(summary: Pick<RunSummary, 'severity' | 'severityLabel'>): string | null {
  const label = typeof summary.severityLabel === 'string' ? summary.severityLabel.trim().toUpperCase() : '';
  if ((SEVERITY_LABELS as readonly string[]).includes(label)) return label;
  const n = summary.severity;
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) return null;
  if (n < 4) return 'LOW';
  if (n < 7) return 'MEDIUM';
  if (n < 9) return 'HIGH';
  return 'CRITICAL';
}
