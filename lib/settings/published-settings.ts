import { parseSettings, settingsObject, type Settings } from './settings';

/**
 * The settings the stack publishes for the CLI (`kms-rotate check` assesses a key as the deployed
 * workflow would): one stack output, `Settings`, holding compact JSON. The stack writes it with
 * `encodePublishedSettings`, the CLI reads it with `decodePublishedSettings`: one format, one home.
 * Import-free of aws-cdk-lib, so the CLI can load it.
 */

/** The stack output's key. */
export const SETTINGS_OUTPUT = 'Settings';

/** What assessKey needs from the settings (and what `check` shows), nothing else. */
export const PUBLISHED_SETTINGS = [
  'rotationBudget',
  'automaticReserve',
  'cooldownMinutes',
  'optOutTag',
  'dryRun',
  'approvalTimeoutMinutes',
  'approvalTimeoutAction',
  'forceMinIntervalMinutes',
  'forceDailyCap',
  'dailyRotationCap',
] as const;

export type PublishedSettings = Pick<Settings, (typeof PUBLISHED_SETTINGS)[number]>;

const publishedSchema = settingsObject.pick(
  Object.fromEntries(PUBLISHED_SETTINGS.map((name) => [name, true])) as {
    [K in (typeof PUBLISHED_SETTINGS)[number]]: true;
  },
);

/** The output's value: the published settings as compact JSON, in a fixed order. */
export function encodePublishedSettings(settings: Settings): string {
  return JSON.stringify(Object.fromEntries(PUBLISHED_SETTINGS.map((name) => [name, settings[name]])));
}

/**
 * Reads the output's value back into full settings (defaults for what is not published).
 * Unknown fields (a newer stack) are ignored; a missing one takes its default.
 *
 * @throws SettingsError when the value is not JSON or a published setting is invalid.
 */
export function decodePublishedSettings(text: string, where: string): Settings {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return parseSettings('not JSON', where);
  }
  const known = publishedSchema.partial().strip().safeParse(raw);
  // Invalid values are reported by parseSettings with every bad field named.
  return parseSettings(known.success ? known.data : raw, where);
}
