/**
 * Feature flags: cdk.json sets every flag a current `cdk init` app sets (so `cdk synth` prints no
 * "feature flags are not configured" notice), and the construct synthesizes cdk-nag clean both
 * under the recommended values (what a new team app has) and under the flags' defaults (an older
 * app that never set them).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { CURRENTLY_RECOMMENDED_FLAGS } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks, NIST80053R5Checks } from 'cdk-nag';
import { KmsIncidentRotationStack } from '../../lib/stack';
import { parseSettings } from '../../lib/settings/settings';

const cdkJson = JSON.parse(readFileSync(path.join(__dirname, '../../cdk.json'), 'utf8')) as {
  context: Record<string, unknown>;
};
const env = { account: '111122223333', region: 'us-east-1' };

function synthWith(
  flags: Record<string, unknown>,
  settings: Record<string, unknown>,
  stackEnv: typeof env | undefined,
): void {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...flags } });
  new KmsIncidentRotationStack(app, 'KmsIncidentRotation', { settings: parseSettings(settings), env: stackEnv });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new NIST80053R5Checks(app));
  app.synth();
}

describe('feature flags', () => {
  it('cdk.json sets every currently recommended flag to its recommended value', () => {
    const set = Object.fromEntries(
      Object.keys(CURRENTLY_RECOMMENDED_FLAGS).map((flag) => [flag, cdkJson.context[flag]]),
    );
    expect(set).toEqual(CURRENTLY_RECOMMENDED_FLAGS);
  });

  const recommended = { ...CURRENTLY_RECOMMENDED_FLAGS };
  it.each([
    ['recommended flags, in an account and Region', recommended, {}, env],
    ['recommended flags, Region- and account-agnostic', recommended, {}, undefined],
    ['recommended flags, re-encryption branch on', recommended, { reEncryptBuckets: ['orders-data'] }, env],
    ['flag defaults, in an account and Region', {}, {}, env],
  ])('synthesizes cdk-nag clean: %s', (_what, flags, settings, stackEnv) => {
    expect(() => synthWith(flags, settings, stackEnv)).not.toThrow();
  });
});
