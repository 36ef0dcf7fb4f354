import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { KMS } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { KmsKeyringNode } from '@aws-crypto/client-node';
import {
  KMS_REQUESTS_PER_OBJECT,
  type ReencryptionKind,
  type ReencryptionUnit,
  type TargetReport,
} from '../lambdas/domain/reencryption';
import { MAX_ENVELOPE_BYTES } from '../lambdas/adapters/reencryption/reencrypt-envelope';
import { simulate } from '../local/simulate';
import { worldSettings } from '../local/simulation-account';
import { startStandIn, type KmsCallCounters, type StandIn } from '../local/standin';
import { prepareLocalHandlerEnvironment } from '../local/runner/runner';
import { parseWorld } from '../local/world';
import { TEST_CREDENTIALS } from '../local/iam';
import { ENVELOPE_COMPARISON, measureEnvelope } from './envelope';
import { notes, record, recordMin } from './record';

// Re-encryption: the envelope path's throughput and memory against the Encryption SDK alone, the
// S3 and KMS requests per object of each path, and a large bucket through the whole workflow.

const MiB = 1024 * 1024;
const REENCRYPT_OBJECTS = 64;
const REENCRYPT_KEY_ID = '0e0e0e0e-1111-2222-3333-444455556666';

/** S3 operations and KMS calls (served or throttled, any key) the stand-in saw since `from`. */
function requestsSince(
  standIn: StandIn,
  from: { calls: number; kms: KmsCallCounters },
): { s3: Record<string, number>; kms: Record<string, number> } {
  const s3: Record<string, number> = {};
  for (const call of standIn.calls.slice(from.calls))
    if (call.service === 's3') s3[call.operation] = (s3[call.operation] ?? 0) + 1;
  const total = (c: KmsCallCounters, op: string) =>
    [c.served[op], c.throttled[op]].reduce(
      (sum, perKey) => sum + Object.values(perKey ?? {}).reduce((a, b) => a + b, 0),
      0,
    );
  const now = standIn.counters();
  const ops = new Set([...Object.keys(now.served), ...Object.keys(now.throttled)]);
  const kms: Record<string, number> = {};
  for (const op of ops) {
    const n = total(now, op) - total(from.kms, op);
    if (n) kms[op] = n;
  }
  return { s3, kms };
}

/** "2.0 (HeadObject 1, CopyObject 1)": requests per object in all and per operation. */
function perObject(counts: Record<string, number>, objects: number): { total: number; text: string } {
  const total = Object.values(counts).reduce((a, b) => a + b, 0) / objects;
  const parts = Object.entries(counts).map(
    ([op, n]) => `${op} ${Number.isInteger(n / objects) ? n / objects : (n / objects).toFixed(2)}`,
  );
  return { total, text: `${total.toFixed(1)} (${parts.join(', ') || 'none'})` };
}

/**
 * Re-encryption: 64 Encryption SDK messages of 1 MiB through ReencryptObjects against the
 * stand-in (its S3 over HTTP, its KMS through the SDK keyring), next to the Encryption SDK alone
 * doing the same decrypt + encrypt + verify of the same bytes; then the S3 and KMS requests per object of both
 * paths (the s3-sse-kms one on 64 small objects) against the design figures.
 */
export async function benchReencryption(): Promise<void> {
  // The handler's logger reads its level when its module loads: silent, as in every local run.
  prepareLocalHandlerEnvironment();
  type Handler = typeof import('../lambdas/reencrypt-objects/handler');
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded after the log level is set (above)
  const { reencryptBatch } = require('../lambdas/reencrypt-objects/handler') as Handler;
  // Base64 of random bytes: 1 MiB of text that does not compress to nothing.
  const bodies = Array.from({ length: REENCRYPT_OBJECTS }, () => randomBytes((3 * MiB) / 4).toString('base64'));
  const objectKey = (i: number) => `o${String(i).padStart(2, '0')}`;
  const world = parseWorld(
    {
      keys: [{ id: REENCRYPT_KEY_ID }],
      buckets: [
        {
          name: 'sealed',
          objects: bodies.map((body, i) => ({ key: objectKey(i), envelopeKeyId: REENCRYPT_KEY_ID, body })),
        },
        {
          name: 'sse',
          objects: bodies.map((_, i) => ({ key: objectKey(i), body: `small ${i}`, kmsKeyId: REENCRYPT_KEY_ID })),
        },
      ],
    },
    'bench re-encryption',
  );
  const standIn = await startStandIn(world);
  try {
    const credentials = TEST_CREDENTIALS;
    const keyArn = standIn.keyArn(REENCRYPT_KEY_ID);
    const s3 = new S3Client({
      endpoint: standIn.endpoint,
      region: world.region,
      credentials,
      forcePathStyle: true,
      maxAttempts: 1,
    });
    const kms = new KMS({ endpoint: standIn.endpoint, region: world.region, credentials, maxAttempts: 1 });
    const keyring = new KmsKeyringNode({ generatorKeyId: keyArn, clientProvider: (() => kms) as never });
    const plenty = { getRemainingTimeInMillis: () => 900_000 };
    const keys = bodies.map((_, i) => objectKey(i));
    const batch = async (type: ReencryptionKind, bucket: string) => {
      const unit: ReencryptionUnit = { type, bucket, prefix: '', keyArn, origin: 'request' };
      const before = keys.map((k) =>
        type === 'envelope'
          ? standIn.s3Object(bucket, k)?.envelope?.dataKeyFingerprint
          : standIn.s3Object(bucket, k)?.dataKeyFingerprint,
      );
      const from = { calls: standIn.calls.length, kms: standIn.counters() };
      const start = performance.now();
      // Pacing far above what the run can reach: the work, not the pace, sets the time.
      const report: TargetReport = await reencryptBatch(
        {
          BatchInput: { unit },
          Items: keys.map((key) => ({ key, size: 1, etag: '"x"' })),
        },
        plenty,
        { s3, keyring, childKmsRequestsPerSecond: 100_000 },
      );
      const seconds = (performance.now() - start) / 1000;
      const requests = requestsSince(standIn, from);
      const after = keys.map((k) =>
        type === 'envelope'
          ? standIn.s3Object(bucket, k)?.envelope?.dataKeyFingerprint
          : standIn.s3Object(bucket, k)?.dataKeyFingerprint,
      );
      const renewed = after.filter((f, i) => f && f !== before[i]).length;
      // A benchmark must not measure a broken run.
      if (report.objectsReencrypted !== REENCRYPT_OBJECTS || report.objectsFailed || renewed !== REENCRYPT_OBJECTS) {
        throw new Error(
          `bench re-encryption (${type}): ${report.objectsReencrypted} re-encrypted, ${report.objectsFailed} failed (${report.failures
            .map((f) => f.error)
            .slice(0, 3)
            .join('; ')}), ${renewed} with a new data key, of ${REENCRYPT_OBJECTS}`,
        );
      }
      return { seconds, requests };
    };

    // The first envelope run also warms module loading and the JIT: its requests are counted,
    // the median of the next three is timed (each re-encrypts all 64 again, under new data keys).
    const firstEnvelope = await batch('envelope', 'sealed');
    const envelopeSeconds = [
      (await batch('envelope', 'sealed')).seconds,
      (await batch('envelope', 'sealed')).seconds,
      (await batch('envelope', 'sealed')).seconds,
    ].sort((a, b) => a - b)[1]!;
    const envelopeMBps = (REENCRYPT_OBJECTS * (Buffer.byteLength(bodies[0]!) / MiB)) / envelopeSeconds;
    notes.push(
      `re-encryption: envelope path through ReencryptObjects' handler, stand-in in this process: ${envelopeMBps.toFixed(1)} MB/s`,
    );
    await benchEnvelope();

    const sseKms = await batch('s3-sse-kms', 'sse');
    for (const [type, run] of [
      ['s3-sse-kms', sseKms],
      ['envelope', firstEnvelope],
    ] as const) {
      const s3PerObject = perObject(run.requests.s3, REENCRYPT_OBJECTS);
      const kmsPerObject = perObject(run.requests.kms, REENCRYPT_OBJECTS);
      notes.push(
        `re-encryption ${type}: S3 requests/object ${s3PerObject.text}, KMS requests/object ${kmsPerObject.text}`,
      );
      record(
        `re-encryption ${type}: KMS requests per object (design figure KMS_REQUESTS_PER_OBJECT)`,
        kmsPerObject.total,
        'requests',
        KMS_REQUESTS_PER_OBJECT[type],
      );
    }
  } finally {
    await standIn.close();
  }
}

/**
 * The envelope path with the stand-in in another process (bench/envelope.ts): its MB/s against
 * the Encryption SDK alone doing the same decrypt + encrypt + verify (64 objects of 1 MiB), and
 * the peak resident set of 4 objects in flight just under MAX_ENVELOPE_BYTES against the
 * function's memory, with a quarter left for GC timing.
 */
async function benchEnvelope(): Promise<void> {
  const speed = await measureEnvelope(REENCRYPT_OBJECTS, MiB, 3);
  recordMin(
    `re-encryption: envelope path MB/s vs the Encryption SDK alone doing the same decrypt + encrypt + verify, ${ENVELOPE_COMPARISON} (${speed.pathMBps!.toFixed(1)} vs ${speed.sdkMBps!.toFixed(1)} MB/s; rounds ${speed.ratios!.map((r) => r.toFixed(0)).join('/')} %)`,
    (speed.pathMBps! / speed.sdkMBps!) * 100,
    '%',
    80,
  );
  const functionMiB = 1024;
  // The message is about 1 % larger than its plaintext (frame headers and tags, 4 KiB frames).
  const m = await measureEnvelope(4, Math.floor(MAX_ENVELOPE_BYTES * 0.98));
  if (m.reencrypted !== m.objects)
    notes.push(
      `re-encryption envelope memory: ${m.reencrypted} of ${m.objects} re-encrypted (${m.failures.slice(0, 2).join('; ')})`,
    );
  record(
    `re-encryption: envelope peak resident set, 4 objects of ${MAX_ENVELOPE_BYTES / MiB} MiB in flight (base ${m.baseRssMiB.toFixed(0)} MiB; function ${functionMiB} MB)`,
    m.peakRssMiB,
    'MiB',
    functionMiB * 0.75,
  );
}

/**
 * A 5,000-object s3-sse-kms bucket through the whole workflow offline (the Distributed Map in the
 * local runner: listing, batches, child executions, result files): its wall time, as a note. The
 * children count their handlers' work 1:1 in simulated time (local/runner/sim-clock.ts), so any speed the
 * machine keeps up with gives the same outcome.
 */
export async function benchReencryptionWorkflow(): Promise<void> {
  const OBJECTS = 5000;
  const SPEED = 10;
  const id = '0d0d0d0d-1111-2222-3333-444455556666';
  const world = parseWorld(
    {
      keys: [{ id, rotationSeconds: 20 }],
      settings: { reEncryptBuckets: ['bulk'] },
      buckets: [
        {
          name: 'bulk',
          objects: Array.from({ length: OBJECTS }, (_, i) => ({ key: `o${i}`, body: `b${i}`, kmsKeyId: id })),
        },
      ],
    },
    'bench re-encryption workflow',
  );
  const start = performance.now();
  const run = await simulate({
    world,
    input: { keyId: id, reason: 'bench', reEncrypt: { targets: [{ type: 's3-sse-kms', bucket: 'bulk' }] } },
    speed: SPEED,
  });
  const seconds = (performance.now() - start) / 1000;
  const r = run.result.reencryption;
  if (
    run.result.executionStatus !== 'SUCCEEDED' ||
    r?.objectsReencrypted !== OBJECTS ||
    r.objectsScanned !== OBJECTS ||
    r.objectsFailed
  ) {
    throw new Error(
      `bench re-encryption workflow: ${run.result.executionStatus} (${run.result.error ?? ''}), ${r?.objectsReencrypted ?? 0} of ${OBJECTS} re-encrypted, ${r?.objectsFailed ?? 0} failed`,
    );
  }
  notes.push(
    `re-encryption workflow: ${OBJECTS} s3-sse-kms objects end to end offline at speed ${SPEED} in ${seconds.toFixed(1)} s wall (${r.targets[0]?.batches ?? 0} batches, settings at their defaults: ${worldSettings(world).reEncryptKmsRequestsPerSecond} KMS requests/s)`,
  );
}
