import { loadWorld } from '../options';
import { EXIT, type ExitCode } from '../exit-codes';
import { lineWriter, type Io } from '../io';
import { join, resolve as resolvePath } from 'node:path';

/** The practice world: alias/orders needs an approval (a second person), alias/billing does not. */
export const SANDBOX_WORLD = join(__dirname, '..', '..', 'local', 'sandbox', 'world.json');

export interface SandboxOptions {
  world?: string;
  envDir: string;
  speed: number;
}

type SandboxModule = typeof import('../../local/sandbox');

/** The sandbox loads the CDK stack and the handlers: only when asked, after the handlers' log level is set. */
function loadSandbox(io: Io): SandboxModule['startSandbox'] {
  process.env.POWERTOOLS_LOG_LEVEL = io.env.KMS_ROTATE_HANDLER_LOG_LEVEL ?? 'SILENT';
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded lazily, after the log level is set (see above)
  const { startSandbox } = require('../../local/sandbox') as SandboxModule;
  return startSandbox;
}

/** Resolves on the first SIGINT or SIGTERM (and stops listening for them). */
export function untilStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/**
 * `kms-rotate sandbox`: a local account on 127.0.0.1 that the unchanged CLI and plain SDK calls
 * talk to (see local/sandbox). Prints `sandbox ready` on stdout once every server listens, the
 * guide and what happens (notifications, approvals waiting, executions ending) on stderr, and
 * runs until `stop` resolves (SIGINT or SIGTERM), then closes every server.
 */
export async function sandbox(
  io: Io,
  opts: SandboxOptions,
  stop: () => Promise<unknown> = untilStopSignal,
): Promise<ExitCode> {
  const world = loadWorld(opts.world ?? SANDBOX_WORLD);
  const envDir = resolvePath(opts.envDir);
  const err = lineWriter(io.stderr);
  // Listen for the signal before starting: a stop during start-up still closes everything.
  const stopped = stop();
  const box = await loadSandbox(io)({ world, speed: opts.speed, envDir, log: (line) => err(line) });
  try {
    const names = Object.keys(box.envFiles);
    const [requester, approver] = [
      names[0],
      names.find((n, i) => i > 0 && !world.people[n]?.breakGlass) ?? names[1] ?? names[0],
    ];
    const key = world.keys[0]?.aliases[0] ?? world.keys[0]?.id ?? 'alias/orders';
    err(guide(box.endpoint, box.ports, box.envFiles, envDir, { requester, approver, key, speed: opts.speed }));
    io.stdout.write(`sandbox ready ${box.endpoint}\n`);
    await stopped;
    err('sandbox stopping: closing every server');
  } finally {
    await box.close();
  }
  // Executions cut short may still hold timers (their Wait states, up to pollMaxSeconds / speed)
  // though nothing serves them any more: the kms-rotate process ends without waiting for them.
  // Only there: `main` embedded elsewhere (tests) never ends its process.
  if (/[/\\]kms-rotate(\.[jt]s)?$/.test(process.argv[1] ?? ''))
    setTimeout(() => process.exit(process.exitCode ?? EXIT.OK), 500).unref();
  return EXIT.OK;
}

interface GuideExample {
  requester: string;
  approver: string;
  key: string;
  speed: number;
}

function guide(
  endpoint: string,
  ports: number[],
  envFiles: Record<string, string>,
  envDir: string,
  ex: GuideExample,
): string {
  const people = Object.entries(envFiles).map(([name, file]) => `  ${name.padEnd(8)} ${file}`);
  return [
    `kms-rotate sandbox: one local account on ${endpoint} (every service; ports ${ports.join(', ')} on 127.0.0.1), executions at speed ${ex.speed}.`,
    'People (source one file per terminal; it sets the keys, AWS_REGION and AWS_ENDPOINT_URL and clears AWS_PROFILE):',
    ...people,
    `Notifications (approval ids) are printed here and appended to ${envDir}/inbox.txt.`,
    '',
    `Terminal 1 (requester):  . ${envFiles[ex.requester]} && npx kms-rotate start --key ${ex.key} --reason 'practice'`,
    `Terminal 2 (approver):   . ${envFiles[ex.approver]} && npx kms-rotate approve <ap-... from the notification>`,
    '                         npx kms-rotate status; npx kms-rotate watch <execution name>',
    'Stop with Ctrl-C (or SIGTERM): every server closes.',
    '',
  ].join('\n');
}
