import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The docs name files and link to each other: every relative link (and its #anchor) and every
 * repository path written in backticks must exist, so that moving or renaming a file breaks this
 * test instead of a reader's trail.
 */
const ROOT = path.join(__dirname, '../..');
const DOCS = [
  'README.md',
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
  'cli/README.md',
  'local/README.md',
  'local/standin/README.md',
];
/** Top-level folders whose paths the docs name; a backticked path under one of them must exist. */
const REPO_DIRS = ['bin', 'lib', 'lambdas', 'local', 'cli', 'test', 'bench', 'docs', 'settings', '.ci'];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

function withoutCode(text: string): string {
  return text.replace(/```[\s\S]*?```/g, '');
}

function anchorsIn(file: string): Set<string> {
  const text = withoutCode(readFileSync(path.join(ROOT, file), 'utf8'));
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1]!)));
}

interface Problem {
  file: string;
  target: string;
  why: string;
}

function linkProblems(file: string): Problem[] {
  const text = withoutCode(readFileSync(path.join(ROOT, file), 'utf8'));
  const problems: Problem[] = [];
  for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = m[1]!;
    if (/^[a-z]+:/i.test(target)) continue;
    const [rel, anchor] = target.split('#') as [string, string | undefined];
    const resolved = rel === '' ? file : path.normalize(path.join(path.dirname(file), rel));
    if (!existsSync(path.join(ROOT, resolved))) {
      problems.push({ file, target, why: `${resolved} does not exist` });
      continue;
    }
    if (anchor && resolved.endsWith('.md') && !anchorsIn(resolved).has(anchor))
      problems.push({ file, target, why: `no heading #${anchor} in ${resolved}` });
  }
  return problems;
}

function pathProblems(file: string): Problem[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8').replace(/```[\s\S]*?```/g, '');
  const problems: Problem[] = [];
  for (const m of text.matchAll(/`([^`\s]+)`/g)) {
    const named = m[1]!.replace(/[.,:;)]+$/, '').replace(/:\d+$/, '');
    const top = named.split('/')[0]!;
    if (!named.includes('/') || !REPO_DIRS.includes(top) || /[<>*{}$]/.test(named)) continue;
    if (!existsSync(path.join(ROOT, named)))
      problems.push({ file, target: named, why: 'no such file or folder in the repository' });
  }
  return problems;
}

describe('documentation links and file paths', () => {
  test('README is at most 200 lines and links every page in docs/', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    expect(readme.split('\n').length).toBeLessThanOrEqual(200);
    for (const page of DOCS.filter((d) => d.startsWith('docs/'))) expect(readme).toContain(`](${page})`);
  });

  test.each(DOCS)('%s: every relative link and #anchor resolves', (file) => {
    expect(linkProblems(file)).toEqual([]);
  });

  test.each(DOCS)('%s: every repository path in backticks exists', (file) => {
    expect(pathProblems(file)).toEqual([]);
  });

  test('the checks can fail: a missing file, a missing anchor and a missing path are found', () => {
    expect(anchorOf("The offline account's fidelity rules")).toBe('the-offline-accounts-fidelity-rules');
    const fake = 'docs/__link-check-probe.md';
    const fs = jest.requireActual<typeof import('node:fs')>('node:fs');
    fs.writeFileSync(
      path.join(ROOT, fake),
      '# Probe\n[a](nowhere.md) [b](on-call.md#no-such-heading) [c](#probe) `lib/no-such-file.ts`\n',
    );
    try {
      expect(linkProblems(fake).map((p) => p.target)).toEqual(['nowhere.md', 'on-call.md#no-such-heading']);
      expect(pathProblems(fake).map((p) => p.target)).toEqual(['lib/no-such-file.ts']);
    } finally {
      fs.unlinkSync(path.join(ROOT, fake));
    }
  });
});
