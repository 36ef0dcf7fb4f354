import { DRILL_TAG_KEY } from '../../lib/names';
import { CreateKeyCommand, ListKeyRotationsCommand, ScheduleKeyDeletionCommand, type RotationsListEntry } from '@aws-sdk/client-kms';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { Aws, type AwsFlags } from '../aws';
import { CliError, fromAwsError } from '../errors';
import { EXIT, exitCodeForRun, type ExitCode } from '../exit-codes';
import { followExecution, printOutcome, type ExecutionResult } from '../follow';
import { colourFor, lineWriter, nowOf, type Io } from '../io';
import { homeOfArn } from '../keys';
import { intervalMs } from '../options';
import { consoleUrl, executionName, type ManualRequest } from './start';

export interface DrillOptions extends AwsFlags {
  stateMachine?: string;
  interval?: number;
}

export const DRILL_TAG = { TagKey: DRILL_TAG_KEY, TagValue: 'true' };
/** The shortest deletion window KMS allows. */
const DELETION_DAYS = 7;

interface Step {
  name: string;
  pass: boolean;
  detail: string;
}

/**
 * End-to-end drill in a real account: a throwaway key, the real workflow on it (reason "drill",
 * force), confirmation in ListKeyRotations, and the key scheduled for deletion whatever happens.
 */
export async function drill(io: Io, opts: DrillOptions): Promise<ExitCode> {
  const err = lineWriter(io.stderr);
  const aws = new Aws(opts, io.env);
  const identity = await aws.callerIdentity();
  const stateMachineArn = await aws.stateMachineArn(opts.stateMachine, io.env);
  const region = homeOfArn(stateMachineArn)?.region ?? (await aws.region());
  const kms = aws.kms(region);
  const steps: Step[] = [];
  const now = nowOf(io)();

  // Failing before a key exists is an ordinary error (exit 2/4): there is nothing to clean up.
  const created = await aws.call('kms:CreateKey', () =>
    kms.send(
      new CreateKeyCommand({
        Description: `kms-incident-rotation drill ${now.toISOString().slice(0, 10)} by ${identity.arn} (throwaway; scheduled for deletion by kms-rotate drill)`,
        KeySpec: 'SYMMETRIC_DEFAULT',
        KeyUsage: 'ENCRYPT_DECRYPT',
        Tags: [DRILL_TAG],
      }),
    ),
  );
  const keyArn = created.KeyMetadata?.Arn;
  if (!keyArn) throw new CliError('KMS CreateKey returned no key ARN.', EXIT.AWS);
  steps.push({ name: 'create a throwaway key', pass: true, detail: keyArn });
  err(`Drill key ${keyArn} (tagged ${DRILL_TAG.TagKey}=${DRILL_TAG.TagValue})`);

  let result: ExecutionResult | null = null;
  try {
    const input: ManualRequest = { keyId: keyArn, reason: 'drill', dryRun: false, force: true, requestedBy: identity.arn };
    const name = executionName(keyArn, nowOf(io)()).replace(/^manual-/, 'drill-');
    const started = await aws.call('states:StartExecution', () =>
      aws.sfn(region).send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) })),
    );
    if (!started.executionArn) throw new CliError('Step Functions StartExecution returned no execution ARN.', EXIT.AWS);
    steps.push({ name: 'start the workflow (reason "drill", force)', pass: true, detail: started.executionArn });
    err(`Started ${name}\n  ${consoleUrl(started.executionArn)}`);

    result = await followExecution(aws, io, started.executionArn, { traceTo: io.stderr, traceStream: 'stderr', intervalMs: intervalMs(io, opts.interval) });
    const outcome = result.summary?.keys[0];
    const rotated = result.status === 'SUCCEEDED' && outcome?.outcome === 'ROTATED';
    steps.push({
      name: 'the workflow rotated the key',
      pass: rotated,
      detail: `execution ${result.status}, key ${outcome ? `${outcome.outcome}${outcome.reason ? ` ${outcome.reason}` : ''}` : 'not in the summary'} (exit ${exitCodeForRun(result.status, result.summary)})`,
    });

    const rotations = await listRotations(aws, kms, keyArn);
    const onDemand = rotations.filter((r) => r.RotationType === 'ON_DEMAND');
    steps.push({
      name: 'ListKeyRotations shows an ON_DEMAND rotation',
      pass: onDemand.length > 0,
      detail: onDemand.length ? `${onDemand.length} on demand, newest ${onDemand[0]?.RotationDate?.toISOString() ?? '?'}` : `${rotations.length} rotation(s), none ON_DEMAND`,
    });
  } catch (error) {
    const known = fromAwsError(error);
    if (!known && !(error instanceof CliError)) throw error;
    steps.push({ name: 'drill step', pass: false, detail: (known ?? (error as CliError)).message });
  } finally {
    try {
      await aws.call('kms:ScheduleKeyDeletion', () => kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyArn, PendingWindowInDays: DELETION_DAYS })));
      steps.push({ name: `schedule the key for deletion (${DELETION_DAYS} days)`, pass: true, detail: keyArn });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      steps.push({ name: `schedule the key for deletion (${DELETION_DAYS} days)`, pass: false, detail: `${message} - delete it by hand: aws kms schedule-key-deletion --key-id ${keyArn} --pending-window-in-days ${DELETION_DAYS}` });
    }
  }

  if (result) printOutcome(io, result, io.stderr);
  const p = colourFor(io, 'stdout');
  const out = lineWriter(io.stdout);
  const pass = steps.every((s) => s.pass);
  out(`Drill report (${region}, ${identity.arn})`);
  for (const s of steps) out(`  ${p.outcome(s.pass ? 'PASS' : 'FAIL')}  ${s.name}: ${s.detail}`);
  out(`Drill ${p.outcome(pass ? 'PASS' : 'FAIL')}`);
  return pass ? EXIT.OK : EXIT.FAILED;
}

async function listRotations(aws: Aws, kms: ReturnType<Aws['kms']>, keyArn: string): Promise<RotationsListEntry[]> {
  const all: RotationsListEntry[] = [];
  let marker: string | undefined;
  do {
    const page = await aws.call('kms:ListKeyRotations', () => kms.send(new ListKeyRotationsCommand({ KeyId: keyArn, Marker: marker })));
    all.push(...(page.Rotations ?? []));
    marker = page.Truncated ? page.NextMarker : undefined;
  } while (marker);
  return all.sort((a, b) => (b.RotationDate?.getTime() ?? 0) - (a.RotationDate?.getTime() ?? 0));
}
