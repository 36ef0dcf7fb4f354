/**
 * Compliance packs and data retention: cdk-nag NIST 800-53 R5 together with
 * AwsSolutions, zero unacknowledged findings; the ledger in an AWS Backup plan; reserved
 * concurrency; log groups encrypted with the product key.
 */
import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks, NIST80053R5Checks, ServerlessChecks } from 'cdk-nag';
import { KmsIncidentRotationStack } from '../../lib/stack';
import { parseSettings } from '../../lib/settings/settings';
import { FRONT_DOOR_CONCURRENCY, LEDGER_BACKUP, RESERVED_CONCURRENCY } from '../../lib/compliance/compliance';
import { BRANCH_HANDLERS, HANDLERS } from '../../lib/functions';

const env = { account: '111122223333', region: 'us-east-1' };

function build(settings: Record<string, unknown> = {}, stackEnv: typeof env | undefined = env) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new KmsIncidentRotationStack(app, 'KmsIncidentRotation', {
    settings: parseSettings(settings),
    env: stackEnv,
  });
  return { app, stack };
}

/** The re-encryption branch on: the Distributed Map, its results bucket and functions. */
const WITH_BRANCH = {
  reEncryptBuckets: ['orders-data', 'invoices.example'],
  reEncryptTargets: { 'alias/orders': [{ type: 's3-sse-kms', bucket: 'orders-data' }] },
};

describe('cdk-nag NIST 800-53 R5 and AwsSolutions', () => {
  test('no unacknowledged finding in the stack', () => {
    const { app } = build();
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new NIST80053R5Checks(app));
    expect(() => app.synth()).not.toThrow();
  });

  test.each([
    ['in an account and Region', env],
    ['Region- and account-agnostic', undefined],
  ])('no unacknowledged finding with the re-encryption branch on (%s)', (_name, stackEnv) => {
    const { app } = build(WITH_BRANCH, stackEnv);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new NIST80053R5Checks(app));
    expect(() => app.synth()).not.toThrow();
  });

  test('a new finding fails the check (a log group without encryption)', () => {
    const { app, stack } = build();
    new logs.LogGroup(stack as Stack, 'Plain', { retention: logs.RetentionDays.ONE_WEEK });
    Validations.of(app).addPlugins(new NIST80053R5Checks(app));
    const log = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const out = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(() => app.synth()).toThrow(/NIST\.800\.53\.R5-CloudWatchLogGroupEncrypted/);
    } finally {
      log.mockRestore();
      out.mockRestore();
    }
  });
});

/** The Serverless pack's unacknowledged findings (rule ids) when `app` synthesizes. */
function serverlessFindings(app: App): string[] {
  Validations.of(app).addPlugins(new ServerlessChecks(app));
  const log = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  const out = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    app.synth();
    return [];
  } catch (error) {
    return [
      ...new Set([...String((error as Error).message).matchAll(/Serverless-[A-Za-z0-9]+/g)].map((m) => m[0])),
    ].sort();
  } finally {
    log.mockRestore();
    out.mockRestore();
  }
}

describe('cdk-nag Serverless pack (bin/app.ts runs it with the two above)', () => {
  test.each([
    ['without the re-encryption branch', {}],
    ['with the re-encryption branch', WITH_BRANCH],
  ])('no unacknowledged finding %s (each acknowledgement names its rule and reason)', (_name, settings) => {
    const findings = serverlessFindings(build(settings).app);
    expect(findings).toEqual([]);
  });

  test('a new finding fails the check (a scheduled rule without a dead-letter queue)', () => {
    const { app, stack } = build();
    new events.Rule(stack as Stack, 'Unacknowledged', {
      schedule: events.Schedule.rate(Duration.hours(1)),
      targets: [new targets.SqsQueue(new sqs.Queue(stack as Stack, 'Q', { enforceSSL: true }))],
    });
    expect(serverlessFindings(app)).toContain('Serverless-EventBusDLQ');
  });
});

describe('data retention and limits', () => {
  const template = Template.fromStack(build().stack);
  const productKey = { 'Fn::GetAtt': [Match.stringLikeRegexp('^ProductKey'), 'Arn'] };

  test('the ledger is in an AWS Backup plan: a vault encrypted with the product key, retained, daily and monthly rules', () => {
    template.hasResource('AWS::Backup::BackupVault', {
      DeletionPolicy: 'Retain',
      Properties: { EncryptionKeyArn: productKey },
    });
    const [plan] = Object.values(template.findResources('AWS::Backup::BackupPlan'));
    const rules = plan!.Properties.BackupPlan.BackupPlanRule as {
      RuleName: string;
      Lifecycle: { DeleteAfterDays: number };
      TargetBackupVault: unknown;
    }[];
    expect(rules.map((r) => [r.RuleName, r.Lifecycle.DeleteAfterDays])).toEqual([
      ['Daily', LEDGER_BACKUP.dailyRetentionDays],
      ['Monthly', LEDGER_BACKUP.monthlyRetentionDays],
    ]);
    template.hasResourceProperties('AWS::Backup::BackupSelection', {
      BackupSelection: Match.objectLike({
        Resources: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^LedgerTable'), 'Arn'] }],
      }),
    });
  });

  test('reserved concurrency on every function, as declared', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    // The task functions (the branch's two only with the branch), plus the front door's two (front door, drill) and the approval watch.
    expect(functions).toHaveLength(HANDLERS.length - BRANCH_HANDLERS.length + 3);
    const tasks = functions.filter((f) => f.Metadata['kms-incident-rotation:handler']);
    const byHandler = Object.fromEntries(
      tasks.map((f) => [f.Metadata['kms-incident-rotation:handler'], f.Properties.ReservedConcurrentExecutions]),
    );
    // Without the branch: no summarize-reencryption (and no reencrypt-objects: test/infra/reencryption.test.ts).
    const { 'summarize-reencryption': summarize, ...withoutBranch } = RESERVED_CONCURRENCY;
    expect(summarize).toBeGreaterThan(0);
    expect(byHandler).toEqual(withoutBranch);
    const others = functions
      .filter((f) => !f.Metadata['kms-incident-rotation:handler'])
      .map((f) => f.Properties.ReservedConcurrentExecutions);
    // The approval watch: one run at a time (a 5-minute schedule).
    expect(others.sort()).toEqual([FRONT_DOOR_CONCURRENCY.frontDoor, FRONT_DOOR_CONCURRENCY.drill, 1].sort());
    // Lambda keeps 100 unreserved; the default account quota is 1,000.
    expect(
      Object.values(RESERVED_CONCURRENCY).reduce((a, b) => a + b, 0) +
        FRONT_DOOR_CONCURRENCY.frontDoor +
        FRONT_DOOR_CONCURRENCY.drill +
        1,
    ).toBeLessThanOrEqual(900);
  });

  test("every log group is encrypted with the product key, which CloudWatch Logs may use for this account's groups only", () => {
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    // One per task function, one per state machine (automatic, manual), the front door's three, the approval watch's.
    expect(groups).toHaveLength(HANDLERS.length - BRANCH_HANDLERS.length + 2 + 3 + 1);
    for (const g of groups)
      expect(g.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^ProductKey/), 'Arn'] });
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
            Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': Match.anyValue() } },
          }),
        ]),
      },
    });
  });
});
