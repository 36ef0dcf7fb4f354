import { App } from 'aws-cdk-lib';
import { closestSetting, contextSource, editDistance, misspelledContextKeys } from '../../lib/settings/context-keys';
import { SETTING_NAMES, SettingsError } from '../../lib/settings/settings';
import { settingsFromContext } from '../../lib/settings/settings-sources';
import { KmsIncidentRotationStack } from '../../lib/stack';

describe('context keys that look like a mistyped setting', () => {
  test('edit distance counts transpositions as one edit and ignores case', () => {
    expect(editDistance('rotationBudgte', 'rotationBudget')).toBe(1);
    expect(editDistance('DRYRUN', 'dryRun')).toBe(0);
    expect(editDistance('abc', 'xyz')).toBe(3);
  });

  test.each([
    ['rotationBudgte', 'rotationBudget'],
    ['dryrun', 'dryRun'],
    ['minGuarddutySeverity', 'minGuardDutySeverity'],
    ['automaticReserv', 'automaticReserve'],
  ])('%s -> did you mean %s', (typo, meant) => {
    expect(closestSetting(typo, SETTING_NAMES)).toBe(meant);
  });

  test("feature flags, CDK keys, the product's other keys and far-away keys are not settings typos", () => {
    const keys = [
      '@aws-cdk/core:newStyleStackSynthesis',
      'aws:cdk:enable-path-metadata',
      'availability-zones:account=1:region=x',
      'env',
      'settingsFile',
      'stackSetAssetsBucket',
      'somethingElseEntirely',
    ];
    expect(misspelledContextKeys(keys, SETTING_NAMES, () => 'x')).toEqual([]);
  });

  test('a typo names its source and the setting it probably means', () => {
    expect(misspelledContextKeys(['rotationBudgte', 'dryRun'], SETTING_NAMES, (k) => `-c ${k}=...`)).toEqual([
      'rotationBudgte (-c rotationBudgte=...): not a setting; did you mean rotationBudget?',
    ]);
  });

  test("a value equal to cdk.json's came from cdk.json (strings from -c compare as JSON); others from -c", () => {
    const cdkJson = { rotationBudget: 25, notificationEmails: [] };
    expect(contextSource(cdkJson, 'rotationBudget', 25)).toBe('cdk.json');
    expect(contextSource(cdkJson, 'rotationBudget', '25')).toBe('cdk.json');
    expect(contextSource(cdkJson, 'rotationBudget', '20')).toBe('-c rotationBudget=...');
    expect(contextSource(cdkJson, 'dryRun', true)).toBe('-c dryRun=...');
    expect(contextSource(undefined, 'dryRun', true)).toBe('the CDK context');
  });
});

describe('settings from the context with their origin', () => {
  const lookup = (context: Record<string, unknown>) => (k: string) => context[k];

  test('a mistyped key is refused before anything is built', () => {
    const context = { rotationBudgte: 20 };
    expect(() => settingsFromContext(lookup(context), undefined, { keys: Object.keys(context), cdkJson: {} })).toThrow(
      /Invalid settings in the CDK context:\n {2}- rotationBudgte \(-c rotationBudgte=\.\.\.\): not a setting; did you mean rotationBudget\?/,
    );
  });

  test('a bad value names where it came from: cdk.json or -c', () => {
    const cdkJson = { dryRun: 'maybe' };
    const context = { dryRun: 'maybe', rotationBudget: 'lots' };
    let error: unknown;
    try {
      settingsFromContext(lookup(context), undefined, { keys: Object.keys(context), cdkJson });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SettingsError);
    const problems = (error as SettingsError).problems;
    expect(problems.find((p) => p.startsWith('dryRun'))).toMatch(/\(from cdk\.json\)$/);
    expect(problems.find((p) => p.startsWith('rotationBudget'))).toMatch(/\(from -c rotationBudget=\.\.\.\)$/);
  });

  test("the stack refuses a mistyped context key (the App's context, as `cdk synth -c` gives it)", () => {
    const app = new App({ context: { rotationBudgte: 20 } });
    expect(
      () => new KmsIncidentRotationStack(app, 'Typo', { env: { account: '111122223333', region: 'eu-west-1' } }),
    ).toThrow(/did you mean rotationBudget\?/);
  });
});
