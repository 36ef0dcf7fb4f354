/**
 * The Node.js requirement is true: package.json `engines.node` is a lowest version that every
 * package in package-lock.json accepts, judged by npm's own engine check (npm-install-checks, the
 * code behind `npm ci`'s EBADENGINE warning), so `npm ci` on that Node prints no engine warning;
 * README states the same version.
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
  packages: Record<string, { name?: string; version?: string; engines?: unknown }>;
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

/** The locked packages whose `engines` refuse Node `nodeVersion`, as npm would name them. */
function refusing(nodeVersion: string): string[] {
  const { checks, npmVersion } = npmChecks();
  const refused: string[] = [];
  for (const [location, entry] of Object.entries(lock.packages)) {
    if (!entry.engines) continue;
    const id = `${location === '' ? 'kms-incident-rotation' : location.replace(/^.*node_modules\//, '')}@${entry.version ?? ''}`;
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

test('every locked package accepts the lowest Node that engines.node allows (npm ci prints no EBADENGINE there)', () => {
  expect(refusing(minimum!)).toEqual([]);
});

test('the Node that runs the npm scripts (devDependency `node`) is allowed too', () => {
  expect(refusing(manifest.devDependencies.node!)).toEqual([]);
});

test("npm's checker refuses what it should (the test above can fail)", () => {
  // Node 20 is end-of-life; aws-local-stepfunctions calls Promise.withResolvers (Node 22) and says so.
  expect(refusing('20.20.2')).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^aws-local-stepfunctions@/),
      expect.stringMatching(/^kms-incident-rotation@/),
    ]),
  );
});

test('README states the same requirement', () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const [major, minor] = minimum!.split('.');
  expect(readme).toContain(`Node.js ${major}.${minor} or newer`);
  expect(readme).not.toMatch(/node` can be 20 or newer/);
});
