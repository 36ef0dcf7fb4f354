/**
 * The Distributed Map state, executed locally as Step Functions executes it: aws-local-stepfunctions
 * runs a Map as an inline Map and ignores `ItemReader`, `ItemBatcher` and `ResultWriter`. The runner
 * replaces each Distributed Map of its working copy by a local Task (keeping InputPath,
 * ResultSelector, ResultPath, OutputPath, Retry, Catch, Next/End, which the library applies), whose
 * handler is the map run below. Each rule names the AWS page it follows; local/README.md lists them.
 * Items and batches: map-items.ts; fields and errors: map-fields.ts; ResultWriter: map-results.ts.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- ASL states are JSON of any shape, as in runner.ts (whose rule eslint.config.mjs turns off) */
import { randomUUID } from 'node:crypto';
import { numberField, parseExecutionArn, positiveIntegerOr, statesError } from './map-fields';
import { batch, LIST_OBJECTS_V2, readItems, selectItems } from './map-items';
import { PUT_OBJECT, writeResults } from './map-results';
import type { ChildRecord, ChildRun, ExecutionType, MapRunHost, MapRunSummary } from './map-run-host';

export type { ChildRun, MapRunHost, MapRunSummary } from './map-run-host';
/** Also read by the sandbox's history (local/sandbox/history.ts). */
export { readPath } from './map-fields';

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
  // Simulated time, per concurrency slot: a child's time is its own (work 1:1, waits at speed:
  // local/runner/sim-clock.ts), and the next child in the same slot starts when it stops, so the run's
  // start and stop dates (what SummarizeReencryption reports as the duration) are simulated time
  // at any speed. The slots start together, at the map run's start.
  const mapStartedAt = host.now?.() ?? Date.now();
  const worker = async () => {
    let slotTime = mapStartedAt;
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
      const startedAt = slotTime;
      let run: ChildRun;
      try {
        run = await host.runChild({
          definition: processor,
          input: child.input,
          executionArn,
          executionName: name,
          executionType,
          startedAt,
        });
      } finally {
        running -= 1;
      }
      slotTime = Math.max(startedAt, run.stoppedAt);
      host.addChildMetrics(run.metrics);
      const status = run.status === 'SUCCEEDED' ? 'SUCCEEDED' : run.error === 'States.Timeout' ? 'TIMED_OUT' : 'FAILED';
      records[index] = {
        executionArn,
        name,
        input: child.input,
        run,
        status,
        startDate: new Date(startedAt),
        stopDate: new Date(slotTime),
      };
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
