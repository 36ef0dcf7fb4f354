import { jsonArrayElements, JsonArrayStreamError } from '../../lambdas/adapters/reencryption/json-array-stream';
import { summarizeReencryption } from '../../lambdas/summarize-reencryption/handler';
import type { ReencryptionState, ReencryptionUnit } from '../../lambdas/domain/reencryption';
import { liveBytes, syntheticResults } from '../../local/synthetic-results';

/**
 * SummarizeReencryption reads the ResultWriter files as streams: a file of a million objects is
 * ~150 MB and the function has 512 MB, so reading one whole (bytes + string + parsed array) would
 * not fit. The scanner behind it must still accept exactly JSON, however the bytes are split.
 */

async function* pieces(text: string, size: number): AsyncGenerator<Uint8Array> {
  const bytes = Buffer.from(text, 'utf8');
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function all(text: string, size: number): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const e of jsonArrayElements(pieces(text, size))) out.push(e);
  return out;
}

describe('jsonArrayElements', () => {
  const value = [{ a: '}]{["\\"', b: [1, { c: 'é€😀' }] }, [], {}, { Output: JSON.stringify({ x: '[{"y": "}"}]' }) }];
  const text = ` \n[ ${value.map((v) => JSON.stringify(v)).join(' ,\n')} ]\n`;

  test.each([1, 2, 3, 7, 64, 100_000])(
    'the same elements whatever the chunk size (%i bytes: strings, escapes, UTF-8 split anywhere)',
    async (size) => {
      expect(await all(text, size)).toEqual(value);
    },
  );

  test('an empty array has no elements', async () => {
    expect(await all('[]', 1)).toEqual([]);
    expect(await all(' [ ] ', 2)).toEqual([]);
  });

  test.each([
    ['{"a":1}', /expected a JSON array/],
    ['[1,2]', /expected an object or an array as element 0/],
    ['[{"a":1}', /ends before its closing bracket/],
    ['[{"a":1},]', /a comma before the end/],
    ['[{"a":1}{"b":2}]', /a comma is missing/],
    ['[{"a":1},,{"b":2}]', /an element is missing/],
    ['[{"a":1}] x', /after the end of the array/],
  ])('refuses what is not a JSON array of objects: %s', async (bad, message) => {
    await expect(all(bad, 3)).rejects.toThrow(message);
    await expect(all(bad, 3)).rejects.toBeInstanceOf(JsonArrayStreamError);
  });

  test('an element that is not JSON is refused by JSON.parse', async () => {
    await expect(all('[{"a":01}]', 4)).rejects.toThrow(SyntaxError);
  });
});

const ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const unit: ReencryptionUnit = { type: 's3-sse-kms', bucket: 'big-data', prefix: '', keyArn: ARN, origin: 'request' };

function stateFor(location: { Bucket: string; Key: string }): ReencryptionState {
  return {
    mode: 'RUN',
    units: [unit],
    refused: [],
    refusedMore: 0,
    index: 0,
    remaining: 1,
    current: unit,
    reports: [],
    mapRun: {
      MapRunArn: 'arn:aws:states:us-east-1:111122223333:mapRun:KmsIncidentRotation/ReencryptTarget:x',
      ResultWriterDetails: location,
    },
    mapRunError: null,
  };
}

test('a large result file (200,000 objects, ~25 MB) is summarized exactly, holding far less than the file', async () => {
  const objects = 200_000;
  const results = syntheticResults(unit, objects, 400);
  expect(results.fileBytes).toBeGreaterThan(20 * 1024 ** 2);
  const baseline = liveBytes();
  let peak = 0;
  let chunks = 0;
  // What the reader holds alive, sampled every 20th child entry handed out.
  results.onChunk = () => {
    if (chunks++ % 20 === 0) peak = Math.max(peak, liveBytes() - baseline);
  };
  const recorded: unknown[] = [];
  const next = await summarizeReencryption(
    {
      reencryption: stateFor(results.location),
      executionArn: 'arn:aws:states:us-east-1:111122223333:execution:KmsIncidentRotation:run',
    },
    {
      s3: results.s3 as never,
      ledger: { recordReencryption: async (entry: unknown) => void recorded.push(entry) } as never,
      now: new Date('2026-12-04T12:05:00Z'),
    },
  );
  expect(next.reports[0]).toMatchObject({
    objectsScanned: objects,
    objectsReencrypted: objects,
    objectsFailed: 0,
    batches: results.children,
    status: 'COMPLETED',
    durationMs: 120_000,
  });
  expect(recorded).toHaveLength(1);
  // Whole, the file would be held at least once (its bytes, then its string and the parsed array);
  // streamed, one child's entry and the running sum.
  expect(peak).toBeLessThan(results.fileBytes / 10);
}, 60_000);
