/** The runtime config adapter: every setting the stack writes is read and validated, by name. */
import { ENV, loadConfig, loadReencryptObjectsConfig } from '../../lambdas/adapters/config';
import { functionEnvironment, reencryptObjectsEnvironment } from '../../lib/functions';
import { deriveRuntime } from '../../lib/settings/derived';
import { parseSettings } from '../../lib/settings/settings';

function environment(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const settings = parseSettings({ approvalTimeoutAction: 'ROTATE', approvalTimeoutMinutes: 30 }, 'test');
  return {
    AWS_REGION: 'us-east-1',
    ...functionEnvironment(settings, '111122223333', 'topic-arn', 'ledger-table'),
    ...overrides,
  };
}

describe('loadConfig', () => {
  it('reads what lib/functions.ts writes, approval settings included', () => {
    const config = loadConfig(environment());
    expect(config).toMatchObject({
      approvalTimeoutSeconds: 1800,
      approvalTimeoutAction: 'ROTATE',
      ledgerTable: 'ledger-table',
      topicArn: 'topic-arn',
    });
  });

  it('reads the daily caps the stack writes', () => {
    const settings = parseSettings({ dailyRotationCap: 4, forceDailyCap: 3 }, 'test');
    const config = loadConfig({
      AWS_REGION: 'us-east-1',
      ...functionEnvironment(settings, '111122223333', 'topic-arn', 'ledger-table'),
    });
    expect(config).toMatchObject({ dailyRotationCap: 4, forceDailyCap: 3 });
  });

  it.each([
    [ENV.approvalTimeoutSeconds, undefined, /APPROVAL_TIMEOUT_SECONDS is not set/],
    [ENV.approvalTimeoutSeconds, 'soon', /APPROVAL_TIMEOUT_SECONDS must be a non-negative number, got 'soon'/],
    [ENV.approvalTimeoutSeconds, '-60', /APPROVAL_TIMEOUT_SECONDS must be a non-negative number/],
    [ENV.approvalTimeoutAction, undefined, /APPROVAL_TIMEOUT_ACTION is not set/],
    [ENV.dailyRotationCap, undefined, /DAILY_ROTATION_CAP is not set/],
    [ENV.approvalTimeoutAction, 'IGNORE', /APPROVAL_TIMEOUT_ACTION must be one of SKIP, ROTATE, got 'IGNORE'/],
  ])('%s=%s is a ConfigurationError', (name, value, message) => {
    expect(() => loadConfig(environment({ [name]: value }))).toThrow(
      expect.objectContaining({ name: 'ConfigurationError', message: expect.stringMatching(message) }),
    );
  });
});

describe('autoReEncrypt (PlanReencryption reads it from the environment)', () => {
  it('reads what lib/functions.ts writes', () => {
    const settings = parseSettings({ autoReEncrypt: true }, 'test');
    const env = { AWS_REGION: 'us-east-1', ...functionEnvironment(settings, '111122223333', 'topic', 'ledger') };
    expect(loadConfig(env).autoReEncrypt).toBe(true);
    expect(loadConfig(environment()).autoReEncrypt).toBe(false);
  });

  it.each([undefined, 'yes'])('AUTO_REENCRYPT=%s is a ConfigurationError', (value) => {
    expect(() => loadConfig(environment({ [ENV.autoReEncrypt]: value }))).toThrow(
      expect.objectContaining({ name: 'ConfigurationError', message: expect.stringMatching(/AUTO_REENCRYPT/) }),
    );
  });
});

describe('loadReencryptObjectsConfig', () => {
  const written = (raw: Record<string, unknown>) => {
    const settings = parseSettings({ reEncryptBuckets: ['orders-data'], ...raw }, 'test');
    return reencryptObjectsEnvironment(settings, deriveRuntime(settings).reencryption!);
  };

  it('reads what lib/functions.ts writes: 250/s is 25 children at 10/s; 15/s is 2 at 7.5/s', () => {
    expect(loadReencryptObjectsConfig(written({ reEncryptKmsRequestsPerSecond: 250 }))).toEqual({
      childKmsRequestsPerSecond: 10,
      upgradeEnvelopeSuite: false,
    });
    expect(
      loadReencryptObjectsConfig(written({ reEncryptKmsRequestsPerSecond: 15, reEncryptUpgradeEnvelopeSuite: true })),
    ).toEqual({ childKmsRequestsPerSecond: 7.5, upgradeEnvelopeSuite: true });
  });

  it.each([
    ['CHILD_KMS_REQUESTS_PER_SECOND', undefined, /CHILD_KMS_REQUESTS_PER_SECOND is not set/],
    ['CHILD_KMS_REQUESTS_PER_SECOND', '0', /CHILD_KMS_REQUESTS_PER_SECOND must be above 0/],
    ['CHILD_KMS_REQUESTS_PER_SECOND', 'fast', /CHILD_KMS_REQUESTS_PER_SECOND must be a non-negative number/],
    ['UPGRADE_ENVELOPE_SUITE', undefined, /UPGRADE_ENVELOPE_SUITE is not set/],
    ['UPGRADE_ENVELOPE_SUITE', 'TRUE', /UPGRADE_ENVELOPE_SUITE must be one of true, false/],
  ])('%s=%s is a ConfigurationError', (name, value, message) => {
    expect(() => loadReencryptObjectsConfig({ ...written({}), [name]: value })).toThrow(
      expect.objectContaining({ name: 'ConfigurationError', message: expect.stringMatching(message) }),
    );
  });
});
