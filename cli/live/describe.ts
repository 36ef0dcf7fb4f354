import { FAILED_STATE_PREFIX, STATE } from '../../lambdas/domain/workflow-states';
import type { Paint } from '../io';
import { shortKey, type Home } from '../keys';
import { arrayLength, num, obj, str } from './events';

/** mm:ss, or h:mm:ss from an hour on. */
export function clockTime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const two = (n: number) => String(n).padStart(2, '0');
  const h = Math.floor(s / 3600);
  return h > 0
    ? `${h}:${two(Math.floor((s % 3600) / 60))}:${two(s % 60)}`
    : `${two(Math.floor(s / 60))}:${two(s % 60)}`;
}

/** 5s, 0.5s, 2m 30s. */
export function duration(seconds: number): string {
  if (seconds < 10 && !Number.isInteger(seconds)) return `${Number(seconds.toFixed(seconds < 1 ? 2 : 1))}s`;
  const s = Math.round(seconds);
  return s < 120 ? `${s}s` : `${Math.floor(s / 60)}m${s % 60 ? ` ${s % 60}s` : ''}`;
}

/** The first line of a cause, capped, as ` - <line>` (empty without a cause). */
export function causeSuffix(cause: string | null): string {
  if (!cause) return '';
  const line = cause.split('\n')[0]!;
  return ` - ${line.length > 200 ? `${line.slice(0, 199)}…` : line}`;
}

/** What was already said, so that states passing a key's task along do not repeat it. */
export interface ExitMemo {
  details: Set<string>;
  notified: boolean;
}

/** What a state's output says happened, in a few words. */
export function describeExit(
  state: string,
  type: string,
  output: unknown,
  home: Home | null,
  p: Paint,
  memo: ExitMemo = { details: new Set(), notified: false },
): string {
  const o = obj(output);
  const detailSuffix = (detail: unknown): string => {
    const d = str(detail);
    const id = `${str(o?.ref) ?? ''}|${d}`;
    if (!d || memo.details.has(id)) return '';
    memo.details.add(id);
    return ` (${d.length > 160 ? `${d.slice(0, 159)}…` : d})`;
  };
  if (state.startsWith(FAILED_STATE_PREFIX)) {
    const reason = str(obj(o?.failure)?.reason) ?? state.slice(FAILED_STATE_PREFIX.length);
    return p.outcome(`FAILED ${reason}`);
  }
  const reencryption = obj(o?.reencryption);
  if (state === STATE.reencryptTarget) {
    const caught = obj(reencryption?.mapRunError);
    return caught ? p.red(`-> map run failed: ${str(caught.Error) ?? 'error'}`) : '-> map run done';
  }
  if (state === STATE.planReencryption || state === STATE.summarizeReencryption)
    return describeReencryption(state, reencryption ?? null, p);
  if (type === 'Map') {
    const n = arrayLength(o?.results);
    return n === null ? '-> done' : `-> ${n} key${n === 1 ? '' : 's'} done`;
  }
  const request = obj(o?.request);
  if (state === STATE.intake && request) {
    const keys = Array.isArray(request.keys) ? request.keys.filter((k): k is string => typeof k === 'string') : [];
    const list = keys
      .slice(0, 3)
      .map((k) => shortKey(k, home))
      .join(', ');
    return `-> ${keys.length} key${keys.length === 1 ? '' : 's'}${list ? `: ${list}${keys.length > 3 ? ', ...' : ''}` : ''}`;
  }
  const notification = obj(o?.notification);
  if (notification && !memo.notified) {
    memo.notified = true;
    const outcome = str(obj(notification.summary)?.outcome);
    return `-> notification sent${outcome ? `: ${p.outcome(outcome)}` : ''}`;
  }
  const next = str(o?.next);
  if (next) {
    const keyArn = str(o?.keyArn);
    const resolved = keyArn && keyArn !== str(o?.ref) ? ` [${shortKey(keyArn, home)}]` : '';
    const wait = num(o?.waitSeconds);
    switch (next) {
      case 'ROTATE':
        return `-> ${p.green('ROTATE')}${resolved}${detailSuffix(o?.detail)}`;
      case 'POLL':
        if (state === STATE.checkRotation)
          return `-> not confirmed yet (check ${num(o?.pollAttempt) ?? '?'})${wait !== null ? `, next check in ${duration(wait)}` : ''}`;
        if (o?.joined === true) return `-> ${p.cyan('JOIN')}: an on-demand rotation is already running${resolved}`;
        return '-> rotation started';
      case 'WAIT_THEN_ROTATE':
        return `-> ${p.yellow('KMS busy')} (automatic rotation running or due)${wait !== null ? `; trying again in ${duration(wait)}` : ''}`;
      case 'DONE': {
        const outcome = str(o?.outcome);
        const reason = str(o?.reason);
        return outcome
          ? `-> ${p.outcome(`${outcome}${reason ? ` ${reason}` : ''}`)}${resolved}${detailSuffix(o?.detail)}`
          : '-> done';
      }
    }
  }
  return '-> done';
}

/** PlanReencryption's plan, or SummarizeReencryption's report of the target it just finished. */
function describeReencryption(state: string, r: Record<string, unknown> | null, p: Paint): string {
  if (!r) return '-> done';
  const refused = arrayLength(r.refused) ?? 0;
  const refusedText = refused ? `, ${refused} refused` : '';
  if (state === STATE.planReencryption) {
    const units = arrayLength(r.units) ?? 0;
    switch (str(r.mode)) {
      case 'RUN':
        return `-> ${units} target${units === 1 ? '' : 's'} to re-encrypt${refusedText}`;
      case 'REPORT_ONLY':
        return `-> report only: ${units} target${units === 1 ? '' : 's'} would be re-encrypted${refusedText}`;
      default:
        return `-> nothing to re-encrypt${refusedText}`;
    }
  }
  const reports = Array.isArray(r.reports) ? r.reports : [];
  const last = obj(reports[reports.length - 1]);
  if (!last) return '-> done';
  const where = `${str(last.type) ?? ''} s3://${str(last.bucket) ?? ''}/${str(last.prefix) ?? ''}`;
  const failed = num(last.objectsFailed) ?? 0;
  const counts = `${num(last.objectsReencrypted) ?? 0} re-encrypted, ${num(last.objectsSkipped) ?? 0} skipped, ${failed} failed of ${num(last.objectsScanned) ?? 0}`;
  if (str(last.status) === 'FAILED') return p.red(`-> ${where}: map run FAILED (${counts})`);
  return `-> ${where}: ${failed ? p.red(counts) : counts}`;
}
