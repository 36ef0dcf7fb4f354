import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { approve, deny } from './commands/approve';
import { check } from './commands/check';
import { drill } from './commands/drill';
import { resolve } from './commands/resolve';
import { sandbox } from './commands/sandbox';
import { DEFAULT_SPEED, simulateCommand } from './commands/simulate';
import { parseReencryptOption, start } from './commands/start';
import { reencrypt } from './commands/reencrypt';
import { status } from './commands/status';
import { watch } from './commands/watch';
import { CliError, fromAwsError } from './errors';
import { EXIT, EXIT_CODE_HELP, type ExitCode } from './exit-codes';
import type { Io } from './io';
import { guardOutput } from './sanitise';
import { STACK_NAME } from '../lib/names';
import {
  nonNegativeInteger,
  positiveInteger,
  positiveNumber,
  withAwsOptions,
  withIntervalOption,
  withStateMachineOption,
} from './options';

export type { Io } from './io';

const ENVIRONMENT_HELP = `Environment:
  AWS_PROFILE, AWS_REGION      credentials profile and Region (or --profile / --region)
  KMS_ROTATE_STATE_MACHINE     the workflow's state machine ARN (or --state-machine)
  NO_COLOR                     no colour even on a terminal
  KMS_ROTATE_DEBUG=1           print stack traces of unexpected errors`;

const REENCRYPT_HELP = `Re-encryption (--reencrypt):
  Rotating gives the key new material but does not change the data keys already issued. With
  --reencrypt, once the rotation is confirmed, the workflow re-encrypts the objects under the key in
  s3://<bucket>/<prefix> with NEW data keys (<bucket> alone, or <bucket>/, is the whole bucket):
    s3-sse-kms:<bucket>[/<prefix>]  SSE-KMS objects, copied onto themselves (S3 makes a new data key)
    envelope:<bucket>[/<prefix>]    AWS Encryption SDK messages, decrypted and encrypted again
  Only buckets listed in the stack's reEncryptBuckets setting can be touched (IAM names only those):
  any other target is refused and reported, and the rotation goes on. With --dry-run nothing is
  re-encrypted; the summary says what would be. The summary reports per target the objects scanned,
  re-encrypted, skipped and failed and the old versions left; a failed re-encryption fails the
  execution (exit 1) but never undoes the rotation.
`;

function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
}

/**
 * kms-rotate: the on-call command line of kms-incident-rotation.
 *
 * `main` never exits the process: it returns the exit code (see exit-codes.ts), writes results to
 * io.stdout and progress and errors to io.stderr, and prints no stack trace for expected errors.
 */
export async function main(argv: readonly string[], given: Io): Promise<ExitCode> {
  // Whatever a command writes passes the sanitiser's last check (see sanitise.ts).
  const io: Io = {
    ...given,
    stdout: { write: (s: string) => given.stdout.write(guardOutput(s)) },
    stderr: { write: (s: string) => given.stderr.write(guardOutput(s)) },
  };
  let code: ExitCode = EXIT.OK;
  const run = (fn: () => Promise<ExitCode>) => async () => {
    code = await fn();
  };
  const program = buildProgram(io, (fn) => run(fn)());
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (error) {
    return handleError(error, io);
  }
}

function handleError(error: unknown, io: Io): ExitCode {
  if (error instanceof CommanderError) {
    // Help and --version are successes; every parse error is bad input (already printed).
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.OK;
    if (error.code === 'commander.help' && error.exitCode === 0) return EXIT.OK;
    return EXIT.USAGE;
  }
  const known = error instanceof CliError ? error : fromAwsError(error);
  if (known) {
    io.stderr.write(`kms-rotate: ${known.message}\n`);
    return known.exitCode;
  }
  const message = error instanceof Error ? `${error.name}: ${error.message.split('\n')[0]}` : String(error);
  io.stderr.write(`kms-rotate: unexpected error: ${message}\n`);
  if (io.env.KMS_ROTATE_DEBUG && io.env.KMS_ROTATE_DEBUG !== '0') {
    io.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  } else {
    io.stderr.write('rerun with KMS_ROTATE_DEBUG=1 for details\n');
  }
  return EXIT.FAILED;
}

function packageVersion(): string {
  try {
    return (
      (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version?: string }).version ??
      'unknown'
    );
  } catch {
    return 'unknown';
  }
}

function buildProgram(io: Io, run: (fn: () => Promise<ExitCode>) => Promise<void>): Command {
  const program = new Command('kms-rotate');
  program
    .version(packageVersion(), '-V, --version')
    .description(
      'On-call command line for kms-incident-rotation: rotate a customer managed KMS key on demand through the incident workflow, follow it, and see what happened.',
    )
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .helpCommand(true)
    .addHelpText(
      'after',
      `\n${EXIT_CODE_HELP}\n\n${ENVIRONMENT_HELP}\n${examples(
        "kms-rotate start --key alias/orders --reason 'GuardDuty finding 5ec4b7b1 on the orders bucket'",
        'kms-rotate check --key alias/orders',
        'kms-rotate status --limit 5',
        'kms-rotate simulate',
      )}`,
    );

  withStateMachineOption(
    withIntervalOption(
      withAwsOptions(
        program
          .command('start')
          .description('Start the workflow for one key (a manual request) and follow it to the end.')
          .requiredOption('--key <ref>', 'key id, key ARN, alias name (alias/...) or alias ARN')
          .requiredOption('--reason <text>', 'why (at most 512 characters); goes into the notification')
          .option('--dry-run', 'assess only: say what would happen, change nothing')
          .option(
            '--force',
            'break-glass (needs the break-glass policy): rotate even if rotated recently and allow the reserved last rotations, within forceMinIntervalMinutes and forceDailyCap (never past dailyRotationCap rotations of a key in 24 h)',
          )
          .addOption(
            new Option(
              '--reencrypt <type:bucket/prefix>',
              "after the rotation, re-encrypt these objects under NEW data keys: s3-sse-kms:<bucket>[/<prefix>] (SSE-KMS objects under the key, copied onto themselves) or envelope:<bucket>[/<prefix>] (AWS Encryption SDK messages); repeatable, at most 20; the bucket must be in the stack's reEncryptBuckets setting",
            ).argParser(parseReencryptOption),
          )
          .option('--no-wait', 'print the execution ARN and return without following it')
          .option('--json', 'print the execution result as JSON on stdout (the live trace goes to stderr)'),
      ),
    ),
  )
    .addHelpText(
      'after',
      `\n${REENCRYPT_HELP}\nExit codes: 0 ROTATED or DRY_RUN, 3 SKIPPED, 1 FAILED (a key, or the re-encryption), 2 bad input or configuration, 4 AWS refused or unreachable.\n${examples(
        "kms-rotate start --key alias/orders --reason 'INC-1234: credentials leaked'",
        "kms-rotate start --key alias/orders --reason 'INC-1234' --reencrypt s3-sse-kms:orders-data/exports/ --reencrypt envelope:orders-archive",
        "kms-rotate start --key arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab --reason 'drill' --dry-run",
        "kms-rotate start --key 1234abcd-12ab-34cd-56ef-1234567890ab --reason 'INC-1234' --force --no-wait --profile oncall",
      )}`,
    )
    .action((opts) => run(() => start(io, opts)));

  withStateMachineOption(
    withIntervalOption(
      withAwsOptions(
        program
          .command('reencrypt')
          .description(
            "Re-encrypt data under NEW data keys from the key's current material, without a rotation (none is spent); runs only if that material was made after --exposed-at.",
          )
          .requiredOption('--key <ref>', 'key id, key ARN, alias name (alias/...) or alias ARN')
          .requiredOption('--reason <text>', 'why (at most 512 characters); goes into the notification')
          .requiredOption(
            '--exposed-at <time>',
            'ISO 8601 time, with its offset, from which the key material may have been exposed (e.g. 2026-12-04T09:30:00Z)',
          )
          .addOption(
            new Option(
              '--target <type:bucket/prefix>',
              "re-encrypt these objects: s3-sse-kms:<bucket>[/<prefix>] or envelope:<bucket>[/<prefix>]; repeatable, at most 20; the bucket must be in the stack's reEncryptBuckets setting",
            )
              .argParser(parseReencryptOption)
              .makeOptionMandatory(),
          )
          .option('--dry-run', 'assess and plan only: say what would be re-encrypted, change nothing')
          .option('--no-wait', 'print the execution ARN and return without following it')
          .option('--json', 'print the execution result as JSON on stdout (the live trace goes to stderr)'),
      ),
    ),
  )
    .addHelpText(
      'after',
      `\nRefused (the key SKIPPED MATERIAL_PREDATES_EXPOSURE, nothing written) when the key's newest key material is not newer than --exposed-at: rotate first with kms-rotate start --reencrypt.\nExit codes: as start's.\n${examples(
        "kms-rotate reencrypt --key alias/orders --reason 'INC-1234: re-run after restores' --exposed-at 2026-12-04T09:30:00Z --target s3-sse-kms:orders-data/exports/",
      )}`,
    )
    .action((opts) => run(() => reencrypt(io, opts)));

  withStateMachineOption(
    withIntervalOption(
      withAwsOptions(
        program
          .command('watch')
          .description('Follow an execution live until it ends, then print its summary.')
          .argument('<execution>', "execution ARN, or execution name (of the workflow's state machine)")
          .option('--json', 'print the execution result as JSON on stdout (the live trace goes to stderr)'),
      ),
    ),
  )
    .addHelpText(
      'after',
      `\nExit codes: 0 ROTATED or DRY_RUN, 3 every key SKIPPED, 1 FAILED, 2 unknown execution, 4 AWS refused or unreachable.\n${examples(
        'kms-rotate watch arn:aws:states:us-east-1:111122223333:execution:KmsIncidentRotation:manual-1234abcd-20250302T101542-9f3a',
        'kms-rotate watch manual-1234abcd-20250302T101542-9f3a --interval 2',
      )}`,
    )
    .action((execution: string, opts) => run(() => watch(io, execution, opts)));

  withStateMachineOption(
    withAwsOptions(
      program
        .command('status')
        .description('Recent executions, newest first: when, status, outcome, keys.')
        .option('--key <text>', 'only executions naming a key whose ARN, id or alias contains this')
        .addOption(new Option('--limit <n>', 'how many executions').default(10).argParser(positiveInteger))
        .option('--json', 'print an array of executions as JSON'),
    ),
  )
    .addHelpText(
      'after',
      examples(
        'kms-rotate status',
        'kms-rotate status --key 1234abcd --limit 3',
        "kms-rotate status --json | jq '.[0].summary.keys'",
      ),
    )
    .action((opts) => run(() => status(io, opts)));

  withAwsOptions(
    program
      .command('check')
      .description(
        'Read-only: is this key eligible for on-demand rotation now, and why not? Its rotation budget and history.',
      )
      .requiredOption('--key <ref>', 'key id, key ARN, alias name (alias/...) or alias ARN')
      .option('--json', 'print the report as JSON')
      .option('--force', 'assess as `start --force` would (reserved rotations, no cooldown)')
      .addOption(
        new Option('--budget <n>', 'lifetime on-demand rotations per key (the rotationBudget setting)').argParser(
          positiveInteger,
        ),
      )
      .addOption(
        new Option(
          '--reserve <n>',
          'rotations kept for manual use with --force (the automaticReserve setting)',
        ).argParser(nonNegativeInteger),
      )
      .option(
        '--stack <name>',
        `read the settings from this stack's Settings output (default ${STACK_NAME}, in --region)`,
      )
      .option('--default-settings', 'assess with the default settings, reading no stack'),
  )
    .addHelpText(
      'after',
      `\nSettings: those of the deployed stack (its Settings output), else the defaults; --budget/--reserve override single values.\nExit codes: 0 answered (eligible or not), 2 bad key reference or option, 4 AWS refused or unreachable.\n${examples('kms-rotate check --key alias/orders', 'kms-rotate check --key alias/orders --default-settings', 'kms-rotate check --key arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab --json')}`,
    )
    .action((opts) => run(() => check(io, opts)));

  withAwsOptions(
    program
      .command('approve')
      .description(
        'Approve a key waiting in the approval gate, through the front door (someone other than the requester of a manual run).',
      )
      .argument('<approval-id>', 'the approval id from the approval notification (ap-...)')
      .option('--reason <text>', 'why (optional; goes into the audit entry and the notification)'),
  )
    .addHelpText(
      'after',
      `\nExit codes: 0 sent, 2 unknown, already answered or expired approval, 4 refused (you asked for this rotation yourself: the two-person rule; or no on-call right) or AWS unreachable.\n${examples('kms-rotate approve ap-0123456789abcdef0123', "kms-rotate approve ap-0123456789abcdef0123 --reason 'confirmed with the data owner'")}`,
    )
    .action((approvalId: string, opts) => run(() => approve(io, approvalId, opts)));

  withAwsOptions(
    program
      .command('deny')
      .description('Deny a key waiting in the approval gate: it ends SKIPPED with APPROVAL_DENIED.')
      .argument('<approval-id>', 'the approval id from the approval notification (ap-...)')
      .requiredOption('--reason <text>', 'why (at most 512 characters)'),
  )
    .addHelpText(
      'after',
      `\nExit codes: 0 sent, 2 unknown, already answered or expired approval, or empty reason, 4 refused or AWS unreachable.\n${examples("kms-rotate deny ap-0123456789abcdef0123 --reason 'key is being retired next week'")}`,
    )
    .action((approvalId: string, opts) => run(() => deny(io, approvalId, opts)));

  withStateMachineOption(
    withIntervalOption(
      withAwsOptions(
        program
          .command('drill')
          .description(
            'End-to-end drill in a real account: create a throwaway key, rotate it through the workflow, verify, schedule its deletion.',
          ),
      ),
    ),
  )
    .addHelpText(
      'after',
      `\nCosts: one KMS key for the 7-day deletion window (prorated) and a few state transitions.\nExit codes: 0 PASS, 1 FAIL, 2 configuration, 4 AWS refused or unreachable before the key was created.\n${examples('kms-rotate drill --region us-east-1', 'kms-rotate drill --profile sandbox --state-machine arn:aws:states:us-east-1:111122223333:stateMachine:KmsIncidentRotation')}`,
    )
    .action((opts) => run(() => drill(io, opts)));

  program
    .command('resolve')
    .description(
      'Offline: which keys would a finding event implicate? Prints the finding id, severity and key ARNs as JSON.',
    )
    .requiredOption(
      '--event <file>',
      'an EventBridge finding event (GuardDuty, Security Hub, IAM Access Analyzer), JSON',
    )
    .addHelpText(
      'after',
      `\nExit codes: 0 resolved (even with "keys": []), 2 missing file, bad JSON, or not a finding of a known source.\n${examples('kms-rotate resolve --event test/fixtures/guardduty/s3-bucket-kms.json', "kms-rotate resolve --event finding.json | jq -r '.keys[]'")}`,
    )
    .action((opts: { event: string }) => run(() => resolve(io, opts)));

  program
    .command('simulate')
    .description(
      'Offline: run the real workflow locally against a simulated account (the stand-in), with a live trace.',
    )
    .option('--world <file>', 'the simulated account (keys, faults, settings); default: local/samples/world.json')
    .addOption(
      new Option(
        '--event <file>',
        'a finding event to feed in; repeat it for a storm (one execution each, all at once); default: local/samples/guardduty-finding.json',
      )
        .argParser((file: string, previous: string[] | undefined) => [...(previous ?? []), file])
        .conflicts('request'),
    )
    .addOption(
      new Option(
        '--events <dir>',
        'every *.json finding event in this folder, in file-name order (after any --event): a storm',
      ).conflicts('request'),
    )
    .addOption(
      new Option('--stagger-ms <n>', "simulated milliseconds between the starts of a storm's executions")
        .default(0)
        .argParser(nonNegativeInteger),
    )
    .addOption(
      new Option(
        '--request <file>',
        'a manual request ({"keyId", "reason", "dryRun", "force", "reEncrypt": {"targets": [...]}}) instead of a finding',
      ).conflicts(['event', 'events']),
    )
    .option(
      '--json',
      'print only the simulation result as JSON on stdout (the trace goes to stderr); a storm prints {"executions": [...], "calls": {...}, "throttles": n}',
    )
    .addOption(
      new Option('--speed <n>', 'divide every wait, rotation time and KMS request-quota second by this')
        .default(DEFAULT_SPEED)
        .argParser(positiveNumber),
    )
    .option(
      '--s3-report <file>',
      'after the run, write {"objects": [...]}: the current version of every object in the world\'s buckets (encryption, key material, attributes, plaintext SHA-256)',
    )
    .addHelpText(
      'after',
      `\nStorm: with several triggers every execution runs at once against one stand-in (KMS request quotas per simulated second; a world file's "quotas" overrides them) and one ledger; trace lines start with the execution's label (e01, e02, ...).\nExit codes (as start's): 0 ROTATED or DRY_RUN, 3 every key SKIPPED, 1 a key or the execution FAILED, 2 bad world, event or request file. A storm: 1 if any execution failed, 3 if every one skipped all its keys, else 0.\n${examples(
        'kms-rotate simulate',
        'kms-rotate simulate --world my-world.json --event test/fixtures/guardduty/several-keys.json --speed 50',
        'kms-rotate simulate --request test/fixtures/manual/alias.json --json | jq .executionStatus',
        'kms-rotate simulate --world storm-world.json --events findings/ --stagger-ms 50 --speed 5 --json | jq .throttles',
      )}`,
    )
    .action((opts) => run(() => simulateCommand(io, opts)));

  program
    .command('sandbox')
    .description(
      'Offline: a local account on 127.0.0.1 (KMS, S3, SNS, DynamoDB, STS, CloudFormation, Step Functions and the front door on ONE endpoint) ' +
        'that the unchanged kms-rotate commands and plain AWS SDK calls talk to.',
    )
    .option(
      '--world <file>',
      'the simulated account (keys, people, settings); default: local/sandbox/world.json (alias/orders needs an approval)',
    )
    .requiredOption(
      '--env-dir <dir>',
      'where to write <person>.env for each person of the world (and inbox.txt, the notifications)',
    )
    .addOption(
      new Option('--speed <n>', 'divide every wait, rotation time, approval and execution timeout by this')
        .default(DEFAULT_SPEED)
        .argParser(positiveNumber),
    )
    .addHelpText(
      'after',
      `
What it starts: the stand-in (KMS, S3, SNS) seeded with the world, the ledger (dynalite), the front
door (the real handler) and both state machines of the synthesized stack on the local runner, with
STS GetCallerIdentity, CloudFormation DescribeStacks (the stack's outputs; FrontDoorUrl is local)
and the Step Functions API, all behind one endpoint that routes by the SigV4 credential scope.
Every request to it is signed; people may start runs only through the front door, as deployed.

Env files: <env-dir>/<person>.env sets AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION and
AWS_ENDPOINT_URL and unsets AWS_PROFILE, session tokens and per-service endpoints. Source one in
each terminal; then kms-rotate check/start/approve/deny/watch/status/drill work against the sandbox.
Approval ids arrive as notifications: printed here and appended to <env-dir>/inbox.txt.

It prints "sandbox ready <endpoint>" on stdout when every server listens, and runs until Ctrl-C
(SIGINT) or SIGTERM, then closes every server and exits 0.
Exit codes: 0 stopped by a signal, 2 bad world file or option.
${examples(
  'kms-rotate sandbox --env-dir /tmp/sandbox',
  '. /tmp/sandbox/alice.env && kms-rotate start --key alias/orders --reason practice   # terminal 1',
  '. /tmp/sandbox/bob.env && kms-rotate approve ap-...                                 # terminal 2',
)}`,
    )
    .action((opts: { world?: string; envDir: string; speed: number }) => run(() => sandbox(io, opts)));

  return program;
}
