/**
 * The notification's re-encryption section: per target what was re-encrypted, skipped, refused or
 * failed, bounded to a share of SNS's size, and the commands that run what was only planned.
 */
import type { RunSummary } from '../contracts';
import type {
  RefusalReason,
  ReencryptionSummary,
  ReencryptionUnit,
  ReencryptTargetSpec,
  SkipReason,
  TargetReport,
} from '../reencryption';
import { actionAdvice } from '../reencryption/report';
import { oneLine } from '../text';
import { grantNotRetiredLines } from './grant-not-retired';
import { field, MAX_DETAIL, MAX_FIELD, shellWord, utf8Bytes, type Shortening } from './message-fields';

/** At most this much of the message is the re-encryption section (SNS: 256 KiB in all). */
export const REENCRYPTION_SECTION_MAX_BYTES = 64 * 1024;
/** Failed objects shown per target (the report keeps the first 20; the execution output has them). */
const MAX_FAILURES_SHOWN = 5;
const MAX_OBJECT_KEY = 200;
const MAX_ERROR = 200;

/** Skip reasons in words: every reason has its sentence (the compiler checks the table is whole). */
const SKIP_TEXT: Record<SkipReason, string> = {
  OTHER_KEY: 'under another key',
  NOT_SSE_KMS: 'not SSE-KMS',
  ARCHIVED_NEEDS_RESTORE: 'archived, needs a restore first',
  NOT_ENVELOPE: 'not an Encryption SDK message',
  SSE_C: 'SSE-C (customer-provided key), left untouched: whoever holds the key must copy it',
  MULTI_REGION_REPLICA: 'under a multi-Region replica of the key',
  WRAPPING_KEY_UNUSABLE:
    "left untouched: another KMS key wrapping it refused kms:Encrypt; list that key's ARN in the reEncryptEnvelopeWrappingKeys setting (another account's key: its key policy must allow ReencryptObjects too), or re-wrap by hand",
  NON_KMS_WRAPPING_KEY: 'left untouched: also wrapped by a non-KMS (raw) key; re-encrypt it where that key is held',
  ENVELOPE_TOO_LARGE: 'left untouched: larger than the envelope size limit; re-encrypt it with the Encryption SDK CLI',
  KMS_ACCESS_DENIED:
    'left untouched: KMS refused the copy (an extra SSE-KMS encryption context S3 does not return, or a key policy); copy it with its context by hand',
  OBJECT_LOCK_UNREADABLE:
    'left untouched: S3 hid its Object Lock retention or legal hold from the function (a rewrite would drop it); allow ReencryptObjects s3:GetObjectRetention and s3:GetObjectLegalHold, then re-encrypt it',
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
    if (dataLeftBehind(r))
      head.push('  ACTION REQUIRED: some data was not re-encrypted (see the failures and refusals below).');
  }
  head.push(...actionLines(r));
  head.push(...grantNotRetiredLines(r.grantsNotRetired ?? []));
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

/**
 * Whether an action-required reason concerns data (a grant left in place does not: its data was
 * re-encrypted). A summary without reasons counted says only `actionRequired`.
 */
function dataLeftBehind(r: ReencryptionSummary): boolean {
  if (!r.actionRequiredByReason) return r.actionRequired;
  return Object.entries(r.actionRequiredByReason).some(([reason, c]) => reason !== 'GRANT_NOT_RETIRED' && count(c) > 0);
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
export function reencryptionNextStep(r: ReencryptionSummary | null, anyRotated: boolean): string | null {
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
  const grants = r.grantsNotRetired?.length ?? 0;
  if (grants > 0)
    parts.push(
      `${grants} KMS grant(s) of this run were not retired and still let ReencryptObjects' role use the rotated key: revoke them (the commands are in "Re-encryption").`,
    );
  parts.push('Data outside these targets (other buckets, other stores, copies people made) was NOT re-encrypted.');
  return `Re-encryption: ${parts.join(' ')}`;
}
