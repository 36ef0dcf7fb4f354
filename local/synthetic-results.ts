import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  emptyTargetReport,
  type ReencryptBatchInput,
  type ReencryptionUnit,
  type TargetReport,
} from '../lambdas/domain/reencryption';

/**
 * A synthetic Distributed Map result set of the shape ResultWriter writes (Step Functions guide,
 * "ResultWriter (Map)"): a manifest and ONE SUCCEEDED file, a JSON array with one entry per child
 * execution `{ ExecutionArn, Input, Name, Status, StartDate, StopDate, Output, ... }`, Input and
 * Output being JSON strings. The file is produced chunk by chunk (one child per chunk) and never
 * held whole, so a million objects (~150 MB) cost the producer nothing: what a reader keeps is
 * what it chose to keep. For the summary's bench and its bounded-memory test.
 */

export interface SyntheticResults {
  /** An S3 client stand-in answering GetObject for the manifest and the result file. */
  s3: { send(command: { input: { Bucket?: string; Key?: string } }): Promise<unknown> };
  location: { Bucket: string; Key: string };
  /** Bytes of the result file. */
  fileBytes: number;
  children: number;
  /** Called before each chunk of the result file is handed out (e.g. to sample memory). */
  onChunk?: () => void;
}

const BUCKET = 'results';
const MAP_RUN_ID = '00000000-0000-4000-8000-000000000000';
const MANIFEST_KEY = `reencryption/run/0/${MAP_RUN_ID}/manifest.json`;
const FILE_KEY = `reencryption/run/0/${MAP_RUN_ID}/SUCCEEDED_0.json`;

/** One child's entry: `itemsPerBatch` items in its Input, a report of all of them re-encrypted in its Output. */
function childEntry(unit: ReencryptionUnit, index: number, itemsPerBatch: number): string {
  const keys = Array.from(
    { length: itemsPerBatch },
    (_, i) => `data/part-${String(index).padStart(7, '0')}/object-${String(i).padStart(5, '0')}.parquet`,
  );
  const input: ReencryptBatchInput = {
    BatchInput: { unit },
    Items: keys.map((key) => ({ key, size: 1_048_576, etag: '"0123456789abcdef0123456789abcdef"' })),
    childStartedAt: '2026-12-04T12:00:00.000Z',
  };
  const n = keys.length;
  // What recordOutcome makes of n objects re-encrypted, written directly (the producer must stay cheap).
  const report: TargetReport = {
    ...emptyTargetReport(unit.type, unit.bucket, unit.prefix, unit.keyArn, unit.origin),
    batches: 1,
    objectsScanned: n,
    objectsReencrypted: n,
    bytesReencrypted: n * 1_048_576,
    durationMs: 120_000,
  };
  const arn = `arn:aws:states:us-east-1:111122223333:express:KmsIncidentRotation/ReencryptTarget:${MAP_RUN_ID}:child-${index}`;
  return JSON.stringify({
    ExecutionArn: arn,
    Input: JSON.stringify(input),
    InputDetails: { Included: true },
    Name: `child-${index}`,
    Output: JSON.stringify(report),
    OutputDetails: { Included: true },
    RedriveCount: 0,
    RedriveStatus: 'NOT_REDRIVABLE',
    StartDate: '2026-12-04T12:00:00.000Z',
    StateMachineArn: 'arn:aws:states:us-east-1:111122223333:stateMachine:KmsIncidentRotation/ReencryptTarget',
    Status: 'SUCCEEDED',
    StopDate: '2026-12-04T12:02:00.000Z',
  });
}

/** A result set of `objects` objects in batches of `itemsPerBatch`, every object re-encrypted. */
export function syntheticResults(unit: ReencryptionUnit, objects: number, itemsPerBatch: number): SyntheticResults {
  const children = Math.ceil(objects / itemsPerBatch);
  const sizeOf = (n: number) => Math.min(itemsPerBatch, objects - n * itemsPerBatch);
  // Entries differ only in their keys' digits: the byte length of a full batch's entry is the same for each.
  const fullBytes = Buffer.byteLength(childEntry(unit, 0, itemsPerBatch));
  const last = children - 1;
  const lastBytes = Buffer.byteLength(childEntry(unit, last, sizeOf(last)));
  const fileBytes = 2 + (children - 1) + (children - 1) * fullBytes + lastBytes; // [ ... ] and commas
  const results: SyntheticResults = {
    location: { Bucket: BUCKET, Key: MANIFEST_KEY },
    fileBytes,
    children,
    s3: {
      send: async (command) => {
        const key = command.input.Key;
        if (key === MANIFEST_KEY) {
          const manifest = {
            DestinationBucket: BUCKET,
            MapRunArn: `arn:aws:states:us-east-1:111122223333:mapRun:KmsIncidentRotation/ReencryptTarget:${MAP_RUN_ID}`,
            ResultFiles: { SUCCEEDED: [{ Key: FILE_KEY, Size: fileBytes }], FAILED: [], PENDING: [] },
          };
          const text = JSON.stringify(manifest);
          return { Body: Object.assign(Readable.from([Buffer.from(text)]), { transformToString: async () => text }) };
        }
        if (key !== FILE_KEY)
          throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' });
        const chunks = function* () {
          for (let n = 0; n < children; n++) {
            results.onChunk?.();
            yield Buffer.from(`${n === 0 ? '[' : ','}${childEntry(unit, n, sizeOf(n))}${n === last ? ']' : ''}`);
          }
        };
        // transformToString reads the whole file, as a reader that does not stream would.
        const body = Object.assign(Readable.from(chunks(), { objectMode: false }), {
          transformToString: async () => Buffer.concat([...chunks()]).toString('utf8'),
        });
        return { Body: body };
      },
    },
  };
  return results;
}

let collect: (() => void) | undefined;

/**
 * heapUsed + arrayBuffers (Buffers live outside the V8 heap) after a full garbage collection: what
 * a reader really holds, not the garbage V8 has not collected yet (which it would under a memory
 * limit). The collector is reached without --expose-gc by setting the flag at run time.
 */
export function liveBytes(): number {
  if (!collect) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  collect();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}
