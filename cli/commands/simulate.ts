import { readdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { InvalidRequestError, parseIncident } from '../../lambdas/domain/intake/intake';
import type { IncidentRequest } from '../../lambdas/domain/contracts';
import { SettingsError } from '../../lib/settings/settings';
import type { World } from '../../local/world';
import type { StandIn } from '../../local/standin';
import { loadWorld } from '../options';
import { usageError } from '../errors';
import { EXIT, exitCodeForRun, type ExitCode } from '../exit-codes';
import { colourFor, lineWriter, type Io, type Paint, type Writer } from '../io';
import { LocalEventTranslator } from '../live/local-events';
import { LiveTrace } from '../live/trace';
import { readJsonFile } from './resolve';

export interface SimulateOptions {
  world?: string;
  /** --event, repeatable: finding events, started in this order. */
  event?: string[];
  /** --events: a folder whose `*.json` finding events are started in file-name order, after --event's. */
  events?: string;
  request?: string;
  json?: boolean;
  speed: number;
  /** --stagger-ms: simulated milliseconds between two starts (several triggers only). */
  staggerMs?: number;
  /** --s3-report: after the run, write the current version of every object of the world's buckets here. */
  s3Report?: string;
}

/**
 * `--s3-report FILE`: `{"objects": [...]}`, the current version of every object in the world's
 * buckets after the run (stand-in inspection, not counted as requests; local/standin/s3.ts S3ReportObject).
 */
async function writeS3Report(path: string, standIn: StandIn | undefined, world: World): Promise<void> {
  if (!standIn) throw new Error('--s3-report: the simulation did not start a stand-in');
  const objects = await standIn.s3Report(world.buckets.map((b) => b.name));
  writeFileSync(path, `${JSON.stringify({ objects }, null, 2)}\n`);
}

/** The built-in world and finding (local/samples, see its README). */
export const SAMPLES_DIR = join(__dirname, '..', '..', 'local', 'samples');
export const BUILT_IN_WORLD = join(SAMPLES_DIR, 'world.json');
export const BUILT_IN_EVENT = join(SAMPLES_DIR, 'guardduty-finding.json');
/** Fast enough that the built-in run (about 35 simulated seconds of waits) takes a few seconds. */
export const DEFAULT_SPEED = 10;

type SimulateModule = typeof import('../../local/simulate') & typeof import('../../local/simulation-storm');

/**
 * local/simulate (and the storm built on it) pulls in the CDK stack and the Lambda handlers: loaded only when simulating.
 * The handlers' structured logs would mix with the trace (and break --json), so they are silent
 * unless KMS_ROTATE_HANDLER_LOG_LEVEL asks for them; the level must be set before the logger exists.
 */
function loadSimulator(io: Io): SimulateModule {
  process.env.POWERTOOLS_LOG_LEVEL = io.env.KMS_ROTATE_HANDLER_LOG_LEVEL ?? 'SILENT';
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded lazily, after the log level is set (see above)
  return { ...require('../../local/simulate'), ...require('../../local/simulation-storm') } as SimulateModule;
}

function what(req: IncidentRequest): string {
  if (req.source === 'manual') return `a manual request for ${req.keys.join(', ')}`;
  const names: Record<string, string> = {
    guardduty: 'GuardDuty',
    securityhub: 'Security Hub',
    'access-analyzer': 'Access Analyzer',
  };
  return `a ${names[req.source] ?? req.source} finding ${req.findingType ?? req.findingId ?? ''}${req.severity !== null ? ` (severity ${req.severity})` : ''}`.trim();
}

/**
 * The process environment during a simulation: no AWS settings of the caller's (a profile or a
 * service endpoint such as AWS_ENDPOINT_URL_KMS must never send a simulated call to real AWS),
 * and everything the local runner sets for the handlers removed afterwards.
 */
async function isolated<T>(fn: () => Promise<T>): Promise<T> {
  const before = { ...process.env };
  for (const name of Object.keys(process.env)) if (name.startsWith('AWS_')) delete process.env[name];
  process.env.AWS_ACCESS_KEY_ID = 'local';
  process.env.AWS_SECRET_ACCESS_KEY = 'local';
  try {
    return await fn();
  } finally {
    for (const name of Object.keys(process.env)) if (!(name in before)) delete process.env[name];
    Object.assign(process.env, before);
  }
}

/** The trigger files of a run: every --event, then the folder's `*.json` in file-name order. */
function triggerFiles(opts: SimulateOptions): { flag: string; path: string }[] {
  const files = (opts.event ?? []).map((path) => ({ flag: '--event', path }));
  if (opts.events !== undefined) {
    let names: string[];
    try {
      names = readdirSync(opts.events)
        .filter((n) => n.endsWith('.json'))
        .sort();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw usageError(
        `--events ${opts.events}: cannot read the folder (${code === 'ENOENT' ? 'no such folder' : code === 'ENOTDIR' ? 'not a folder' : (error as Error).message})`,
      );
    }
    if (names.length === 0) throw usageError(`--events ${opts.events}: no *.json files in the folder`);
    files.push(...names.map((n) => ({ flag: '--event', path: join(opts.events!, n) })));
  }
  return files;
}

/** A trigger file read and checked as Intake would take it (exit 2 naming the file otherwise). */
function readTrigger(world: World, flag: string, path: string): { input: unknown; request: IncidentRequest } {
  const input = readJsonFile(path, flag);
  let request: IncidentRequest;
  try {
    request = parseIncident(input, { account: world.account, region: world.region, newRequestId: () => 'simulation' });
  } catch (error) {
    if (error instanceof InvalidRequestError) throw usageError(`${flag} ${path}: ${error.message}`);
    throw error;
  }
  if (flag === '--request' && request.source !== 'manual')
    throw usageError(`--request ${path}: this is a finding event, not a manual request; pass it with --event`);
  if (flag === '--event' && request.source === 'manual')
    throw usageError(`--event ${path}: this is a manual request, not a finding event; pass it with --request`);
  return { input, request };
}

/**
 * Runs the real workflow offline against the local stand-in, with a live trace: one execution,
 * or with several triggers (--event repeated, --events) a storm of executions at once.
 */
export async function simulateCommand(io: Io, opts: SimulateOptions): Promise<ExitCode> {
  const world = loadWorld(opts.world ?? BUILT_IN_WORLD);
  const triggers = opts.request !== undefined ? [{ flag: '--request', path: opts.request }] : triggerFiles(opts);
  if (triggers.length > 1) return simulateStormCommand(io, opts, world, triggers);
  const { flag, path: inputPath } = triggers[0] ?? { flag: '--event', path: BUILT_IN_EVENT };
  const { input, request } = readTrigger(world, flag, inputPath);

  const traceOut = opts.json ? io.stderr : io.stdout;
  const p = colourFor(io, opts.json ? 'stderr' : 'stdout');
  const line = lineWriter(traceOut);
  io.stderr.write('Synthesizing the stack and starting the local stand-in...\n');
  const simulator = loadSimulator(io);

  line(
    `Simulating ${what(request)} in ${opts.world ? `the world ${opts.world}` : 'the built-in world'} (${world.keys.length} key${world.keys.length === 1 ? '' : 's'}, account ${world.account}, ${world.region})`,
  );
  line(`Speed x${opts.speed}: waits are scaled down; times below are simulated.`);
  line();
  const trace = new LiveTrace({
    out: traceOut,
    paint: p,
    status: io.stderrIsTTY ? io.stderr : null,
    home: { account: world.account, region: world.region },
    speed: opts.speed,
  });
  const translator = new LocalEventTranslator(opts.speed);
  let run;
  let standIn: StandIn | undefined;
  try {
    run = await isolated(() =>
      simulator.simulate({
        world,
        input,
        speed: opts.speed,
        onEvent: (e) => trace.push(translator.translate(e)),
        onStandIn: (s) => (standIn = s),
      }),
    );
  } catch (error) {
    if (error instanceof SettingsError) throw usageError(error.message);
    throw error;
  } finally {
    trace.close();
  }
  const { result } = run;
  // The same exit codes as `start`: 3 when every key was skipped, 1 when a key or the execution failed.
  const code = exitCodeForRun(result.executionStatus, run.summary);
  if (opts.s3Report) await writeS3Report(opts.s3Report, standIn, world);

  if (opts.json) {
    io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return code;
  }
  const out = lineWriter(io.stdout);
  // The run's summary is the last message; approval requests came before it (listed by subject).
  const note = result.notifications.at(-1);
  const earlier = result.notifications.slice(0, -1);
  out();
  if (earlier.length > 0) {
    out(p.bold(`Earlier notifications (${earlier.length})`));
    for (const e of earlier) out(`  Subject: ${e.subject ?? '(no subject)'}`);
    out();
  }
  if (note) {
    out(p.bold(earlier.length > 0 ? 'Final notification (SNS)' : 'Notification (SNS)'));
    out(`Subject: ${p.bold(note.subject ?? '(no subject)')}`);
    out();
    io.stdout.write(note.message.endsWith('\n') ? note.message : `${note.message}\n`);
  } else {
    out('No notification was published.');
  }
  out();
  const counts = (['ROTATED', 'REENCRYPT_ONLY', 'DRY_RUN', 'SKIPPED', 'FAILED'] as const)
    .map((o) => [o, result.keys.filter((k) => k.outcome === o).length] as const)
    .filter(([, n]) => n > 0)
    .map(([o, n]) => `${n} ${o}`);
  const failure =
    result.executionStatus === 'SUCCEEDED'
      ? ''
      : ` (${result.error ?? 'error'}${result.cause && counts.length === 0 ? `: ${result.cause}` : ''})`;
  out(
    `Verdict: execution ${p.outcome(result.executionStatus)}${failure}; ${counts.length ? counts.join(', ') : 'no keys'}; exit ${code}`,
  );
  return code;
}

/** Prefixes every line written through it (a storm's trace: one label per execution). */
function prefixedWriter(out: Writer, prefix: string): Writer {
  let atLineStart = true;
  return {
    write(chunk: string) {
      const text = chunk.replace(/\n(?!$)/g, `\n${prefix}`);
      out.write(`${atLineStart ? prefix : ''}${text}`);
      atLineStart = chunk.endsWith('\n');
    },
  };
}

/** `e01`, `e02`, ...: wide enough for every execution of the storm. */
function labelOf(index: number, count: number): string {
  return `e${String(index + 1).padStart(Math.max(2, String(count).length), '0')}`;
}

/**
 * A storm: every trigger starts an execution against ONE stand-in (one set of KMS request quotas)
 * and ONE ledger, `--stagger-ms` simulated milliseconds apart; the trace labels each line with
 * its execution. `--json` prints `{"executions": [...], "calls": {...}, "throttles": n}`.
 */
async function simulateStormCommand(
  io: Io,
  opts: SimulateOptions,
  world: World,
  triggers: { flag: string; path: string }[],
): Promise<ExitCode> {
  const read = triggers.map((t) => ({ ...t, ...readTrigger(world, t.flag, t.path) }));
  const staggerMs = opts.staggerMs ?? 0;
  const traceOut = opts.json ? io.stderr : io.stdout;
  const p = colourFor(io, opts.json ? 'stderr' : 'stdout');
  const line = lineWriter(traceOut);
  io.stderr.write('Synthesizing the stack and starting the local stand-in...\n');
  const simulator = loadSimulator(io);

  line(
    `Simulating a storm of ${read.length} triggers, ${staggerMs} ms apart, in ${opts.world ? `the world ${opts.world}` : 'the built-in world'} (${world.keys.length} key${world.keys.length === 1 ? '' : 's'}, account ${world.account}, ${world.region}); one stand-in and one ledger for all`,
  );
  line(`Speed x${opts.speed}: waits, retry intervals and KMS request quotas are scaled; times below are simulated.`);
  read.forEach((t, i) => line(`  ${labelOf(i, read.length)}  ${what(t.request)}  (${basename(t.path)})`));
  line();
  let firstEventAt: number | null = null;
  const traces = read.map(
    (_, i) =>
      new LiveTrace({
        out: prefixedWriter(traceOut, `${p.dim(labelOf(i, read.length))} `),
        paint: p,
        status: null,
        home: { account: world.account, region: world.region },
        speed: opts.speed,
      }),
  );
  const translators = read.map(() => new LocalEventTranslator(opts.speed));
  let storm;
  let standIn: StandIn | undefined;
  try {
    storm = await isolated(() =>
      simulator.simulateStorm({
        onStandIn: (s) => (standIn = s),
        world,
        inputs: read.map((t) => t.input),
        speed: opts.speed,
        staggerMs,
        onEvent: (i, e) => {
          // Elapsed times count from the storm's first event, so the executions' lines line up.
          firstEventAt ??= e.timestamp;
          traces[i].setStart(firstEventAt);
          traces[i].push(translators[i].translate(e));
        },
      }),
    );
  } catch (error) {
    if (error instanceof SettingsError) throw usageError(error.message);
    throw error;
  } finally {
    traces.forEach((t) => t.close());
  }
  const results = storm.runs.map((r) => r.result);
  const code = stormExitCode(storm.runs.map((r) => exitCodeForRun(r.result.executionStatus, r.summary)));
  if (opts.s3Report) await writeS3Report(opts.s3Report, standIn, world);
  if (opts.json) {
    io.stdout.write(
      `${JSON.stringify({ executions: results, calls: storm.counters.served, throttles: storm.counters.throttles }, null, 2)}\n`,
    );
    return code;
  }
  printStormReport(io, p, read.length, storm, code);
  return code;
}

type StormRunOf = Awaited<ReturnType<SimulateModule['simulateStorm']>>;

/** After a storm: one line per execution, then what the account saw (rotations, throttles, mail). */
function printStormReport(io: Io, p: Paint, count: number, storm: StormRunOf, code: ExitCode): void {
  const out = lineWriter(io.stdout);
  const tally = (keys: { outcome: string; reason: string | null }[]) => {
    const counts = new Map<string, number>();
    for (const k of keys) {
      const name = k.reason ? `${k.outcome} ${k.reason}` : k.outcome;
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    return [...counts].map(([o, n]) => `${n} ${o}`).join(', ') || 'no keys';
  };
  out();
  out(p.bold('Executions'));
  storm.runs.forEach((r, i) => {
    // The summary is published last (after any approval request).
    const note = r.result.notifications.at(-1);
    const mail = !note
      ? 'no notification'
      : note.attributes.duplicate === 'false'
        ? `mailed: ${note.subject ?? '(no subject)'}`
        : 'notification filtered (handled by another execution)';
    out(`  ${labelOf(i, count)}  ${p.outcome(r.result.executionStatus)}  ${tally(r.result.keys)}; ${mail}`);
  });
  const rotations = storm.counters.served.RotateKeyOnDemand ?? {};
  const calls = Object.values(rotations).reduce((a, b) => a + b, 0);
  const throttledBy = Object.entries(storm.counters.throttled).map(
    ([op, perKey]) => `${Object.values(perKey).reduce((a, b) => a + b, 0)} ${op}`,
  );
  const notes = storm.runs.flatMap((r) => r.result.notifications);
  const mailed = notes.filter((n) => n.attributes.duplicate === 'false').length;
  const failed = storm.runs.filter((r) => r.result.executionStatus !== 'SUCCEEDED').length;
  out();
  out(`Keys: ${tally(storm.runs.flatMap((r) => r.result.keys))}`);
  out(
    `KMS: ${calls} RotateKeyOnDemand on ${Object.keys(rotations).length} key${Object.keys(rotations).length === 1 ? '' : 's'} (at most ${Math.max(0, ...Object.values(rotations))} per key); ${storm.counters.throttles} throttled${throttledBy.length ? ` (${throttledBy.join(', ')})` : ''}`,
  );
  out(`Notifications: ${notes.length} published, ${mailed} past the e-mail filter (duplicate=false)`);
  out(
    `Verdict: ${count} executions, ${count - failed} SUCCEEDED${failed ? `, ${p.outcome('FAILED')} ${failed}` : ''}; exit ${code}`,
  );
}

/** A storm's exit code: 1 if any execution failed, 3 if every one skipped all its keys, else 0. */
function stormExitCode(codes: ExitCode[]): ExitCode {
  if (codes.some((c) => c === EXIT.FAILED)) return EXIT.FAILED;
  if (codes.length > 0 && codes.every((c) => c === EXIT.SKIPPED)) return EXIT.SKIPPED;
  return EXIT.OK;
}
