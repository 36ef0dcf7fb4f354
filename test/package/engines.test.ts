/**
 * The Node.js requirement is true for both places the package runs, judged by npm's own engine
 * check (npm-install-checks, the code behind `npm ci`'s EBADENGINE warning):
 * - `engines.node` is the system Node that installs the repository (npm and the packages' install
 *   scripts run on it) and that runs the construct in a consumer's CDK app (aws-cdk-lib, the peer
 *   dependency, states its own floor): every locked package accepts it, so `npm ci` on it prints
 *   no EBADENGINE warning (aws-local-stepfunctions, which declares Node 22 on the registry, is
 *   installed from vendor/ patched for it: test/package/vendored-asl.test.ts);
 * - everything else (tests, CLI, synth, bench) runs on the devDependency `node`, which every locked
 *   package accepts too.
 * README states both.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
};
const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { name?: string; version?: string; engines?: unknown; hasInstallScript?: boolean }>;
};

interface InstallChecks {
  checkEngine(target: { _id: string; engines: unknown }, npmVersion: string, nodeVersion: string): void;
}

/** npm's own checker from the npm on PATH (the one `npm ci` runs). */
function npmChecks(): { checks: InstallChecks; npmVersion: string } {
  const npmDir = path.join(execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim(), 'npm');
  const checker = path.join(npmDir, 'node_modules', 'npm-install-checks');
  if (!existsSync(checker)) throw new Error(`npm's engine checker not found at ${checker}`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- npm's own module, found at run time
  const checks = require(checker) as InstallChecks;
  return {
    checks,
    npmVersion: (JSON.parse(readFileSync(path.join(npmDir, 'package.json'), 'utf8')) as { version: string }).version,
  };
}

/** The package name of a lock location (`node_modules/a/node_modules/@b/c` -> `@b/c`; '' -> ours). */
const nameOf = (location: string) =>
  location === '' ? 'kms-incident-rotation' : location.replace(/^.*node_modules\//, '');

/** The locked packages whose `engines` refuse Node `nodeVersion`, as npm would name them. */
function refusing(nodeVersion: string): string[] {
  const { checks, npmVersion } = npmChecks();
  const refused: string[] = [];
  for (const [location, entry] of Object.entries(lock.packages)) {
    if (!entry.engines) continue;
    const id = `${nameOf(location)}@${entry.version ?? ''}`;
    try {
      checks.checkEngine({ _id: id, engines: entry.engines }, npmVersion, nodeVersion);
    } catch {
      refused.push(id);
    }
  }
  return refused;
}

const minimum = /^>=(\d+\.\d+\.\d+)$/.exec(manifest.engines.node)?.[1];

test('engines.node is a lower bound (>=X.Y.Z)', () => {
  expect(minimum).toBeDefined();
});

test('every locked package accepts the lowest Node that engines.node allows (npm ci warns of none)', () => {
  expect(refusing(minimum!)).toEqual([]);
});

test("the construct's consumers: aws-cdk-lib (the peer dependency) accepts the lowest Node", () => {
  expect(refusing(minimum!).filter((id) => id.startsWith('aws-cdk-lib@') || id.startsWith('constructs@'))).toEqual([]);
  expect(lock.packages['node_modules/aws-cdk-lib']?.engines).toBeDefined();
});

test('the Node that runs the npm scripts (devDependency `node`) is allowed by every locked package', () => {
  expect(refusing(manifest.devDependencies.node!)).toEqual([]);
});

test("npm's checker refuses what it should (the tests above can fail)", () => {
  expect(refusing('20.18.0')).toEqual(
    expect.arrayContaining([expect.stringMatching(/^eslint@/), expect.stringMatching(/^kms-incident-rotation@/)]),
  );
  expect(refusing('18.20.0')).toEqual(expect.arrayContaining([expect.stringMatching(/^aws-cdk-lib@/)]));
});

test('README states the same requirement and the Node the npm scripts run on', () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8').replace(/\s+/g, ' ');
  const [major, minor] = minimum!.split('.');
  expect(readme).toContain(`Node.js ${major}.${minor} or newer to install`);
  expect(readme).toContain(`npm scripts run on Node ${manifest.devDependencies.node!.split('.')[0]}`);
  expect(readme).not.toContain('EBADENGINE warning for');
});
