/**
 * The local runner executes a Distributed Map as Step Functions does (aws-local-stepfunctions
 * ignores ItemReader, ItemBatcher and ResultWriter): S3 listing with pagination from the stand-in,
 * ItemSelector, batches, child executions bounded by MaxConcurrency, the failure threshold and the
 * result files. Hand-written definitions keep each rule on its own.
 */
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { realClock } from '../../lambdas/adapters/reencryption/pacing';
import type { DefinitionRunOptions } from '../../local/runner/runner';
import { runDefinition } from '../../local/runner/run-definition';
import { installSimulatedClock } from '../../local/runner/sim-clock';
import { PAYLOAD_LIMIT_BYTES } from '../../local/limits';
import { startStandIn, type StandIn } from '../../local/standin';
import { clients, errorName, world } from '../standin/helpers';

const DATA_OBJECTS = 2_500;
const FN = 'arn:aws:lambda:us-east-1:111122223333:function:f';
const EXECUTION_ARN = 'arn:aws:states:us-east-1:111122223333:execution:T:t';
let s: StandIn;
let c: ReturnType<typeof clients>;

beforeAll(async () => {
  const pad = (i: number) => String(i).padStart(5, '0');
  s = await startStandIn(
    world({
      buckets: [
        {
          name: 'items-bucket',
          objects: [
            ...Array.from({ length: DATA_OBJECTS }, (_, i) => ({ key: `data/${pad(i)}.json`, body: `{"n":${i}}` })),
            ...Array.from({ length: 20 }, (_, i) => ({ key: `other/${pad(i)}.txt`, body: 'x'.repeat(i) })),
          ],
        },
        { name: 'results-bucket' },
      ],
    }),
    { speed: 1000 },
  );
  c = clients(s, 'us-east-1', 3);
});
afterAll(() => s.close());

const run = (definition: unknown, extra: Partial<DefinitionRunOptions> = {}) =>
  runDefinition({
    definition,
    input: {},
    tasks: {},
    executionArn: EXECUTION_ARN,
    executionName: 't',
    s3: c.s3,
    ...extra,
  });

/** A Distributed Map state named M (then End), its processor one Task P. */
function distributedMap(
  fields: Record<string, unknown>,
  processor: Record<string, unknown> = { Type: 'Task', Resource: FN, End: true },
  executionType = 'STANDARD',
) {
  return {
    StartAt: 'M',
    States: {
      M: {
        Type: 'Map',
        ItemProcessor: {
          ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: executionType },
          StartAt: 'P',
          States: { P: processor },
        },
        End: true,
        ...fields,
      },
    },
  };
}

const listReader = (parameters: Record<string, unknown>, readerConfig?: Record<string, unknown>) => ({
  ItemReader: {
    Resource: 'arn:aws:states:::s3:listObjectsV2',
    Parameters: parameters,
    ...(readerConfig ? { ReaderConfig: readerConfig } : {}),
  },
});

/** A task that records every input it gets. */
function recording() {
  const inputs: any[] = [];
  return { inputs, task: async (input: unknown) => (inputs.push(input), 1) };
}

async function readJson(bucket: string, key: string): Promise<any> {
  const out = await c.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return JSON.parse(await out.Body!.transformToString());
}

describe('ItemReader s3:listObjectsV2', () => {
  test('lists every page (2,500 objects, 1,000 a page), only under the Prefix, each item shaped as Step Functions gives it', async () => {
    const { inputs, task } = recording();
    const listsBefore = s.calls.filter((call) => call.operation === 'ListObjectsV2').length;
    const result = await run(
      distributedMap({ ...listReader({ 'Bucket.$': '$.bucket', Prefix: 'data/' }), MaxConcurrency: 100 }),
      {
        input: { bucket: 'items-bucket' },
        tasks: { P: task },
      },
    );
    expect(result.status).toBe('SUCCEEDED');
    expect(inputs).toHaveLength(DATA_OBJECTS);
    expect(new Set(inputs.map((i) => i.Key)).size).toBe(DATA_OBJECTS);
    expect(inputs.every((i) => i.Key.startsWith('data/'))).toBe(true);
    const first = inputs.find((i) => i.Key === 'data/00000.json');
    expect(Object.keys(first).sort()).toEqual(['Etag', 'Key', 'LastModified', 'Size', 'StorageClass']);
    expect(first).toMatchObject({
      Etag: expect.stringMatching(/^"[0-9a-f]+"$/),
      Size: '{"n":0}'.length,
      StorageClass: 'STANDARD',
    });
    expect(Number.isInteger(first.LastModified)).toBe(true);
    expect(Math.abs(first.LastModified - Date.now() / 1000)).toBeLessThan(600); // epoch seconds
    // Three pages: 1,000 + 1,000 + 500, the later two with a continuation token.
    const lists = s.calls.filter((call) => call.operation === 'ListObjectsV2').slice(listsBefore);
    expect(lists).toHaveLength(3);
    expect(result.output).toHaveLength(DATA_OBJECTS);
  });

  test('ReaderConfig.MaxItems stops the listing at that many items', async () => {
    const { inputs, task } = recording();
    const result = await run(distributedMap(listReader({ Bucket: 'items-bucket', Prefix: 'data/' }, { MaxItems: 7 })), {
      tasks: { P: task },
    });
    expect(result.status).toBe('SUCCEEDED');
    expect(inputs.map((i) => i.Key).sort()).toEqual(Array.from({ length: 7 }, (_, i) => `data/0000${i}.json`));
  });

  test('a bucket that does not exist: States.ItemReaderFailed, which Catch handles', async () => {
    const definition = distributedMap({
      ...listReader({ Bucket: 'no-such-bucket' }),
      Catch: [{ ErrorEquals: ['States.ItemReaderFailed'], Next: 'Caught' }],
      Next: 'Caught',
    });
    delete (definition.States.M as { End?: boolean }).End;
    (definition.States as any).Caught = { Type: 'Succeed' };
    const result = await run(definition, { tasks: { P: async () => 1 } });
    expect(result.status).toBe('SUCCEEDED');
    expect(result.events.some((e) => e.type === 'StateEntered' && e.state?.name === 'Caught')).toBe(true);
  });

  test('an unsupported reader resource, or no S3 client, fails before the run with a clear error', async () => {
    const getObject = distributedMap({
      ItemReader: {
        Resource: 'arn:aws:states:::s3:getObject',
        ReaderConfig: { InputType: 'CSV' },
        Parameters: { Bucket: 'b', Key: 'k' },
      },
    });
    await expect(run(getObject, { tasks: { P: async () => 1 } })).rejects.toThrow(
      /s3:getObject is not implemented by the local runner/,
    );
    await expect(
      run(distributedMap(listReader({ Bucket: 'b' })), { tasks: { P: async () => 1 }, s3: undefined }),
    ).rejects.toThrow(/give runDefinition an S3 client/);
  });
});

describe('ItemSelector and ItemBatcher', () => {
  test('ItemSelector sees $$.Map.Item.Value, $$.Map.Item.Index and $ (the Map input)', async () => {
    const { inputs, task } = recording();
    const fields = {
      ...listReader({ Bucket: 'items-bucket', Prefix: 'other/' }),
      ItemSelector: {
        'key.$': '$$.Map.Item.Value.Key',
        'size.$': '$$.Map.Item.Value.Size',
        'index.$': '$$.Map.Item.Index',
        'tag.$': '$.tag',
        'execution.$': '$$.Execution.Name',
      },
    };
    const result = await run(distributedMap(fields), { input: { tag: 'T-1' }, tasks: { P: task } });
    expect(result.status).toBe('SUCCEEDED');
    expect(inputs).toHaveLength(20);
    const byIndex = [...inputs].sort((a, b) => a.index - b.index);
    byIndex.forEach((input, i) =>
      expect(input).toEqual({
        key: `other/${String(i).padStart(5, '0')}.txt`,
        size: i,
        index: i,
        tag: 'T-1',
        execution: 't',
      }),
    );
  });

  test('MaxItemsPerBatch: 2,500 items in 25 children of 100, each with the BatchInput resolved against the Map input', async () => {
    const { inputs, task } = recording();
    const fields = {
      ...listReader({ Bucket: 'items-bucket', Prefix: 'data/' }),
      ItemSelector: { 'key.$': '$$.Map.Item.Value.Key' },
      ItemBatcher: { MaxItemsPerBatch: 100, BatchInput: { 'unit.$': '$.unit', fixed: 'yes' } },
    };
    const result = await run(distributedMap(fields), {
      input: { unit: { bucket: 'items-bucket', index: 3 } },
      tasks: { P: task },
    });
    expect(result.status).toBe('SUCCEEDED');
    expect(inputs).toHaveLength(25);
    for (const input of inputs) {
      expect(Object.keys(input).sort()).toEqual(['BatchInput', 'Items']);
      expect(input.BatchInput).toEqual({ unit: { bucket: 'items-bucket', index: 3 }, fixed: 'yes' });
      expect(input.Items).toHaveLength(100);
    }
    expect(new Set(inputs.flatMap((i) => i.Items.map((item: { key: string }) => item.key))).size).toBe(DATA_OBJECTS);
  });

  test('MaxInputBytesPerBatch splits batches so that no child input exceeds it', async () => {
    const { inputs, task } = recording();
    const items = Array.from({ length: 10 }, (_, i) => `${i}`.padEnd(1000, '.'));
    const result = await run(distributedMap({ ItemsPath: '$.items', ItemBatcher: { MaxInputBytesPerBatch: 3000 } }), {
      input: { items },
      tasks: { P: task },
    });
    expect(result.status).toBe('SUCCEEDED');
    // {"Items":[...]}: 12 bytes + 1,002 per item + commas: 2 items are 2,017 bytes, 3 would be 3,020.
    expect(inputs).toHaveLength(5);
    for (const input of inputs) expect(Buffer.byteLength(JSON.stringify(input))).toBeLessThanOrEqual(3000);
    expect(inputs.flatMap((i) => i.Items).sort()).toEqual(items);
  });
});

describe('child executions', () => {
  const sleepy = (state: { running: number; peak: number }) => async (input: unknown) => {
    state.running += 1;
    state.peak = Math.max(state.peak, state.running);
    await new Promise((r) => setTimeout(r, 15));
    state.running -= 1;
    return input;
  };

  test('MaxConcurrency bounds how many children run at once; absent, all 30 run together', async () => {
    const bounded = { running: 0, peak: 0 };
    const items = Array.from({ length: 30 }, (_, i) => i);
    const limited = await run(distributedMap({ ItemsPath: '$.items', MaxConcurrency: 4 }), {
      input: { items },
      tasks: { P: sleepy(bounded) },
    });
    expect(limited.status).toBe('SUCCEEDED');
    expect(bounded.peak).toBe(4);
    expect(limited.output).toEqual(items);
    const started = limited.events.find((e) => e.type === 'MapRunStarted');
    expect(started?.mapRun).toMatchObject({ items: 30, batches: 30, maxConcurrency: 4 });
    expect(limited.events.find((e) => e.type === 'MapRunSucceeded')?.mapRun).toMatchObject({
      succeeded: 30,
      failed: 0,
      peakConcurrency: 4,
    });

    const unbounded = { running: 0, peak: 0 };
    const all = await run(distributedMap({ ItemsPath: '$.items' }), {
      input: { items },
      tasks: { P: sleepy(unbounded) },
    });
    expect(all.status).toBe('SUCCEEDED');
    expect(unbounded.peak).toBe(30);
  });

  test("the parent's history counts the map run, not the children's events; transitions include the children's", async () => {
    const items = Array.from({ length: 30 }, (_, i) => i);
    const result = await run(distributedMap({ ItemsPath: '$.items' }), {
      input: { items },
      tasks: { P: async () => 1 },
    });
    // ExecutionStarted, MapStateEntered, MapStateStarted, MapRunStarted, MapRunSucceeded,
    // MapStateSucceeded, MapStateExited, ExecutionSucceeded.
    expect(result.metrics.historyEvents).toBe(8);
    expect(result.metrics.stateTransitions).toBe(1 + 30);
    expect(result.events.find((e) => e.type === 'StateEntered')?.state?.type).toBe('Map');
  });

  test('each child has its own $$.Execution.Id, a child ARN of the map run', async () => {
    const ids: string[] = [];
    const processor = { Type: 'Pass', Parameters: { 'id.$': '$$.Execution.Id' }, End: true };
    const result = await run(
      distributedMap({ ItemsPath: '$.items', ResultSelector: { 'ids.$': '$[*].id' } }, processor),
      { input: { items: [1, 2, 3] } },
    );
    expect(result.status).toBe('SUCCEEDED');
    ids.push(...(result.output as { ids: string[] }).ids);
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(id).toMatch(/^arn:aws:states:us-east-1:111122223333:execution:T\/M:[0-9a-f-]{36}$/);
  });

  test('an Express child ends with States.Timeout after 5 minutes (scaled); a Standard child may wait longer', async () => {
    const wait = { Type: 'Wait', Seconds: 400, End: true };
    const fields = { ItemsPath: '$.items', ToleratedFailurePercentage: 100 };
    const express = await run(distributedMap(fields, wait, 'EXPRESS'), { input: { items: [1] }, speed: 1000 });
    expect(express.status).toBe('SUCCEEDED');
    expect(express.output).toEqual([{ Error: 'States.Timeout', Cause: expect.any(String) }]);
    expect(express.events.find((e) => e.type === 'MapRunSucceeded')?.mapRun).toMatchObject({ timedOut: 1 });

    const standard = await run(distributedMap(fields, wait, 'STANDARD'), { input: { items: [1] }, speed: 1000 });
    expect(standard).toMatchObject({ status: 'SUCCEEDED', output: [1] });
  });

  test("a child's payload over 256 KiB fails that child only (its own limit); the parent's array result has the limit too", async () => {
    const big = (n: number) => async () => 'y'.repeat(n);
    const tolerant = { ItemsPath: '$.items', ToleratedFailurePercentage: 100 };
    const overChild = await run(distributedMap(tolerant), {
      input: { items: [1, 2] },
      tasks: { P: big(PAYLOAD_LIMIT_BYTES + 10) },
    });
    expect(overChild.status).toBe('SUCCEEDED');
    expect(overChild.output).toEqual([
      { Error: 'States.DataLimitExceeded', Cause: expect.any(String) },
      { Error: 'States.DataLimitExceeded', Cause: expect.any(String) },
    ]);

    // Each child's 150 KB fits; two of them as the Map's result do not.
    const overParent = await run(distributedMap(tolerant), { input: { items: [1, 2] }, tasks: { P: big(150_000) } });
    expect(overParent).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded' });
  });
});

describe('failure threshold', () => {
  const failEveryFourth = async (input: unknown) => {
    if ((input as number) % 4 === 0) throw Object.assign(new Error('boom'), { name: 'ItemBroke' });
    return input;
  };
  const items = Array.from({ length: 20 }, (_, i) => i); // 5 of 20 fail: 25 %
  const withCatch = (fields: Record<string, unknown>) => {
    const definition = distributedMap({
      ItemsPath: '$.items',
      ...fields,
      Catch: [{ ErrorEquals: ['States.ExceedToleratedFailureThreshold'], ResultPath: '$.error', Next: 'Caught' }],
      Next: 'Caught',
    });
    delete (definition.States.M as { End?: boolean }).End;
    (definition.States as any).Caught = { Type: 'Pass', End: true };
    return definition;
  };

  test.each([
    ['ToleratedFailurePercentage 10', { ToleratedFailurePercentage: 10 }],
    ['ToleratedFailureCount 4', { ToleratedFailureCount: 4 }],
    ['no threshold (0 tolerated)', {}],
    ['ToleratedFailurePercentagePath', { ToleratedFailurePercentagePath: '$.pct' }],
  ])(
    'exceeded (%s): the Map fails with States.ExceedToleratedFailureThreshold, which Catch handles',
    async (_label, fields) => {
      const result = await run(withCatch(fields), { input: { items, pct: 20 }, tasks: { P: failEveryFourth } });
      expect(result.status).toBe('SUCCEEDED');
      expect((result.output as any).error).toEqual({
        Error: 'States.ExceedToleratedFailureThreshold',
        Cause: expect.any(String),
      });
      expect(result.events.some((e) => e.type === 'MapRunFailed')).toBe(true);
    },
  );

  test('not exceeded (30 %, or 5 failures tolerated): the Map succeeds and the failures are in its result', async () => {
    for (const fields of [{ ToleratedFailurePercentage: 30 }, { ToleratedFailureCount: 5 }]) {
      const result = await run(withCatch(fields), { input: { items }, tasks: { P: failEveryFourth } });
      expect(result.status).toBe('SUCCEEDED');
      const output = result.output as unknown[];
      expect(output).toHaveLength(20);
      expect(output.filter((o) => (o as { Error?: string }).Error === 'ItemBroke')).toHaveLength(5);
      expect(result.events.find((e) => e.type === 'MapRunSucceeded')?.mapRun).toMatchObject({
        succeeded: 15,
        failed: 5,
      });
    }
  });

  test('the percentage is over all items, not over the children started so far', async () => {
    // One at a time, the first item fails: 1 of 1 started would be 100 %, 1 of 20 items is 5 %.
    const result = await run(withCatch({ ToleratedFailurePercentage: 10, MaxConcurrency: 1 }), {
      input: { items },
      tasks: {
        P: async (i: unknown) =>
          (i as number) === 0 ? Promise.reject(Object.assign(new Error('first'), { name: 'ItemBroke' })) : i,
      },
    });
    expect((result.output as unknown[]).length).toBe(20);
  });

  test('in a batch, every item of a failed child counts as failed', async () => {
    // 20 items in batches of 5: one failed child is 5 items, 25 % > 20 %.
    const result = await run(withCatch({ ItemBatcher: { MaxItemsPerBatch: 5 }, ToleratedFailurePercentage: 20 }), {
      input: { items },
      tasks: {
        P: async (batch: any) =>
          batch.Items.includes(0)
            ? Promise.reject(Object.assign(new Error('x'), { name: 'BatchBroke' }))
            : batch.Items.length,
      },
    });
    expect((result.output as any).error?.Error).toBe('States.ExceedToleratedFailureThreshold');
  });
});

describe('ResultWriter s3:putObject', () => {
  const writer = {
    ResultWriter: {
      Resource: 'arn:aws:states:::s3:putObject',
      Parameters: { Bucket: 'results-bucket', 'Prefix.$': "States.Format('runs/{}/{}', $$.Execution.Name, $.index)" },
    },
  };

  test('writes the manifest and SUCCEEDED_0.json / FAILED_0.json in Step Functions format; the Map result points at the manifest', async () => {
    const tasks = {
      P: async (i: any) =>
        i.n === 2 ? Promise.reject(Object.assign(new Error('two'), { name: 'Two' })) : { doubled: i.n * 2 },
    };
    const result = await run(distributedMap({ ItemsPath: '$.items', ToleratedFailureCount: 1, ...writer }), {
      input: { index: 7, items: [{ n: 1 }, { n: 2 }, { n: 3 }] },
      tasks,
    });
    expect(result.status).toBe('SUCCEEDED');
    const output = result.output as { MapRunArn: string; ResultWriterDetails: { Bucket: string; Key: string } };
    expect(output.MapRunArn).toMatch(/^arn:aws:states:us-east-1:111122223333:mapRun:T\/M:[0-9a-f-]{36}$/);
    const runId = output.MapRunArn.split(':').pop();
    expect(output.ResultWriterDetails).toEqual({ Bucket: 'results-bucket', Key: `runs/t/7/${runId}/manifest.json` });

    const manifest = await readJson('results-bucket', output.ResultWriterDetails.Key);
    expect(manifest).toEqual({
      DestinationBucket: 'results-bucket',
      MapRunArn: output.MapRunArn,
      ResultFiles: {
        FAILED: [{ Key: `runs/t/7/${runId}/FAILED_0.json`, Size: expect.any(Number) }],
        PENDING: [],
        SUCCEEDED: [{ Key: `runs/t/7/${runId}/SUCCEEDED_0.json`, Size: expect.any(Number) }],
      },
    });
    const succeeded = await readJson('results-bucket', manifest.ResultFiles.SUCCEEDED[0].Key);
    expect(succeeded).toHaveLength(2);
    expect(succeeded[0]).toMatchObject({
      ExecutionArn: expect.stringMatching(/^arn:aws:states:us-east-1:111122223333:execution:T\/M:/),
      Input: JSON.stringify({ n: 1 }),
      InputDetails: { Included: true },
      Output: JSON.stringify({ doubled: 2 }),
      OutputDetails: { Included: true },
      Status: 'SUCCEEDED',
      StateMachineArn: 'arn:aws:states:us-east-1:111122223333:stateMachine:T/M',
    });
    expect(typeof succeeded[0].StartDate).toBe('string');
    const failed = await readJson('results-bucket', manifest.ResultFiles.FAILED[0].Key);
    expect(failed).toEqual([
      expect.objectContaining({ Status: 'FAILED', Error: 'Two', Input: JSON.stringify({ n: 2 }) }),
    ]);
    expect(failed[0]).not.toHaveProperty('Output');
  });

  test("the children's StartDate / StopDate are simulated time: the same at any speed, the next child of a slot starting when the previous stopped", async () => {
    installSimulatedClock();
    // Each child waits 30 simulated seconds (a pace, a back-off): 30 ms of wall time at speed 1000.
    const tasks = { P: async () => realClock.sleep(30_000).then(() => ({})) };
    const datesAt = async (speed: number) => {
      const result = await run(distributedMap({ ItemsPath: '$.items', MaxConcurrency: 1, ...writer }), {
        input: { index: speed, items: [{ n: 1 }, { n: 2 }, { n: 3 }] },
        tasks,
        speed,
      });
      expect(result.status).toBe('SUCCEEDED');
      const manifest = await readJson('results-bucket', (result.output as any).ResultWriterDetails.Key);
      const children: { StartDate: string; StopDate: string }[] = await readJson(
        'results-bucket',
        manifest.ResultFiles.SUCCEEDED[0].Key,
      );
      return children
        .map((c) => ({ start: Date.parse(c.StartDate), stop: Date.parse(c.StopDate) }))
        .sort((a, b) => a.start - b.start);
    };
    for (const speed of [100, 1000]) {
      const dates = await datesAt(speed);
      dates.forEach((d, i) => {
        // 30 s of waiting plus the work of the steps, 1:1 (a loaded machine takes some seconds)
        expect(d.stop - d.start).toBeGreaterThanOrEqual(30_000);
        expect(d.stop - d.start).toBeLessThan(35_000);
        if (i > 0) expect(d.start).toBe(dates[i - 1]!.stop);
      });
      expect(dates[2]!.stop - dates[0]!.start).toBeGreaterThanOrEqual(90_000);
    }
  });

  test('only statuses with entries get a file; results are written also when the map run fails', async () => {
    const ok = await run(distributedMap({ ItemsPath: '$.items', ...writer }), {
      input: { index: 8, items: [1, 2] },
      tasks: { P: async (i) => i },
    });
    const manifest = await readJson('results-bucket', (ok.output as any).ResultWriterDetails.Key);
    expect(manifest.ResultFiles.FAILED).toEqual([]);
    expect(
      await errorName(
        c.s3.send(
          new GetObjectCommand({
            Bucket: 'results-bucket',
            Key: manifest.ResultFiles.SUCCEEDED[0].Key.replace('SUCCEEDED', 'FAILED'),
          }),
        ),
      ),
    ).toBe('NoSuchKey');

    const failing = await run(distributedMap({ ItemsPath: '$.items', ...writer }), {
      input: { index: 9, items: [1] },
      tasks: { P: async () => Promise.reject(Object.assign(new Error('no'), { name: 'No' })) },
    });
    expect(failing).toMatchObject({ status: 'FAILED', error: 'States.ExceedToleratedFailureThreshold' });
    const listed = await c.s3.send(new ListObjectsV2Command({ Bucket: 'results-bucket', Prefix: 'runs/t/9/' }));
    const keys = (listed.Contents ?? []).map((o) => o.Key!.split('/').pop()).sort();
    expect(keys).toEqual(['FAILED_0.json', 'manifest.json']);
  });
});

test('the definition is validated as written (an invalid Distributed Map is refused)', async () => {
  const invalid = distributedMap({ ItemsPath: '$.items', MaxConcurrency: 'many' });
  await expect(run(invalid, { tasks: { P: async () => 1 } })).rejects.toThrow();
});
