import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, sourceFiles } from './import-graph';

// One idea per module: no product module (lambdas, lib, local, cli, bin, bench; tests and JSON
// fixtures aside) over MAX_LINES lines, counted as `wc -l` counts them.

const MAX_LINES = 450;

function lineCount(file: string): number {
  return (readFileSync(join(REPO_ROOT, file), 'utf8').match(/\n/g) ?? []).length;
}

const sizes = new Map(sourceFiles().map((file) => [file, lineCount(file)]));

test(`no module has more than ${MAX_LINES} lines`, () => {
  const over = [...sizes].filter(([, lines]) => lines > MAX_LINES);
  expect(over.map(([file, lines]) => `${file}: ${lines} lines`)).toEqual([]);
});

test('the count covers every tier', () => {
  for (const root of ['lambdas/', 'lib/', 'local/', 'cli/', 'bin/', 'bench/'])
    expect([...sizes.keys()].some((file) => file.startsWith(root))).toBe(true);
  expect(sizes.get('cli/main.ts')).toBeGreaterThan(100);
});
