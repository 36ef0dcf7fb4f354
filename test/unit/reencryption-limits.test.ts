/**
 * The re-encryption state's worst case against Step Functions' 256 KiB payload limit: 20 targets
 * with the longest prefixes, 20 refusals, every target with 20 failures of the longest key and
 * error, and a branch error with Step Functions' longest Cause. The rest of the state (50 keys'
 * results, the request) measured at most ~104 KB in test/workflow/worst-case.test.ts; together
 * they must stay under 262,144 bytes.
 */
import {
  advanceReencryption,
  boundedFailure,
  emptyTargetReport,
  LISTED_FAILURES_BUDGET_BYTES,
  MAX_LISTED_FAILURES,
  MAX_LISTED_REFUSALS,
  MAX_PREFIX_LENGTH,
  MAX_REENCRYPTION_UNITS,
  planReencryption,
  type ReencryptionState,
  type ReencryptTargetSpec,
} from '../../lambdas/domain/reencryption';
import { summarizeReencryption } from '../../lambdas/domain/reencryption/report';

const PAYLOAD_LIMIT = 262_144;
/** The largest state the rest of the workflow reached (the worst case, 50 keys). */
const REST_OF_STATE = 113_283;
/** Step Functions caps an error's Cause at 32,768 characters. */
const MAX_CAUSE = 32_768;

const KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const bucket = (i: number) => `${String(i).padStart(2, '0')}${'b'.repeat(61)}`;
const prefix = (i: number) => `${i}/${'p'.repeat(MAX_PREFIX_LENGTH - 3)}`.slice(0, MAX_PREFIX_LENGTH);

function worstCase(): ReencryptionState {
  const allowed = Array.from({ length: MAX_REENCRYPTION_UNITS }, (_, i): ReencryptTargetSpec => ({
    type: 'envelope',
    bucket: bucket(i),
    prefix: prefix(i),
  }));
  const notAllowed = Array.from({ length: MAX_LISTED_REFUSALS + 5 }, (_, i): ReencryptTargetSpec => ({
    type: 's3-sse-kms',
    bucket: bucket(50 + i),
    prefix: prefix(50 + i),
  }));
  let state = planReencryption(
    {
      source: 'manual',
      dryRun: false,
      reEncryptTargets: [...allowed, ...notAllowed].map((t) => ({ ...t, origin: 'request' as const })),
    },
    [{ keyArn: KEY, outcome: 'ROTATED', aliases: [] }],
    { buckets: allowed.map((t) => t.bucket), targets: {}, auto: false },
  );
  for (const unit of [...state.units]) {
    const failures = Array.from({ length: MAX_LISTED_FAILURES }, (_, j) =>
      boundedFailure(`${unit.prefix}${'k'.repeat(1024)}${j}`, `InternalError: ${'e'.repeat(2000)}`),
    );
    const report = {
      ...emptyTargetReport(unit.type, unit.bucket, unit.prefix, unit.keyArn, unit.origin),
      objectsScanned: 1e9,
      objectsFailed: 1e9,
      failures,
      error: boundedFailure('', 'x'.repeat(2000)).error,
      status: 'FAILED' as const,
    };
    state = advanceReencryption(
      {
        ...state,
        mapRun: {
          MapRunArn: `arn:aws:states:us-east-1:111122223333:mapRun:${'m'.repeat(80)}`,
          ResultWriterDetails: {
            Bucket: 'r'.repeat(63),
            Key: `reencryption/${'n'.repeat(80)}/19/${'i'.repeat(36)}/manifest.json`,
          },
        },
      },
      report,
    );
  }
  return { ...state, branchError: { Error: 'Lambda.Unknown', Cause: 'c'.repeat(MAX_CAUSE) } };
}

describe('re-encryption state: the worst case fits the 256 KiB payload limit', () => {
  const state = worstCase();
  const bytes = Buffer.byteLength(JSON.stringify(state));

  test('20 units, 20 refusals listed (the rest counted), 20 reports', () => {
    expect(state.units).toHaveLength(MAX_REENCRYPTION_UNITS);
    expect(state.refused).toHaveLength(MAX_LISTED_REFUSALS);
    expect(state.refusedMore).toBe(5);
    expect(state.reports).toHaveLength(MAX_REENCRYPTION_UNITS);
  });

  test('the listed failures share one budget: the first targets list 20, later ones fewer, the counts stay exact', () => {
    expect(state.reports[0].failures).toHaveLength(MAX_LISTED_FAILURES);
    expect(state.reports.at(-1)!.failures.length).toBeLessThan(MAX_LISTED_FAILURES);
    expect(state.reports.every((r) => r.objectsFailed === 1e9)).toBe(true);
    const listed = state.reports.reduce(
      (n, r) => n + r.failures.reduce((m, f) => m + Buffer.byteLength(f.key) + Buffer.byteLength(f.error) + 20, 0),
      0,
    );
    expect(listed).toBeLessThanOrEqual(LISTED_FAILURES_BUDGET_BYTES);
  });

  test(`state + the rest of the workflow's worst case (${REST_OF_STATE} bytes) < ${PAYLOAD_LIMIT} bytes, twice over for Notify (input and summary)`, () => {
    // With 16 KiB to spare.
    expect(bytes + REST_OF_STATE).toBeLessThan(PAYLOAD_LIMIT - 16 * 1024);
    // Notify's output carries the summary (targets, refusals, planned) and the key results once more.
    const summary = summarizeReencryption(state)!;
    expect(Buffer.byteLength(JSON.stringify(summary)) + REST_OF_STATE).toBeLessThan(PAYLOAD_LIMIT);
  });
});
