import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * Comments say why, never when: an issue number means nothing to a reader of the repository, and
 * history belongs in git. Every source file (fixtures aside) is free of "issue N".
 */
const ROOT = path.join(__dirname, '../..');
const DIRS = ['bin', 'lib', 'lambdas', 'local', 'cli', 'bench', 'test'];
const HISTORY = /\bissue #?\d+/i;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return name === 'fixtures' || name === 'node_modules' ? [] : sources(full);
    return /\.(ts|js|mjs)$/.test(name) ? [full] : [];
  });
}

test('no source file names an issue number', () => {
  const found = DIRS.flatMap((d) => sources(path.join(ROOT, d)))
    .filter((file) => file !== __filename)
    .flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .map((line, i) => (HISTORY.test(line) ? `${path.relative(ROOT, file)}:${i + 1}: ${line.trim()}` : null))
        .filter((l): l is string => l !== null),
    );
  expect(found).toEqual([]);
});

test('the check can fail', () => {
  expect(HISTORY.test('// Re-encryption (issue 11): ...')).toBe(true);
  expect(HISTORY.test('// the issuer of the token')).toBe(false);
});
