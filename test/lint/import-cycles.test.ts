import { cycles, importGraph, sourceFiles } from './import-graph';

// No import cycles among the product's modules (type-only imports included: a cycle of types is
// still two modules that cannot be understood, moved or split one without the other).

test('the cycle finder finds a loop of three, a file importing itself, and nothing in a tree', () => {
  const graph = new Map([
    ['a.ts', ['b.ts', 'd.ts']],
    ['b.ts', ['c.ts']],
    ['c.ts', ['a.ts']],
    ['d.ts', ['e.ts']],
    ['e.ts', []],
    ['f.ts', ['f.ts']],
  ]);
  expect(cycles(graph)).toEqual([['a.ts', 'b.ts', 'c.ts'], ['f.ts']]);
  expect(
    cycles(
      new Map([
        ['x.ts', ['y.ts']],
        ['y.ts', ['z.ts']],
        ['z.ts', []],
      ]),
    ),
  ).toEqual([]);
});

test('the graph has the edges the code declares (import, export from, require)', () => {
  const graph = importGraph(sourceFiles());
  // A static import across tiers, and a lazy require (local/front-door.ts loads the handler late).
  expect(graph.get('local/simulate.ts')).toContain('local/front-door-client.ts');
  expect(graph.get('cli/front-door.ts')).toContain('local/front-door-client.ts');
  expect(graph.get('local/front-door.ts')).toContain('lambdas/front-door/handler.ts');
}, 60_000);

test('no module imports itself through others', () => {
  expect(cycles(importGraph(sourceFiles()))).toEqual([]);
}, 60_000);
