/** The runtime config adapter: every setting the stack writes is read and validated, by name. */
import { ENV, loadConfig } from '../../lambdas/adapters/config';
import { functionEnvironment } from '../../lib/functions';
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
