import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The acceptance test: `kms-rotate sandbox` as its own process, the unchanged CLI as two people in
 * processes of their own (environment from their env files only), then SIGTERM.
 */
const ROOT = join(__dirname, '..', '..');
// tsx itself, not `npx tsx`: npx does not pass SIGTERM on to the process it starts.
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const CLI = join(ROOT, 'bin', 'kms-rotate.ts');
const WORLD = join(__dirname, 'approval-world.json');

jest.setTimeout(60_000);

/** The environment without anything AWS or kms-rotate: what a fresh terminal would not carry over is up to the env file. */
function cleanEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] => e[1] !== undefined && !/^(AWS_|KMS_ROTATE_)/.test(e[0]),
    ),
  );
}

/** What `. file` does to an environment: `unset A B`, `export K='v'`. */
function sourced(file: string): Record<string, string> {
  const env: Record<string, string> = { ...cleanEnv(), AWS_PROFILE: 'someone-elses-profile' };
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const unset = /^unset (.+)$/.exec(line);
    if (unset) for (const name of unset[1].split(' ')) delete env[name];
    const exported = /^export ([A-Z0-9_]+)='(.*)'$/.exec(line);
    if (exported) env[exported[1]] = exported[2].replace(/'\\''/g, "'");
  }
  return env;
}

function killGroup(child: ChildProcess): void {
  try {
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, [CLI, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    // A command that hangs fails the test instead of holding it (its group: tsx and the node it runs).
    const timer = setTimeout(() => killGroup(child), 30_000);
    child.on('exit', () => clearTimeout(timer));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function until<T>(what: string, probe: () => T | null | undefined, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== null && v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

describe('kms-rotate sandbox', () => {
  let dir: string;
  let sandbox: ChildProcess | undefined;
  let out = '';
  let err = '';

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kms-sandbox-'));
  });
  afterAll(() => {
    // A failed test leaves the sandbox up: end its whole process group (tsx and the node it runs).
    if (sandbox) killGroup(sandbox);
    rmSync(dir, { recursive: true, force: true });
  });

  it('requester and approver with the real CLI, then SIGTERM closes every port and exits 0', async () => {
    const envDir = join(dir, 'env');
    const args = [CLI, 'sandbox', '--world', WORLD, '--env-dir', envDir, '--speed', '50'];
    sandbox = spawn(TSX, args, { cwd: ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    sandbox.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    sandbox.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => sandbox!.on('exit', (code) => resolve(code)));

    const endpoint = await until(
      'sandbox ready',
      () => /^sandbox ready (http:\/\/127\.0\.0\.1:\d+)$/m.exec(out)?.[1],
      30_000,
    );
    const ports = /ports ([\d, ]+) on 127\.0\.0\.1/.exec(err)![1].split(', ').map(Number);
    expect(ports[0]).toBe(Number(new URL(endpoint).port));
    expect(ports.length).toBeGreaterThanOrEqual(4);
    const alice = sourced(join(envDir, 'alice.env'));
    const bob = sourced(join(envDir, 'bob.env'));
    expect(alice).toMatchObject({ AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1' });
    expect(alice.AWS_PROFILE).toBeUndefined();

    // alice asks (and follows the run); the key is tagged for approval, so it waits for bob.
    const started = runCli(
      ['start', '--key', 'alias/orders', '--reason', 'sandbox acceptance', '--interval', '0.5'],
      alice,
    );
    const inbox = join(envDir, 'inbox.txt');
    const approvalId = await until(
      'the approval notification',
      () => /kms-rotate approve (ap-[0-9a-f]+)/.exec(readFileSync(inbox, 'utf8'))?.[1],
    );

    const own = await runCli(['approve', approvalId], alice);
    expect(own.code).toBe(4);
    expect(own.stderr).toContain('two-person rule');
    const approved = await runCli(['approve', approvalId, '--reason', 'acceptance test'], bob);
    expect(approved).toMatchObject({ code: 0 });
    expect(approved.stdout).toContain('Approved by arn:aws:sts::111122223333:assumed-role/OnCall/bob');

    const start = await started;
    expect(start.code).toBe(0);
    expect(start.stdout).toContain('Execution SUCCEEDED: ROTATED  exit 0');
    const executionArn =
      /(arn:aws:states:us-east-1:111122223333:execution:KmsIncidentRotationManual:manual-[\w-]+)/.exec(
        start.stderr,
      )![1];

    const watched = await runCli(['watch', executionArn, '--json'], bob);
    expect(watched.code).toBe(0);
    type Result = {
      status: string;
      summary: { outcome: string; keys: { outcome: string; approvedBy?: string }[] };
      requestedBy: string;
    };
    const result = JSON.parse(watched.stdout) as Result;
    expect(result).toMatchObject({
      status: 'SUCCEEDED',
      requestedBy: 'arn:aws:sts::111122223333:assumed-role/OnCall/alice',
      summary: { outcome: 'ROTATED' },
    });
    expect(result.summary.keys[0]).toMatchObject({
      outcome: 'ROTATED',
      approvedBy: 'arn:aws:sts::111122223333:assumed-role/OnCall/bob',
    });

    sandbox.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(err).toContain('sandbox stopping');
    for (const port of ports) expect(await refused(port)).toBe(true);
  });
});
