import { Buffer } from 'node:buffer';
import type { KeyResult, Outcome, Reason, RequestSource, RunSummary } from './contracts';
import { SOURCES } from './contracts';
import { NEXT_STEP, OUTCOME_TEXT, REASON_TEXT, needsAction } from './reasons';
import type {
  RefusalReason,
  ReencryptionSummary,
  ReencryptionUnit,
  ReencryptTargetSpec,
  SkipReason,
  TargetReport,
} from './reencryption';
import { actionAdvice } from './reencryption-report';
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

export type MessageAttributes = Record<
  'outcome' | 'source' | 'severity' | 'actionRequired' | 'duplicate',
  { DataType: 'String'; StringValue: string }
>;

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
  REENCRYPT_ONLY: 're-encrypt only',
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
  const next = ['', ...execution(summary, opts), '', ...whatNext(summary)].join('\n');
  // The re-encryption section gets at most a share of the limit; the keys get the rest.
  const reencryptionBudget = Math.min(
    REENCRYPTION_SECTION_MAX_BYTES,
    Math.floor((maxBytes - utf8Bytes(head) - utf8Bytes(next)) / 2),
  );
  const reencryption = summary.reencryption
    ? `\n${reencryptionSection(summary.reencryption, summary, reencryptionBudget)}\n`
    : '';
  const tail = reencryption + next;
  const keyLines = keysSection(summary.keys, budget, maxBytes - utf8Bytes(head) - utf8Bytes(tail));
  return `${head}\n${keyLines}\n${tail}\n`;
}

function headline(summary: RunSummary): string[] {
  const n = summary.keys.length;
  const lines: string[] = [];
  if (n === 0) {
    lines.push('KMS incident rotation: NONE - no KMS key was implicated, so nothing was rotated.');
  } else {
    const counts = (['ROTATED', 'REENCRYPT_ONLY', 'DRY_RUN', 'SKIPPED', 'FAILED'] as const)
      .map((o) => [o, summary.keys.filter((k) => k.outcome === o).length] as const)
      .filter(([, c]) => c > 0)
      .map(([o, c]) => `${c} ${OUTCOME_COUNT_WORD[o]}`);
    lines.push(`KMS incident rotation: ${summary.outcome} - ${n} key${n === 1 ? '' : 's'}: ${counts.join(', ')}.`);
  }
  if (summary.dryRun) lines.push('DRY RUN: nothing was changed.');
  if (summary.breakGlass)
    lines.push(
      'BREAK-GLASS: a forced request through the break-glass route (cooldown and reserve lifted, within the break-glass bounds).',
    );
  lines.push(
    actionRequired(summary)
      ? 'ACTION REQUIRED: see "What to do next" below.'
      : 'No action required on the keys; read "What to do next" about data keys.',
  );
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
  const oneLineNote =
    'Some keys are shown on one line to keep this message under the SNS size limit; the execution output has the details.';
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
    lines.push(
      `   Via:         ${field(key.via, MAX_FIELD, s)} (the multi-Region replica named; its primary key is the one rotated)`,
    );
  }
  lines.push(`   Outcome:     ${key.outcome} - ${OUTCOME_TEXT[key.outcome] ?? 'unknown outcome'}`);
  if (key.reason) lines.push(`   Reason:      ${key.reason} - ${REASON_TEXT[key.reason] ?? 'unknown reason'}`);
  if (key.detail) lines.push(`   Detail:      ${field(key.detail, MAX_DETAIL, s)}`);
  if (key.approvedBy) {
    lines.push(
      `   Approved by: ${field(key.approvedBy, MAX_FIELD, s)}${key.approvalReason ? ` (${field(key.approvalReason, MAX_DETAIL, s)})` : ''}`,
    );
  }
  const rotations = rotationsText(key, budget);
  if (rotations) lines.push(`   On-demand rotations: ${rotations}`);
  if (key.previousKeyMaterialId || key.currentKeyMaterialId) {
    const before = key.previousKeyMaterialId ? field(key.previousKeyMaterialId, 128, s) : 'unknown';
    const after = key.currentKeyMaterialId ? field(key.currentKeyMaterialId, 128, s) : 'unknown';
    lines.push(`   Key material: ${before} -> ${after}`);
  }
  if (key.joined)
    lines.push('   Note:        joined an on-demand rotation that was already running; no extra rotation was spent.');
  if (key.rotationStartedAt) lines.push(`   Started:     ${field(key.rotationStartedAt, 40, s)}`);
  if (key.confirmedAt) lines.push(`   Confirmed:   ${field(key.confirmedAt, 40, s)}`);
  return lines.join('\n');
}

/** "4 of 25 used, 21 left", from whichever of the two counts is known. */
export function rotationsText(
  key: Pick<KeyResult, 'onDemandRotationsUsed' | 'onDemandRotationsRemaining'>,
  budget: number | null,
): string | null {
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

/** What to do when break-glass itself was refused (forceMinIntervalMinutes / forceDailyCap): the key's line says until when. */
const BREAK_GLASS_REFUSED_STEP =
  'Break-glass cannot lift these bounds. Wait until the time the key\'s line gives ("next forced rotation allowed from"), then, if the key still needs it: `kms-rotate start --key <key ARN> --reason "<why>" --force`.';

function whatNext(summary: RunSummary): string[] {
  const lines = ['What to do next', `- ${DATA_KEY_WARNING}`];
  const reencryption = reencryptionNextStep(
    summary.reencryption ?? null,
    summary.keys.some((k) => k.outcome === 'ROTATED'),
  );
  if (reencryption) lines.push(`- ${reencryption}`);
  if (summary.keys.length === 0) {
    lines.push(
      '- No key was rotated. If the finding does involve a KMS key, rotate it by hand: `kms-rotate start --key <key ARN> --reason "<why>"`.',
    );
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
    // A forced run refused by the break-glass bounds: forcing again is refused the same way until then.
    let step = reason === 'RECENTLY_ROTATED' && summary.breakGlass ? BREAK_GLASS_REFUSED_STEP : NEXT_STEP[reason];
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

// ---------------------------------------------------------------------------------------------
// Re-encryption

/** At most this much of the message is the re-encryption section (SNS: 256 KiB in all). */
export const REENCRYPTION_SECTION_MAX_BYTES = 64 * 1024;
/** Failed objects shown per target (the report keeps the first 20; the execution output has them). */
const MAX_FAILURES_SHOWN = 5;
const MAX_OBJECT_KEY = 200;
const MAX_ERROR = 200;

/** Skip reasons in words; a reason not listed (added later) is shown by its name. */
const SKIP_TEXT: Partial<Record<SkipReason, string>> = {
  OTHER_KEY: 'under another key',
  NOT_SSE_KMS: 'not SSE-KMS',
  ARCHIVED_NEEDS_RESTORE: 'archived, needs a restore first',
  NOT_ENVELOPE: 'not an Encryption SDK message',
  SSE_C: 'SSE-C (customer-provided key), left untouched: whoever holds the key must copy it',
  MULTI_REGION_REPLICA: 'under a multi-Region replica of the key',
  WRAPPING_KEY_UNUSABLE:
    'left untouched: another KMS key wrapping it refused kms:Encrypt; grant it to ReencryptObjects or re-wrap by hand',
  NON_KMS_WRAPPING_KEY: 'left untouched: also wrapped by a non-KMS (raw) key; re-encrypt it where that key is held',
  ENVELOPE_TOO_LARGE: 'left untouched: larger than the envelope size limit; re-encrypt it with the Encryption SDK CLI',
  KMS_ACCESS_DENIED:
    'left untouched: KMS refused the copy (an extra SSE-KMS encryption context S3 does not return, or a key policy); copy it with its context by hand',
};

const REFUSAL_TEXT: Partial<Record<RefusalReason, string>> = {
  BUCKET_NOT_ALLOWED: 'the bucket is not in the reEncryptBuckets setting, so the stack may not touch it',
  KEY_NOT_ROTATED: 'the key was not rotated by this execution, so re-encrypting would give no new key material',
  TOO_MANY_TARGETS: 'more targets than one execution re-encrypts',
  MATERIAL_PREDATES_EXPOSURE: "the key's newest key material was created before the exposure; rotate the key first",
};

const ORIGIN_TEXT: Record<ReencryptionUnit['origin'], string> = {
  request: 'from the request',
  finding: 'named by the finding',
  setting: 'from the reEncryptTargets setting',
};

const BUCKET_KEYS_TEXT =
  'the bucket uses S3 Bucket Keys: S3 derives the new data keys from a bucket-level key it reuses for a time, ' +
  'so objects re-encrypted close together may share it; the guarantee is new key material for every object, ' +
  'not one unique data key per object (see docs/reencryption.md).';

/** `s3-sse-kms:bucket/prefix` (the `--reencrypt` value; `bucket` alone for the whole bucket). */
export function reencryptArgument(target: Pick<ReencryptTargetSpec, 'type' | 'bucket' | 'prefix'>): string {
  return `${target.type}:${target.bucket}${target.prefix ? `/${target.prefix}` : ''}`;
}

/** A word the shell reads as itself: quoted with single quotes unless it is plainly safe. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}

function where(t: Pick<ReencryptTargetSpec, 'type' | 'bucket' | 'prefix'>): string {
  return oneLine(`${t.type} s3://${t.bucket}/${t.prefix}`, 1100);
}

function count(n: unknown): number {
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? Math.floor(n) : 0;
}

/** `1.5 MiB` */
function bytesText(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} bytes` : `${v.toFixed(1)} ${units[i]}`;
}

function targetBlock(t: TargetReport, n: number, s: Shortening): string {
  const lines = [`${n}. ${field(where(t), 1100, s)}`];
  lines.push(
    `   Key:         ${t.keyArn ? field(t.keyArn, MAX_FIELD, s) : 'unknown'} (${ORIGIN_TEXT[t.origin] ?? 'origin unknown'})`,
  );
  lines.push(
    `   Status:      ${t.status === 'FAILED' ? `FAILED - the map run failed${t.error ? `: ${field(t.error, MAX_DETAIL, s)}` : ''}` : 'COMPLETED'}`,
  );
  const skipped = Object.entries(t.skippedByReason ?? {})
    .filter(([, c]) => count(c) > 0)
    .map(([reason, c]) => `${count(c)} ${SKIP_TEXT[reason as SkipReason] ?? oneLine(reason, 40)}`);
  lines.push(
    `   Objects:     ${count(t.objectsScanned)} scanned, ${count(t.objectsReencrypted)} re-encrypted (${bytesText(count(t.bytesReencrypted))}), ` +
      `${count(t.objectsSkipped)} skipped${skipped.length > 0 ? ` (${skipped.join(', ')})` : ''}, ${count(t.objectsFailed)} failed`,
  );
  const failures = Array.isArray(t.failures) ? t.failures : [];
  if (count(t.objectsFailed) > 0) {
    const shown = failures.slice(0, MAX_FAILURES_SHOWN);
    lines.push(
      `   Failures:    ${shown.length < count(t.objectsFailed) ? `the first ${shown.length} of ${count(t.objectsFailed)} (the execution output lists up to 20)` : 'all of them'}:`,
    );
    for (const f of shown)
      lines.push(`     - ${field(String(f.key), MAX_OBJECT_KEY, s)}: ${field(String(f.error), MAX_ERROR, s)}`);
  }
  if (count(t.objectsChangedDuringRun) > 0) {
    lines.push(
      `   Changed:     ${count(t.objectsChangedDuringRun)} object(s) changed by someone else during the run were not overwritten (counted as failed): check their new contents' data keys.`,
    );
  }
  if (count(t.olderVersionsUnderKey) > 0) {
    lines.push(
      `   Older:       ${count(t.olderVersionsUnderKey)} older version(s) are still under this key (counted with ListObjectVersions, never deleted).`,
    );
  }
  if (count(t.oldVersionsLeft) > 0) {
    lines.push(
      `   Versions:    ${count(t.oldVersionsLeft)} previous version(s) keep their OLD data keys; the workflow never deletes versions: delete them yourself if the exposure requires it.`,
    );
  }
  if (t.bucketKeys) lines.push(`   Bucket Keys: ${BUCKET_KEYS_TEXT}`);
  const extras = [
    `${count(t.batches)} batch(es)${count(t.batchesFailed) > 0 ? `, ${count(t.batchesFailed)} failed` : ''}`,
  ];
  if (count(t.throttlesRetried) > 0) extras.push(`${count(t.throttlesRetried)} throttled request(s) retried`);
  extras.push(`${Math.round(count(t.durationMs) / 1000)} s`);
  lines.push(`   Run:         ${extras.join(', ')}`);
  return lines.join('\n');
}

function targetLine(t: TargetReport, n: number): string {
  return `${n}. ${oneLine(where(t), 300)} - ${t.status}: ${count(t.objectsReencrypted)} re-encrypted, ${count(t.objectsSkipped)} skipped, ${count(t.objectsFailed)} failed`;
}

/** The command that runs the planned re-encryption of one key (inside the cooldown it re-encrypts without rotating again). */
export function reencryptCommand(
  keyArn: string,
  units: readonly Pick<ReencryptTargetSpec, 'type' | 'bucket' | 'prefix'>[],
  requestId: string,
  rotatedAfter?: string | null,
): string {
  const reason = `--reason ${shellWord(`re-encrypt after ${requestId}`)}`;
  if (rotatedAfter) {
    // The key was rotated by this execution, after it started: re-encrypt only (no rotation spent),
    // with the start as the exposure time, which the new material post-dates.
    const targets = units.map((u) => `--target ${shellWord(reencryptArgument(u))}`).join(' ');
    return `kms-rotate reencrypt --key ${shellWord(keyArn)} ${reason} --exposed-at ${shellWord(rotatedAfter)} ${targets}`;
  }
  const targets = units.map((u) => `--reencrypt ${shellWord(reencryptArgument(u))}`).join(' ');
  return `kms-rotate start --key ${shellWord(keyArn)} ${reason} ${targets}`;
}

/**
 * Blocks (or, past the budget, one-line entries, then a count) in order: what fits in `maxBytes`.
 * `notice(n)` says how many were left out.
 */
function bounded<T>(
  items: readonly T[],
  block: (item: T, n: number) => string,
  line: (item: T, n: number) => string,
  maxBytes: number,
  notice: (n: number) => string,
): { lines: string[]; bytes: number } {
  const out: string[] = [];
  let used = 0;
  let oneLiners = false;
  const reserve = utf8Bytes(notice(items.length)) + 1;
  for (let i = 0; i < items.length; i++) {
    if (!oneLiners) {
      const b = block(items[i]!, i + 1);
      if (used + utf8Bytes(b) + 1 + reserve <= maxBytes) {
        out.push(b);
        used += utf8Bytes(b) + 1;
        continue;
      }
      oneLiners = true;
    }
    const l = line(items[i]!, i + 1);
    if (used + utf8Bytes(l) + 1 + reserve > maxBytes) {
      out.push(notice(items.length - i));
      used += utf8Bytes(notice(items.length - i)) + 1;
      break;
    }
    out.push(l);
    used += utf8Bytes(l) + 1;
  }
  return { lines: out, bytes: used };
}

/**
 * The "Re-encryption" section: totals, every target's counts (skipped by reason, the first
 * failures, bytes, old versions left, Bucket Keys), the refused targets with their reasons, and
 * for REPORT_ONLY what would run and the command that runs it. At most `maxBytes` (UTF-8).
 */
export function reencryptionSection(
  r: ReencryptionSummary,
  summary: Pick<RunSummary, 'requestId'> & Partial<Pick<RunSummary, 'keys' | 'startedAt'>>,
  maxBytes: number,
): string {
  const mode =
    r.mode === 'RUN' ? 'ran' : r.mode === 'REPORT_ONLY' ? 'REPORT ONLY: nothing was re-encrypted' : 'nothing to run';
  const head = [`Re-encryption (${mode})`];
  if (r.mode === 'RUN') {
    head.push(
      `  ${count(r.objectsScanned)} objects scanned, ${count(r.objectsReencrypted)} re-encrypted under new data keys, ${count(r.objectsSkipped)} skipped, ${count(r.objectsFailed)} failed.`,
    );
    if (r.actionRequired)
      head.push('  ACTION REQUIRED: some data was not re-encrypted (see the failures and refusals below).');
  }
  head.push(...actionLines(r));
  if (r.error) {
    head.push(
      `  ACTION REQUIRED: the re-encryption stopped: ${oneLine(r.error, MAX_DETAIL)}. Targets not listed below were not re-encrypted; the keys stay rotated. Run the same kms-rotate start ... --reencrypt again inside the cooldown.`,
    );
  }
  const s: Shortening = { cut: false };
  const parts: string[] = [head.join('\n')];
  let left = maxBytes - utf8Bytes(parts[0]!) - 200;
  const targetNotice = (n: number) =>
    `... ${n} more target(s) not listed to keep this message under the SNS size limit; the execution output lists every target.`;

  if (r.targets.length > 0) {
    const t = bounded(r.targets, (x, n) => targetBlock(x, n, s), targetLine, left * 0.7, targetNotice);
    parts.push(`Targets (${r.targets.length})`, ...t.lines);
    left -= t.bytes;
  }
  if (r.refused.length > 0) {
    const refusedLine = (x: ReencryptionSummary['refused'][number]) =>
      `- ${oneLine(where(x), 300)}${x.keyArn ? ` for ${oneLine(x.keyArn, MAX_FIELD)}` : ''} (${ORIGIN_TEXT[x.origin] ?? 'origin unknown'}): REFUSED ${x.reason} - ${x.detail ? oneLine(x.detail, MAX_DETAIL) : `${REFUSAL_TEXT[x.reason] ?? 'unknown reason'}.`}`;
    const t = bounded(r.refused, refusedLine, refusedLine, left * 0.5, targetNotice);
    const more = r.refusedMore ? `; ${r.refusedMore} more not listed` : '';
    parts.push(
      `Refused before any work (${r.refused.length}${more}; a refusal never holds back a rotation):`,
      ...t.lines,
    );
    left -= t.bytes;
  }
  if (r.mode === 'REPORT_ONLY' && r.planned.length > 0) {
    const plannedLine = (u: ReencryptionUnit) =>
      `- ${oneLine(where(u), 300)} for ${oneLine(u.keyArn, MAX_FIELD)} (${ORIGIN_TEXT[u.origin] ?? 'origin unknown'})`;
    const planned = bounded(r.planned, plannedLine, plannedLine, left / 2, targetNotice);
    parts.push(`Would re-encrypt (${r.planned.length}):`, ...planned.lines);
    left -= planned.bytes;
    const byKey = new Map<string, ReencryptionUnit[]>();
    for (const u of r.planned) byKey.set(u.keyArn, [...(byKey.get(u.keyArn) ?? []), u]);
    const rotated = new Set((summary.keys ?? []).filter((k) => k.outcome === 'ROTATED').map((k) => k.keyArn));
    const rotatedAfter = (keyArn: string) => (rotated.has(keyArn) ? (summary.startedAt ?? null) : null);
    const commands = [...byKey].map(
      ([keyArn, units]) =>
        `  ${oneLine(reencryptCommand(keyArn, units, summary.requestId, rotatedAfter(keyArn)), 20_000)}`,
    );
    const run = bounded(
      commands,
      (c) => c,
      (c) => c,
      left,
      (n) => `  ... ${n} more command(s) not listed.`,
    );
    parts.push(
      'To run it (`reencrypt`: the key was rotated here, so no on-demand rotation is spent; `start`: the key was not rotated, so it is rotated first; each bucket must be in the reEncryptBuckets setting):',
      ...run.lines,
    );
  }
  if (s.cut) parts.push('Some long values above were shortened (marked …); the execution output has them in full.');
  return parts.join('\n');
}

/** One line per action-required reason: how many, and what to do (any reason, known or not, gets advice). */
function actionLines(r: ReencryptionSummary): string[] {
  const reasons = Object.entries(r.actionRequiredByReason ?? {}).filter(([, c]) => count(c) > 0);
  if (!reasons.length) return [];
  return [
    '  Action required, by reason:',
    ...reasons.map(([reason, c]) => `  - ${oneLine(reason, 60)} (${count(c)}): ${actionAdvice(reason)}`),
  ];
}

/** The "What to do next" line about data keys: what was re-encrypted and what was not (null: nothing to say). */
function reencryptionNextStep(r: ReencryptionSummary | null, anyRotated: boolean): string | null {
  if (!r || (r.mode === 'NONE' && r.refused.length === 0)) {
    if (!anyRotated) return null;
    return 'No data was re-encrypted by this execution. To have the workflow re-encrypt S3 data under new data keys, list the buckets in the reEncryptBuckets setting and pass targets (`kms-rotate start --key <key ARN> --reencrypt s3-sse-kms:<bucket>/<prefix>`), or set reEncryptTargets / autoReEncrypt.';
  }
  if (r.mode === 'REPORT_ONLY') {
    return `Re-encryption was only planned (${r.planned.length} target(s)), nothing was re-encrypted: the data keys in use before the rotation still protect that data. Run the command in "Re-encryption" if they may have leaked.`;
  }
  if (r.mode === 'NONE') {
    return `No data was re-encrypted: every target (${r.refused.length}) was refused (see "Re-encryption"). Fix the reason (for BUCKET_NOT_ALLOWED add the bucket to reEncryptBuckets) and re-encrypt that data.`;
  }
  const versions = r.targets.reduce((n, t) => n + count(t.oldVersionsLeft), 0);
  const parts = [`${count(r.objectsReencrypted)} object(s) in ${r.targets.length} target(s) now have new data keys.`];
  if (count(r.objectsFailed) > 0)
    parts.push(
      `${count(r.objectsFailed)} failed and still use their old data keys: fix the cause and re-encrypt them.`,
    );
  if (r.refused.length > 0) parts.push(`${r.refused.length} target(s) were refused and not re-encrypted.`);
  if (count(r.objectsSkipped) > 0)
    parts.push(
      `${count(r.objectsSkipped)} were skipped (other keys, not SSE-KMS or envelope, or archived: archived objects under this key need a restore, then a re-encryption).`,
    );
  if (versions > 0)
    parts.push(`${versions} previous version(s) keep their old data keys (never deleted by the workflow).`);
  parts.push('Data outside these targets (other buckets, other stores, copies people made) was NOT re-encrypted.');
  return `Re-encryption: ${parts.join(' ')}`;
}
