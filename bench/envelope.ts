/**
 * Envelope bench (bench/run.ts), with the stand-in in another process so that neither its copies
 * of the objects nor its own crypto (S3's at-rest encryption, KMS) count against the path:
 * - memory: the peak resident set of a fresh process re-encrypting ReencryptObjects' 4 objects in
 *   flight, each just under MAX_ENVELOPE_BYTES. Lambda limits the function's memory as the
 *   process's resident set: the figure to hold against lib/functions.ts's 1,024 MB.
 * - throughput: MB/s of the path (S3 over HTTP, KMS through the keyring) against the Encryption
 *   SDK alone doing the same decrypt + encrypt + verify of the same sizes, in the same process.
 *
 * `node --import tsx bench/envelope.ts standin <objects> <plaintext bytes>` runs the stand-in and
 * prints its endpoint and key ARN; `... worker <endpoint> <key ARN> <objects> <passes>` runs the
 * re-encryption and prints its figures.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { KMS } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import {
  buildClient,
  CommitmentPolicy,
  KmsKeyringNode,
  RawAesKeyringNode,
  RawAesWrappingSuiteIdentifier,
} from '@aws-crypto/client-node';
import { TEST_CREDENTIALS } from '../local/iam';
import { startStandIn } from '../local/standin';
import { parseWorld } from '../local/world';
import { reencryptObjects } from '../lambdas/adapters/s3-reencrypt';

const KEY_ID = '0e0e0e0e-1111-2222-3333-444455556666';
const REGION = 'us-east-1';
const objectKey = (i: number) => `big${i}`;

/** What the worker reports. */
export interface EnvelopeMemory {
  objects: number;
  reencrypted: number;
  failures: string[];
  /** Peak resident set of the worker process (MiB), from the kernel's high-water mark. */
  peakRssMiB: number;
  /** Resident set of the worker before the first object (MiB): the runtime and the clients. */
  baseRssMiB: number;
  /** With passes > 0: the path's MB/s (median of the timed passes after a warm-up) and the Encryption SDK alone's. */
  pathMBps?: number;
  sdkMBps?: number;
}

const MiB = 1024 * 1024;
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * The yardstick: the Encryption SDK alone (a raw AES keyring: no KMS, no S3) doing what the path
 * does per object: decrypt a message as the stand-in seeds them (default suite, 4 KiB frames),
 * encrypt the plaintext under a fresh data key with 1 MiB frames, decrypt the written message to
 * verify; MB/s, the median of `passes`.
 */
async function encryptionSdkMBps(objects: number, plaintextBytes: number, passes: number): Promise<number> {
  const esdk = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT);
  const keyring = new RawAesKeyringNode({
    keyName: 'bench',
    keyNamespace: 'bench',
    unencryptedMasterKey: randomBytes(32),
    wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
  });
  const messages: Buffer[] = [];
  for (let i = 0; i < objects; i++)
    messages.push(
      (
        await esdk.encrypt(keyring, Buffer.from(randomBytes(Math.floor((plaintextBytes * 3) / 4)).toString('base64')), {
          encryptionContext: { bench: 'sdk' },
        })
      ).result,
    );
  const pass = async () => {
    const start = performance.now();
    for (const m of messages) {
      const { plaintext } = await esdk.decrypt(keyring, m);
      const { result } = await esdk.encrypt(keyring, plaintext, {
        encryptionContext: { bench: 'sdk' },
        frameLength: MiB,
      });
      await esdk.decrypt(keyring, result);
    }
    return (objects * plaintextBytes) / MiB / ((performance.now() - start) / 1000);
  };
  const runs: number[] = [];
  for (let i = 0; i < passes; i++) runs.push(await pass());
  return median(runs);
}

async function standIn(objects: number, plaintextBytes: number): Promise<void> {
  // Base64 of random bytes: text of the wanted length that does not compress.
  const body = () => randomBytes(Math.floor((plaintextBytes * 3) / 4)).toString('base64');
  const world = parseWorld(
    {
      region: REGION,
      keys: [{ id: KEY_ID }],
      buckets: [
        {
          name: 'sealed',
          objects: Array.from({ length: objects }, (_, i) => ({
            key: objectKey(i),
            envelopeKeyId: KEY_ID,
            body: body(),
          })),
        },
      ],
    },
    'bench envelope memory',
  );
  const s = await startStandIn(world);
  process.stdout.write(`${JSON.stringify({ endpoint: s.endpoint, keyArn: s.keyArn(KEY_ID) })}\n`);
  process.stdin.resume();
  await once(process.stdin, 'end');
  await s.close();
}

async function worker(endpoint: string, keyArn: string, objects: number, passes: number): Promise<void> {
  const s3 = new S3Client({
    endpoint,
    region: REGION,
    credentials: TEST_CREDENTIALS,
    forcePathStyle: true,
    maxAttempts: 1,
  });
  const kms = new KMS({ endpoint, region: REGION, credentials: TEST_CREDENTIALS, maxAttempts: 1 });
  const keyring = new KmsKeyringNode({ generatorKeyId: keyArn, clientProvider: (() => kms) as never });
  const baseRssMiB = process.memoryUsage().rss / 1024 / 1024;
  const keys = Array.from({ length: objects }, (_, i) => objectKey(i));
  const once = () =>
    reencryptObjects({ s3, keyring, concurrency: 4 }, { type: 'envelope', bucket: 'sealed' }, keyArn, keys);
  const report = await once();
  const result: EnvelopeMemory = {
    objects,
    reencrypted: report.objectsReencrypted,
    failures: report.failures.map((f) => f.error),
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    baseRssMiB,
  };
  if (passes > 0) {
    // Each pass re-encrypts every object again (under new data keys); plaintext MB per second.
    const runs: number[] = [];
    for (let i = 0; i < passes; i++) {
      const start = performance.now();
      const r = await once();
      if (r.objectsReencrypted !== objects)
        throw new Error(
          `bench envelope: ${r.objectsReencrypted} of ${objects} re-encrypted (${r.failures
            .map((f) => f.error)
            .slice(0, 2)
            .join('; ')})`,
        );
      runs.push(r.bytesReencrypted / MiB / ((performance.now() - start) / 1000));
    }
    result.pathMBps = median(runs);
    result.sdkMBps = await encryptionSdkMBps(
      Math.min(objects, 16),
      report.bytesReencrypted / Math.max(1, report.objectsReencrypted),
      passes,
    );
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** The first line a child process prints, parsed. */
async function firstLine<T>(child: ReturnType<typeof spawn>): Promise<T> {
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) return JSON.parse(line) as T;
  throw new Error('bench envelope memory: the child printed nothing');
}

/** Run the stand-in and the worker as two fresh processes; the worker's figures. */
export async function measureEnvelope(objects: number, plaintextBytes: number, passes = 0): Promise<EnvelopeMemory> {
  const node = (args: string[]) =>
    spawn(process.execPath, ['--import', 'tsx', __filename, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const server = node(['standin', String(objects), String(plaintextBytes)]);
  try {
    const { endpoint, keyArn } = await firstLine<{ endpoint: string; keyArn: string }>(server);
    const work = node(['worker', endpoint, keyArn, String(objects), String(passes)]);
    const result = await firstLine<EnvelopeMemory>(work);
    await once(work, 'exit');
    return result;
  } finally {
    server.stdin!.end();
    await once(server, 'exit');
  }
}

if (require.main === module) {
  const [mode, ...args] = process.argv.slice(2);
  const done =
    mode === 'standin'
      ? standIn(Number(args[0]), Number(args[1]))
      : worker(args[0]!, args[1]!, Number(args[2]), Number(args[3] ?? 0));
  done.catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
