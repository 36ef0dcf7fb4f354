/**
 * Envelope memory (bench/run.ts): the peak resident set of a fresh process re-encrypting
 * ReencryptObjects' 4 objects in flight, each just under MAX_ENVELOPE_BYTES, with the stand-in in
 * another process so that its copies of the objects are not counted. Lambda bills and limits the
 * function's memory as the process's resident set, so this is the figure to hold against
 * lib/functions.ts's 1,024 MB.
 *
 * `node --import tsx bench/envelope-memory.ts standin <objects> <plaintext bytes>` runs the
 * stand-in and prints its endpoint and key ARN; `... worker <endpoint> <key ARN> <objects>` runs
 * the re-encryption and prints its report and peak resident set.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { KMS } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { KmsKeyringNode } from '@aws-crypto/client-node';
import { TEST_CREDENTIALS } from '../local/iam';

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
}

async function standIn(objects: number, plaintextBytes: number): Promise<void> {
  const { startStandIn } = await import('../local/standin');
  const { parseWorld } = await import('../local/world');
  // Base64 of random bytes: text of the wanted length that does not compress.
  const body = () => randomBytes(Math.floor((plaintextBytes * 3) / 4)).toString('base64');
  const world = parseWorld({ region: REGION, keys: [{ id: KEY_ID }], buckets: [{ name: 'sealed', objects: Array.from({ length: objects }, (_, i) => ({ key: objectKey(i), envelopeKeyId: KEY_ID, body: body() })) }] }, 'bench envelope memory');
  const s = await startStandIn(world);
  process.stdout.write(`${JSON.stringify({ endpoint: s.endpoint, keyArn: s.keyArn(KEY_ID) })}\n`);
  process.stdin.resume();
  await once(process.stdin, 'end');
  await s.close();
}

async function worker(endpoint: string, keyArn: string, objects: number): Promise<void> {
  const { reencryptObjects } = await import('../lambdas/adapters/s3-reencrypt');
  const s3 = new S3Client({ endpoint, region: REGION, credentials: TEST_CREDENTIALS, forcePathStyle: true, maxAttempts: 1 });
  const kms = new KMS({ endpoint, region: REGION, credentials: TEST_CREDENTIALS, maxAttempts: 1 });
  const keyring = new KmsKeyringNode({ generatorKeyId: keyArn, clientProvider: (() => kms) as never });
  const baseRssMiB = process.memoryUsage().rss / 1024 / 1024;
  const report = await reencryptObjects({ s3, keyring, concurrency: 4 }, { type: 'envelope', bucket: 'sealed' }, keyArn, Array.from({ length: objects }, (_, i) => objectKey(i)));
  const result: EnvelopeMemory = { objects, reencrypted: report.objectsReencrypted, failures: report.failures.map((f) => f.error), peakRssMiB: process.resourceUsage().maxRSS / 1024, baseRssMiB };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** The first line a child process prints, parsed. */
async function firstLine<T>(child: ReturnType<typeof spawn>): Promise<T> {
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) return JSON.parse(line) as T;
  throw new Error('bench envelope memory: the child printed nothing');
}

/** Run the stand-in and the worker as two fresh processes; the worker's figures. */
export async function measureEnvelopeMemory(objects: number, plaintextBytes: number): Promise<EnvelopeMemory> {
  const node = (args: string[]) => spawn(process.execPath, ['--import', 'tsx', __filename, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const server = node(['standin', String(objects), String(plaintextBytes)]);
  try {
    const { endpoint, keyArn } = await firstLine<{ endpoint: string; keyArn: string }>(server);
    const work = node(['worker', endpoint, keyArn, String(objects)]);
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
  const done = mode === 'standin' ? standIn(Number(args[0]), Number(args[1])) : worker(args[0]!, args[1]!, Number(args[2]));
  done.catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
