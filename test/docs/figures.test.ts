/**
 * Figures the docs quote come from a run: every bundle size, the StackSet template size and the
 * computed worst-case history count named below is measured here (bundles built with the stack's own esbuild options, the template
 * synthesized as `cdk synth` does, with cdk.json's context) and checked against the docs within a
 * stated tolerance, so a figure that drifts fails this test instead of misleading a reader. Figures
 * this test cannot produce (speeds, memory, storm timings) are not quoted in these places; the
 * ones `npm run bench` measures are printed by it.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildSync } from 'esbuild';
import { esbuildOptionsFor, HANDLERS, type HandlerName } from '../../lib/functions';
import { productStack } from '../../lib/app';
import { worstCase } from '../../lib/limits';
import { parseSettings } from '../../lib/settings/settings';

const ROOT = path.join(__dirname, '..', '..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8').replace(/\s+/g, ' ');
/** KB as the docs and `npm run bench` count it: 1,000 bytes. */
const KB = 1000;
/** A quoted size may be this far off the measured one (rounding, small code changes). */
const TOLERANCE = 0.05;

/** The number the docs quote in `file` for `pattern` (its first group), with commas removed. */
function quoted(file: string, pattern: RegExp): number {
  const match = pattern.exec(read(file));
  if (!match) throw new Error(`${file} no longer quotes ${pattern}: update this test with the docs`);
  return Number(match[1]!.replace(/,/g, ''));
}

/** Whether `measured` is within TOLERANCE of the figure `stated`. */
function near(measured: number, stated: number): boolean {
  return Math.abs(measured - stated) <= stated * TOLERANCE;
}

describe('bundle sizes in docs/operating.md', () => {
  const cache = path.join(ROOT, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const outdir = mkdtempSync(path.join(cache, 'figures-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));
  const sizes = new Map<string, number>();
  beforeAll(() => {
    for (const name of [...HANDLERS, 'front-door', 'drill', 'approval-watch']) {
      const outfile = path.join(outdir, name, 'index.js');
      buildSync({ ...esbuildOptionsFor(name as HandlerName, outfile), logLevel: 'silent' });
      sizes.set(name, statSync(outfile).size / KB);
    }
  });
  const DOC = 'docs/operating.md';

  test.each([
    ['intake', /Intake (\d+) KB/],
    ['notify', /Notify (\d+) KB/],
    ['front-door', /the front door (\d+) KB/],
    ['drill', /the drill (\d+) KB/],
    ['reencrypt-objects', /ReencryptObjects (\d+) KB/],
  ])('%s: the quoted size is the built one', (name, pattern) => {
    const stated = quoted(DOC, pattern);
    // The measured and stated sizes both appear in a failure's diff.
    const measured = Math.round(sizes.get(name)!);
    expect({ name, measured, stated, near: near(sizes.get(name)!, stated) }).toEqual({
      name,
      measured,
      stated,
      near: true,
    });
  });

  test('"every other function at most N KB": the largest of the others is N (within the tolerance, never over)', () => {
    const named = new Set(['intake', 'notify', 'front-door', 'drill', 'reencrypt-objects']);
    const largest = Math.max(...[...sizes].filter(([n]) => !named.has(n)).map(([, s]) => s));
    const stated = quoted(DOC, /every other function at most (\d+) KB/);
    expect(largest).toBeLessThanOrEqual(stated);
    expect(near(largest, stated)).toBe(true);
  });
});

describe('StackSet template size in docs/deploy.md', () => {
  test('the template `cdk synth -c stackSetAssetsBucket=...` writes is the quoted size', () => {
    const cdkJson = JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')) as { context: object };
    const outdir = mkdtempSync(path.join(tmpdir(), 'figures-cdkout-'));
    try {
      const app = new App({
        outdir,
        context: {
          ...cdkJson.context,
          'aws:cdk:bundling-stacks': [],
          stackSetAssetsBucket: 'my-org-assets-${AWS::Region}',
        },
      });
      const stack = productStack(app);
      const file = app.synth().getStackByName(stack.stackName).templateFullPath;
      const measured = statSync(file).size / KB;
      const stated = quoted('docs/deploy.md', /KmsIncidentRotation\.template\.json` to S3 \(about (\d+) KB/);
      expect({ measured: Math.round(measured), near: near(measured, stated) }).toEqual({
        measured: expect.any(Number),
        near: true,
      });
      // And the reason the docs give for uploading it: over CloudFormation's inline limit.
      expect(measured * KB).toBeGreaterThan(51_200);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe('history events in docs/architecture.md', () => {
  test('the computed worst case at the defaults is the quoted count (exactly: it is arithmetic)', () => {
    const stated = quoted('docs/architecture.md', /computed worst case at the defaults: ([\d,]+) events/);
    expect(worstCase(parseSettings({})).historyEvents).toBe(stated);
  });
});
