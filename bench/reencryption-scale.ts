/**
 * Re-encryption at scale, two bench cases run by bench/run.ts:
 * - the real rate limit: a 20,000-object target through the whole workflow offline, the stand-in's
 *   symmetric KMS requests (S3's on the bucket's behalf included) counted over simulated time
 *   against the configured reEncryptKmsRequestsPerSecond: at least 90 % of it, never above it;
 * - SummarizeReencryption at a million objects: a synthetic ResultWriter file (~300 MB at 200
 *   objects a batch) summarized by the real handler code, its peak live memory against half the
 *   function's memory.
 */
import { performance } from 'node:perf_hooks';
import { summarizeReencryption } from '../lambdas/summarize-reencryption/handler';
import { reencryptionPacing, type ReencryptionState, type ReencryptionUnit } from '../lambdas/domain/reencryption';
import { FUNCTION_SIZES } from '../lib/functions';
import { openSimulation } from '../local/simulate';
import { SHARED_SYMMETRIC_OPERATIONS } from '../local/standin/quotas';
import { liveBytes, syntheticResults } from '../local/synthetic-results';
import { parseWorld } from '../local/world';

/** One bench line: `max` targets are upper bounds, `min` lower bounds. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  target: number;
  kind: 'max' | 'min';
}

const KEY_ID = '0f0f0f0f-1111-2222-3333-444455556666';
const KEY_ARN = `arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}`;

/** The stand-in's symmetric cryptographic requests served so far (the shared quota's operations). */
function symmetricServed(counters: { served: Record<string, Record<string, number>> }): number {
  let n = 0;
  for (const op of SHARED_SYMMETRIC_OPERATIONS)
    for (const count of Object.values(counters.served[op] ?? {})) n += count;
  return n;
}

/**
 * KMS requests per simulated second of a 20,000-object run. Simulated time is the stand-in's (real
 * time x speed, the clock its quotas refill on), from the first to the last re-encryption request;
 * the highest rate over any window of WINDOW_SECONDS simulated seconds must not exceed the
 * configured rate. The speed (env BENCH_REENCRYPT_SPEED, default 5) must leave the machine able to
 * do rate x speed requests per real second: a slower machine shows as a lower sustained rate.
 */
export async function benchKmsRate(): Promise<BenchResult[]> {
  // BENCH_REENCRYPT_OBJECTS: fewer objects for a quick look on a slow machine; the figure is for 20,000.
  const OBJECTS = Number(process.env.BENCH_REENCRYPT_OBJECTS ?? 20_000);
  const RATE = 100;
  const SPEED = Number(process.env.BENCH_REENCRYPT_SPEED ?? 5);
  const WINDOW_SECONDS = 10;
  const world = parseWorld(
    {
      keys: [{ id: KEY_ID, rotationSeconds: 20 }],
      settings: { reEncryptBuckets: ['bulk'], reEncryptKmsRequestsPerSecond: RATE },
      buckets: [
        {
          name: 'bulk',
          objects: Array.from({ length: OBJECTS }, (_, i) => ({
            key: `o/${String(i).padStart(6, '0')}`,
            body: `b${i}`,
            kmsKeyId: KEY_ID,
          })),
        },
      ],
    },
    'bench KMS rate',
  );
  const sim = await openSimulation({ world, speed: SPEED });
  const samples: { at: number; served: number }[] = [];
  const baseline = symmetricServed(sim.standIn.counters());
  const sample = () => samples.push({ at: Date.now(), served: symmetricServed(sim.standIn.counters()) - baseline });
  const timer = setInterval(sample, 100);
  const started = performance.now();
  try {
    const run = await sim.run({
      keyId: KEY_ID,
      reason: 'bench',
      reEncrypt: { targets: [{ type: 's3-sse-kms', bucket: 'bulk' }] },
    });
    sample();
    const r = run.result.reencryption;
    if (r?.objectsReencrypted !== OBJECTS)
      throw new Error(
        `bench KMS rate: ${run.result.executionStatus}, ${r?.objectsReencrypted ?? 0} of ${OBJECTS} re-encrypted, ${r?.objectsFailed ?? 0} failed`,
      );
  } finally {
    clearInterval(timer);
    await sim.close();
  }
  const wallSeconds = (performance.now() - started) / 1000;
  // The re-encryption's requests: from the rotation's last ones (a few) to the end. The rotation
  // itself makes no symmetric request, so the first sample above zero starts the re-encryption.
  const first = samples.find((s) => s.served > 0)!;
  const last = samples[samples.length - 1]!;
  const simSeconds = ((last.at - first.at) * SPEED) / 1000;
  const sustained = (last.served - first.served) / simSeconds;
  let peak = 0;
  for (let i = 0, j = 0; i < samples.length; i++) {
    while (j < i && ((samples[i]!.at - samples[j]!.at) * SPEED) / 1000 > WINDOW_SECONDS) j++;
    const span = ((samples[i]!.at - samples[j]!.at) * SPEED) / 1000;
    if (span >= WINDOW_SECONDS * 0.9) peak = Math.max(peak, (samples[i]!.served - samples[j]!.served) / span);
  }
  return [
    {
      name: `re-encryption rate: ${OBJECTS} s3-sse-kms objects offline at speed ${SPEED}, KMS requests per simulated second sustained (configured ${RATE}; ${last.served} requests, ${wallSeconds.toFixed(0)} s wall)`,
      value: sustained,
      unit: 'req/s',
      target: RATE * 0.9,
      kind: 'min',
    },
    {
      name: `re-encryption rate: highest over any ${WINDOW_SECONDS} simulated seconds (never above the configured ${RATE})`,
      value: peak,
      unit: 'req/s',
      target: RATE,
      kind: 'max',
    },
  ];
}

/** SummarizeReencryption over a synthetic million-object result set: peak live memory and time. */
export async function benchSummarizeMemory(): Promise<BenchResult[]> {
  const OBJECTS = 1_000_000;
  const perBatch = reencryptionPacing(100).maxItemsPerBatch;
  const unit: ReencryptionUnit = { type: 's3-sse-kms', bucket: 'bulk', prefix: '', keyArn: KEY_ARN, origin: 'request' };
  const results = syntheticResults(unit, OBJECTS, perBatch);
  const state: ReencryptionState = {
    mode: 'RUN',
    units: [unit],
    refused: [],
    refusedMore: 0,
    index: 0,
    remaining: 1,
    current: unit,
    childKmsRequestsPerSecond: 10,
    reports: [],
    mapRun: {
      MapRunArn: 'arn:aws:states:us-east-1:111122223333:mapRun:KmsIncidentRotation/ReencryptTarget:bench',
      ResultWriterDetails: results.location,
    },
    mapRunError: null,
  };
  const baseline = liveBytes();
  let peak = 0;
  let chunks = 0;
  results.onChunk = () => {
    if (chunks++ % 100 === 0) peak = Math.max(peak, liveBytes() - baseline);
  };
  const started = performance.now();
  const next = await summarizeReencryption(
    { reencryption: state, executionArn: 'arn:aws:states:us-east-1:111122223333:execution:KmsIncidentRotation:bench' },
    { s3: results.s3 as never, ledger: { recordReencryption: async () => undefined } as never },
  );
  const seconds = (performance.now() - started) / 1000;
  if (next.reports[0]?.objectsReencrypted !== OBJECTS)
    throw new Error(`bench summary: ${next.reports[0]?.objectsReencrypted ?? 0} of ${OBJECTS} objects summed`);
  const memoryMb = FUNCTION_SIZES['summarize-reencryption']!.memorySize;
  return [
    {
      name: `summary: ${OBJECTS.toLocaleString('en')} objects (${results.children} result entries, ${(results.fileBytes / 1024 ** 2).toFixed(0)} MiB file) peak live memory above baseline (function: ${memoryMb} MB)`,
      value: peak / 1024 ** 2,
      unit: 'MiB',
      target: memoryMb / 2,
      kind: 'max',
    },
    {
      name: `summary: ${OBJECTS.toLocaleString('en')} objects summarized`,
      value: seconds,
      unit: 's',
      target: 60,
      kind: 'max',
    },
  ];
}
