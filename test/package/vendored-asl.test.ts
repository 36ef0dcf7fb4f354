/**
 * aws-local-stepfunctions is installed from vendor/ (docs/development.md "Node versions"): the
 * registry's 3.0.0 with two changes, made by scripts/vendor-aws-local-stepfunctions.sh. These tests
 * check, offline, that the tarball is exactly that (every other file byte for byte the registry's,
 * by the hashes the script recorded from the tarball it verified), that `npm ci` installed it, and
 * that it runs a state machine under the system Node, which for this repository is Node 20.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as vm from 'node:vm';
import { gunzipSync } from 'node:zlib';

const ROOT = path.join(__dirname, '..', '..');
const PACKAGE = 'aws-local-stepfunctions';
const MANIFEST_PATH = path.join(ROOT, 'vendor', `${PACKAGE}-3.0.0-node20.json`);
const SCRIPT_PATH = path.join(ROOT, 'scripts', 'vendor-aws-local-stepfunctions.sh');
const POLYFILL_MARKER = 'aws-local-stepfunctions.vendored.node20-polyfills';
const FORCE_FLAG = 'ASL_VENDORED_FORCE_POLYFILL';
const NODE_ENTRIES = ['package/build/main.node.cjs', 'package/build/main.node.esm.js'];

interface Manifest {
  version: string;
  upstreamIntegrity: string;
  tarball: string;
  polyfill: string;
  upstreamFiles: Record<string, { sha512: string; size: number }>;
  patched: Record<string, string>;
}

const manifest = JSON.parse(readFileSync(MANIFEST_PATH, 'utf8')) as Manifest;
const rootManifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
};
const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { resolved?: string; integrity?: string; engines?: { node?: string } }>;
};
const polyfill = readFileSync(path.join(ROOT, manifest.polyfill));

const sha512 = (bytes: Buffer) => createHash('sha512').update(bytes).digest('base64');

/** The regular files of a gzipped ustar archive (what npm pack writes and npm ci reads). */
function readTarball(file: string): Map<string, Buffer> {
  const tar = gunzipSync(readFileSync(file));
  const files = new Map<string, Buffer>();
  const field = (at: number, length: number) =>
    tar
      .subarray(at, at + length)
      .toString('utf8')
      .replace(/\0.*$/s, '');
  for (let offset = 0; offset + 512 <= tar.length && tar[offset] !== 0;) {
    const name = field(offset, 100);
    const prefix = field(offset + 345, 155);
    const size = parseInt(field(offset + 124, 12).trim(), 8);
    const type = field(offset + 156, 1);
    if (type !== '0' && type !== '') throw new Error(`unexpected tar entry type '${type}' for ${name}`);
    files.set(prefix ? `${prefix}/${name}` : name, tar.subarray(offset + 512, offset + 512 + size));
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

const vendored = readTarball(path.join(ROOT, manifest.tarball));
const expectUpstream = (file: string, bytes: Buffer) =>
  expect({ file, sha512: sha512(bytes), size: bytes.length }).toEqual({ file, ...manifest.upstreamFiles[file] });

describe('the vendored tarball is the registry tarball plus the recorded patch', () => {
  test('package.json and the lock install it, with its integrity and the repository engines floor', () => {
    expect(rootManifest.devDependencies[PACKAGE]).toBe(`file:${manifest.tarball}`);
    const locked = lock.packages[`node_modules/${PACKAGE}`];
    expect(locked?.resolved).toBe(`file:${manifest.tarball}`);
    expect(locked?.integrity).toBe(`sha512-${sha512(readFileSync(path.join(ROOT, manifest.tarball)))}`);
    expect(locked?.engines?.node).toBe(rootManifest.engines.node);
  });

  test('the manifest describes the registry tarball whose hash the script checks', () => {
    expect(readFileSync(SCRIPT_PATH, 'utf8')).toContain(`readonly UPSTREAM_INTEGRITY='${manifest.upstreamIntegrity}'`);
    expect(manifest.version).toBe('3.0.0');
  });

  test('it holds the same files, and only package.json and the two Node entry files are patched', () => {
    expect([...vendored.keys()].sort()).toEqual(Object.keys(manifest.upstreamFiles).sort());
    expect(Object.keys(manifest.patched).sort()).toEqual(['package/package.json', ...NODE_ENTRIES].sort());
  });

  test('every file but the patched ones is byte for byte the registry one', () => {
    const unpatched = [...vendored].filter(([file]) => !(file in manifest.patched));
    expect(unpatched.length).toBe(5);
    for (const [file, bytes] of unpatched) expectUpstream(file, bytes);
  });

  test('the MIT LICENSE is kept', () => {
    expect(vendored.get('package/LICENSE')?.toString('utf8')).toMatch(/^MIT License/);
  });

  test.each(NODE_ENTRIES)('%s is the polyfill followed by the registry file', (file) => {
    const bytes = vendored.get(file)!;
    expect(bytes.subarray(0, polyfill.length).equals(polyfill)).toBe(true);
    expectUpstream(file, bytes.subarray(polyfill.length));
  });

  test('package.json differs only in engines.node, which is the repository floor', () => {
    const text = vendored.get('package/package.json')!.toString('utf8');
    expect((JSON.parse(text) as { engines: unknown }).engines).toEqual({ node: rootManifest.engines.node });
    const restored = text.replace(`"node": "${rootManifest.engines.node}"`, '"node": ">=22.0.0"');
    expectUpstream('package/package.json', Buffer.from(restored, 'utf8'));
  });

  test('node_modules holds the vendored copy (npm ci installed it, not the registry one)', () => {
    for (const [file, bytes] of vendored) {
      const installed = readFileSync(path.join(ROOT, 'node_modules', PACKAGE, file.replace(/^package\//, '')));
      expect({ file, same: installed.equals(bytes) }).toEqual({ file, same: true });
    }
  });
});

/** Runs the polyfill in a fresh realm whose Promise is set up by `setup`; returns that realm. */
function runPolyfillInRealm(setup: string, env: Record<string, string> = {}): vm.Context {
  const realm = vm.createContext({ process: { env } });
  vm.runInContext(setup, realm);
  vm.runInContext(polyfill.toString('utf8'), realm);
  return realm;
}

describe('the polyfill', () => {
  const installedIn = (realm: vm.Context) => vm.runInContext(`globalThis[Symbol.for('${POLYFILL_MARKER}')]`, realm);

  test('gives a Node without Promise.withResolvers one that settles like ES2024 specifies', async () => {
    const realm = runPolyfillInRealm('delete Promise.withResolvers;');
    expect(installedIn(realm)).toEqual(['Promise.withResolvers']);
    const check = vm.runInContext(
      `(async () => {
        const a = Promise.withResolvers();
        a.resolve(1);
        const b = Promise.withResolvers();
        b.reject(new Error('no'));
        class Sub extends Promise {}
        const c = Sub.withResolvers();
        let notConstructor;
        try { Promise.withResolvers.call({}); } catch (e) { notConstructor = e instanceof TypeError; }
        const descriptor = Object.getOwnPropertyDescriptor(Promise, 'withResolvers');
        return {
          resolved: await a.promise,
          rejected: await b.promise.then(() => 'resolved', (e) => e.message),
          subclass: c.promise instanceof Sub,
          notConstructor,
          name: Promise.withResolvers.name,
          length: Promise.withResolvers.length,
          enumerable: descriptor.enumerable,
          writable: descriptor.writable,
          configurable: descriptor.configurable,
        };
      })()`,
      realm,
    ) as Promise<unknown>;
    await expect(check).resolves.toEqual({
      resolved: 1,
      rejected: 'no',
      subclass: true,
      notConstructor: true,
      name: 'withResolvers',
      length: 0,
      enumerable: false,
      writable: true,
      configurable: true,
    });
  });

  test('leaves a native Promise.withResolvers alone, unless forced', () => {
    const native = 'Promise.withResolvers = function withResolvers() { return "native"; };';
    const untouched = runPolyfillInRealm(native);
    expect(installedIn(untouched)).toBeUndefined();
    expect(vm.runInContext('Promise.withResolvers()', untouched)).toBe('native');
    const forced = runPolyfillInRealm(native, { [FORCE_FLAG]: '1' });
    expect(installedIn(forced)).toEqual(['Promise.withResolvers']);
    expect(vm.runInContext('Promise.withResolvers() instanceof Promise', forced)).toBe(false);
    expect(vm.runInContext('typeof Promise.withResolvers().resolve', forced)).toBe('function');
  });
});

/**
 * The first `node` on PATH outside any node_modules folder: the system Node that `npm ci` runs on
 * (npm and Jest put node_modules/.bin, with the Node 24 devDependency, first).
 */
function systemNode(): string {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter((dir) => dir && !/node_modules/.test(dir));
  for (const dir of dirs) {
    const candidate = path.join(dir, 'node');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  throw new Error(`no node on PATH outside node_modules: ${process.env.PATH}`);
}

/**
 * A state machine with one Task that answers and one that outlives its TimeoutSeconds (caught as
 * States.Timeout): each Task's timeout is where the library calls Promise.withResolvers.
 */
const RUN_STATE_MACHINE = `
  const definition = {
    StartAt: 'Answer',
    States: {
      Answer: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:a', ResultPath: '$.answer', Next: 'Hang' },
      Hang: {
        Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:b', TimeoutSeconds: 1,
        Catch: [{ ErrorEquals: ['States.Timeout'], ResultPath: '$.caught', Next: 'Done' }], End: true,
      },
      Done: { Type: 'Pass', End: true },
    },
  };
  const overrides = {
    taskResourceLocalHandlers: { Answer: async (input) => input.question * 2, Hang: () => new Promise(() => {}) },
  };
  new StateMachine(definition).run({ question: 21 }, { overrides }).result.then(
    (output) => {
      const polyfilled = globalThis[Symbol.for('${POLYFILL_MARKER}')] ?? null;
      console.log(JSON.stringify({ node: process.versions.node, polyfilled, output }));
      process.exit(0);
    },
    (error) => { console.error(String(error)); process.exit(1); },
  );`;

const ENTRY_LOADERS = {
  cjs: { args: ['-e'], load: "const { StateMachine } = require('aws-local-stepfunctions');" },
  esm: { args: ['--input-type=module', '-e'], load: "import { StateMachine } from 'aws-local-stepfunctions';" },
};

interface ChildRun {
  node: string;
  polyfilled: string[] | null;
  output: unknown;
}

/** Runs the state machine under `node` with the package's CommonJS or ES module entry. */
async function runUnder(node: string, entry: keyof typeof ENTRY_LOADERS, env: Record<string, string> = {}) {
  const { args, load } = ENTRY_LOADERS[entry];
  const { [FORCE_FLAG]: _inherited, ...inherited } = process.env;
  const { stdout } = await promisify(execFile)(node, [...args, `${load}\n${RUN_STATE_MACHINE}`], {
    cwd: ROOT,
    env: { ...inherited, ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return JSON.parse(stdout) as ChildRun;
}

const EXPECTED_OUTPUT = {
  question: 21,
  answer: 42,
  caught: { Error: 'States.Timeout', Cause: expect.any(String) as unknown },
};

describe('the vendored package runs a state machine under the system Node', () => {
  const node = systemNode();
  // The four child Nodes run at once: each spends seconds loading the SDK and waiting the timeout.
  const runs = {
    cjs: runUnder(node, 'cjs'),
    esm: runUnder(node, 'esm'),
    forcedCjs: runUnder(node, 'cjs', { [FORCE_FLAG]: '1' }),
    forcedEsm: runUnder(node, 'esm', { [FORCE_FLAG]: '1' }),
  };
  // A rejection is reported by the test that awaits it, not as an unhandled one before that.
  for (const run of Object.values(runs)) run.catch(() => undefined);

  test.each(['cjs', 'esm'] as const)('%s entry, as installed', async (entry) => {
    const run = await runs[entry];
    expect(run.output).toEqual(EXPECTED_OUTPUT);
    // Node 22 has Promise.withResolvers: there the polyfill must stay out of the way.
    const lacksWithResolvers = Number(run.node.split('.')[0]) < 22;
    expect(run.polyfilled).toEqual(lacksWithResolvers ? ['Promise.withResolvers'] : null);
  });

  test.each(['Cjs', 'Esm'] as const)(
    '%s entry, with the polyfill forced (its code runs on any Node)',
    async (entry) => {
      const run = await runs[`forced${entry}`];
      expect(run.polyfilled).toEqual(['Promise.withResolvers']);
      expect(run.output).toEqual(EXPECTED_OUTPUT);
    },
  );
});
