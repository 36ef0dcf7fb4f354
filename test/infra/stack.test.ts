import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { KmsIncidentRotationStack } from '../../lib/stack';
import { parseSettings, SettingsError } from '../../lib/settings/settings';
import { settingsFromContext } from '../../lib/settings/settings-sources';
import { extractWorkflow } from '../../local/template';
import { BRANCH_HANDLERS, HANDLERS } from '../../lib/functions';
import { decodePublishedSettings, SETTINGS_OUTPUT } from '../../lib/settings/published-settings';
import { FAILED_STATE_PREFIX, STATE, WAIT_STATES } from '../../lambdas/domain/workflow-states';
import { ROTATE_CONSISTENCY_DELAY_SECONDS } from '../../lambdas/domain/rotation/rotation';

const env = { account: '111122223333', region: 'us-east-1' };

function build(settings: Record<string, unknown> = {}) {
  // Skip asset bundling in unit tests: about a second per stack.
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new KmsIncidentRotationStack(app, 'KmsIncidentRotation', { settings: parseSettings(settings), env });
  return { app, stack };
}

describe('KmsIncidentRotation stack', () => {
  const template = Template.fromStack(
    build({ notificationEmails: ['oncall@example.com'], minGuardDutySeverity: 8 }).stack,
  );

  test('GuardDuty rule: source, detail-type, numeric severity filter, state machine target with a DLQ', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.guardduty'],
        'detail-type': ['GuardDuty Finding'],
        detail: { severity: [{ numeric: ['>=', 8] }] },
      },
      Targets: [
        Match.objectLike({
          Arn: { Ref: Match.stringLikeRegexp('WorkflowStateMachine') },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('TriggerDeadLetters'), 'Arn'] } },
          RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 10 }),
        }),
      ],
    });
    template.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: Match.anyValue() });
  });

  test('state machine: Standard, logging ALL without execution data, X-Ray tracing', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: false }),
    });
  });

  test('definition: JSONPath only, unbounded key Map (approvals hold no slot), retries with jitter, a Catch on every per-key task', () => {
    const { definition } = extractWorkflow(template.toJSON() as any, env);
    expect(JSON.stringify(definition)).not.toMatch(/JSONata|"Assign"/);
    const map = definition.States.ForEachKey;
    expect(map.Type).toBe('Map');
    // A bounded Map let three unanswered approvals hold every other key's rotation;
    // RotateKeyOnDemand's 5/s is absorbed by Rotate's own throttling retrier instead.
    expect(map.MaxConcurrency ?? 0).toBe(0);
    expect(map.ItemProcessor.States.Rotate.Retry).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ ErrorEquals: ['ThrottlingException'], MaxAttempts: 10, JitterStrategy: 'FULL' }),
      ]),
    );
    const inner = map.ItemProcessor.States;
    for (const name of ['Assess', 'Rotate', 'CheckRotation']) {
      const state = inner[name];
      expect(state.Type).toBe('Task');
      // Every KMS transient error and Lambda's own are retried, with jitter (Rotate: throttling by
      // its own retrier, each error in one retrier only).
      const jittered = state.Retry.filter((r: { JitterStrategy?: string }) => r.JitterStrategy === 'FULL');
      const retried = jittered.flatMap((r: { ErrorEquals: string[] }) => r.ErrorEquals);
      expect(retried).toEqual(
        expect.arrayContaining([
          'ThrottlingException',
          'KMSInternalException',
          'DependencyTimeoutException',
          'Lambda.ServiceException',
        ]),
      );
      // Rotate first catches its own timeout (see the next test); States.ALL is last everywhere.
      const timedOut =
        name === 'Rotate'
          ? [expect.objectContaining({ ErrorEquals: ['Sandbox.Timedout', 'Lambda.Unknown', 'States.Timeout'] })]
          : [];
      expect(state.Catch).toEqual([
        ...timedOut,
        expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'ClassifyFailure' }),
      ]);
    }
    expect(inner.WaitForRotation).toMatchObject({ Type: 'Wait', SecondsPath: '$.waitSeconds' });
    expect(definition.States.Intake.Catch).toEqual([
      expect.objectContaining({ ErrorEquals: ['InvalidRequest'], Next: 'InvalidRequest' }),
    ]);
    expect(definition.States.Notify.Catch).toEqual([expect.objectContaining({ Next: 'NotificationFailed' })]);
    expect(definition.States.KeysFailed.Type).toBe('Fail');
  });

  test('a timed-out Rotate (its call may have reached KMS) waits the consistency delay and runs Rotate again, never at once', () => {
    const inner = extractWorkflow(template.toJSON() as any, env).definition.States.ForEachKey.ItemProcessor.States;
    // Not retried: a retry's reads may not show the rotation yet.
    for (const retrier of inner.Rotate.Retry)
      expect(retrier.ErrorEquals).not.toEqual(expect.arrayContaining(['Lambda.Unknown']));
    expect(inner.Rotate.Catch[0]).toEqual({
      ErrorEquals: ['Sandbox.Timedout', 'Lambda.Unknown', 'States.Timeout'],
      Next: 'RotateTimedOut',
      ResultPath: '$.rotateTimedOut',
    });
    expect(inner.RotateTimedOut).toMatchObject({
      Type: 'Pass',
      Result: ROTATE_CONSISTENCY_DELAY_SECONDS,
      ResultPath: '$.waitSeconds',
      Next: 'WaitBeforeRetryingRotation',
    });
    expect(inner.WaitBeforeRetryingRotation).toMatchObject({
      Type: 'Wait',
      SecondsPath: '$.waitSeconds',
      Next: 'Rotate',
    });
  });

  test('notification topic: customer managed key with rotation, SSL enforced, email subscriptions', () => {
    template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('ProductKey'), 'Arn'] },
    });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    // Re-publications of an already handled finding are not mailed.
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      FilterPolicy: { duplicate: ['false'] },
    });
  });

  test('functions: nodejs24.x on arm64, tracing, log groups with retention', () => {
    const functions = template.findResources('AWS::Lambda::Function');
    // One function per task handler (the re-encryption branch's only with it: off here), plus the
    // front door, the drill component and the approval watch.
    expect(Object.keys(functions)).toHaveLength(HANDLERS.length - BRANCH_HANDLERS.length + 3);
    for (const fn of Object.values(functions)) {
      expect(fn.Properties.Runtime).toBe('nodejs24.x');
      expect(fn.Properties.Architectures).toEqual(['arm64']);
      expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
      expect(fn.Properties.LoggingConfig.LogGroup).toBeDefined();
    }
    for (const group of Object.values(template.findResources('AWS::Logs::LogGroup'))) {
      expect(group.Properties.RetentionInDays).toBeGreaterThan(0);
    }
  });

  test("least privilege: the only KMS write action is kms:RotateKeyOnDemand, on this account's keys", () => {
    const reads = new Set([
      'kms:DescribeKey',
      'kms:GetKeyRotationStatus',
      'kms:ListKeyRotations',
      'kms:ListResourceTags',
      'kms:ListAliases',
      'kms:ListKeys',
    ]);
    const kmsStatements: { actions: string[]; resource: unknown }[] = [];
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
      for (const st of policy.Properties.PolicyDocument.Statement) {
        const actions: string[] = [].concat(st.Action);
        if (st.Effect === 'Allow' && actions.some((a) => a.startsWith('kms:')))
          kmsStatements.push({ actions, resource: st.Resource });
      }
    }
    const writes = kmsStatements.flatMap((s) =>
      s.actions.filter((a) => !reads.has(a)).map((a) => ({ a, resource: s.resource })),
    );
    // Publishing to the encrypted topic needs GenerateDataKey/Decrypt on the product's own key only.
    const topicKeyUse = writes.filter((w) => w.a === 'kms:GenerateDataKey' || w.a === 'kms:Decrypt');
    for (const w of topicKeyUse)
      expect(w.resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^ProductKey/), 'Arn'] });
    // Key creation belongs to the drill component alone (tested below); no identity policy tags or deletes keys.
    const drillOnly = new Set(['kms:CreateKey']);
    const others = writes.filter((w) => !topicKeyUse.includes(w) && !drillOnly.has(w.a));
    expect(others.map((w) => w.a)).toEqual(['kms:RotateKeyOnDemand']);
    expect(JSON.stringify(others[0].resource)).toContain(':key/*');
    expect(JSON.stringify(others[0].resource)).toContain('AWS::AccountId');
    // No managed policies (AWSLambdaBasicExecutionRole would allow logs on every group), except
    // AWS Backup's own service role policy on the role only backup.amazonaws.com assumes.
    for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
      const backupOnly = role.Properties.AssumeRolePolicyDocument.Statement.every(
        (st: { Principal: { Service?: string } }) => st.Principal.Service === 'backup.amazonaws.com',
      );
      const expected = backupOnly
        ? [
            expect.objectContaining({
              'Fn::Join': [
                '',
                expect.arrayContaining([':iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup']),
              ],
            }),
          ]
        : [];
      expect(role.Properties.ManagedPolicyArns ?? []).toEqual(expected);
    }
  });

  test('human policies: no KMS writes, no key creation/tagging/deletion, no direct start or answers; per-route front-door rights', () => {
    const policies = Object.values(template.findResources('AWS::IAM::ManagedPolicy'));
    expect(policies).toHaveLength(2);
    const statementsOf = (p: (typeof policies)[number]) =>
      p.Properties.PolicyDocument.Statement as { Sid: string; Action: string | string[]; Resource: unknown }[];
    for (const policy of policies) {
      const actions = statementsOf(policy).flatMap((st) => [].concat(st.Action as never) as string[]);
      for (const forbidden of [
        'kms:CreateKey',
        'kms:TagResource',
        'kms:UntagResource',
        'kms:ScheduleKeyDeletion',
        'kms:RotateKeyOnDemand',
        'states:StartExecution',
        'states:SendTaskSuccess',
        'states:SendTaskFailure',
      ]) {
        expect(actions).not.toContain(forbidden);
      }
      expect(actions.filter((a) => a.startsWith('kms:')).every((a) => /^kms:(Describe|Get|List)/.test(a))).toBe(true);
    }
    const [onCall, breakGlass] = ['FrontDoorOnCallRoutes', 'FrontDoorBreakGlassRoute'].map((sid) =>
      policies
        .map(statementsOf)
        .flat()
        .find((st) => st.Sid === sid)!,
    );
    const routes = (st: { Resource: unknown }) =>
      ([] as unknown[]).concat(st.Resource).map((r) => JSON.stringify(r).match(/\/POST\/[^"]*/)![0]);
    expect(routes(onCall).sort()).toEqual([
      '/POST/approvals/*',
      '/POST/drills',
      '/POST/drills/*/cleanup',
      '/POST/requests',
    ]);
    expect(routes(breakGlass)).toEqual(['/POST/break-glass']);
    template.hasOutput('OnCallPolicyArn', {});
    template.hasOutput('BreakGlassPolicyArn', {});
    template.hasOutput('FrontDoorUrl', {});
  });

  test('front door: every route POST with AWS_IAM authorization, proxied to the front-door function', () => {
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method')).map((m) => m.Properties);
    expect(methods).toHaveLength(5);
    for (const m of methods)
      expect(m).toMatchObject({ HttpMethod: 'POST', AuthorizationType: 'AWS_IAM', Integration: { Type: 'AWS_PROXY' } });
  });

  test('two state machines: only the EventBridge rules start the automatic one, only the front door the manual one', () => {
    const machines = template.findResources('AWS::StepFunctions::StateMachine');
    expect(
      Object.values(machines)
        .map((m) => m.Metadata?.['kms-incident-rotation:mode'])
        .sort(),
    ).toEqual(['automatic', 'manual']);
    const starters: Record<string, string[]> = {};
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
      for (const st of policy.Properties.PolicyDocument.Statement) {
        if (![].concat(st.Action).includes('states:StartExecution' as never)) continue;
        const machine = JSON.stringify(st.Resource).match(/"Ref":"((?:Manual)?Workflow)StateMachine/)![1];
        (starters[machine] ??= []).push(policy.Properties.Roles[0].Ref as string);
      }
    }
    expect(starters.Workflow).toEqual([expect.stringMatching(/^WorkflowStateMachineEventsRole/)]);
    expect(starters.ManualWorkflow).toEqual([expect.stringMatching(/^FrontDoorFunctionRole/)]);
  });

  test('drill component: the only key creation; no identity policy grants kms:TagResource or kms:ScheduleKeyDeletion', () => {
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) =>
      p.Properties.PolicyDocument.Statement.map((st: object) => ({ ...st, role: p.Properties.Roles[0].Ref as string })),
    );
    const allowed = (st: { Effect: string; Action: string | string[] }, re: RegExp) =>
      st.Effect === 'Allow' && ([] as string[]).concat(st.Action).some((a) => re.test(a));
    // Drill keys are tagged and deleted through their own key policy (lambdas/domain/drill.ts); a wildcard would grant them too.
    expect(
      statements.filter((st) => allowed(st, /^kms:(TagResource|ScheduleKeyDeletion|\*|Tag\*|Schedule\*)$|^\*$/)),
    ).toEqual([]);
    const creates = statements.filter((st) => allowed(st, /^kms:CreateKey$/));
    expect(new Set(creates.map((st) => st.role.replace(/[0-9A-F]{8}$/, '')))).toEqual(new Set(['FrontDoorDrillRole']));
    expect(creates).toEqual([
      expect.objectContaining({
        Sid: 'CreatePlainSymmetricKeysOnly',
        Condition: {
          StringEquals: {
            'kms:KeySpec': 'SYMMETRIC_DEFAULT',
            'kms:KeyUsage': 'ENCRYPT_DECRYPT',
            'kms:KeyOrigin': 'AWS_KMS',
          },
          Bool: { 'kms:MultiRegion': 'false' },
          Null: { 'aws:TagKeys': 'true' },
        },
      }),
    ]);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Sid: 'NeverBypassThePolicyLockoutCheck',
        Effect: 'Deny',
        Action: 'kms:CreateKey',
        Condition: { Bool: { 'kms:BypassPolicyLockoutSafetyCheck': 'true' } },
      }),
    );
  });

  test("opt-out enforced by IAM: Rotate's role denies RotateKeyOnDemand on keys tagged disabled, in any case", () => {
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement,
    );
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Action: 'kms:RotateKeyOnDemand',
        Resource: '*',
        Condition: { StringEqualsIgnoreCase: { 'aws:ResourceTag/kms-incident-rotation': 'disabled' } },
      }),
    );
  });

  test('the product key is used by the Lambda roles only through DynamoDB and SNS (kms:ViaService)', () => {
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement,
    );
    const productKeyUse = statements.filter((st) => JSON.stringify(st.Resource).includes('ProductKey'));
    expect(productKeyUse.length).toBeGreaterThan(0);
    for (const st of productKeyUse) {
      const via: unknown[] = st.Condition.StringEquals['kms:ViaService'];
      expect(via.length).toBeGreaterThan(0);
      for (const v of via) expect(JSON.stringify(v)).toMatch(/(dynamodb|sns)\./);
    }
  });

  test('alarms page through the topic: failed executions and findings stuck in the DLQ', () => {
    // The rest of the alarms: test/infra/observability.test.ts.
    // (ExecutionsFailed sums both state machines, so its metric is an expression: a Metrics array.)
    const metricNames = (a: Record<string, any>): string[] =>
      a.MetricName
        ? [a.MetricName]
        : (a.Metrics ?? []).filter((m: any) => m.MetricStat).map((m: any) => m.MetricStat.Metric.MetricName);
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'))
      .map((a) => a.Properties)
      .filter((a) => ['ApproximateNumberOfMessagesVisible', 'ExecutionsFailed'].includes(metricNames(a)[0]!));
    expect(alarms.map((a) => metricNames(a)).sort()).toEqual([
      ['ApproximateNumberOfMessagesVisible'],
      ['ExecutionsFailed', 'ExecutionsFailed', 'ApprovalsUnverified'],
    ]);
    for (const alarm of alarms) {
      expect(alarm).toMatchObject({
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
      expect(alarm.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^Notifications/) }]);
    }
  });

  test('outputs the state machine ARN for the CLI', () => {
    template.hasOutput('StateMachineArn', { Value: { Ref: Match.stringLikeRegexp('WorkflowStateMachine') } });
  });

  test('the state names the CLI and local runner import are the states of the machine (with the re-encryption branch)', () => {
    // Given
    const { definition } = extractWorkflow(
      Template.fromStack(build({ reEncryptBuckets: ['orders-data'] }).stack).toJSON() as any,
      env,
    );
    const states = new Map<string, string>();
    const visit = (d: { States: Record<string, { Type: string; ItemProcessor?: unknown }> }) => {
      for (const [name, state] of Object.entries(d.States)) {
        states.set(name, state.Type);
        if (state.ItemProcessor) visit(state.ItemProcessor as typeof d);
      }
    };

    // When
    visit(definition);

    // Then
    for (const name of Object.values(STATE)) expect(states.has(name)).toBe(true);
    for (const name of WAIT_STATES) expect(states.get(name)).toBe('Wait');
    const failed = [...states.keys()].filter((n) => n.startsWith(FAILED_STATE_PREFIX));
    expect(failed).toContain(`${FAILED_STATE_PREFIX}INTERNAL`);
    for (const name of failed) expect(states.get(name)).toBe('Pass');
  });
});

describe('settings published for the CLI', () => {
  test('the Settings output carries the deployed settings that check assesses with', () => {
    // Given
    const custom = {
      optOutTag: 'team:rotation',
      cooldownMinutes: 1440,
      rotationBudget: 10,
      automaticReserve: 2,
      dryRun: true,
      dailyRotationCap: 4,
    };
    const template = Template.fromStack(build(custom).stack);

    // When
    const outputs = template.findOutputs(SETTINGS_OUTPUT);
    const value = outputs[SETTINGS_OUTPUT]?.Value as string;

    // Then
    expect(typeof value).toBe('string');
    expect(decodePublishedSettings(value, 'the Settings output')).toMatchObject(custom);
    // Compact: nothing the CLI does not need (no e-mail addresses in a stack output).
    expect(Object.keys(JSON.parse(value)).sort()).toEqual([
      'approvalTimeoutAction',
      'approvalTimeoutMinutes',
      'automaticReserve',
      'cooldownMinutes',
      'dailyRotationCap',
      'dryRun',
      'forceDailyCap',
      'forceMinIntervalMinutes',
      'optOutTag',
      'rotationBudget',
    ]);
  });
});

describe('finding sources and the ledger', () => {
  const template = Template.fromStack(
    build({
      acceptFindingsFromAccounts: ['999988887777'],
      securityHubSeverityLabels: ['CRITICAL'],
      ledgerDeletionProtection: true,
    }).stack,
  );
  // The finding rules (the approval watch's schedule has no pattern).
  const rules = () =>
    Object.values(template.findResources('AWS::Events::Rule')).flatMap((r) =>
      r.Properties.EventPattern ? [r.Properties.EventPattern] : [],
    );

  test('one rule per enabled source, each limited to this account and the accepted ones', () => {
    const patterns = rules();
    expect(patterns.map((p) => p.source[0]).sort()).toEqual([
      'aws.access-analyzer',
      'aws.guardduty',
      'aws.securityhub',
    ]);
    for (const p of patterns) expect(p.account).toEqual([{ Ref: 'AWS::AccountId' }, '999988887777']);
    const securityHub = patterns.find((p) => p.source[0] === 'aws.securityhub');
    expect(securityHub).toMatchObject({
      'detail-type': ['Security Hub Findings - Imported'],
      detail: {
        findings: {
          RecordState: ['ACTIVE'],
          Workflow: { Status: ['NEW'] },
          Severity: { Label: ['CRITICAL'] },
        },
      },
    });
    // Only AWS's own integrations by default (securityHubProductArns): a prefix per entry.
    expect(securityHub.detail.findings.ProductArn).toEqual([
      {
        prefix: {
          'Fn::Join': [
            '',
            ['arn:', { Ref: 'AWS::Partition' }, ':securityhub:', { Ref: 'AWS::Region' }, '::product/aws/'],
          ],
        },
      },
    ]);
    const analyzer = patterns.find((p) => p.source[0] === 'aws.access-analyzer');
    expect(analyzer).toMatchObject({
      'detail-type': ['Access Analyzer Finding'],
      detail: { resourceType: ['AWS::KMS::Key'], status: ['ACTIVE'] },
    });
  });

  test('a source switched off has no rule', () => {
    const t = Template.fromStack(build({ enableSecurityHub: false, enableAccessAnalyzer: false }).stack);
    const patterns = Object.values(t.findResources('AWS::Events::Rule')).flatMap((r) =>
      r.Properties.EventPattern ? [r.Properties.EventPattern.source[0]] : [],
    );
    expect(patterns).toEqual(['aws.guardduty']);
  });

  test('ledger table: on-demand, encrypted with the product key, point-in-time recovery, deletion protection, TTL', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      SSESpecification: {
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('ProductKey'), 'Arn'] },
      },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      DeletionProtectionEnabled: true,
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain' });
    const off = Template.fromStack(build({ ledgerDeletionProtection: false }).stack);
    off.hasResourceProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: false });
  });

  test('IAM for the table: item actions only, on this table only (the approval watch: its index only), each role on its own item kinds (dynamodb:LeadingKeys)', () => {
    const byRole: Record<string, string[]> = {};
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
      for (const st of policy.Properties.PolicyDocument.Statement) {
        const actions: string[] = [].concat(st.Action);
        const dynamo = actions.filter((a) => a.startsWith('dynamodb:'));
        // The KEY# Deny every role carries is checked in trust-controls.test.ts.
        if (!dynamo.length || st.Effect === 'Deny') continue;
        const tableArn = { 'Fn::GetAtt': [expect.stringMatching(/^LedgerTable/), 'Arn'] };
        // A Query of the PendingApprovals index (the approval watch), or of the table (the drill's DRILL#OPEN list).
        const queriesTable = (policy.Properties.Roles[0].Ref as string).startsWith('FrontDoorDrillRole');
        if (dynamo.includes('dynamodb:Query') && !queriesTable)
          expect(st.Resource).toEqual({ 'Fn::Join': ['', [tableArn, '/index/PendingApprovals']] });
        else expect(st.Resource).toEqual(tableArn);
        const kinds: string[] = st.Condition['ForAllValues:StringLike']['dynamodb:LeadingKeys'];
        const role = (policy.Properties.Roles[0].Ref as string).replace(/Role[0-9A-F]{8}$/, '');
        for (const kind of kinds) for (const a of dynamo) (byRole[role] ??= []).push(`${a} ${kind}`);
      }
    }
    for (const list of Object.values(byRole)) list.sort();
    expect(byRole).toEqual({
      TasksClaimRequest: ['dynamodb:GetItem REQUEST#*', 'dynamodb:PutItem REQUEST#*'],
      TasksCloseRequest: ['dynamodb:UpdateItem REQUEST#*'],
      // APPROVAL#: read only, to check an approval against the front door's answer.
      TasksLockKey: ['dynamodb:GetItem APPROVAL#*', 'dynamodb:GetItem LOCK#*', 'dynamodb:PutItem LOCK#*'],
      // NOTIFY#<execution>: read before publishing, written after (one message per execution).
      TasksNotify: ['dynamodb:GetItem NOTIFY#*', 'dynamodb:PutItem NOTIFY#*'],
      // Append-only audit: Record puts KEY# entries (conditional put) and deletes only its LOCK#.
      TasksRecord: ['dynamodb:DeleteItem LOCK#*', 'dynamodb:PutItem KEY#*'],
      TasksRequestApproval: ['dynamodb:PutItem APPROVAL#*'],
      FrontDoorFunction: ['dynamodb:GetItem APPROVAL#*', 'dynamodb:UpdateItem APPROVAL#*'],
      // DRILL#<arn> records, DRILL#OPEN (the sweep's list, a Query), DRILL#COUNT#<caller> (the daily cap).
      FrontDoorDrill: [
        'dynamodb:DeleteItem DRILL#*',
        'dynamodb:GetItem DRILL#*',
        'dynamodb:PutItem DRILL#*',
        'dynamodb:Query DRILL#*',
        'dynamodb:UpdateItem DRILL#*',
      ],
      // Counts unanswered approvals: a Query of the PendingApprovals index (partition APPROVAL#PENDING).
      ApprovalWatch: ['dynamodb:Query APPROVAL#*'],
    });
  });

  test('the approval gate waits for a task token with the configured timeout', () => {
    const { definition } = extractWorkflow(template.toJSON() as any, env);
    const gate = definition.States.ForEachKey.ItemProcessor.States.RequestApproval;
    expect(gate.Resource).toMatch(/lambda:invoke\.waitForTaskToken$/);
    expect(gate.TimeoutSeconds).toBe(240 * 60);
    expect(gate.Parameters.Payload['token.$']).toBe('$$.Task.Token');
    expect(gate.Catch.map((c: { ErrorEquals: string[] }) => c.ErrorEquals[0])).toEqual([
      'APPROVAL_DENIED',
      'States.Timeout',
      'States.ALL',
    ]);
  });
});

describe('deployable anywhere', () => {
  test('synthesizes in a Region- and account-agnostic app (as `cdk synth` without credentials)', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new KmsIncidentRotationStack(app, 'KmsIncidentRotation', { settings: parseSettings({}) });
    expect(() => app.synth()).not.toThrow();
    expect(Template.fromStack(stack).findResources('AWS::DynamoDB::Table')).not.toEqual({});
  });
});

describe('cdk-nag AwsSolutions', () => {
  test('no unacknowledged finding in the stack', () => {
    const { app } = build();
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  });

  test('the check does fail on a non-compliant resource (a topic without SSL enforcement)', () => {
    const { app, stack } = build();
    new sns.Topic(stack as Stack, 'Plain');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const log = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const out = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(() => app.synth()).toThrow(/AwsSolutions-SNS3/);
    } finally {
      log.mockRestore();
      out.mockRestore();
    }
  });
});

describe('settings', () => {
  test('defaults', () => {
    expect(parseSettings({})).toMatchObject({
      minGuardDutySeverity: 7,
      rotationBudget: 25,
      automaticReserve: 3,
      optOutTag: 'kms-incident-rotation',
    });
  });

  test('a bad value names the key and the expected shape', () => {
    expect(() => parseSettings({ rotationBudget: 'lots' })).toThrow(SettingsError);
    expect(() => parseSettings({ rotationBudget: 'lots' })).toThrow(/rotationBudget: .*expected number/);
    expect(() => parseSettings({ notificationEmails: ['not-an-email'] })).toThrow(/notificationEmails\.0/);
    expect(() => parseSettings({ rotationBudgt: 25 })).toThrow(/rotationBudgt: unknown setting/);
    expect(() => parseSettings({ pollInitialSeconds: 30, pollMaxSeconds: 10 })).toThrow(/pollMaxSeconds/);
  });

  /** A stack that reads its settings from the app's context, as `cdk synth -c name=value` does. */
  const synthFromContext = (context: Record<string, unknown>) => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
    return new KmsIncidentRotationStack(app, 'KmsIncidentRotation', { env });
  };

  test.each<[string, Record<string, unknown>, RegExp]>([
    ['cooldownMinutes below 15', { cooldownMinutes: 14 }, /cooldownMinutes: at least 15 \(minutes\)/],
    [
      'forceMinIntervalMinutes below 5',
      { forceMinIntervalMinutes: 4 },
      /forceMinIntervalMinutes: at least 5 \(minutes\)/,
    ],
    [
      'forceDailyCap above 5',
      { forceDailyCap: 6, dailyRotationCap: 5 },
      /forceDailyCap: at most 5 on-demand rotations per key per 24 h/,
    ],
    ['forceDailyCap below 1', { forceDailyCap: 0 }, /forceDailyCap: .*expected number to be >=1/],
    [
      'dailyRotationCap above 5',
      { dailyRotationCap: 6 },
      /dailyRotationCap: at most 5 on-demand rotations per key per 24 h/,
    ],
    ['dailyRotationCap below 1', { dailyRotationCap: 0 }, /dailyRotationCap: .*expected number to be >=1/],
    ['dailyRotationCap not an integer', { dailyRotationCap: 2.5 }, /dailyRotationCap: .*expected int/],
    [
      'forceDailyCap above dailyRotationCap',
      { forceDailyCap: 3, dailyRotationCap: 2 },
      /forceDailyCap: forceDailyCap must be <= dailyRotationCap/,
    ],
  ])('refused at synth with the field named: %s', (_name, context, message) => {
    expect(() => synthFromContext(context)).toThrow(SettingsError);
    expect(() => synthFromContext(context)).toThrow(message);
  });

  test('the floors themselves are accepted, and the daily cap reaches every function', () => {
    // Given
    const floors = { cooldownMinutes: 15, forceMinIntervalMinutes: 5, forceDailyCap: 5, dailyRotationCap: 5 };

    // When
    const template = Template.fromStack(
      synthFromContext(Object.fromEntries(Object.entries(floors).map(([k, v]) => [k, String(v)]))),
    );

    // Then
    expect(parseSettings({ forceDailyCap: 1, dailyRotationCap: 1 })).toMatchObject({
      forceDailyCap: 1,
      dailyRotationCap: 1,
    });
    expect(parseSettings({})).toMatchObject({
      dailyRotationCap: 3,
      forceDailyCap: 2,
      cooldownMinutes: 60,
      forceMinIntervalMinutes: 10,
    });
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    const withConfig = functions.filter((fn) => fn.Properties.Environment?.Variables?.FORCE_DAILY_CAP !== undefined);
    expect(withConfig.length).toBeGreaterThan(0);
    for (const fn of withConfig) {
      expect(fn.Properties.Environment.Variables).toMatchObject({
        DAILY_ROTATION_CAP: '5',
        FORCE_DAILY_CAP: '5',
        COOLDOWN_SECONDS: '900',
        FORCE_MIN_INTERVAL_SECONDS: '300',
      });
    }
    expect(
      decodePublishedSettings(
        template.findOutputs(SETTINGS_OUTPUT)[SETTINGS_OUTPUT]?.Value as string,
        'the Settings output',
      ),
    ).toMatchObject(floors);
  });

  test('-c values arrive as strings and are parsed', () => {
    const context: Record<string, string> = {
      notificationEmails: '["a@example.com"]',
      dryRun: 'true',
      minGuardDutySeverity: '5',
    };
    expect(settingsFromContext((k) => context[k])).toMatchObject({
      notificationEmails: ['a@example.com'],
      dryRun: true,
      minGuardDutySeverity: 5,
    });
  });
});
