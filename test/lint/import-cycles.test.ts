import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import * as ts from 'typescript';

// Import cycles among the deployed code's modules, type-only imports included: a cycle, even of
// types, means two modules cannot be understood, split or moved apart. Strongly connected
// components of the relative-import graph (Tarjan), each printed as its files.

const ROOT = resolve(__dirname, '..', '..');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

/** The files a module imports or re-exports by relative path (`import type` and `export ... from` included). */
function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return importedFiles
    .map((i) => i.fileName)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => resolve(dirname(file), spec))
    .map((base) => [`${base}.ts`, join(base, 'index.ts')].find((f) => existsSync(f)))
    .filter((f): f is string => f !== undefined);
}

/** Every group of modules that import one another in a cycle (components of more than one file, or a file importing itself). */
function importCycles(dir: string): string[][] {
  const graph = new Map(tsFiles(dir).map((f) => [f, importsOf(f)]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (f: string) => {
    index.set(f, index.size);
    low.set(f, index.get(f)!);
    stack.push(f);
    onStack.add(f);
    for (const g of graph.get(f) ?? []) {
      if (!index.has(g)) {
        visit(g);
        low.set(f, Math.min(low.get(f)!, low.get(g)!));
      } else if (onStack.has(g)) low.set(f, Math.min(low.get(f)!, index.get(g)!));
    }
    if (low.get(f) !== index.get(f)) return;
    const component: string[] = [];
    let g: string;
    do {
      g = stack.pop()!;
      onStack.delete(g);
      component.push(relative(ROOT, g));
    } while (g !== f);
    if (component.length > 1 || (graph.get(f) ?? []).includes(f)) cycles.push(component.sort());
  };
  for (const f of graph.keys()) if (!index.has(f)) visit(f);
  return cycles;
}

test('the checker finds a cycle, type-only imports included', () => {
  const dir = join(ROOT, 'test', 'fixtures', 'import-cycle');
  expect(importCycles(dir)).toEqual([[`test/fixtures/import-cycle/a.ts`, `test/fixtures/import-cycle/b.ts`]]);
});

test('no re-encryption module of lambdas/ is part of an import cycle', () => {
  // The re-encryption modules (domain and adapters): contracts.ts names their vocabulary, so the
  // vocabulary imports nothing and the planning imports contracts.ts, never the reverse.
  const cycles = importCycles(join(ROOT, 'lambdas'));
  expect(cycles.filter((c) => c.some((f) => /reencrypt/.test(f)))).toEqual([]);
});
