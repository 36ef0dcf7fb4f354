/** ResultWriter for a local map run: the files Step Functions writes, in its format. */
/* eslint-disable @typescript-eslint/no-explicit-any -- ASL states are JSON of any shape, as in runner.ts (whose rule eslint.config.mjs turns off) */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { evaluateParameters, statesError, type ParsedArn } from './map-fields';
import type { ChildRecord, MapRunHost } from './map-run-host';

/** The only ResultWriter the local runner implements. */
export const PUT_OBJECT = 'arn:aws:states:::s3:putObject';

/** ResultWriter: `<Prefix>/<map run id>/manifest.json` and one file per status with entries, in Step Functions' format. */
export async function writeResults(
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
