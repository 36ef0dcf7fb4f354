import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildSync } from 'esbuild';
import { esbuildOptionsFor, HANDLERS } from '../lib/functions';
import { record } from './record';

// Lean functions: each Lambda bundle built with the stack's own esbuild options, its size and its
// cold module load (a fresh node process requiring it) against a bare node start.

/** Median wall time (ms) of `runs` fresh node processes running `code`. */
function nodeStartMs(code: string, runs = 7): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    execFileSync(process.execPath, ['-e', code], { stdio: 'ignore' });
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}

/** Build every handler's bundle and record its size and cold load. */
export function benchBundles(): void {
  // Inside the project, so that the external @aws-sdk/* resolve from node_modules as the Lambda
  // runtime provides them.
  const cache = path.join(__dirname, '..', 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const outdir = mkdtempSync(path.join(cache, 'bench-bundles-'));
  try {
    const bare = nodeStartMs('');
    for (const name of HANDLERS) {
      const outfile = path.join(outdir, name, 'index.js');
      buildSync({ ...esbuildOptionsFor(name, outfile), logLevel: 'silent' });
      record(`bundle: ${name} minified size`, statSync(outfile).size / 1000, 'KB', 400);
      const load = nodeStartMs(`require(${JSON.stringify(outfile)})`);
      record(
        `bundle: ${name} cold module load vs bare node start (${load.toFixed(0)} ms vs ${bare.toFixed(0)} ms)`,
        load / bare,
        'x',
        2,
      );
    }
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
