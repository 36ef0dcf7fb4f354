import { join } from 'node:path';
import { InvalidRequestError, parseIncident } from '../../lambdas/domain/intake/intake';
import type { IncidentRequest } from '../../lambdas/domain/contracts';
import { SettingsError } from '../../lib/settings';
import { loadWorldFile, WorldError, type World } from '../../local/world';
import { usageError } from '../errors';
import { EXIT, type ExitCode } from '../exit-codes';
import { colourFor, lineWriter, type Io } from '../io';
import { LocalEventTranslator } from '../live/local-events';
import { LiveTrace } from '../live/trace';
import { readJsonFile } from './resolve';

export interface SimulateOptions {
  world?: string;
  event?: string;
  request?: string;
  json?: boolean;
  speed: number;
}

/** The built-in world and finding (local/samples, see its README). */
export const SAMPLES_DIR = join(__dirname, '..', '..', 'local', 'samples');
export const BUILT_IN_WORLD = join(SAMPLES_DIR, 'world.json');
export const BUILT_IN_EVENT = join(SAMPLES_DIR, 'guardduty-finding.json');
/** Fast enough that the built-in run (about 35 simulated seconds of waits) takes a few seconds. */
export const DEFAULT_SPEED = 10;

type SimulateModule = typeof import('../../local/simulate');

/**
 * local/simulate pulls in the CDK stack and the Lambda handlers: loaded only when simulating.
 * The handlers' structured logs would mix with the trace (and break --json), so they are silent
 * unless KMS_ROTATE_HANDLER_LOG_LEVEL asks for them; the level must be set before the logger exists.
 */
function loadSimulator(io: Io): SimulateModule {
  process.env.POWERTOOLS_LOG_LEVEL = io.env.KMS_ROTATE_HANDLER_LOG_LEVEL ?? 'SILENT';
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded lazily, after the log level is set (see above)
  return require('../../local/simulate') as SimulateModule;
}

function loadWorld(path: string | undefined): World {
  try {
    return loadWorldFile(path ?? BUILT_IN_WORLD);
  } catch (error) {
    if (error instanceof WorldError) throw usageError(error.message);
    throw error;
  }
}

function what(req: IncidentRequest): string {
  if (req.source === 'manual') return `a manual request for ${req.keys.join(', ')}`;
  const names: Record<string, string> = { guardduty: 'GuardDuty', securityhub: 'Security Hub', 'access-analyzer': 'Access Analyzer' };
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

/** Runs the real workflow offline against the local stand-in, with a live trace. */
export async function simulateCommand(io: Io, opts: SimulateOptions): Promise<ExitCode> {
  const world = loadWorld(opts.world);
  const flag = opts.request !== undefined ? '--request' : '--event';
  const inputPath = opts.request ?? opts.event ?? BUILT_IN_EVENT;
  const input = readJsonFile(inputPath, flag);
  let request: IncidentRequest;
  try {
    request = parseIncident(input, { account: world.account, region: world.region, newRequestId: () => 'simulation' });
  } catch (error) {
    if (error instanceof InvalidRequestError) throw usageError(`${flag} ${inputPath}: ${error.message}`);
    throw error;
  }
  if (opts.request !== undefined && request.source !== 'manual') throw usageError(`--request ${inputPath}: this is a finding event, not a manual request; pass it with --event`);
  if (opts.event !== undefined && request.source === 'manual') throw usageError(`--event ${inputPath}: this is a manual request, not a finding event; pass it with --request`);

  const traceOut = opts.json ? io.stderr : io.stdout;
  const p = colourFor(io, opts.json ? 'stderr' : 'stdout');
  const line = lineWriter(traceOut);
  io.stderr.write('Synthesizing the stack and starting the local stand-in...\n');
  const simulator = loadSimulator(io);

  line(`Simulating ${what(request)} in ${opts.world ? `the world ${opts.world}` : 'the built-in world'} (${world.keys.length} key${world.keys.length === 1 ? '' : 's'}, account ${world.account}, ${world.region})`);
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
  try {
    run = await isolated(() => simulator.simulate({ world, input, speed: opts.speed, onEvent: (e) => trace.push(translator.translate(e)) }));
  } catch (error) {
    if (error instanceof SettingsError) throw usageError(error.message);
    throw error;
  } finally {
    trace.close();
  }
  const { result } = run;
  const code = result.executionStatus === 'SUCCEEDED' ? EXIT.OK : EXIT.FAILED;

  if (opts.json) {
    io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return code;
  }
  const out = lineWriter(io.stdout);
  const note = result.notifications[0];
  out();
  if (note) {
    out(p.bold('Notification (SNS)'));
    out(`Subject: ${p.bold(note.subject ?? '(no subject)')}`);
    out();
    io.stdout.write(note.message.endsWith('\n') ? note.message : `${note.message}\n`);
  } else {
    out('No notification was published.');
  }
  out();
  const counts = (['ROTATED', 'DRY_RUN', 'SKIPPED', 'FAILED'] as const)
    .map((o) => [o, result.keys.filter((k) => k.outcome === o).length] as const)
    .filter(([, n]) => n > 0)
    .map(([o, n]) => `${n} ${o}`);
  const failure = result.executionStatus === 'SUCCEEDED' ? '' : ` (${result.error ?? 'error'}${result.cause && counts.length === 0 ? `: ${result.cause}` : ''})`;
  out(`Verdict: execution ${p.outcome(result.executionStatus)}${failure}; ${counts.length ? counts.join(', ') : 'no keys'}; exit ${code}`);
  return code;
}
