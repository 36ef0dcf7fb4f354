/**
 * The Distributed Map state, executed locally as Step Functions executes it: aws-local-stepfunctions
 * runs a Map as an inline Map and ignores `ItemReader`, `ItemBatcher` and `ResultWriter`. The runner
 * replaces each Distributed Map of its working copy by a local Task (keeping InputPath,
 * ResultSelector, ResultPath, OutputPath, Retry, Catch, Next/End, which the library applies), whose
 * handler is the map run below. Each rule names the AWS page it follows; local/README.md lists them.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- ASL states are JSON of any shape, as in runner.ts (whose rule eslint.config.mjs turns off) */
import { randomUUID } from 'node:crypto';
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { StateMachine } from 'aws-local-stepfunctions';
import { FatalStatesError, PAYLOAD_LIMIT_BYTES, payloadBytes } from './limits';

const LIST_OBJECTS_V2 = 'arn:aws:states:::s3:listObjectsV2';
const PUT_OBJECT = 'arn:aws:states:::s3:putObject';
/** Unspecified or 0: "up to 10,000 parallel child workflow executions" (state-map-distributed). */
const DEFAULT_MAX_CONCURRENCY = 10_000;
/** An Express child runs at most 5 minutes (concepts-standard-vs-express); then States.Timeout. */
const EXPRESS_MAX_SECONDS = 300;

/** The Task resource a Distributed Map becomes in the runner's working copy (never called: a local handler answers). */
export const DISTRIBUTED_MAP_PLACEHOLDER =
  'arn:aws:lambda:local:000000000000:function:kms-incident-rotation-distributed-map';

/** The Map fields that stay on the replacing Task: the library applies them around the map run. */
const KEPT_FIELDS = [
  'Type',
  'Comment',
  'InputPath',
  'ResultSelector',
  'ResultPath',
  'OutputPath',
  'Retry',
  'Catch',
  'Next',
  'End',
];

type ExecutionType = 'STANDARD' | 'EXPRESS';

/** How one child execution ended (the runner's DefinitionRunResult, reduced to what a map run needs). */
export interface ChildRun {
  status: 'SUCCEEDED' | 'FAILED';
  output: unknown;
  error: string | null;
  cause: string | null;
  metrics: { stateTransitions: number; largestPayloadBytes: number };
}

/** What the parent execution lends a map run. */
export interface MapRunHost {
  /** The parent's `$$` (Execution Id, Name, StartTime, Input). */
  context: { Execution: { Id: string; Name: string; StartTime: string; Input: unknown } };
  s3?: S3Client;
  /** Runs the item processor as its own execution (runDefinition). */
  runChild: (child: {
    definition: unknown;
    input: unknown;
    executionArn: string;
    executionName: string;
    executionType: ExecutionType;
  }) => Promise<ChildRun>;
  /** Adds events to the parent's history (MapRunStarted, MapRunSucceeded|Failed ...). */
  countHistory: (events: number) => void;
  /** The children's billed transitions and payloads, added to the parent's metrics. */
  addChildMetrics: (metrics: ChildRun['metrics']) => void;
  emit: (event: {
    type: string;
    timestamp: number;
    state?: { name: string; type: string };
    Error?: string;
    Cause?: unknown;
    mapRun?: MapRunSummary;
  }) => void;
}

/** What a trace shows of a map run. */
export interface MapRunSummary {
  mapRunArn: string;
  items: number;
  batches: number;
  maxConcurrency: number;
  succeeded?: number;
  failed?: number;
  timedOut?: number;
  notStarted?: number;
  /** The most children seen running at once. */
  peakConcurrency?: number;
}

/** Whether a state is a Map in Distributed mode (state-map-distributed: ProcessorConfig.Mode DISTRIBUTED). */
export function isDistributedMap(state: any): boolean {
  return state?.Type === 'Map' && state.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED';
}

/** Whether a Distributed Map reads from or writes to S3 (then the run needs an S3 client). */
export function usesS3(state: any): boolean {
  return Boolean(state.ItemReader || state.ResultWriter?.Resource);
}

/**
 * Check what the runner cannot execute before the run starts (not silently half-way): only the
 * `s3:listObjectsV2` reader and the `s3:putObject` writer are implemented.
 */
export function checkSupported(name: string, state: any, hasS3: boolean): void {
  const reader = state.ItemReader;
  if (reader && reader.Resource !== LIST_OBJECTS_V2) {
    throw new Error(
      `Distributed Map ${name}: ItemReader resource ${reader.Resource} is not implemented by the local runner (only ${LIST_OBJECTS_V2})`,
    );
  }
  if (reader?.ReaderConfig?.InputType) {
    throw new Error(
      `Distributed Map ${name}: ItemReader ReaderConfig.InputType ${reader.ReaderConfig.InputType} is not implemented by the local runner (S3 object listing only)`,
    );
  }
  const writer = state.ResultWriter;
  if (writer && writer.Resource !== undefined && writer.Resource !== PUT_OBJECT) {
    throw new Error(
      `Distributed Map ${name}: ResultWriter resource ${writer.Resource} is not implemented by the local runner (only ${PUT_OBJECT})`,
    );
  }
  if (writer?.WriterConfig) {
    throw new Error(`Distributed Map ${name}: ResultWriter WriterConfig is not implemented by the local runner`);
  }
  if (usesS3(state) && !hasS3) {
    throw new Error(
      `Distributed Map ${name} reads or writes S3 (ItemReader/ResultWriter): give runDefinition an S3 client (opts.s3)`,
    );
  }
}

/**
 * Turn a Distributed Map of the working copy into a local Task, in place, and return the original
 * state (as written, before the runner scales anything) for the map run.
 */
export function replaceByLocalTask(state: any): any {
  const original = JSON.parse(JSON.stringify(state));
  for (const field of Object.keys(state)) if (!KEPT_FIELDS.includes(field)) delete state[field];
  state.Type = 'Task';
  state.Resource = DISTRIBUTED_MAP_PLACEHOLDER;
  return original;
}

/** A map run failure Step Functions reports as the Map state's error (catchable). */
function statesError(name: string, cause: string): Error {
  const error = new Error(cause);
  error.name = name;
  return error;
}

/**
 * Run one Distributed Map: read the items, select and batch them, run a child execution per
 * batch (or item) with at most MaxConcurrency at once, apply the failure threshold, and write the
 * results. Returns the Map's raw result (before ResultSelector/ResultPath, which the library applies).
 */
export async function runMapRun(stateName: string, map: any, input: unknown, host: MapRunHost): Promise<unknown> {
  const parent = parseExecutionArn(host.context.Execution.Id);
  const label = typeof map.Label === 'string' ? map.Label : stateName;
  const mapRunId = randomUUID();
  const mapRunArn = `arn:aws:states:${parent.region}:${parent.account}:mapRun:${parent.machine}/${label}:${mapRunId}`;
  const executionType: ExecutionType =
    map.ItemProcessor.ProcessorConfig.ExecutionType === 'EXPRESS' ? 'EXPRESS' : 'STANDARD';

  const items = await readItems(map, input, host);
  const selector = map.ItemSelector ?? map.Parameters; // Parameters: the older name of ItemSelector
  const selected = selector === undefined ? items : await selectItems(selector, items, input, host);
  const childInputs = map.ItemBatcher
    ? await batch(map.ItemBatcher, selected, input, host)
    : selected.map((value) => ({ input: value, items: 1 }));

  const maxConcurrency = positiveIntegerOr(numberField(map, 'MaxConcurrency', input), 0) || DEFAULT_MAX_CONCURRENCY;
  const toleratedPercentage = numberField(map, 'ToleratedFailurePercentage', input);
  const toleratedCount = numberField(map, 'ToleratedFailureCount', input);

  const summary: MapRunSummary = { mapRunArn, items: items.length, batches: childInputs.length, maxConcurrency };
  host.countHistory(1); // MapRunStarted
  host.emit({
    type: 'MapRunStarted',
    timestamp: Date.now(),
    state: { name: stateName, type: 'Map' },
    mapRun: { ...summary },
  });

  const processor = { ...map.ItemProcessor };
  delete processor.ProcessorConfig;
  if (executionType === 'EXPRESS')
    processor.TimeoutSeconds = Math.min(processor.TimeoutSeconds ?? EXPRESS_MAX_SECONDS, EXPRESS_MAX_SECONDS);

  const records: ChildRecord[] = [];
  let failedItems = 0;
  let exceeded = false;
  let next = 0;
  let running = 0;
  let peak = 0;
  // Step Functions computes the percentage over ALL items of the run (failed or timed-out items
  // / total items), not over the ones started so far (maprun-fail-threshold).
  const overThreshold = () => {
    if (toleratedCount === undefined && toleratedPercentage === undefined) return failedItems > 0;
    if (toleratedCount !== undefined && failedItems > toleratedCount) return true;
    return toleratedPercentage !== undefined && (failedItems * 100) / Math.max(items.length, 1) > toleratedPercentage;
  };
  const worker = async () => {
    // Once the threshold is exceeded no new child starts; running ones finish (AWS: "may continue
    // to run child workflows ... before the Map Run fails").
    while (next < childInputs.length && !exceeded) {
      const index = next++;
      const child = childInputs[index];
      const name = randomUUID();
      const executionArn =
        executionType === 'EXPRESS'
          ? `arn:aws:states:${parent.region}:${parent.account}:express:${parent.machine}/${label}:${mapRunId}:${name}`
          : `arn:aws:states:${parent.region}:${parent.account}:execution:${parent.machine}/${label}:${name}`;
      running += 1;
      peak = Math.max(peak, running);
      const startDate = new Date();
      let run: ChildRun;
      try {
        run = await host.runChild({
          definition: processor,
          input: child.input,
          executionArn,
          executionName: name,
          executionType,
        });
      } finally {
        running -= 1;
      }
      host.addChildMetrics(run.metrics);
      const status = run.status === 'SUCCEEDED' ? 'SUCCEEDED' : run.error === 'States.Timeout' ? 'TIMED_OUT' : 'FAILED';
      records[index] = { executionArn, name, input: child.input, run, status, startDate, stopDate: new Date() };
      if (status !== 'SUCCEEDED') {
        failedItems += child.items;
        if (overThreshold()) exceeded = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(maxConcurrency, childInputs.length) }, worker));

  const finished = records.filter(Boolean);
  summary.succeeded = finished.filter((r) => r.status === 'SUCCEEDED').length;
  summary.failed = finished.filter((r) => r.status === 'FAILED').length;
  summary.timedOut = finished.filter((r) => r.status === 'TIMED_OUT').length;
  summary.notStarted = childInputs.length - finished.length;
  summary.peakConcurrency = peak;

  // Results are exported whether the run succeeds or fails: the files are what tells which children failed.
  let written: { Bucket: string; Key: string } | null = null;
  try {
    if (map.ResultWriter?.Resource)
      written = await writeResults(map, input, host, { mapRunArn, mapRunId, parent, label }, records);
  } catch (error) {
    host.countHistory(1); // MapRunFailed (MapStateFailed is counted with the state's end, as MapStateSucceeded is)
    const cause = `Writing the map run's results failed: ${(error as Error).name}: ${(error as Error).message}`;
    host.emit({
      type: 'MapRunFailed',
      timestamp: Date.now(),
      state: { name: stateName, type: 'Map' },
      Error: 'States.ResultWriterFailed',
      Cause: cause,
      mapRun: summary,
    });
    throw statesError('States.ResultWriterFailed', cause);
  }

  if (exceeded) {
    host.countHistory(1); // MapRunFailed (MapStateFailed is counted with the state's end, as MapStateSucceeded is)
    const cause = 'The specified tolerated failure threshold was exceeded';
    host.emit({
      type: 'MapRunFailed',
      timestamp: Date.now(),
      state: { name: stateName, type: 'Map' },
      Error: 'States.ExceedToleratedFailureThreshold',
      Cause: cause,
      mapRun: summary,
    });
    throw statesError('States.ExceedToleratedFailureThreshold', cause);
  }
  host.countHistory(1); // MapRunSucceeded
  host.emit({
    type: 'MapRunSucceeded',
    timestamp: Date.now(),
    state: { name: stateName, type: 'Map' },
    mapRun: summary,
  });
  if (written) return { MapRunArn: mapRunArn, ResultWriterDetails: written };
  // Without ResultWriter the Map's result is every child's output in item order (a failed child,
  // tolerated, contributes its Error and Cause).
  return records.map((r) => (r.status === 'SUCCEEDED' ? r.run.output : { Error: r.run.error, Cause: r.run.cause }));
}

interface ChildRecord {
  executionArn: string;
  name: string;
  input: unknown;
  run: ChildRun;
  status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT';
  startDate: Date;
  stopDate: Date;
}

/**
 * The items: an S3 listing (ItemReader listObjectsV2, every page, `ReaderConfig.MaxItems` at most)
 * or the array at ItemsPath (default `$`) of the Map's effective input.
 */
async function readItems(map: any, input: unknown, host: MapRunHost): Promise<unknown[]> {
  if (!map.ItemReader) {
    const items = map.ItemsPath === undefined ? input : readPath(input, map.ItemsPath);
    if (!Array.isArray(items))
      throw new FatalStatesError(
        'States.Runtime',
        `The Map state's ItemsPath ${map.ItemsPath ?? '$'} does not point to an array`,
      );
    return items;
  }
  const params = (await evaluateParameters(map.ItemReader.Parameters ?? {}, input, host)) as {
    Bucket?: unknown;
    Prefix?: unknown;
  };
  const maxItems = positiveIntegerOr(readerMaxItems(map.ItemReader.ReaderConfig, input), 0);
  if (typeof params.Bucket !== 'string')
    throw statesError(
      'States.ItemReaderFailed',
      `ItemReader Parameters.Bucket must be a string (got ${JSON.stringify(params.Bucket)})`,
    );
  const items: unknown[] = [];
  let token: string | undefined;
  try {
    do {
      // Pages of up to 1,000 keys, as S3 gives them; all of them, in S3's (key) order.
      const page = await host.s3!.send(
        new ListObjectsV2Command({
          Bucket: params.Bucket,
          Prefix: typeof params.Prefix === 'string' ? params.Prefix : undefined,
          ContinuationToken: token,
        }),
      );
      for (const object of page.Contents ?? []) {
        // The item shape of the ItemReader page's S3-objects example: Etag (with its quotes), Key,
        // LastModified in epoch seconds, Size in bytes, StorageClass.
        items.push({
          Etag: object.ETag,
          Key: object.Key,
          LastModified: object.LastModified ? Math.floor(object.LastModified.getTime() / 1000) : null,
          Size: object.Size,
          StorageClass: object.StorageClass ?? 'STANDARD',
        });
        if (maxItems && items.length >= maxItems) return items;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } catch (error) {
    throw statesError(
      'States.ItemReaderFailed',
      `Listing s3://${params.Bucket}/${params.Prefix ?? ''} failed: ${(error as Error).name}: ${(error as Error).message}`,
    );
  }
  return items;
}

function readerMaxItems(config: any, input: unknown): unknown {
  if (!config) return undefined;
  return config.MaxItemsPath !== undefined ? readPath(input, config.MaxItemsPath) : config.MaxItems;
}

/**
 * ItemBatcher: batches of at most MaxItemsPerBatch items and MaxInputBytesPerBatch bytes (at most
 * 256 KiB), each child's input `{ "BatchInput": ..., "Items": [...] }` (input-output-itembatcher).
 * An item that alone exceeds the byte bound goes in a batch of its own (its child then meets the
 * 256 KiB payload limit itself).
 */
async function batch(
  batcher: any,
  items: unknown[],
  input: unknown,
  host: MapRunHost,
): Promise<{ input: unknown; items: number }[]> {
  const maxItems = positiveIntegerOr(
    batcher.MaxItemsPerBatchPath !== undefined
      ? readPath(input, batcher.MaxItemsPerBatchPath)
      : batcher.MaxItemsPerBatch,
    0,
  );
  const maxBytesRaw = positiveIntegerOr(
    batcher.MaxInputBytesPerBatchPath !== undefined
      ? readPath(input, batcher.MaxInputBytesPerBatchPath)
      : batcher.MaxInputBytesPerBatch,
    0,
  );
  const maxBytes = Math.min(maxBytesRaw || PAYLOAD_LIMIT_BYTES, PAYLOAD_LIMIT_BYTES);
  const batchInput =
    batcher.BatchInput === undefined ? undefined : await evaluateParameters(batcher.BatchInput, input, host);
  const wrap = (batchItems: unknown[]) =>
    batchInput === undefined ? { Items: batchItems } : { BatchInput: batchInput, Items: batchItems };
  const baseBytes = payloadBytes(wrap([]));
  const batches: { input: unknown; items: number }[] = [];
  let current: unknown[] = [];
  let currentBytes = baseBytes;
  for (const item of items) {
    const itemBytes = payloadBytes(item);
    // +1: the comma before every item but the first
    if (current.length && ((maxItems && current.length >= maxItems) || currentBytes + 1 + itemBytes > maxBytes)) {
      batches.push({ input: wrap(current), items: current.length });
      current = [];
      currentBytes = baseBytes;
    }
    currentBytes += itemBytes + (current.length ? 1 : 0);
    current.push(item);
  }
  if (current.length) batches.push({ input: wrap(current), items: current.length });
  return batches;
}

/** ResultWriter: `<Prefix>/<map run id>/manifest.json` and one file per status with entries, in Step Functions' format. */
async function writeResults(
  map: any,
  input: unknown,
  host: MapRunHost,
  run: { mapRunArn: string; mapRunId: string; parent: ParsedArn; label: string },
  records: ChildRecord[],
): Promise<{ Bucket: string; Key: string }> {
  const params = (await evaluateParameters(map.ResultWriter.Parameters ?? {}, input, host)) as {
    Bucket?: unknown;
    Prefix?: unknown;
  };
  if (typeof params.Bucket !== 'string')
    throw statesError(
      'States.ResultWriterFailed',
      `ResultWriter Parameters.Bucket must be a string (got ${JSON.stringify(params.Bucket)})`,
    );
  const bucket = params.Bucket;
  const prefix =
    typeof params.Prefix === 'string' && params.Prefix !== '' ? `${params.Prefix.replace(/\/+$/, '')}/` : '';
  const base = `${prefix}${run.mapRunId}/`;
  const stateMachineArn = `arn:aws:states:${run.parent.region}:${run.parent.account}:stateMachine:${run.parent.machine}/${run.label}`;
  const entry = (r: ChildRecord) => {
    const e: Record<string, unknown> = {
      ExecutionArn: r.executionArn,
      Input: JSON.stringify(r.input ?? null),
      InputDetails: { Included: true },
      Name: r.name,
      RedriveCount: 0,
      RedriveStatus: 'NOT_REDRIVABLE',
      StartDate: r.startDate.toISOString(),
      StateMachineArn: stateMachineArn,
      Status: r.status,
      StopDate: r.stopDate.toISOString(),
    };
    if (r.status === 'SUCCEEDED') {
      e.Output = JSON.stringify(r.run.output ?? null);
      e.OutputDetails = { Included: true };
    } else {
      e.Error = r.run.error;
      e.Cause = r.run.cause;
    }
    return e;
  };
  const files: Record<'FAILED' | 'PENDING' | 'SUCCEEDED', { Key: string; Size: number }[]> = {
    FAILED: [],
    PENDING: [],
    SUCCEEDED: [],
  };
  const groups: Record<'FAILED' | 'SUCCEEDED', ChildRecord[]> = { FAILED: [], SUCCEEDED: [] };
  for (const r of records.filter(Boolean)) groups[r.status === 'SUCCEEDED' ? 'SUCCEEDED' : 'FAILED'].push(r);
  // PENDING would list children still running when the run ended; the local run waits for them.
  for (const status of ['SUCCEEDED', 'FAILED'] as const) {
    if (!groups[status].length) continue;
    const key = `${base}${status}_0.json`;
    const body = JSON.stringify(groups[status].map(entry));
    await host.s3!.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }),
    );
    files[status].push({ Key: key, Size: Buffer.byteLength(body) });
  }
  const manifestKey = `${base}manifest.json`;
  const manifest = { DestinationBucket: bucket, MapRunArn: run.mapRunArn, ResultFiles: files };
  await host.s3!.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: manifestKey,
      Body: JSON.stringify(manifest),
      ContentType: 'application/json',
    }),
  );
  return { Bucket: bucket, Key: manifestKey };
}

/**
 * ItemSelector for every item with `$` = the Map's input and `$$.Map.Item.Index` / `.Value`, as
 * the library evaluates an inline Map's ItemSelector (one local run of a Map of Pass states).
 */
async function selectItems(
  selector: unknown,
  items: unknown[],
  mapInput: unknown,
  host: MapRunHost,
): Promise<unknown[]> {
  const definition = {
    StartAt: 'Input',
    States: {
      Input: { Type: 'Pass', Result: mapInput ?? null, Next: 'Select' },
      Select: {
        Type: 'Map',
        ItemsPath: '$$.LocalMapItems',
        ItemSelector: selector,
        ItemProcessor: {
          ProcessorConfig: { Mode: 'INLINE' },
          StartAt: 'Out',
          States: { Out: { Type: 'Pass', End: true } },
        },
        End: true,
      },
    },
  };
  return (await evaluate(definition, host, { LocalMapItems: items })) as unknown[];
}

/** A payload template (`.$` fields, paths, intrinsic functions) against the Map's input and the parent's `$$`. */
async function evaluateParameters(template: unknown, mapInput: unknown, host: MapRunHost): Promise<unknown> {
  const definition = {
    StartAt: 'Input',
    States: {
      Input: { Type: 'Pass', Result: mapInput ?? null, Next: 'Evaluate' },
      Evaluate: { Type: 'Pass', Parameters: template, End: true },
    },
  };
  return evaluate(definition, host, {});
}

async function evaluate(
  definition: unknown,
  host: MapRunHost,
  extraContext: Record<string, unknown>,
): Promise<unknown> {
  // A JSON copy: the library treats only this realm's plain objects as payload templates.
  const machine = new StateMachine(JSON.parse(JSON.stringify(definition)), { validationOptions: { noValidate: true } });
  try {
    return await machine.run(host.context.Execution.Input as any, {
      context: { ...JSON.parse(JSON.stringify(host.context)), ...extraContext },
    }).result;
  } catch (error) {
    const cause = (error as Error & { cause?: Error }).cause ?? (error as Error);
    // A path that matches nothing: States.Runtime, as for any other state.
    throw new FatalStatesError(
      'States.Runtime',
      `An error occurred while evaluating the Distributed Map's fields: ${cause.message}`,
    );
  }
}

/** `X` or `XPath` of a state (e.g. MaxConcurrency / MaxConcurrencyPath), resolved against the Map's input. */
function numberField(state: any, field: string, input: unknown): number | undefined {
  const value = state[`${field}Path`] !== undefined ? readPath(input, state[`${field}Path`]) : state[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new FatalStatesError(
      'States.Runtime',
      `The Distributed Map's ${field} must be a non-negative number (got ${JSON.stringify(value)})`,
    );
  }
  return value;
}

function positiveIntegerOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : fallback;
}

/** The value at a simple `$.a.b` path (the paths Wait `SecondsPath` and these Map fields take). */
export function readPath(input: unknown, path: string): unknown {
  return path
    .replace(/^\$\.?/, '')
    .split('.')
    .filter(Boolean)
    .reduce<any>((v, k) => (v == null ? undefined : v[k]), input);
}

interface ParsedArn {
  region: string;
  account: string;
  machine: string;
}

function parseExecutionArn(arn: string): ParsedArn {
  // arn:aws:states:<region>:<account>:execution:<machine>:<name>
  const parts = arn.split(':');
  return {
    region: parts[3] || 'us-east-1',
    account: parts[4] || '000000000000',
    machine: (parts[6] || 'local').split('/')[0],
  };
}
