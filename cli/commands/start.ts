import { randomBytes } from 'node:crypto';
import { classifyKeyRef, InvalidRequestError, parseIncident } from '../../lambdas/domain/intake/intake';
import { Aws, STACK_NAME, type AwsFlags } from '../aws';
import { CliError, usageError } from '../errors';
import { EXIT, type ExitCode } from '../exit-codes';
import { followAndReport } from '../follow';
import { callFrontDoor } from '../front-door';
import { clean } from '../sanitise';
import { lineWriter, nowOf, type Io } from '../io';
import { homeOfArn } from '../keys';
import { intervalMs } from '../options';

export interface StartOptions extends AwsFlags {
  key: string;
  reason: string;
  dryRun?: boolean;
  force?: boolean;
  wait: boolean;
  json?: boolean;
  stateMachine?: string;
  interval?: number;
}

/** What `start` sends to the front door (POST /requests, or /break-glass with --force). */
interface StartBody {
  keyId: string;
  reason: string;
  dryRun: boolean;
  name: string;
}

const FIELD_NAMES: Record<string, string> = { keyId: '--key', reason: '--reason', dryRun: '--dry-run', force: '--force' };

/**
 * Validates --key and --reason exactly as the workflow's Intake will (parseIncident's manual
 * request rules), before anything is sent; the error names the option.
 */
export function validateManualRequest(key: string, reason: string): { keyId: string; reason: string } {
  try {
    // Placeholder account/Region: only the shape of the request is checked here.
    const req = parseIncident({ keyId: key, reason }, { account: '000000000000', region: 'us-east-1', newRequestId: () => 'validation' });
    return { keyId: key.trim(), reason: req.reason };
  } catch (error) {
    if (error instanceof InvalidRequestError) {
      const message = error.message
        .split('; ')
        .map((part) => part.replace(/^(keyId|reason|dryRun|force):/, (_, f: string) => `${FIELD_NAMES[f]}:`))
        .join('; ');
      throw usageError(message);
    }
    throw error;
  }
}

/**
 * `manual-<key, short>-<UTC yyyymmddThhmmss>-<4 hex>`: at most 80 characters of [A-Za-z0-9-_],
 * readable in the console's execution list, unique enough that two on-call engineers never clash.
 */
export function executionName(key: string, now: Date, random: string = randomBytes(2).toString('hex')): string {
  const info = classifyKeyRef(key.trim());
  let short: string;
  if (info?.id) short = info.id.startsWith('mrk-') ? info.id.slice(0, 12) : info.id.slice(0, 8);
  else if (info?.alias) short = info.alias.replace(/^alias\//, 'alias-');
  else short = key;
  short = short.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'key';
  const stamp = now.toISOString().replace(/\.\d+Z$/, '').replace(/[-:]/g, '');
  const suffix = random.replace(/[^A-Za-z0-9]/g, '').slice(0, 4);
  return `manual-${short}-${stamp}-${suffix}`.slice(0, 80);
}

export function consoleUrl(executionArn: string): string {
  const region = homeOfArn(executionArn)?.region ?? 'us-east-1';
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}

/**
 * `kms-rotate start`: validate locally, send the request to the front door (signed with your
 * credentials; `--force` goes to the break-glass route, which needs the break-glass policy), then
 * follow the execution it started (unless --no-wait). The front door records who you are.
 */
export async function start(io: Io, opts: StartOptions): Promise<ExitCode> {
  const { keyId, reason } = validateManualRequest(opts.key, opts.reason);
  const err = lineWriter(io.stderr);
  const aws = new Aws(opts, io.env);
  // Who you are and which stack: checked before anything is sent (the front door reads who you
  // are again from the signature; that is what is recorded).
  await aws.callerIdentity();
  await aws.stateMachineArn(opts.stateMachine, io.env);
  const force = opts.force === true;
  const body: StartBody = { keyId, reason, dryRun: opts.dryRun === true, name: executionName(keyId, nowOf(io)()) };
  const out = await callFrontDoor(aws, io, STACK_NAME, force ? 'breakGlass' : 'request', {}, body, force ? 'start a forced (break-glass) run' : 'start the run');
  const executionArn = typeof out.executionArn === 'string' ? out.executionArn : '';
  if (!executionArn) throw new CliError('The front door returned no execution ARN.', EXIT.AWS);
  const name = typeof out.name === 'string' ? out.name : body.name;
  const input = { ...body, force, requestedBy: typeof (out.input as { requestedBy?: unknown })?.requestedBy === 'string' ? (out.input as { requestedBy: string }).requestedBy : null };
  err(`Started ${clean(name)}${input.dryRun ? ' (dry run)' : ''}${force ? ' (force)' : ''} as ${clean(input.requestedBy ?? 'unknown')}`);
  err(`  ${clean(consoleUrl(executionArn))}`);

  if (!opts.wait) {
    if (opts.json) io.stdout.write(`${JSON.stringify({ executionArn, name, startDate: typeof out.startDate === 'string' ? out.startDate : null, input }, null, 2)}\n`);
    else io.stdout.write(`${executionArn}\n`);
    err(`Not following it (--no-wait). Follow with: kms-rotate watch ${executionArn}`);
    return EXIT.OK;
  }
  return followAndReport(aws, io, executionArn, { json: opts.json, intervalMs: intervalMs(io, opts.interval) });
}
