/**
 * Offline runs are honest about time: `--speed` compresses waiting (paces, back-offs, retry
 * intervals), never the handlers' work, and the Express cap, the Tasks' timeouts and the
 * functions' remaining time all count the same simulated time (local/runner/sim-clock.ts). So the same
 * world has the same outcome at any speed the machine keeps up with.
 */
import { openSimulation } from '../../local/simulate';
import { parseWorld } from '../../local/world';
import type { ReencryptionSummary } from '../../lambdas/domain/reencryption';

jest.setTimeout(180_000);

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const K1 = '1234abcd-12ab-34cd-56ef-1234567890ab';
/**
 * 2 children of 200 objects at 100 KMS requests/s: a batch paces 40-60 simulated seconds. At speed
 * 400 the Express cap is 0.75 real seconds, far less than the real work of 200 objects: a runner
 * that divided the cap by speed while handlers ran in real time timed every child out.
 */
const N = 400;

const world = () =>
  parseWorld(
    {
      account: ACCOUNT,
      region: REGION,
      keys: [{ id: K1, rotationSeconds: 5 }],
      buckets: [
        {
          name: 'big-data',
          objects: Array.from({ length: N }, (_, i) => ({
            key: `o/${String(i).padStart(5, '0')}.json`,
            body: `{"n":${i}}`,
            kmsKeyId: K1,
          })),
        },
      ],
      settings: { reEncryptBuckets: ['big-data'], reEncryptKmsRequestsPerSecond: 100 },
    },
    'time world',
  );

/** What a run's outcome is: the execution's status and the target's counts. */
async function outcomeAt(speed: number) {
  const sim = await openSimulation({ world: world(), speed });
  try {
    const run = await sim.run({
      keyId: K1,
      reason: 'exposed data keys',
      reEncrypt: { targets: [{ type: 's3-sse-kms', bucket: 'big-data' }] },
    });
    const r = run.result.reencryption as ReencryptionSummary;
    const t = r.targets[0]!;
    // The parent's trace around the Distributed Map (its own simulated clock, local/runner/sim-clock.ts).
    const mapName = run.events.find((e) => e.type === 'MapRunStarted')!.state!.name;
    const mapAt = (type: string) => run.events.find((e) => e.type === type && e.state?.name === mapName)!.timestamp;
    return {
      mapTraceMs: mapAt('StateExited') - mapAt('StateEntered'),
      status: run.result.executionStatus,
      scanned: t.objectsScanned,
      reencrypted: t.objectsReencrypted,
      failed: t.objectsFailed,
      batches: t.batches,
      batchesFailed: t.batchesFailed,
      firstFailure: t.failures[0]?.error ?? null,
      durationMs: t.durationMs,
    };
  } finally {
    await sim.close();
  }
}

/**
 * Each child's pace is 10 KMS requests per simulated second (100 over 10 children), 400 requests a
 * child (CopyObject: 2; no checksum, so the HEAD costs none): at least 40 simulated seconds for the
 * map run whatever the speed. The tolerance between the two speeds is 50 %: a child's clock counts a call's real time 1:1 only once no wait of that
 * child is in progress, so work that overlapped a compressed wait is counted after it, and how much
 * overlaps depends on the speed and on the machine's load (at load ~25 on 2 cores the two runs
 * measured 64 and 99 simulated seconds). test/runner/distributed-map.test.ts checks the dates
 * themselves to within 5 s on a child whose time is all waiting.
 */
const PACED_MS = ((N / 2) * 2 * 1000) / 10;
const TOLERANCE = 0.5;

test('the same world at speed 20 and at speed 400: the same outcome (every object re-encrypted, no child timed out) and the same simulated duration', async () => {
  const { durationMs: slowMs, mapTraceMs: slowTraceMs, ...slow } = await outcomeAt(20);
  const { durationMs: fastMs, mapTraceMs: fastTraceMs, ...fast } = await outcomeAt(400);
  expect(slow).toEqual({
    status: 'SUCCEEDED',
    scanned: N,
    reencrypted: N,
    failed: 0,
    batches: 2,
    batchesFailed: 0,
    firstFailure: null,
  });
  expect(fast).toEqual(slow);
  // The map run's duration is simulated time (its children's start and stop dates), never wall time.
  expect(slowMs).toBeGreaterThanOrEqual(PACED_MS);
  expect(fastMs).toBeGreaterThanOrEqual(PACED_MS);
  expect(Math.abs(fastMs - slowMs)).toBeLessThanOrEqual(TOLERANCE * Math.max(slowMs, fastMs));
  // The parent's trace agrees: its Map state lasts at least until the last child stopped.
  expect(slowTraceMs).toBeGreaterThanOrEqual(slowMs);
  expect(fastTraceMs).toBeGreaterThanOrEqual(fastMs);
});
