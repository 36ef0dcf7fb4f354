/**
 * Envelope bench (bench/run.ts), with the stand-in in another process so that neither its copies
 * of the objects nor its own crypto (S3's at-rest encryption, KMS) count against the path:
 * - memory: the peak resident set of a fresh process re-encrypting ReencryptObjects' 4 objects in
 *   flight, each just under MAX_ENVELOPE_BYTES. Lambda limits the function's memory as the
 *   process's resident set: the figure to hold against lib/functions.ts's 1,024 MB.
 * - throughput: MB/s of the path against the Encryption SDK alone doing the same decrypt + encrypt +
 *   verify of the same objects, in the same process, with the same KMS keyring against the same
 *   stand-in KMS and S3 included in both the same way (GET, PUT, GET back through the stand-in):
 *   what is compared is everything the path adds (ENVELOPE_COMPARISON says so in the output).
 *
 * `node --import tsx bench/envelope.ts standin <objects> <plaintext bytes>` runs the stand-in and
 * prints its endpoint and key ARN; `... worker <endpoint> <key ARN> <objects> <passes>` runs the
 * re-encryption and prints its figures.
 */
import { spawn } from 'node:child_process';
import { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { KMS } from '@aws-sdk/client-kms';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { buildClient, CommitmentPolicy, KmsKeyringNode } from '@aws-crypto/client-node';
import { TEST_CREDENTIALS } from '../local/iam';
import { startStandIn } from '../local/standin';
import { parseWorld } from '../local/world';
import { reencryptObjects } from '../lambdas/adapters/reencryption/s3-reencrypt';

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
  /** With passes > 0: path MB/s over SDK MB/s (%) of each round, the two passes of a round back to back, sorted. */
  ratios?: number[];
  /**
   * With passes > 0: the SDK pass's CPU time over the path's (%) in this process, per MiB, of each
   * round, sorted: less sensitive to a loaded machine than wall time, blind to the stand-in's share.
   */
  cpuRatios?: number[];
  /** With passes > 0: the Encryption SDK alone without S3 (the same messages held in memory), MB/s: what S3 costs both. */
  sdkWithoutS3MBps?: number;
}

/** How the bench compares the path with the Encryption SDK alone, for the bench's output. */
export const ENVELOPE_COMPARISON =
  'S3 included in both: GET, PUT, GET back of the same objects through the same stand-in; same KMS keyring, 4 in flight';

const MiB = 1024 * 1024;
const CONCURRENCY = 4;
const BUCKET = 'sealed';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
/** Encryption context keys the Encryption SDK adds itself (signing suites' public key); never passed back in. */
const withoutReserved = (context: Record<string, string>) =>
  Object.fromEntries(Object.entries(context).filter(([k]) => !k.startsWith('aws-crypto-')));

/** Run `each` over `keys`, `CONCURRENCY` at a time, as ReencryptObjects does. */
async function inFlight(keys: string[], each: (key: string) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < keys.length) await each(keys[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, keys.length) }, worker));
}

/** One timed pass: plaintext MB per second of wall time, and this process's CPU time per MiB. */
interface Pass {
  mbps: number;
  cpuMsPerMiB: number;
}

async function timed(pass: () => Promise<number>): Promise<Pass> {
  const start = performance.now();
  const cpu = process.cpuUsage();
  const bytes = await pass();
  const used = process.cpuUsage(cpu);
  return {
    mbps: bytes / MiB / ((performance.now() - start) / 1000),
    cpuMsPerMiB: (used.user + used.system) / 1000 / (bytes / MiB),
  };
}

/** The SDK-alone work on one message held in memory: decrypt, encrypt (same suite and context, 1 MiB frames), decrypt the result and compare. */
async function sdkRoundTrip(
  keyring: KmsKeyringNode,
  message: Uint8Array,
  write: (m: Buffer) => Promise<Uint8Array>,
): Promise<number> {
  const { plaintext, messageHeader } = await esdk.decrypt(keyring, message);
  const { result } = await esdk.encrypt(keyring, plaintext, {
    encryptionContext: withoutReserved(messageHeader.encryptionContext),
    suiteId: messageHeader.suiteId,
    frameLength: MiB,
  });
  const back = await esdk.decrypt(keyring, await write(result));
  if (!back.plaintext.equals(plaintext)) throw new Error('bench envelope: the SDK round trip changed the plaintext');
  return plaintext.length;
}

const esdk = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT);

/**
 * The yardstick, one pass: the Encryption SDK alone doing what the path does per object, with the
 * same bytes (the same objects, as the previous pass wrote them), the same keyring (the rotated
 * key against the same stand-in KMS) and the same S3: GET the message, decrypt it, encrypt the
 * plaintext, PUT the message, GET it back and decrypt it to verify; 4 objects in flight. None of
 * the path's own safeguards (tags, ACL, checksums, conditional writes, the header checks and
 * hashes, pacing): those are what the comparison measures. The plaintext bytes done.
 */
async function sdkPass(s3: S3Client, keyring: KmsKeyringNode, keys: string[]): Promise<number> {
  let bytes = 0;
  const get = async (key: string) =>
    (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray();
  await inFlight(keys, async (key) => {
    // Not `bytes += await ...`: that reads `bytes` before the await and loses the other objects' bytes.
    const done = await sdkRoundTrip(keyring, await get(key), async (m) => {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: m }));
      return get(key);
    });
    bytes += done;
  });
  return bytes;
}

/** For scale, not the yardstick: the same SDK work on the same messages held in memory, no S3 at all. */
async function sdkWithoutS3MBps(s3: S3Client, keyring: KmsKeyringNode, keys: string[]): Promise<number> {
  const messages = new Map<string, Uint8Array>();
  for (const key of keys)
    messages.set(
      key,
      await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray(),
    );
  const start = performance.now();
  let bytes = 0;
  await inFlight(keys, async (key) => {
    const done = await sdkRoundTrip(keyring, messages.get(key)!, async (m) => m);
    bytes += done;
  });
  return bytes / MiB / ((performance.now() - start) / 1000);
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
          name: BUCKET,
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
  // No kept-alive connections: on a loaded machine a socket idle past the stand-in server's
  // keep-alive timeout (Node's 5 s) is closed as the client reuses it ("socket hang up"), and with
  // maxAttempts 1 a whole pass fails. A new local connection per request costs both sides alike.
  const requestHandler = { httpAgent: new Agent({ keepAlive: false }) };
  const s3 = new S3Client({
    endpoint,
    region: REGION,
    credentials: TEST_CREDENTIALS,
    forcePathStyle: true,
    maxAttempts: 1,
    requestHandler,
  });
  const kms = new KMS({ endpoint, region: REGION, credentials: TEST_CREDENTIALS, maxAttempts: 1, requestHandler });
  const keyring = new KmsKeyringNode({ generatorKeyId: keyArn, clientProvider: (() => kms) as never });
  const baseRssMiB = process.memoryUsage().rss / 1024 / 1024;
  const keys = Array.from({ length: objects }, (_, i) => objectKey(i));
  const pathPass = () =>
    reencryptObjects({ s3, keyring, concurrency: CONCURRENCY }, { type: 'envelope', bucket: BUCKET }, keyArn, keys);
  // The first pass also warms module loading and the JIT, and rewrites the seeded messages
  // (4 KiB frames) as the path writes them (1 MiB frames): every timed pass reads the same kind.
  const report = await pathPass();
  const result: EnvelopeMemory = {
    objects,
    reencrypted: report.objectsReencrypted,
    failures: report.failures.map((f) => f.error),
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    baseRssMiB,
  };
  if (passes > 0) {
    // Rounds of one path pass and one SDK pass back to back (which goes first alternates), so
    // both see the same load on a shared machine; each pass re-encrypts every object again.
    await sdkPass(s3, keyring, keys);
    const path: Pass[] = [];
    const sdk: Pass[] = [];
    const pathBytes = async () => {
      const r = await pathPass();
      if (r.objectsReencrypted !== objects)
        throw new Error(
          `bench envelope: ${r.objectsReencrypted} of ${objects} re-encrypted (${r.failures
            .map((f) => f.error)
            .slice(0, 2)
            .join('; ')})`,
        );
      return r.bytesReencrypted;
    };
    for (let i = 0; i < passes; i++) {
      if (i % 2 === 0) {
        path.push(await timed(pathBytes));
        sdk.push(await timed(() => sdkPass(s3, keyring, keys)));
      } else {
        sdk.push(await timed(() => sdkPass(s3, keyring, keys)));
        path.push(await timed(pathBytes));
      }
    }
    result.pathMBps = median(path.map((p) => p.mbps));
    result.sdkMBps = median(sdk.map((p) => p.mbps));
    result.ratios = path.map((p, i) => (p.mbps / sdk[i]!.mbps) * 100).sort((a, b) => a - b);
    result.cpuRatios = path.map((p, i) => (sdk[i]!.cpuMsPerMiB / p.cpuMsPerMiB) * 100).sort((a, b) => a - b);
    result.sdkWithoutS3MBps = await sdkWithoutS3MBps(s3, keyring, keys);
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
