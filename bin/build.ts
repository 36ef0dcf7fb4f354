/**
 * The package's build (`npm run build`, run by `prepack`): the construct library compiled to
 * CommonJS with declarations (tsconfig.build.json) in dist/, and every product function bundled
 * once with the stack's own bundling options (lib/functions.ts BUNDLING) into
 * dist/bundles/<folder>/index.js, where the compiled construct takes its Lambda code from.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { build } from 'esbuild';
import { esbuildOptionsFor } from '../lib/functions';

const ROOT = path.join(__dirname, '..');
/** The build's output folder (package.json `main`, `types`, `files`). */
export const DIST = path.join(ROOT, 'dist');

/** Every folder under lambdas/ with a handler.ts: each is one deployed function. */
export function functionFolders(): string[] {
  return readdirSync(path.join(ROOT, 'lambdas'))
    .filter((folder) => existsSync(path.join(ROOT, 'lambdas', folder, 'handler.ts')))
    .sort();
}

/** Bundles every function into `<outdir>/<folder>/index.js` (and its source map) with BUNDLING. */
export async function buildBundles(outdir: string): Promise<string[]> {
  const folders = functionFolders();
  await Promise.all(
    folders.map((folder) =>
      build({ ...esbuildOptionsFor(folder, path.join(outdir, folder, 'index.js')), logLevel: 'warning' }),
    ),
  );
  return folders;
}

/** dist/ from scratch: stale files from an earlier build would otherwise be packed. */
async function main(): Promise<void> {
  rmSync(DIST, { recursive: true, force: true });
  execFileSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')],
    { stdio: 'inherit' },
  );
  const folders = await buildBundles(path.join(DIST, 'bundles'));
  // stderr: `npm pack --json` prints its JSON on stdout, and prepack runs this build.
  process.stderr.write(`dist/: the construct library and ${folders.length} Lambda bundles\n`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
