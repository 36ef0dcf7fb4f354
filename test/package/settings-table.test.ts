/**
 * docs/deploy.md's settings table (the construct's props and the cdk.json context, one set) is checked
 * against the schema: every setting has a row, no row names an unknown setting, and each default
 * shown is the schema's default.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { SETTING_NAMES, settingsObject } from '../../lib/settings';

const readme = readFileSync(path.join(__dirname, '..', '..', 'docs', 'deploy.md'), 'utf8').split('\n');
const HEADER = '| setting | default | meaning |';

interface Row {
  names: string[];
  defaults: unknown[];
  line: string;
}

/** A backticked literal: JSON where it parses (numbers, booleans, arrays, objects), else the bare string. */
function literal(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The table's rows: the settings named in the first column, the backticked defaults in the second. */
function tableRows(): Row[] {
  const start = readme.indexOf(HEADER);
  if (start < 0) throw new Error(`docs/deploy.md has no settings table (${HEADER})`);
  const rows: Row[] = [];
  for (const line of readme.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const [name, value] = line
      .split(/(?<!\\)\|/)
      .slice(1, 3)
      .map((cell) => cell.trim());
    const backticked = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    rows.push({ names: backticked(name!), defaults: backticked(value!).map(literal), line });
  }
  return rows;
}

const defaults = settingsObject.parse({}) as Record<string, unknown>;

test('every setting has exactly one row, and every row names settings', () => {
  const named = tableRows().flatMap((row) => row.names);
  expect([...named].sort()).toEqual([...SETTING_NAMES].sort());
});

test.each(tableRows().map((row) => [row.names.join(', '), row] as const))(
  "%s: the default shown is the schema's",
  (_names, row) => {
    // One default per name (`a` / `b`), or one for all the row's names.
    const shown = row.defaults.length === 1 ? row.names.map(() => row.defaults[0]) : row.defaults;
    expect(shown).toHaveLength(row.names.length);
    expect(Object.fromEntries(row.names.map((name, i) => [name, shown[i]]))).toEqual(
      Object.fromEntries(row.names.map((name) => [name, defaults[name]])),
    );
  },
);
