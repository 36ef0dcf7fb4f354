import { randomBytes } from 'node:crypto';
import { InvalidArgumentError } from 'commander';
import { classifyKeyRef, InvalidRequestError, parseIncident } from '../../lambdas/domain/intake/intake';
import { BUCKET_NAME_EXPECTED, isBucketName, MAX_PREFIX_LENGTH } from '../../lambdas/domain/intake/targets';
import { REENCRYPTION_KINDS, type ReencryptTargetSpec } from '../../lambdas/domain/reencryption';
import { reencryptArgument } from '../../lambdas/domain/notification/message-reencryption';
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
  /** `--reencrypt`, repeatable (parsed by parseReencryptOption). */
  reencrypt?: ReencryptTargetSpec[];
  /** `kms-rotate reencrypt`: re-encrypt only, no rotation, from this exposure time (ISO 8601). */
  reencryptOnly?: { exposedAt: string };
}

/** What `start` sends to the front door (POST /requests, or /break-glass with --force). */
interface StartBody {
  keyId: string;
  reason: string;
  dryRun: boolean;
  name: string;
  /** Only when --reencrypt was given. */
  reEncrypt?: { targets: ReencryptTargetSpec[] };
  /** Only for `kms-rotate reencrypt`. */
  reEncryptOnly?: true;
  exposedAt?: string;
}

const FIELD_NAMES: Record<string, string> = {
  keyId: '--key',
  reason: '--reason',
  dryRun: '--dry-run',
  force: '--force',
  exposedAt: '--exposed-at',
  reEncryptOnly: '--exposed-at',
};

const REENCRYPT_EXPECTED = `expected ${REENCRYPTION_KINDS.map((k) => `${k}:<bucket>[/<prefix>]`).join(' or ')}`;

/**
 * One `--reencrypt` value: `s3-sse-kms:bucket/prefix` or `envelope:bucket/prefix` (`bucket` alone,
 * or `bucket/`, is the whole bucket), added to the ones before. Commander prints the message and
 * exits 2 before anything is sent.
 */
export function parseReencryptOption(
  value: string,
  previous: ReencryptTargetSpec[] | undefined,
): ReencryptTargetSpec[] {
  const colon = value.indexOf(':');
  const type = colon < 0 ? '' : value.slice(0, colon);
  const kind = REENCRYPTION_KINDS.find((k) => k === type);
  if (!kind) throw new InvalidArgumentError(`${REENCRYPT_EXPECTED}, got ${JSON.stringify(value.slice(0, 200))}`);
  const rest = value.slice(colon + 1);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const prefix = slash < 0 ? '' : rest.slice(slash + 1);
  const given = JSON.stringify(bucket.slice(0, 200));
  if (!isBucketName(bucket))
    throw new InvalidArgumentError(`${REENCRYPT_EXPECTED}: ${BUCKET_NAME_EXPECTED}, got ${given}`);
  if (prefix.length > MAX_PREFIX_LENGTH)
    throw new InvalidArgumentError(
      `${REENCRYPT_EXPECTED}: the prefix is at most ${MAX_PREFIX_LENGTH} characters (an S3 key prefix), got ${prefix.length}`,
    );
  return [...(previous ?? []), { type: kind, bucket, prefix }];
}

/**
 * Validates --key, --reason and --reencrypt exactly as the workflow's Intake will
 * (parseIncident's manual request rules), before anything is sent; the error names the option.
 */
export function validateManualRequest(
  key: string,
  reason: string,
  reencrypt: ReencryptTargetSpec[] = [],
  only?: { exposedAt: string },
): { keyId: string; reason: string } {
  try {
    // Placeholder account/Region: only the shape of the request is checked here.
    const reEncrypt = reencrypt.length > 0 ? { reEncrypt: { targets: reencrypt } } : {};
    const reEncryptOnly = only ? { reEncryptOnly: true, exposedAt: only.exposedAt } : {};
    const req = parseIncident(
      { keyId: key, reason, ...reEncrypt, ...reEncryptOnly },
      { account: '000000000000', region: 'us-east-1', newRequestId: () => 'validation' },
    );
    return { keyId: key.trim(), reason: req.reason };
  } catch (error) {
    if (error instanceof InvalidRequestError) {
      const message = error.message
        .split('; ')
        .map((part) =>
          part
            .replace(/^(keyId|reason|dryRun|force|exposedAt|reEncryptOnly):/, (_, f: string) => `${FIELD_NAMES[f]}:`)
            .replace(
              /^reEncrypt\.targets\[(\d+)\][^:]*:/,
              (_, i: string) =>
                `--reencrypt ${reencryptArgument(reencrypt[Number(i)] ?? { type: 's3-sse-kms', bucket: '?', prefix: '' })}:`,
            )
            .replace(/^reEncrypt(\.targets)?:/, '--reencrypt:'),
        )
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
  short =
    short
      .replace(/[^A-Za-z0-9_-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'key';
  const stamp = now
    .toISOString()
    .replace(/\.\d+Z$/, '')
    .replace(/[-:]/g, '');
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
  const targets = opts.reencrypt ?? [];
  const { keyId, reason } = validateManualRequest(opts.key, opts.reason, targets, opts.reencryptOnly);
  const err = lineWriter(io.stderr);
  const aws = new Aws(opts, io.env);
  // Who you are and which stack: checked before anything is sent (the front door reads who you
  // are again from the signature; that is what is recorded).
  await aws.callerIdentity();
  await aws.stateMachineArn(opts.stateMachine, io.env);
  const force = opts.force === true;
  const body: StartBody = {
    keyId,
    reason,
    dryRun: opts.dryRun === true,
    name: executionName(keyId, nowOf(io)()),
    ...(targets.length > 0 ? { reEncrypt: { targets } } : {}),
    ...(opts.reencryptOnly ? { reEncryptOnly: true as const, exposedAt: opts.reencryptOnly.exposedAt } : {}),
  };
  const out = await callFrontDoor(
    aws,
    io,
    STACK_NAME,
    force ? 'breakGlass' : 'request',
    {},
    body,
    force ? 'start a forced (break-glass) run' : 'start the run',
  );
  const executionArn = typeof out.executionArn === 'string' ? out.executionArn : '';
  if (!executionArn) throw new CliError('The front door returned no execution ARN.', EXIT.AWS);
  const name = typeof out.name === 'string' ? out.name : body.name;
  const input = {
    ...body,
    force,
    requestedBy:
      typeof (out.input as { requestedBy?: unknown })?.requestedBy === 'string'
        ? (out.input as { requestedBy: string }).requestedBy
        : null,
  };
  err(
    `Started ${clean(name)}${input.dryRun ? ' (dry run)' : ''}${force ? ' (force)' : ''}${opts.reencryptOnly ? ' (re-encrypt only, no rotation)' : ''} as ${clean(input.requestedBy ?? 'unknown')}`,
  );
  if (targets.length > 0) err(`  then re-encrypts: ${targets.map((t) => clean(reencryptArgument(t))).join(', ')}`);
  err(`  ${clean(consoleUrl(executionArn))}`);

  if (!opts.wait) {
    if (opts.json)
      io.stdout.write(
        `${JSON.stringify({ executionArn, name, startDate: typeof out.startDate === 'string' ? out.startDate : null, input }, null, 2)}\n`,
      );
    else io.stdout.write(`${executionArn}\n`);
    err(`Not following it (--no-wait). Follow with: kms-rotate watch ${executionArn}`);
    return EXIT.OK;
  }
  return followAndReport(aws, io, executionArn, { json: opts.json, intervalMs: intervalMs(io, opts.interval) });
}
