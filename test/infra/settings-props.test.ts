/**
 * The construct's props interface (lib/settings/settings-props.generated.ts) is generated from the settings
 * contract: it must be what `npm run docs:settings` writes now, and type-wise exactly the
 * settings' input type (z.input of the schema), so the props can neither drift from nor loosen
 * what the construct validates.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { KmsIncidentRotationProps } from '../../lib';
import type { z } from 'zod';
import type { settingsSchema } from '../../lib/settings/settings';
import { settingsPropsSource } from '../../lib/settings/settings-docs';

const FILE = path.join(__dirname, '..', '..', 'lib', 'settings', 'settings-props.generated.ts');

/** True only when A and B are the same type (mutual assignability is not enough: optionality counts). */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

test('the committed file is what the generator writes now (run `npm run docs:settings` when stale)', () => {
  // The generator writes Prettier's format itself (`npm run format:check` covers the file).
  expect(readFileSync(FILE, 'utf8')).toBe(settingsPropsSource());
});

test('every prop carries its documentation and its default', () => {
  const source = readFileSync(FILE, 'utf8');
  expect(source).toMatch(
    /A key's lifetime on-demand rotation limit\.\n\s+\*\n\s+\* Bounds: 1–1000, integer\.\n\s+\*\n\s+\* @default 25\n\s+\*\/\n\s+rotationBudget\?: number;/,
  );
  expect(source.match(/@default /g)).toHaveLength(34);
});

test('type-wise the props are exactly the settings input (z.input of the schema)', () => {
  const same: Equals<KmsIncidentRotationProps, z.input<typeof settingsSchema>> = true;
  expect(same).toBe(true);
});
