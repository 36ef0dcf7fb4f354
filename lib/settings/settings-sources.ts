/**
 * Where settings come from besides the construct's props: the CDK context (cdk.json, `-c`) and a
 * settings file per environment (`-c env=` or `-c settingsFile=`), each validated against the
 * settings contract (lib/settings/settings.ts) with every error naming where its value came from.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { contextSource, misspelledContextKeys } from './context-keys';
import {
  describeIssues,
  parseSettings,
  SETTING_NAMES,
  SettingsError,
  settingsObject,
  settingsSchema,
  type Settings,
} from './settings';

/** Context keys that choose a settings file per environment (account and Region). */
export const ENVIRONMENT_CONTEXT = {
  /** `-c env=prod-eu` reads `settings/prod-eu.json` (relative to the working directory, the project root under `cdk`). */
  env: 'env',
  /** `-c settingsFile=envs/prod-eu.json`: any path. */
  settingsFile: 'settingsFile',
} as const;

/**
 * Read settings from CDK context. Values given with `-c name=value` arrive as strings, so a
 * string that parses as JSON (numbers, booleans, arrays) is parsed first.
 *
 * Per environment: with `-c env=<name>` or `-c settingsFile=<path>`, that file's settings (a JSON
 * object of setting names, validated on its own and named in every error) override the context
 * values for this synthesis; settings the file does not give come from the context or default.
 */
export function settingsFromContext(
  tryGetContext: (key: string) => unknown,
  readFile: (file: string) => string = (f) => readFileSync(f, 'utf8'),
  origin: ContextOrigin = {},
): Settings {
  const raw: Record<string, unknown> = {};
  const sources: Record<string, string> = {};
  for (const name of SETTING_NAMES) {
    const value = tryGetContext(name);
    if (value === undefined) continue;
    raw[name] =
      typeof value === 'string' && name !== 'optOutTag' && name !== 'approvalTimeoutAction'
        ? parseMaybeJson(value)
        : value;
    if (origin.keys) sources[name] = contextSource(origin.cdkJson, name, value);
  }
  if (origin.keys) {
    const typos = misspelledContextKeys(origin.keys, SETTING_NAMES, (key) =>
      contextSource(origin.cdkJson, key, tryGetContext(key)),
    );
    if (typos.length) throw new SettingsError('the CDK context', typos);
  }
  const file = environmentFile(tryGetContext);
  if (!file) return origin.keys ? parseContextSettings(raw, sources) : parseSettings(raw);
  const fromFile = readEnvironmentFile(file, readFile);
  return parseSettings({ ...raw, ...fromFile }, `${file} (over cdk.json context)`);
}

/**
 * What the app knows about its context beyond the values: every key (so that a mistyped setting
 * is refused with "did you mean") and cdk.json's own context (so that errors say whether a value
 * came from cdk.json or from `-c`). Absent: neither check (tests that pass a bare lookup).
 */
export interface ContextOrigin {
  keys?: readonly string[];
  cdkJson?: Record<string, unknown>;
}

/** parseSettings for context values, each problem naming where its setting came from. */
function parseContextSettings(raw: Record<string, unknown>, sources: Record<string, string>): Settings {
  const result = settingsSchema.safeParse(raw);
  if (result.success) return result.data;
  const problems = describeIssues(result.error).map((p) => {
    const name = /^[A-Za-z]+/.exec(p)?.[0];
    return name && sources[name] ? `${p} (from ${sources[name]})` : p;
  });
  throw new SettingsError('the CDK context', problems);
}

/** The settings file the context names, if any. */
function environmentFile(tryGetContext: (key: string) => unknown): string | undefined {
  const envName = tryGetContext(ENVIRONMENT_CONTEXT.env);
  const file = tryGetContext(ENVIRONMENT_CONTEXT.settingsFile);
  if (envName !== undefined && file !== undefined) {
    throw new SettingsError('cdk.json context', [
      'env, settingsFile: give one of them (env=<name> reads settings/<name>.json)',
    ]);
  }
  if (file !== undefined) {
    if (typeof file !== 'string' || file === '')
      throw new SettingsError('cdk.json context', ['settingsFile: a path to a JSON file']);
    return file;
  }
  if (envName === undefined) return undefined;
  // A name, not a path: it becomes a file name under settings/.
  if (typeof envName !== 'string' || !/^[A-Za-z0-9][\w.-]*$/.test(envName)) {
    throw new SettingsError('cdk.json context', [
      `env: an environment name such as prod-eu (letters, digits, . _ -), got ${JSON.stringify(envName)}`,
    ]);
  }
  return path.join('settings', `${envName}.json`);
}

/** A settings file's own settings, validated on their own (the file and each bad field named). */
function readEnvironmentFile(file: string, readFile: (file: string) => string): Record<string, unknown> {
  let text: string;
  try {
    text = readFile(file);
  } catch (error) {
    throw new SettingsError(file, [`cannot read the file: ${(error as Error).message}`]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new SettingsError(file, [`not JSON: ${(error as Error).message}`]);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new SettingsError(file, ['(root): a JSON object of settings, e.g. {"rotationBudget": 20}']);
  const checked = settingsObject.partial().strict().safeParse(raw);
  if (!checked.success) throw new SettingsError(file, describeIssues(checked.error));
  // Only the names the file gives (partial() still fills defaults in zod 4): the rest stay the context's.
  return Object.fromEntries(Object.keys(raw).map((k) => [k, (checked.data as Record<string, unknown>)[k]]));
}

function parseMaybeJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}
