import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import * as ts from 'typescript';

/**
 * The repository's own import graph, read with the TypeScript compiler's pre-processor (the
 * specifiers of `import`, `export ... from`, `import()` and `require()`) and resolved as tsc
 * resolves them, so the graph is the one the compiler and the bundler follow.
 */

/** The folders that hold product code, lowest tier first (tests and fixtures aside). */
export const SOURCE_ROOTS = ['lambdas', 'lib', 'local', 'cli', 'bin', 'bench'] as const;

/** The repository's root (test/lint/../..). */
export const REPO_ROOT = join(__dirname, '..', '..');

const SOURCE_FILE = /\.(ts|js|mjs)$/;

/** Every source file under `roots`, as repository-relative paths with `/` separators. */
export function sourceFiles(roots: readonly string[] = SOURCE_ROOTS): string[] {
  return roots.flatMap((root) =>
    readdirSync(join(REPO_ROOT, root), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile() && SOURCE_FILE.test(entry.name) && !entry.name.endsWith('.d.ts'))
      .map((entry) => toRepoPath(join(entry.parentPath, entry.name)))
      .sort(),
  );
}

function toRepoPath(absolute: string): string {
  return relative(REPO_ROOT, absolute).split(sep).join('/');
}

function compilerOptions(): ts.CompilerOptions {
  const configPath = join(REPO_ROOT, 'tsconfig.json');
  const { config } = ts.readConfigFile(configPath, ts.sys.readFile);
  return ts.parseJsonConfigFileContent(config, ts.sys, REPO_ROOT).options;
}

/** The repository files `file` imports (packages and files outside the repository left out). */
export function importsOf(file: string, options: ts.CompilerOptions): string[] {
  const absolute = join(REPO_ROOT, file);
  const info = ts.preProcessFile(readFileSync(absolute, 'utf8'), true, true);
  const targets = new Set<string>();
  for (const { fileName } of info.importedFiles) {
    if (!fileName.startsWith('.')) continue;
    const resolved = ts.resolveModuleName(fileName, absolute, options, ts.sys).resolvedModule;
    if (!resolved || resolved.isExternalLibraryImport) continue;
    const target = toRepoPath(resolved.resolvedFileName);
    if (!target.startsWith('..') && !target.includes('node_modules/')) targets.add(target);
  }
  return [...targets].sort();
}

/** The import graph of `files`: each file and the repository files it imports. */
export function importGraph(files: readonly string[]): Map<string, string[]> {
  const options = compilerOptions();
  return new Map(files.map((file) => [file, importsOf(file, options)]));
}

/**
 * The graph's cycles: its strongly connected components of more than one file, and files that
 * import themselves (Tarjan's algorithm), each sorted, in a stable order.
 */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const found: string[][] = [];
  let next = 0;

  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next);
    next += 1;
    stack.push(node);
    onStack.add(node);
    for (const target of graph.get(node) ?? []) {
      if (!graph.has(target)) continue;
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node)!, index.get(target)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component.sort());
  };

  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return found.sort((a, b) => a[0].localeCompare(b[0]));
}
