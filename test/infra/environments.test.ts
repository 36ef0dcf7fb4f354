/**
 * Per account and Region settings: one app, a settings file per environment
 * (`-c env=<name>` reads settings/<name>.json, or `-c settingsFile=<path>`), validated with the
 * file and the field named; two environments' templates differ only where their settings do.
 */
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { KmsIncidentRotationStack } from '../../lib/stack';
import { SettingsError } from '../../lib/settings/settings';
import { settingsFromContext } from '../../lib/settings/settings-sources';

const env = { account: '111122223333', region: 'eu-west-1' };
const dir = mkdtempSync(path.join(tmpdir(), 'kms-rotation-envs-'));
const file = (name: string, content: unknown) => {
  const at = path.join(dir, name);
  writeFileSync(at, typeof content === 'string' ? content : JSON.stringify(content));
  return at;
};

/** The stack as `cdk synth -c <context>` builds it (the stack reads the context itself). */
function synth(context: Record<string, unknown>) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  return Template.fromStack(new KmsIncidentRotationStack(app, 'KmsIncidentRotation', { env })).toJSON() as Record<
    string,
    unknown
  >;
}

/** Every leaf path where two JSON values differ, e.g. `Resources.X.Properties.Environment.Variables.COOLDOWN_SECONDS`. */
function differences(a: unknown, b: unknown, at = ''): string[] {
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) =>
      differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], at ? `${at}.${k}` : k),
    );
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [at];
}

test("two environments' templates differ only where their settings differ", () => {
  // Given: the same cdk.json context, two environment files.
  const context = { rotationBudget: 25, automaticReserve: 3 };
  const prodEu = file('prod-eu.json', { cooldownMinutes: 30, minGuardDutySeverity: 7 });
  const prodUs = file('prod-us.json', { cooldownMinutes: 90, minGuardDutySeverity: 8 });

  // When
  const diff = differences(synth({ ...context, settingsFile: prodEu }), synth({ ...context, settingsFile: prodUs }));

  // Then: the task functions' COOLDOWN_SECONDS, the GuardDuty rule's severity (and its description),
  // the published settings; nothing else.
  const allowed = [
    /^Resources\.Tasks\w+\.Properties\.Environment\.Variables\.COOLDOWN_SECONDS$/,
    /^Resources\.GuardDutyFindings\w+\.Properties\.EventPattern\.detail\.severity\.0\.numeric\.1$/,
    /^Resources\.GuardDutyFindings\w+\.Properties\.Description$/,
    /^Outputs\.Settings\.Value$/,
  ];
  expect(diff.filter((d) => !allowed.some((re) => re.test(d)))).toEqual([]);
  for (const re of allowed) expect(diff.some((d) => re.test(d))).toBe(true);
  // One per task function (PlanReencryption included; the re-encryption branch is off).
  expect(diff.filter((d) => d.endsWith('COOLDOWN_SECONDS'))).toHaveLength(11);
});

test('-c env=<name> reads settings/<name>.json; the file overrides the context, the rest stays', () => {
  const project = mkdtempSync(path.join(tmpdir(), 'kms-rotation-project-'));
  mkdirSync(path.join(project, 'settings'));
  writeFileSync(
    path.join(project, 'settings', 'prod-eu.json'),
    JSON.stringify({ rotationBudget: 20, notificationEmails: ['eu@example.com'] }),
  );
  const read = (f: string) => readFileSync(path.join(project, f), 'utf8');

  const settings = settingsFromContext((k) => ({ env: 'prod-eu', rotationBudget: '25', dryRun: 'true' })[k], read);

  expect(settings).toMatchObject({
    rotationBudget: 20,
    notificationEmails: ['eu@example.com'],
    dryRun: true,
    automaticReserve: 3,
  });
});

test.each([
  ['a bad field', { rotationBudget: 0 }, /Invalid settings in .*bad-field\.json:\n {2}- rotationBudget: /],
  [
    'an unknown field',
    { rotationBugdet: 20 },
    /Invalid settings in .*unknown-field\.json:\n {2}- rotationBugdet: unknown setting/,
  ],
  ['not JSON', '{ rotationBudget: 20', /Invalid settings in .*not-JSON\.json:\n {2}- not JSON/],
])('%s in a settings file is refused naming the file and the field', (name, content, message) => {
  const at = file(`${name.replace(/^an? /, '').replace(/ /g, '-')}.json`, content);
  const read = () => settingsFromContext((k) => ({ settingsFile: at })[k]);
  expect(read).toThrow(SettingsError);
  expect(read).toThrow(message);
});

test('a field valid alone but not with the context is named with the file', () => {
  const at = file('reserve.json', { automaticReserve: 30 });
  expect(() => settingsFromContext((k) => ({ settingsFile: at, rotationBudget: 25 })[k])).toThrow(
    /reserve\.json \(over cdk\.json context\):\n {2}- automaticReserve: automaticReserve must be smaller than rotationBudget/,
  );
});

test.each([
  [{ env: 'prod-eu', settingsFile: 'x.json' }, /env, settingsFile: give one of them/],
  [{ env: '../secrets' }, /env: an environment name such as prod-eu/],
  [{ env: 'nowhere' }, /Invalid settings in settings\/nowhere\.json:\n {2}- cannot read the file/],
])('context %j is refused', (context, message) => {
  expect(() => settingsFromContext((k) => (context as Record<string, unknown>)[k])).toThrow(message);
});
