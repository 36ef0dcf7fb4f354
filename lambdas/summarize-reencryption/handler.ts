import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { s3Client } from '../adapters/s3-client';
import { loadConfig, RESULTS_BUCKET_ENV } from '../adapters/config';
import { dynamoClient } from '../adapters/dynamodb-client';
import { taskHandler } from '../adapters/lambda-handler';
import { Ledger } from '../adapters/ledger';
import { emitReencryption } from '../adapters/metrics';
import { jsonArrayElements } from '../adapters/reencryption/json-array-stream';
import {
  advanceReencryption,
  emptyTargetReport,
  failedBatchReport,
  mergeReports,
  stepFunctionsError,
  type ReencryptBatchInput,
  type ReencryptionState,
  type TargetReport,
} from '../domain/reencryption';

/**
 * SummarizeReencryption: after the Distributed Map ran `current`, read its ResultWriter
 * files, sum the children's batch reports into the target's report, write the key's audit entry,
 * and advance the loop.
 *
 * ResultWriter (Step Functions guide, "ResultWriter (Map)"): `<prefix>/<map run id>/manifest.json`
 * = `{ DestinationBucket, MapRunArn, ResultFiles: { SUCCEEDED | FAILED | PENDING: [{ Key, Size }] } }`;
 * each result file is a JSON array of child executions `{ ExecutionArn, Name, Status, StartDate,
 * StopDate, Input, Output, Error?, Cause? }` where Input and Output are JSON strings.
 */

interface SummarizeInput {
  reencryption: ReencryptionState;
  executionArn: string;
}

interface ChildExecution {
  Status?: string;
  StartDate?: string;
  StopDate?: string;
  Input?: string;
  Output?: string;
  Error?: string;
  Cause?: string;
}
interface Manifest {
  DestinationBucket?: string;
  ResultFiles?: Partial<Record<'SUCCEEDED' | 'FAILED' | 'PENDING', { Key: string; Size?: number }[]>>;
}

export interface SummarizeDeps {
  s3: Pick<S3Client, 'send'>;
  ledger: Pick<Ledger, 'recordReencryption'>;
  /** Where to look for the manifest when the map run failed (env RESULTS_BUCKET). */
  resultsBucket?: string;
  now?: Date;
}

const executionName = (arn: string) => arn.slice(arn.lastIndexOf(':') + 1);

async function readJson<T>(s3: SummarizeDeps['s3'], bucket: string, key: string): Promise<T> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return JSON.parse(await out.Body!.transformToString()) as T;
}

/**
 * The child executions of one result file, one at a time: the file is read as a stream and never
 * whole (about 143 MB at a million objects, in a 512 MB function), so memory holds one child's
 * entry (its Input and Output are at most 256 KiB each) whatever the file's size.
 */
async function* childExecutions(s3: SummarizeDeps['s3'], bucket: string, key: string): AsyncGenerator<ChildExecution> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  for await (const child of jsonArrayElements(out.Body as unknown as AsyncIterable<Uint8Array>))
    yield child as ChildExecution;
}

/** The manifest's location: the map run's ResultWriterDetails, else the first manifest.json under this unit's prefix. */
async function manifestLocation(
  state: ReencryptionState,
  executionArn: string,
  deps: SummarizeDeps,
): Promise<{ Bucket: string; Key: string } | null> {
  if (state.mapRun?.ResultWriterDetails) return state.mapRun.ResultWriterDetails;
  if (!deps.resultsBucket) return null;
  const prefix = `reencryption/${executionName(executionArn)}/${state.index}/`;
  let token: string | undefined;
  do {
    const page = await deps.s3.send(
      new ListObjectsV2Command({ Bucket: deps.resultsBucket, Prefix: prefix, ContinuationToken: token }),
    );
    const manifest = page.Contents?.find((o) => o.Key?.endsWith('/manifest.json'));
    if (manifest?.Key) return { Bucket: deps.resultsBucket, Key: manifest.Key };
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return null;
}

/** Sum one unit's map run into its TargetReport, record it, and advance the state. */
export async function summarizeReencryption(input: SummarizeInput, deps: SummarizeDeps): Promise<ReencryptionState> {
  const state = input.reencryption;
  const unit = state.current;
  if (!unit) return { ...state, mapRun: null, mapRunError: null };
  // The children's reports are summed as they are read: nothing grows with the number of children.
  let summed = emptyTargetReport(unit.type, unit.bucket, unit.prefix, unit.keyArn, unit.origin);
  let started = Infinity;
  let stopped = -Infinity;
  const location = await manifestLocation(state, input.executionArn, deps);
  if (location) {
    const manifest = await readJson<Manifest>(deps.s3, location.Bucket, location.Key);
    const bucket = manifest.DestinationBucket ?? location.Bucket;
    for (const status of ['SUCCEEDED', 'FAILED', 'PENDING'] as const) {
      for (const file of manifest.ResultFiles?.[status] ?? []) {
        for await (const child of childExecutions(deps.s3, bucket, file.Key)) {
          if (child.StartDate) started = Math.min(started, Date.parse(child.StartDate));
          if (child.StopDate) stopped = Math.max(stopped, Date.parse(child.StopDate));
          if (status === 'SUCCEEDED' && child.Output) {
            summed = mergeReports(summed, JSON.parse(child.Output) as TargetReport);
            continue;
          }
          // A failed or never-run child: its items count as scanned and failed with its error.
          const items = child.Input ? ((JSON.parse(child.Input) as Partial<ReencryptBatchInput>).Items ?? []) : [];
          const error =
            status === 'PENDING'
              ? 'Pending: the child execution never ran (the map run stopped first)'
              : stepFunctionsError({ Error: child.Error ?? 'States.TaskFailed', Cause: child.Cause });
          summed = mergeReports(
            summed,
            failedBatchReport(
              unit,
              items.map((i) => i.key),
              error,
            ),
          );
        }
      }
    }
  }
  const error = state.mapRunError
    ? stepFunctionsError(state.mapRunError)
    : location
      ? null
      : 'ResultsNotFound: the map run left no ResultWriter manifest';
  const report: TargetReport = {
    ...summed,
    status: error ? 'FAILED' : 'COMPLETED',
    error,
    durationMs: Number.isFinite(started) && stopped >= started ? stopped - started : 0,
  };
  await deps.ledger.recordReencryption({
    keyArn: unit.keyArn,
    at: (deps.now ?? new Date()).toISOString(),
    executionArn: input.executionArn,
    index: state.index,
    report,
  });
  // After the audit entry, as Record does: a retry counts the target again only if it wrote twice.
  emitReencryption(report);
  return advanceReencryption(state, report);
}

export const handler = taskHandler('summarize-reencryption', (input: SummarizeInput) => {
  const config = loadConfig();
  return summarizeReencryption(input, {
    s3: s3Client(config.region),
    ledger: new Ledger(config.ledgerTable, dynamoClient(config.region)),
    resultsBucket: process.env[RESULTS_BUCKET_ENV] || undefined,
  });
});
