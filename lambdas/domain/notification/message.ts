import type { KeyResult, Outcome, Reason, RequestSource, RunSummary } from '../contracts';
import { NEXT_STEP, OUTCOME_TEXT, REASON_TEXT } from './reasons';
import { oneLine } from '../text';
import { field, MAX_DETAIL, MAX_FIELD, utf8Bytes, type Shortening } from './message-fields';
import {
  actionRequired,
  formatSubject,
  messageAttributes,
  severityLabel,
  sourceOf,
  type MessageAttributes,
} from './message-subject';
import { REENCRYPTION_SECTION_MAX_BYTES, reencryptionNextStep, reencryptionSection } from './message-reencryption';

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

export interface Notification {
  subject: string;
  message: string;
  attributes: MessageAttributes;
}

/** SNS allows 256 KiB for message plus attributes; stay well under it. */
export const MESSAGE_MAX_BYTES = 200 * 1024;
/** Per-key limits that keep one key's block to a few KiB. */
const MAX_ALIASES_SHOWN = 10;
const MAX_ALIASES_TEXT = 600;
const MAX_KEY_NUMBERS = 10;

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

function keyBlock(key: KeyResult, n: number, budget: number | null, s: Shortening): string {
  const lines = [`${n}. ${key.keyArn ? field(key.keyArn, MAX_FIELD, s) : keyName(key)}`];
  if (key.keyArn && key.ref && key.ref !== key.keyArn) lines.push(`   Named as:    ${field(key.ref, MAX_FIELD, s)}`);
  if (!key.keyArn) lines.push('   (the reference did not resolve to a key ARN)');
  if (key.aliases.length > 0) {
    const shown = key.aliases.slice(0, MAX_ALIASES_SHOWN).map((a) => oneLine(String(a), 256));
    // Results carry the first aliases only (domain/rotation/key-task.ts capAliases) and count the rest.
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
