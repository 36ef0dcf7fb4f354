import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { KmsIncidentRotationStack } from '../../lib/stack';
import { accessRoles, parseSettings } from '../../lib/settings/settings';
import { LEDGER_BACKUP } from '../../lib/compliance/compliance';
import { AUDIT_ENTRY_CHANGES } from '../../lib/ledger-access';
import { DRILL_ENV } from '../../lambdas/domain/drill';

/**
 * The resource-side controls, read from the synthesized template: the product key's
 * service statements bound to their sources, KEY# audit entries unchangeable by every role, the
 * backup vault locked, the drill sweep and cap.
 */
const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
const settings = parseSettings({ drillDailyCapPerPerson: 4, reEncryptBuckets: ['orders-data'] });
const stack = new KmsIncidentRotationStack(app, 'KmsIncidentRotation', {
  settings,
  env: { account: '111122223333', region: 'us-east-1' },
});
const template = Template.fromStack(stack);
const json = template.toJSON() as {
  Resources: Record<string, { Type: string; Properties: any; Metadata?: Record<string, unknown> }>;
};
const ofType = (type: string) => Object.entries(json.Resources).filter(([, r]) => r.Type === type);
const keyPolicy = () => {
  const [[, key]] = ofType('AWS::KMS::Key');
  return key!.Properties.KeyPolicy.Statement as {
    Sid?: string;
    Principal?: { Service?: string };
    Condition?: Record<string, Record<string, unknown>>;
  }[];
};

describe("the product key's policy: services only for this stack's sources", () => {
  test("EventBridge and CloudWatch carry aws:SourceArn (this account's rules / alarms in this Region) besides aws:SourceAccount", () => {
    const bySid = Object.fromEntries(keyPolicy().map((st) => [st.Sid, st]));
    const account = { Ref: 'AWS::AccountId' };
    const arn = (service: string, tail: string) => ({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:${service}:`, { Ref: 'AWS::Region' }, ':', account, tail]],
    });
    expect(bySid.AlloweventsToUseTheKey!.Condition).toEqual({
      StringEquals: { 'aws:SourceAccount': account },
      ArnLike: { 'aws:SourceArn': arn('events', ':rule/*') },
    });
    expect(bySid.AllowcloudwatchToUseTheKey!.Condition).toEqual({
      StringEquals: { 'aws:SourceAccount': account },
      ArnLike: { 'aws:SourceArn': arn('cloudwatch', ':alarm:*') },
    });
    // No statement for a service principal goes without a source condition.
    for (const st of keyPolicy().filter((s) => s.Principal?.Service))
      expect(JSON.stringify(st.Condition ?? {})).toMatch(/aws:SourceArn|kms:EncryptionContext:aws:logs:arn/);
  });

  test("CloudWatch Logs only for this stack's log groups, and every log group is named under that prefix", () => {
    const logsStatement = keyPolicy().find((st) => st.Sid === 'AllowCloudWatchLogsToEncryptThisAccountsLogGroups')!;
    expect(JSON.stringify(logsStatement.Condition)).toContain(
      ':log-group:/kms-incident-rotation/",{"Ref":"AWS::StackName"},"/*',
    );
    const groups = ofType('AWS::Logs::LogGroup');
    expect(groups.length).toBeGreaterThan(10);
    for (const [, group] of groups) {
      expect(group.Properties.LogGroupName).toEqual({
        'Fn::Join': [
          '',
          ['/kms-incident-rotation/', { Ref: 'AWS::StackName' }, expect.stringMatching(/^\/[A-Za-z0-9]+$/)],
        ],
      });
      expect(group.Properties.KmsKeyId).toBeDefined();
    }
  });
});

describe('KEY# audit entries', () => {
  test("every function's role denies UpdateItem, DeleteItem, BatchWriteItem and PartiQL changes of KEY# items", () => {
    const roles = ofType('AWS::Lambda::Function').map(([, fn]) => fn.Properties.Role['Fn::GetAtt'][0] as string);
    expect(roles.length).toBeGreaterThanOrEqual(16);
    for (const role of roles) {
      const statements = ofType('AWS::IAM::Policy')
        .filter(([, p]) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref === role))
        .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
      expect(statements).toContainEqual(
        expect.objectContaining({
          Sid: 'AuditEntriesAreNeverChangedOrDeleted',
          Effect: 'Deny',
          Action: AUDIT_ENTRY_CHANGES,
          Condition: { 'ForAnyValue:StringLike': { 'dynamodb:LeadingKeys': ['KEY#*'] } },
        }),
      );
    }
  });
});

describe("the ledger's backup vault", () => {
  test('Vault Lock in governance mode: minimum = the daily retention, maximum = the monthly, no ChangeableForDays', () => {
    template.hasResourceProperties('AWS::Backup::BackupVault', {
      LockConfiguration: {
        MinRetentionDays: LEDGER_BACKUP.dailyRetentionDays,
        MaxRetentionDays: LEDGER_BACKUP.monthlyRetentionDays,
      },
    });
    const [[, vault]] = ofType('AWS::Backup::BackupVault');
    expect(vault!.Properties.LockConfiguration.ChangeableForDays).toBeUndefined();
  });
});

describe('drills', () => {
  const drill = ofType('AWS::Lambda::Function').find(
    ([, fn]) => fn.Metadata?.['kms-incident-rotation:component'] === 'drill',
  )!;
  test("the drill function knows its role (for its keys' policy) and the daily cap", () => {
    const vars = drill[1].Properties.Environment.Variables;
    expect(vars[DRILL_ENV.dailyCap]).toBe('4');
    expect(vars[DRILL_ENV.roleArn]).toEqual({ 'Fn::GetAtt': [drill[1].Properties.Role['Fn::GetAtt'][0], 'Arn'] });
  });

  test('the drill function knows who may run drills (the request roles): its cap counts people', () => {
    const vars = drill[1].Properties.Environment.Variables;
    expect(JSON.parse(vars[DRILL_ENV.accessRoles])).toEqual(accessRoles(settings));
  });

  test('the sweep lists keys and reads their tags; nothing else on existing keys comes from its identity policy', () => {
    const role = drill[1].Properties.Role['Fn::GetAtt'][0];
    const kmsActions = ofType('AWS::IAM::Policy')
      .filter(([, p]) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref === role))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement)
      .filter(
        (st: { Effect: string; Condition?: Record<string, Record<string, unknown>> }) =>
          st.Effect === 'Allow' && !st.Condition?.StringEquals?.['kms:ViaService'],
      )
      .flatMap((st: { Action: string | string[]; Resource: unknown }) =>
        ([] as string[])
          .concat(st.Action)
          .filter((a) => a.startsWith('kms:'))
          .map((a) => [a, st.Resource]),
      );
    expect(kmsActions.sort()).toEqual([
      ['kms:CreateKey', '*'],
      ['kms:ListKeys', '*'],
      [
        'kms:ListResourceTags',
        {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':kms:',
              { Ref: 'AWS::Region' },
              ':',
              { Ref: 'AWS::AccountId' },
              ':key/*',
            ],
          ],
        },
      ],
    ]);
  });

  test('an hourly rule invokes it to sweep drill keys nobody cleaned up', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [drill[0], 'Arn'] } })],
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      FunctionName: { 'Fn::GetAtt': [drill[0], 'Arn'] },
      Principal: 'events.amazonaws.com',
    });
  });

  test('drillDailyCapPerPerson: 1..20, default 3', () => {
    expect(parseSettings({}).drillDailyCapPerPerson).toBe(3);
    expect(() => parseSettings({ drillDailyCapPerPerson: 0 })).toThrow(/drillDailyCapPerPerson/);
    expect(() => parseSettings({ drillDailyCapPerPerson: 21 })).toThrow(/drillDailyCapPerPerson/);
  });
});
