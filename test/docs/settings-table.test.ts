/**
 * docs/deploy.md's settings table is generated from the settings contract (lib/settings/settings.ts) by
 * `npm run docs:settings`: the text between its markers must be exactly what the generator writes
 * now, so a setting added, removed, re-documented or given another default or bound fails here
 * until the table is regenerated.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { SETTING_NAMES } from '../../lib/settings/settings';
import { settingsTable, TABLE_MARKERS, withSettingsTable } from '../../lib/settings/settings-docs';

const deploy = readFileSync(path.join(__dirname, '..', '..', 'docs', 'deploy.md'), 'utf8');

test('the table between the markers is exactly the generated one (run `npm run docs:settings` when stale)', () => {
  expect(deploy).toContain(TABLE_MARKERS.start);
  expect(deploy).toContain(TABLE_MARKERS.end);
  expect(withSettingsTable(deploy)).toBe(deploy);
});

test('the generated table has one row per setting, in the schema order', () => {
  const names = settingsTable()
    .split('\n')
    .slice(2)
    .map((row) => /^\| `(\w+)` \|/.exec(row)?.[1]);
  expect(names).toEqual(SETTING_NAMES);
});

test('a row shows the default, the bounds and the documentation', () => {
  expect(settingsTable()).toContain(
    "| `rotationBudget` | `25` | 1–1000, integer | A key's lifetime on-demand rotation limit. |",
  );
  expect(settingsTable()).toContain('| `approvalTimeoutAction` | `"SKIP"` | – |');
});
