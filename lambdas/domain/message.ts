import { Buffer } from 'node:buffer';
import type { KeyResult, Outcome, Reason, RequestSource, RunSummary } from './contracts';
import { SOURCES } from './contracts';
import { NEXT_STEP, OUTCOME_TEXT, REASON_TEXT, needsAction } from './reasons';
import { cut, oneLine } from './text';

/**
 * The SNS notification for one execution: a subject that fits SNS's rules, a plain-text body an
 * on-call engineer can act on, and message attributes for subscription filter policies.
 * Finding text is untrusted (types and titles can contain anything): every such field goes through
 * `oneLine`, so it can neither break the subject nor forge lines in the body.
 */

export interface NotificationOptions {
  /** Region of the state machine, for the console link. */
  region: string;
  /** Lifetime on-demand rotations per key (the rotationBudget setting). */
  rotationBudget: number;
  /** Who asked, for manual requests (RunSummary does not carry it; pass `request.requestedBy`). */
  requestedBy?: string | null;
  /** Cap on the body's UTF-8 size; default MESSAGE_MAX_BYTES. The CLI may pass Infinity. */
  maxBytes?: number;
}

export type MessageAttributes = Record<'outcome' | 'source' | 'severity' | 'actionRequired' | 'duplicate', { DataType: 'String'; StringValue: string }>;

export interface Notification {
  subject: string;
  message: string;
  attributes: MessageAttributes;
}

/** SNS: subject "less than 100 characters"; counted in UTF-8 bytes here, which is never more lenient. */
export const SUBJECT_MAX_BYTES = 99;
/** SNS allows 256 KiB for message plus attributes; stay well under it. */
export const MESSAGE_MAX_BYTES = 200 * 1024;
/** Per-key limits that keep one key's block to a few KiB. */
const MAX_ALIASES_SHOWN = 10;
const MAX_ALIASES_TEXT = 600;
const MAX_FIELD = 300;
const MAX_DETAIL = 600;
const MAX_KEY_NUMBERS = 10;

const SEVERITY_LABELS = ['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;

const SOURCE_SHORT: Record<RequestSource, string> = {
  guardduty: 'GuardDuty',
  securityhub: 'Security Hub',
  'access-analyzer': 'Access Analyzer',
  manual: 'manual:',
};

const SOURCE_WORDS: Record<RequestSource, string> = {
  guardduty: 'Amazon GuardDuty finding',
  securityhub: 'AWS Security Hub finding',
  'access-analyzer': 'IAM Access Analyzer finding',
  manual: 'manual request by an on-call engineer (kms-rotate or the console)',
};

const OUTCOME_COUNT_WORD: Record<Outcome, string> = {
  ROTATED: 'rotated',
  DRY_RUN: 'dry run',
  SKIPPED: 'skipped',
  FAILED: 'failed',
};

const DATA_KEY_WARNING =
  'Rotation does NOT change data keys already issued: data encrypted before the rotation stays decryptable, ' +
  'and any data key that was exposed stays valid for the data it protects. If data keys may have leaked, ' +
  're-encrypt the affected data under NEW data keys (KMS ReEncrypt of an encrypted data key re-wraps the same data key and does not help).';

/** Build the SNS Publish parameters for a run summary. */
export function formatNotification(summary: RunSummary, opts: NotificationOptions): Notification {
  return {
    subject: formatSubject(summary),
    message: formatSummaryText(summary, opts),
    attributes: messageAttributes(summary),
  };
}

/**
 * `[OUTCOME] N keys (k failed) - <finding type or reason>`: under 100 characters (bytes, in fact),
 * one line, no control characters; the finding part is cut with an ellipsis to fit.
 */
export function formatSubject(summary: RunSummary): string {
  const n = summary.keys.length;
  const failed = summary.keys.filter((k) => k.outcome === 'FAILED').length;
  const dryRunNote = (summary.dryRun && summary.outcome !== 'DRY_RUN' ? ' (dry run)' : '') + (summary.breakGlass ? ' (break-glass)' : '');
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

function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
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
    (k.outcome === 'SKIPPED' && (k.reason === 'DUPLICATE_FINDING' || k.reason === 'RECENTLY_ROTATED')) || (k.outcome === 'ROTATED' && k.joined);
  return summary.keys.length > 0 && summary.keys.every(handledElsewhere);
}

/** True when a person must act: any key FAILED, or SKIPPED for an action-required reason. */
export function actionRequired(summary: RunSummary): boolean {
  return summary.keys.some((k) => needsAction(k.outcome, k.reason));
}

function sourceOf(summary: RunSummary): RequestSource {
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

/**
 * The notification body, plain text: headline, why (finding or manual request), every key, the
 * execution, and what to do next. The CLI prints the same text.
 */
export function formatSummaryText(summary: RunSummary, opts: NotificationOptions): string {
  const maxBytes = opts.maxBytes ?? MESSAGE_MAX_BYTES;
  const budget = Number.isFinite(opts.rotationBudget) && opts.rotationBudget > 0 ? opts.rotationBudget : null;

  const head = [...headline(summary), '', ...why(summary, opts), ''].join('\n');
  const tail = ['', ...execution(summary, opts), '', ...whatNext(summary)].join('\n');
  const keyLines = keysSection(summary.keys, budget, maxBytes - utf8Bytes(head) - utf8Bytes(tail));
  return `${head}\n${keyLines}\n${tail}\n`;
}

function headline(summary: RunSummary): string[] {
  const n = summary.keys.length;
  const lines: string[] = [];
  if (n === 0) {
    lines.push('KMS incident rotation: NONE - no KMS key was implicated, so nothing was rotated.');
  } else {
    const counts = (['ROTATED', 'DRY_RUN', 'SKIPPED', 'FAILED'] as const)
      .map((o) => [o, summary.keys.filter((k) => k.outcome === o).length] as const)
      .filter(([, c]) => c > 0)
      .map(([o, c]) => `${c} ${OUTCOME_COUNT_WORD[o]}`);
    lines.push(`KMS incident rotation: ${summary.outcome} - ${n} key${n === 1 ? '' : 's'}: ${counts.join(', ')}.`);
  }
  if (summary.dryRun) lines.push('DRY RUN: nothing was changed.');
  if (summary.breakGlass) lines.push('BREAK-GLASS: a forced request through the break-glass route (cooldown and reserve lifted, within the break-glass bounds).');
  lines.push(actionRequired(summary) ? 'ACTION REQUIRED: see "What to do next" below.' : 'No action required on the keys; read "What to do next" about data keys.');
  return lines;
}

function why(summary: RunSummary, opts: NotificationOptions): string[] {
  const source = sourceOf(summary);
  const lines = ['Why'];
  lines.push(`  Source:       ${SOURCE_WORDS[source]}`);
  if (source === 'manual') {
    lines.push(`  Reason:       ${oneLine(summary.reason, 1000) || '(none given)'}`);
    lines.push(`  Requested by: ${opts.requestedBy ? oneLine(opts.requestedBy, MAX_FIELD) : 'unknown'}`);
  } else {
    lines.push(`  Finding id:   ${summary.findingId ? oneLine(summary.findingId, MAX_FIELD) : 'unknown'}`);
    if (summary.findingType) lines.push(`  Type:         ${oneLine(summary.findingType, MAX_FIELD)}`);
    lines.push(`  Severity:     ${severityText(summary)}`);
    if (summary.reason) lines.push(`  Title:        ${oneLine(summary.reason, 1000)}`);
  }
  lines.push(`  Request id:   ${oneLine(summary.requestId, MAX_FIELD)}`);
  return lines;
}

function severityText(summary: RunSummary): string {
  const label = severityLabel(summary);
  const n = typeof summary.severity === 'number' && Number.isFinite(summary.severity) ? String(summary.severity) : null;
  if (n && label) return `${n} (${label})`;
  return n ?? label ?? 'not given';
}

/**
 * Every key as a block; when the blocks would not fit the size limit, the rest become one-line
 * entries, and when even those would not fit, the rest are counted instead of listed.
 */
function keysSection(keys: readonly KeyResult[], budget: number | null, maxBytes: number): string {
  if (keys.length === 0) return 'Keys: none.';
  const notice = (n: number) =>
    `... ${n} more key${n === 1 ? '' : 's'} not listed to keep this message under the SNS size limit; the execution output lists every key.`;
  const oneLineNote = 'Some keys are shown on one line to keep this message under the SNS size limit; the execution output has the details.';
  const cutNote = 'Some long values above were shortened (marked …); the execution output has them in full.';
  const reserve = utf8Bytes(notice(keys.length)) + utf8Bytes(oneLineNote) + utf8Bytes(cutNote) + 4;
  const out: string[] = [`Keys (${keys.length})`];
  let used = utf8Bytes(out[0]!) + 1;
  let oneLiners = false;
  const shortening: Shortening = { cut: false };
  for (let i = 0; i < keys.length; i++) {
    if (!oneLiners) {
      const s: Shortening = { cut: false };
      const block = keyBlock(keys[i]!, i + 1, budget, s);
      const blockBytes = utf8Bytes(block) + 1;
      if (used + blockBytes + reserve <= maxBytes) {
        out.push(block);
        used += blockBytes;
        shortening.cut ||= s.cut;
        continue;
      }
      oneLiners = true;
    }
    const line = keyLine(keys[i]!, i + 1);
    const lineBytes = utf8Bytes(line) + 1;
    if (used + lineBytes + reserve > maxBytes) {
      out.push(notice(keys.length - i));
      break;
    }
    out.push(line);
    used += lineBytes;
  }
  if (shortening.cut) out.push(cutNote);
  if (oneLiners) out.push(oneLineNote);
  return out.join('\n');
}

function keyName(key: KeyResult): string {
  return oneLine(key.keyArn ?? key.ref, MAX_FIELD) || '(no key reference)';
}

function keyLine(key: KeyResult, n: number): string {
  return `${n}. ${keyName(key)} - ${key.outcome}${key.reason ? ` ${key.reason}` : ''}`;
}

/** Records whether any value was cut, so the message can say so. */
interface Shortening {
  cut: boolean;
}

/** `oneLine`, noting in `s` when the value had to be cut. */
function field(text: string, max: number, s: Shortening): string {
  const whole = oneLine(text, Number.POSITIVE_INFINITY);
  const line = cut(whole, max);
  if (line !== whole) s.cut = true;
  return line;
}

function keyBlock(key: KeyResult, n: number, budget: number | null, s: Shortening): string {
  const lines = [`${n}. ${key.keyArn ? field(key.keyArn, MAX_FIELD, s) : keyName(key)}`];
  if (key.keyArn && key.ref && key.ref !== key.keyArn) lines.push(`   Named as:    ${field(key.ref, MAX_FIELD, s)}`);
  if (!key.keyArn) lines.push('   (the reference did not resolve to a key ARN)');
  if (key.aliases.length > 0) {
    const shown = key.aliases.slice(0, MAX_ALIASES_SHOWN).map((a) => oneLine(String(a), 256));
    // Results carry the first aliases only (domain/key-task.ts capAliases) and count the rest.
    const more = key.aliases.length - shown.length + (key.moreAliases ?? 0);
    if (more > 0) s.cut = true;
    lines.push(`   Aliases:     ${field(shown.join(', '), MAX_ALIASES_TEXT, s)}${more > 0 ? ` (+${more} more)` : ''}`);
  }
  if (key.via) {
    lines.push(`   Via:         ${field(key.via, MAX_FIELD, s)} (the multi-Region replica named; its primary key is the one rotated)`);
  }
  lines.push(`   Outcome:     ${key.outcome} - ${OUTCOME_TEXT[key.outcome] ?? 'unknown outcome'}`);
  if (key.reason) lines.push(`   Reason:      ${key.reason} - ${REASON_TEXT[key.reason] ?? 'unknown reason'}`);
  if (key.detail) lines.push(`   Detail:      ${field(key.detail, MAX_DETAIL, s)}`);
  if (key.approvedBy) {
    lines.push(`   Approved by: ${field(key.approvedBy, MAX_FIELD, s)}${key.approvalReason ? ` (${field(key.approvalReason, MAX_DETAIL, s)})` : ''}`);
  }
  const rotations = rotationsText(key, budget);
  if (rotations) lines.push(`   On-demand rotations: ${rotations}`);
  if (key.previousKeyMaterialId || key.currentKeyMaterialId) {
    const before = key.previousKeyMaterialId ? field(key.previousKeyMaterialId, 128, s) : 'unknown';
    const after = key.currentKeyMaterialId ? field(key.currentKeyMaterialId, 128, s) : 'unknown';
    lines.push(`   Key material: ${before} -> ${after}`);
  }
  if (key.joined) lines.push('   Note:        joined an on-demand rotation that was already running; no extra rotation was spent.');
  if (key.rotationStartedAt) lines.push(`   Started:     ${field(key.rotationStartedAt, 40, s)}`);
  if (key.confirmedAt) lines.push(`   Confirmed:   ${field(key.confirmedAt, 40, s)}`);
  return lines.join('\n');
}

/** "4 of 25 used, 21 left", from whichever of the two counts is known. */
export function rotationsText(key: Pick<KeyResult, 'onDemandRotationsUsed' | 'onDemandRotationsRemaining'>, budget: number | null): string | null {
  const count = (v: number | null) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : null);
  const used = count(key.onDemandRotationsUsed);
  const left = count(key.onDemandRotationsRemaining);
  if (used === null && left === null) return null;
  if (budget === null) return used !== null ? `${used} used${left !== null ? `, ${left} left` : ''}` : `${left} left`;
  const u = used ?? Math.max(0, budget - left!);
  const l = left ?? Math.max(0, budget - used!);
  return `${u} of ${budget} used, ${l} left`;
}

function execution(summary: RunSummary, opts: NotificationOptions): string[] {
  const lines = ['Execution'];
  if (summary.executionArn) {
    const arn = oneLine(summary.executionArn, 2048);
    const region = oneLine(opts.region, 64);
    lines.push(`  ${arn}`);
    lines.push(`  https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${arn}`);
  } else {
    lines.push('  (execution ARN not known)');
  }
  if (summary.startedAt) lines.push(`  Started: ${oneLine(summary.startedAt, 40)}`);
  return lines;
}

function whatNext(summary: RunSummary): string[] {
  const lines = ['What to do next', `- ${DATA_KEY_WARNING}`];
  if (summary.keys.length === 0) {
    lines.push('- No key was rotated. If the finding does involve a KMS key, rotate it by hand: `kms-rotate start --key <key ARN>`.');
  }
  if (summary.keys.some((k) => k.outcome === 'DRY_RUN')) {
    lines.push('- This was a dry run: to rotate for real, rerun without --dry-run (or turn off the dryRun setting).');
  }
  // One line per reason, in the order reasons first appear, naming the keys it applies to.
  const byReason = new Map<Reason, number[]>();
  summary.keys.forEach((k, i) => {
    if (!k.reason || !(k.reason in NEXT_STEP)) return;
    const list = byReason.get(k.reason) ?? [];
    list.push(i + 1);
    byReason.set(k.reason, list);
  });
  for (const [reason, numbers] of byReason) {
    let step = NEXT_STEP[reason];
    if (numbers.length === 1) {
      const key = summary.keys[numbers[0]! - 1]!;
      step = step.replaceAll('<key ARN>', keyName(key));
    }
    const shown = numbers.slice(0, MAX_KEY_NUMBERS).join(', ');
    const more = numbers.length > MAX_KEY_NUMBERS ? ` and ${numbers.length - MAX_KEY_NUMBERS} more` : '';
    lines.push(`- ${reason} (key${numbers.length === 1 ? '' : 's'} ${shown}${more}): ${step}`);
  }
  return lines;
}
