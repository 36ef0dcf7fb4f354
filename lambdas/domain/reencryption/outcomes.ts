/**
 * Re-encryption report arithmetic: an object's outcome recorded in its target's report, batch
 * reports summed, a failed batch counted, and the workflow state advanced past a unit with the
 * listed failures kept within their budget. Pure.
 */

import { cut, oneLine, parseCause } from '../text';
import {
  LISTED_FAILURES_BUDGET_BYTES,
  MAX_LISTED_FAILURES,
  MAX_REPORT_ERROR_CHARS,
  MAX_REPORT_KEY_CHARS,
  type ObjectOutcome,
  type ReencryptionKind,
  type ReencryptionState,
  type ReencryptionUnit,
  type SkipReason,
  type TargetOrigin,
  type TargetReport,
} from './vocabulary';

/** An empty report for one target. */
export function emptyTargetReport(
  type: ReencryptionKind,
  bucket: string,
  prefix: string,
  keyArn = '',
  origin: TargetOrigin = 'request',
): TargetReport {
  return {
    type,
    bucket,
    prefix,
    keyArn,
    origin,
    status: 'COMPLETED',
    error: null,
    throttlesRetried: 0,
    batches: 0,
    batchesFailed: 0,
    objectsScanned: 0,
    objectsReencrypted: 0,
    objectsSkipped: 0,
    skippedByReason: {},
    objectsFailed: 0,
    failures: [],
    objectsChangedDuringRun: 0,
    bytesReencrypted: 0,
    oldVersionsLeft: 0,
    olderVersionsUnderKey: 0,
    bucketKeys: false,
    durationMs: 0,
  };
}

/**
 * Add one object's outcome to a target report (returns a new report). An object changed during
 * the run was not re-encrypted by us: it counts as failed (its new contents were written by
 * someone else, possibly with a data key made before the rotation) and as changed.
 */
export function recordOutcome(report: TargetReport, o: ObjectOutcome): TargetReport {
  const r: TargetReport = {
    ...report,
    skippedByReason: { ...report.skippedByReason },
    failures: [...report.failures],
    objectsScanned: report.objectsScanned + 1,
  };
  if (o.olderVersionsUnderKey) r.olderVersionsUnderKey = (r.olderVersionsUnderKey ?? 0) + o.olderVersionsUnderKey;
  switch (o.result) {
    case 'REENCRYPTED':
      r.objectsReencrypted++;
      r.bytesReencrypted += o.bytes;
      if (o.oldVersionLeft) r.oldVersionsLeft++;
      if (o.bucketKey) r.bucketKeys = true;
      break;
    case 'SKIPPED':
      r.objectsSkipped++;
      r.skippedByReason[o.reason] = (r.skippedByReason[o.reason] ?? 0) + 1;
      break;
    case 'CHANGED_DURING_RUN':
      r.objectsChangedDuringRun++;
      r.objectsFailed++;
      if (r.failures.length < MAX_LISTED_FAILURES) r.failures.push({ key: o.key, error: o.error });
      break;
    case 'FAILED':
      r.objectsFailed++;
      if (r.failures.length < MAX_LISTED_FAILURES) r.failures.push({ key: o.key, error: o.error });
      break;
  }
  return r;
}

/** One failure as a report lists it: the key and the error cut to their bounds. */
export function boundedFailure(key: string, error: string): { key: string; error: string } {
  return { key: cut(key, MAX_REPORT_KEY_CHARS), error: oneLine(error, MAX_REPORT_ERROR_CHARS) };
}

/**
 * Sum batch reports into one target report: counts add, skips add per reason, failures are
 * concatenated up to MAX_LISTED_FAILURES (the counts stay exact), Bucket Keys if any batch saw
 * them. `into` gives the target's identity, status and error; durationMs stays `into`'s (the
 * caller sets the map run's).
 */
export function mergeReports(into: TargetReport, ...batches: TargetReport[]): TargetReport {
  const r: TargetReport = { ...into, skippedByReason: { ...into.skippedByReason }, failures: [...into.failures] };
  for (const b of batches) {
    r.throttlesRetried += b.throttlesRetried;
    r.batches += b.batches;
    r.batchesFailed += b.batchesFailed;
    r.objectsScanned += b.objectsScanned;
    r.objectsReencrypted += b.objectsReencrypted;
    r.objectsSkipped += b.objectsSkipped;
    r.objectsFailed += b.objectsFailed;
    r.objectsChangedDuringRun += b.objectsChangedDuringRun;
    r.bytesReencrypted += b.bytesReencrypted;
    r.oldVersionsLeft += b.oldVersionsLeft;
    if (b.olderVersionsUnderKey) r.olderVersionsUnderKey = (r.olderVersionsUnderKey ?? 0) + b.olderVersionsUnderKey;
    r.bucketKeys ||= b.bucketKeys;
    for (const [reason, n] of Object.entries(b.skippedByReason) as [SkipReason, number][])
      r.skippedByReason[reason] = (r.skippedByReason[reason] ?? 0) + n;
    for (const f of b.failures)
      if (r.failures.length < MAX_LISTED_FAILURES) r.failures.push(boundedFailure(f.key, f.error));
  }
  return r;
}

/**
 * A child execution (batch) that failed or never ran: each of its items is scanned and failed
 * with the child's error (a re-run picks them up).
 */
export function failedBatchReport(unit: ReencryptionUnit, itemKeys: string[], error: string): TargetReport {
  let r: TargetReport = {
    ...emptyTargetReport(unit.type, unit.bucket, unit.prefix, unit.keyArn, unit.origin),
    batches: 1,
    batchesFailed: 1,
  };
  for (const key of itemKeys) r = recordOutcome(r, { result: 'FAILED', ...boundedFailure(key, error) });
  return r;
}

/** `Error: Cause` of a caught Step Functions error, on one line and bounded. */
export function stepFunctionsError(e: { Error: string; Cause?: string }): string {
  const cause = parseCause(e.Cause ?? null).message;
  return oneLine(cause ? `${e.Error}: ${cause}` : e.Error, MAX_REPORT_ERROR_CHARS);
}

/**
 * The state after one unit's report: the report appended, index/remaining/current advanced,
 * mapRun/mapRunError cleared for the next unit, and the unit's grant that could not be retired
 * (if any) kept in `grantsNotRetired`, since the next unit's grant states overwrite everything else
 * that names it.
 */
export function advanceReencryption(state: ReencryptionState, report: TargetReport): ReencryptionState {
  const index = state.index + 1;
  const remaining = Math.max(0, state.remaining - 1);
  // The failures listed across all reports share one budget (the state is limited to 256 KiB).
  let left = LISTED_FAILURES_BUDGET_BYTES - state.reports.reduce((n, r) => n + failuresBytes(r.failures), 0);
  const failures: TargetReport['failures'] = [];
  for (const f of report.failures) {
    const bytes = failuresBytes([f]);
    if (bytes > left) break;
    failures.push(f);
    left -= bytes;
  }
  const kept = failures.length === report.failures.length ? report : { ...report, failures };
  const { grantNotRetired, ...carried } = state;
  const grants = [...(state.grantsNotRetired ?? []), ...(grantNotRetired ? [grantNotRetired] : [])];
  return {
    ...carried,
    ...(grants.length > 0 ? { grantsNotRetired: grants } : {}),
    reports: [...state.reports, kept],
    index,
    remaining,
    current: remaining > 0 ? (state.units[index] ?? null) : null,
    mapRun: null,
    mapRunError: null,
  };
}

function failuresBytes(failures: TargetReport['failures']): number {
  return failures.reduce((n, f) => n + Buffer.byteLength(f.key) + Buffer.byteLength(f.error) + 20, 0);
}
