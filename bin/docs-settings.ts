/**
 * `npm run docs:settings`: writes what the settings contract generates (lib/settings/settings-docs.ts):
 * the settings table in docs/deploy.md (between its markers) and the construct's props interface,
 * lib/settings/settings-props.generated.ts (written as Prettier would format it: the format check and the
 * freshness test both hold without a formatting step).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { settingsPropsSource, withSettingsTable } from '../lib/settings/settings-docs';

const ROOT = path.join(__dirname, '..');

function main(): void {
  const deploy = path.join(ROOT, 'docs', 'deploy.md');
  writeFileSync(deploy, withSettingsTable(readFileSync(deploy, 'utf8')));
  const props = path.join(ROOT, 'lib', 'settings', 'settings-props.generated.ts');
  writeFileSync(props, settingsPropsSource());
  console.log(`wrote ${path.relative(ROOT, deploy)} (settings table) and ${path.relative(ROOT, props)}`);
}

main();
