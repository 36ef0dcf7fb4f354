import { DRILL_TAG_KEY } from '../../lib/names';
import { DRILL_DELETION_DAYS } from '../../lambdas/domain/drill';
import { ListKeyRotationsCommand, type RotationsListEntry } from '@aws-sdk/client-kms';
import { Aws, STACK_NAME, type AwsFlags } from '../aws';
import { CliError, fromAwsError } from '../errors';
import { EXIT, exitCodeForRun, type ExitCode } from '../exit-codes';
import { followExecution, printOutcome, type ExecutionResult } from '../follow';
import { colourFor, lineWriter, nowOf, type Io } from '../io';
import { callFrontDoor } from '../front-door';
import { intervalMs } from '../options';
import { clean } from '../sanitise';
import { consoleUrl, executionName } from './start';

export interface DrillOptions extends AwsFlags {
  stateMachine?: string;
  interval?: number;
}

export const DRILL_TAG = { TagKey: DRILL_TAG_KEY, TagValue: 'true' };
const DELETION_DAYS = DRILL_DELETION_DAYS;

interface Step {
  name: string;
  pass: boolean;
  detail: string;
}

/**
 * End-to-end drill in a real account, through the front door: the stack's drill component creates
 * a throwaway key, the real workflow rotates it (reason "drill"), ListKeyRotations confirms it, and
 * the drill component schedules the key for deletion whatever happens.
 */
export async function drill(io: Io, opts: DrillOptions): Promise<ExitCode> {
  const err = lineWriter(io.stderr);
  const aws = new Aws(opts, io.env);
  const identity = await aws.callerIdentity();
  const region = await aws.region();
  const kms = aws.kms(region);
  const steps: Step[] = [];

  // The stack's drill component creates the key (tagged as a drill) and is the only one that can
  // delete it: people hold no kms:CreateKey, TagResource or ScheduleKeyDeletion.
  const created = await callFrontDoor(aws, io, STACK_NAME, 'drill', {}, {}, 'create a drill key');
  const keyArn = typeof created.keyArn === 'string' ? created.keyArn : '';
  if (!keyArn) throw new CliError('The front door returned no drill key ARN.', EXIT.AWS);
  steps.push({ name: 'create a throwaway key', pass: true, detail: clean(keyArn) });
  err(`Drill key ${clean(keyArn)} (tagged ${DRILL_TAG.TagKey}=${DRILL_TAG.TagValue})`);

  let result: ExecutionResult | null = null;
  try {
    const name = executionName(keyArn, nowOf(io)()).replace(/^manual-/, 'drill-');
    const started = await callFrontDoor(
      aws,
      io,
      STACK_NAME,
      'request',
      {},
      { keyId: keyArn, reason: 'drill', dryRun: false, name },
      'start the drill run',
    );
    const executionArn = typeof started.executionArn === 'string' ? started.executionArn : '';
    if (!executionArn) throw new CliError('The front door returned no execution ARN.', EXIT.AWS);
    steps.push({ name: 'start the workflow (reason "drill")', pass: true, detail: clean(executionArn) });
    err(`Started ${clean(name)}\n  ${clean(consoleUrl(executionArn))}`);

    result = await followExecution(aws, io, executionArn, {
      traceTo: io.stderr,
      traceStream: 'stderr',
      intervalMs: intervalMs(io, opts.interval),
    });
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
      detail: onDemand.length
        ? `${onDemand.length} on demand, newest ${onDemand[0]?.RotationDate?.toISOString() ?? '?'}`
        : `${rotations.length} rotation(s), none ON_DEMAND`,
    });
  } catch (error) {
    const known = fromAwsError(error);
    if (!known && !(error instanceof CliError)) throw error;
    steps.push({ name: 'drill step', pass: false, detail: (known ?? (error as CliError)).message });
  } finally {
    try {
      const keyId = keyArn.split('/').pop() ?? keyArn;
      await callFrontDoor(aws, io, STACK_NAME, 'drillCleanup', { keyId }, {}, 'schedule the drill key for deletion');
      steps.push({ name: `schedule the key for deletion (${DELETION_DAYS} days)`, pass: true, detail: clean(keyArn) });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      steps.push({
        name: `schedule the key for deletion (${DELETION_DAYS} days)`,
        pass: false,
        detail: `${clean(message)} - ask an administrator to schedule ${clean(keyArn)} for deletion`,
      });
    }
  }

  if (result) printOutcome(io, result, io.stderr);
  const p = colourFor(io, 'stdout');
  const out = lineWriter(io.stdout);
  const pass = steps.every((s) => s.pass);
  out(`Drill report (${region}, ${clean(identity.arn)})`);
  for (const s of steps) out(`  ${p.outcome(s.pass ? 'PASS' : 'FAIL')}  ${s.name}: ${s.detail}`);
  out(`Drill ${p.outcome(pass ? 'PASS' : 'FAIL')}`);
  return pass ? EXIT.OK : EXIT.FAILED;
}

async function listRotations(aws: Aws, kms: ReturnType<Aws['kms']>, keyArn: string): Promise<RotationsListEntry[]> {
  const all: RotationsListEntry[] = [];
  let marker: string | undefined;
  do {
    const page = await aws.call('kms:ListKeyRotations', () =>
      kms.send(new ListKeyRotationsCommand({ KeyId: keyArn, Marker: marker })),
    );
    all.push(...(page.Rotations ?? []));
    marker = page.Truncated ? page.NextMarker : undefined;
  } while (marker);
  return all.sort((a, b) => (b.RotationDate?.getTime() ?? 0) - (a.RotationDate?.getTime() ?? 0));
}
