import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * Where CDK context keys come from, for the settings' error messages, and which keys look like a
 * mistyped setting. The CDK CLI merges cdk.json, cdk.context.json, ~/.cdk.json and `-c` into one
 * context before the app runs, so the app can only tell the sources apart by reading cdk.json
 * itself: a value equal to cdk.json's came from there (or was repeated with `-c`, which is the
 * same value); anything else came from the command line (or cdk.context.json, which the CLI writes
 * for lookups and never holds settings).
 */

/** Keys CDK itself owns: feature flags (`@aws-cdk/...`), `aws:cdk:...`, `cdk-...`, lookups (`availability-zones:...`). */
function isCdkKey(key: string): boolean {
  return (
    key.startsWith('@') ||
    key.startsWith('aws:') ||
    key.startsWith('aws-cdk') ||
    key.startsWith('cdk') ||
    key.includes(':')
  );
}

/** Edit distance (insertions, deletions, substitutions, adjacent transpositions), case-insensitive. */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  const d: number[][] = Array.from({ length: s.length + 1 }, (_, i) =>
    Array.from({ length: t.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= s.length; i++) {
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1])
        d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[s.length]![t.length]!;
}

/** The setting a key is probably a typo of: same letters in another case, or at most 2 edits (3 for long names). */
export function closestSetting(key: string, settingNames: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of settingNames) {
    const distance = editDistance(key, name);
    const allowed = name.length >= 12 ? 3 : 2;
    if (distance <= allowed && (!best || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

/**
 * Problems for context keys that are not settings but look like one: each names the key, its
 * source and the setting it probably means. Keys CDK owns are ignored, as are keys far from every
 * setting: the product's other context keys (env, settingsFile, stackSetAssets*) and another
 * tool's context are not ours to refuse.
 */
export function misspelledContextKeys(
  keys: readonly string[],
  settingNames: readonly string[],
  sourceOf: (key: string) => string,
): string[] {
  const known = new Set(settingNames);
  const problems: string[] = [];
  for (const key of keys) {
    if (known.has(key) || isCdkKey(key)) continue;
    const guess = closestSetting(key, settingNames);
    if (guess) problems.push(`${key} (${sourceOf(key)}): not a setting; did you mean ${guess}?`);
  }
  return problems;
}

/** cdk.json's `context` in `dir` (the CDK CLI runs the app from the project root), or undefined. */
export function readCdkJsonContext(dir = process.cwd()): Record<string, unknown> | undefined {
  const file = path.join(dir, 'cdk.json');
  if (!existsSync(file)) return undefined;
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { context?: unknown };
    return parsed.context && typeof parsed.context === 'object'
      ? (parsed.context as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Where a context value came from: `cdk.json` when cdk.json holds the same value, otherwise the
 * command line (`-c key=value`). Command-line values arrive as strings, so "25" equals 25.
 */
export function contextSource(cdkJson: Record<string, unknown> | undefined, key: string, value: unknown): string {
  if (cdkJson && key in cdkJson) {
    const inFile = cdkJson[key];
    if (
      JSON.stringify(inFile) === JSON.stringify(value) ||
      (typeof value === 'string' && JSON.stringify(inFile) === value)
    )
      return 'cdk.json';
  }
  return cdkJson ? `-c ${key}=...` : 'the CDK context';
}
