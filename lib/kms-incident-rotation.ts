import { Aws, type CfnElement, CfnOutput, Duration, Fn, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { TaskFunctions, type BranchHandlerName, type HandlerName } from './functions';
import { LedgerTable } from './ledger';
import { FrontDoor } from './front-door';
import {
  denyAuditEntryChanges,
  grantLedgerItems,
  grantProductKeyVia,
  type LedgerItemAccess,
  type ProductKeyUser,
} from './ledger-access';
import { HumanPolicies } from './oncall';
import { DrillRights } from './drill';
import { securityHubProductArnPrefixes } from './security-hub-products';
import { accessRoles, parseSettings, reencryptionSettings, type Settings, type SettingsInput } from './settings';
import { encodePublishedSettings, SETTINGS_OUTPUT } from './published-settings';
import { executionTimeoutSeconds, hasReencryptionBranch } from './limits';
import { ReencryptionResources } from './reencryption';
import { RotationWorkflow } from './workflow';
import { Observability } from './observability';
import { allowLogsToUseKey, Compliance, nameLogGroups } from './compliance';
import { DASHBOARD_URL_OUTPUT } from './names';
import { ApprovalWatch } from './approval-watch';
import { RESULTS_BUCKET_ENV } from '../lambdas/adapters/config';

/**
 * The construct's props: the product's settings (lib/settings.ts), each optional with its default,
 * validated when the construct is created (a SettingsError naming each bad prop).
 */
export type KmsIncidentRotationProps = SettingsInput;

type CoreHandlerName = Exclude<HandlerName, BranchHandlerName>;

/** KMS read actions the workflow needs on the account's keys. */
const KMS_READ = ['kms:DescribeKey', 'kms:GetKeyRotationStatus', 'kms:ListKeyRotations'];

/**
 * Everything one account and Region needs: the workflow and its functions, the finding triggers
 * (GuardDuty, Security Hub, IAM Access Analyzer) with a dead-letter queue, the encrypted
 * notification topic, and alarms that page through it. Add it to any stack of a CDK app:
 * `new KmsIncidentRotation(this, 'Default', { notificationEmails: ['oncall@example.com'] })`.
 *
 * One per stack: two in one stack would both act on every finding, each with its own ledger and
 * locks, so a key would be rotated twice per finding. It sets no physical names (state machines,
 * table, topic, dashboard are named by CloudFormation), so stacks holding one each never collide.
 * Its stack outputs keep their plain names (StateMachineArn, ...) when its id is 'Default', as in
 * KmsIncidentRotationStack; under another id CDK prefixes them with the id.
 */
export class KmsIncidentRotation extends Construct {
  /** The validated settings it was built with. */
  readonly settings: Settings;
  /** The automatic machine: finding events, started only by the EventBridge rules. */
  readonly workflow: RotationWorkflow;
  /** The manual machine: the front door's requests, started only by the front door. */
  readonly manualWorkflow: RotationWorkflow;
  readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: KmsIncidentRotationProps = {}) {
    // Checked before the construct joins the tree: a refused one leaves nothing behind.
    const path = scope.node.path ? `${scope.node.path}/${id}` : id;
    const stack = Stack.of(scope);
    const other = stack.node.findAll().find((c) => c instanceof KmsIncidentRotation);
    if (other) {
      throw new Error(
        `KmsIncidentRotation '${path}': stack '${stack.node.id}' already holds one ('${other.node.path}'). Two in one stack would both act on every finding with separate ledgers and locks (a key rotated twice per finding); use one stack per account and Region.`,
      );
    }
    const settings = parseSettings(props, `the props of KmsIncidentRotation '${path}'`);
    super(scope, id);
    this.settings = settings;
    const logRetention = logs.RetentionDays.THREE_MONTHS;

    // Customer managed key for the topic and the dead-letter queue.
    const productKey = new kms.Key(this, 'ProductKey', {
      description:
        'kms-incident-rotation: encrypts the notification topic, the trigger dead-letter queue, the ledger, its backup vault and the log groups',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // EventBridge (the rules' dead-letter queue) and CloudWatch (alarms to the topic), each only
    // for this account's rules / alarms in this Region (aws:SourceArn). Not the exact ARNs: the
    // rules target the state machines, whose log groups this key encrypts, so naming a rule here
    // would be a dependency cycle; alarms have no name before CloudFormation creates them.
    const serviceSources: [string, string][] = [
      ['events.amazonaws.com', `arn:${Aws.PARTITION}:events:${Aws.REGION}:${Aws.ACCOUNT_ID}:rule/*`],
      ['cloudwatch.amazonaws.com', `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*`],
    ];
    for (const [service, sourceArn] of serviceSources) {
      productKey.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: `Allow${service.split('.')[0]}ToUseTheKey`,
          principals: [new iam.ServicePrincipal(service)],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
          conditions: {
            StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
            ArnLike: { 'aws:SourceArn': sourceArn },
          },
        }),
      );
    }

    // Log groups are encrypted with it too (NIST CloudWatchLogGroupEncrypted).
    allowLogsToUseKey(productKey);

    this.topic = new sns.Topic(this, 'Notifications', {
      displayName: 'KMS incident rotation',
      masterKey: productKey,
      enforceSSL: true,
    });
    // People are not mailed runs that changed nothing: every key a duplicate finding (GuardDuty
    // repeats a finding every 15 min to 6 h, Security Hub on every update), rotated recently or by
    // another execution, or joined (domain/message.ts isDuplicateOnly). Other subscribers can
    // filter on the same attributes.
    for (const email of settings.notificationEmails) {
      this.topic.addSubscription(
        new subscriptions.EmailSubscription(email, {
          filterPolicy: { duplicate: sns.SubscriptionFilter.stringFilter({ allowlist: ['false'] }) },
        }),
      );
    }

    const ledger = new LedgerTable(this, 'Ledger', {
      encryptionKey: productKey,
      deletionProtection: settings.ledgerDeletionProtection,
    });
    const table = ledger.table;
    const functions = new TaskFunctions(this, 'Tasks', {
      settings,
      topicArn: this.topic.topicArn,
      ledgerTable: table.tableName,
      logRetention,
      logEncryptionKey: productKey,
    });
    const fns = functions.byName;
    const accountKeys = `arn:${Aws.PARTITION}:kms:*:${Aws.ACCOUNT_ID}:key/*`;
    fns.assess.addToRolePolicy(
      new iam.PolicyStatement({ actions: [...KMS_READ, 'kms:ListResourceTags'], resources: [accountKeys] }),
    );
    fns.assess.addToRolePolicy(new iam.PolicyStatement({ actions: ['kms:ListAliases'], resources: ['*'] }));
    // The only KMS write action anywhere in the product, plus what Rotate reads right before it.
    fns.rotate.addToRolePolicy(
      // DescribeKey: after a lost answer, Rotate compares the current key material before calling again.
      new iam.PolicyStatement({
        actions: [
          'kms:RotateKeyOnDemand',
          'kms:GetKeyRotationStatus',
          'kms:ListKeyRotations',
          'kms:ListResourceTags',
          'kms:DescribeKey',
        ],
        resources: [accountKeys],
      }),
    );
    // Opt-out enforced by IAM too: a key tagged <optOutTag>=disabled (any case) is never rotated,
    // even if the tag was set after Assess read it (e.g. during an approval wait).
    fns.rotate.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'NeverRotateOptedOutKeys',
        effect: iam.Effect.DENY,
        actions: ['kms:RotateKeyOnDemand'],
        resources: ['*'],
        conditions: { StringEqualsIgnoreCase: { [`aws:ResourceTag/${settings.optOutTag}`]: 'disabled' } },
      }),
    );
    fns['check-rotation'].addToRolePolicy(new iam.PolicyStatement({ actions: KMS_READ, resources: [accountKeys] }));
    // Intake confirms each finding with its source service before any key is touched: read-only,
    // this account and Region, and only for the sources whose rule exists.
    const inThisRegion = (service: string, resource: string) =>
      `arn:${Aws.PARTITION}:${service}:${Aws.REGION}:${Aws.ACCOUNT_ID}:${resource}`;
    if (settings.enableGuardDuty)
      fns.intake.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['guardduty:GetFindings'],
          resources: [inThisRegion('guardduty', 'detector/*')],
        }),
      );
    if (settings.enableSecurityHub)
      fns.intake.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['securityhub:GetFindings'],
          resources: [inThisRegion('securityhub', 'hub/default')],
        }),
      );
    // Closing the loop in Security Hub: ClaimRequest sets NOTIFIED, Notify RESOLVED (or a note).
    if (settings.enableSecurityHub && settings.securityHubWorkflowUpdates) {
      for (const writer of [fns['claim-request'], fns.notify]) {
        writer.addToRolePolicy(
          new iam.PolicyStatement({
            actions: ['securityhub:BatchUpdateFindings'],
            resources: [inThisRegion('securityhub', 'hub/default')],
          }),
        );
      }
    }
    if (settings.enableAccessAnalyzer)
      fns.intake.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['access-analyzer:GetFinding'],
          resources: [inThisRegion('access-analyzer', 'analyzer/*')],
        }),
      );
    const readsFindingsOf = (resource: string, reason: string) =>
      Validations.of(fns.intake.role!).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:${resource}]`,
        reason,
      });
    if (settings.enableGuardDuty) {
      readsFindingsOf(
        'guardduty:<AWS::Region>:<AWS::AccountId>:detector/*',
        "guardduty:GetFindings only, on this account's detector in this Region (its id is known only from the finding).",
      );
    }
    if (settings.enableAccessAnalyzer) {
      readsFindingsOf(
        'access-analyzer:<AWS::Region>:<AWS::AccountId>:analyzer/*',
        "access-analyzer:GetFinding only, on this account's analyzers in this Region (the analyzer is named by the finding).",
      );
    }
    for (const publisher of [fns.notify, fns['request-approval']]) {
      publisher.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [this.topic.topicArn] }),
      );
    }
    // The ledger: each function gets exactly the item operations it performs, each on its own
    // item kinds only (dynamodb:LeadingKeys). KEY# audit entries are append-only: Record may put
    // them (a conditional put on a new sort key), nobody may update or delete them.
    const ledgerAccess: [CoreHandlerName, LedgerItemAccess[]][] = [
      ['claim-request', [{ actions: ['dynamodb:PutItem', 'dynamodb:GetItem'], prefix: 'REQUEST#' }]],
      ['close-request', [{ actions: ['dynamodb:UpdateItem'], prefix: 'REQUEST#' }]],
      // APPROVAL#: LockKey checks an approval against the front door's answer (read only).
      [
        'lock-key',
        [
          { actions: ['dynamodb:PutItem', 'dynamodb:GetItem'], prefix: 'LOCK#' },
          { actions: ['dynamodb:GetItem'], prefix: 'APPROVAL#' },
        ],
      ],
      [
        'record',
        [
          { actions: ['dynamodb:PutItem'], prefix: 'KEY#' },
          { actions: ['dynamodb:DeleteItem'], prefix: 'LOCK#' },
        ],
      ],
      ['request-approval', [{ actions: ['dynamodb:PutItem'], prefix: 'APPROVAL#' }]],
      // NOTIFY#<execution>: read before publishing, written after, so a retry never re-publishes.
      ['notify', [{ actions: ['dynamodb:GetItem', 'dynamodb:PutItem'], prefix: 'NOTIFY#' }]],
    ];
    for (const [name, access] of ledgerAccess) grantLedgerItems(fns[name], table, access);
    // The product key encrypts the ledger, the topic and the DLQ: each role may use it only
    // through the services it calls.
    const keyUsers: [CoreHandlerName, ProductKeyUser[]][] = [
      ['claim-request', ['dynamodb']],
      ['close-request', ['dynamodb']],
      ['lock-key', ['dynamodb']],
      ['record', ['dynamodb']],
      ['notify', ['sns']],
      ['request-approval', ['dynamodb', 'sns']],
    ];
    for (const [name, services] of keyUsers) grantProductKeyVia(fns[name], productKey, services);

    // Re-encryption: the Distributed Map branch, its results bucket and every right it
    // needs exist only when reEncryptBuckets names buckets (lib/reencryption.ts).
    let reencryption: ReencryptionResources | undefined;
    if (hasReencryptionBranch(settings)) {
      const reencryptObjects = fns['reencrypt-objects']!;
      const summarize = fns['summarize-reencryption']!;
      reencryption = new ReencryptionResources(this, 'Reencryption', {
        buckets: settings.reEncryptBuckets,
        productKey,
        reencryptObjects,
        summarizeReencryption: summarize,
        // The summary appends the key's audit entry (append-only KEY#, as Record does).
        grantLedgerKeyEntries: (grantee) =>
          grantLedgerItems(grantee, table, [{ actions: ['dynamodb:PutItem'], prefix: 'KEY#' }]),
      });
      // The result files (SSE-KMS with the product key) are read through S3; the ledger through DynamoDB.
      grantProductKeyVia(summarize, productKey, ['dynamodb', 's3']);
      // Where a failed map run's files are looked for (it left no ResultWriterDetails).
      summarize.addEnvironment(RESULTS_BUCKET_ENV, reencryption.resultsBucket.bucketName);
    }

    // Two machines from one definition: people cannot start the automatic one (finding events
    // only, from the EventBridge rules), and only the front door starts the manual one.
    const workflowProps = {
      functions: fns,
      logRetention,
      logEncryptionKey: productKey,
      // Derived from the settings (approval + rotation timeouts + every step at its longest), so
      // a silent approval or a stalled rotation ends with Record and Notify, not a timeout.
      timeout: Duration.seconds(executionTimeoutSeconds(settings)),
      approvalTimeout: Duration.minutes(settings.approvalTimeoutMinutes),
      approvalTimeoutAction: settings.approvalTimeoutAction,
      reencryptionSettings: reencryptionSettings(settings),
      reencryption,
    };
    this.workflow = new RotationWorkflow(this, 'Workflow', { ...workflowProps, mode: 'automatic' });
    this.manualWorkflow = new RotationWorkflow(this, 'ManualWorkflow', { ...workflowProps, mode: 'manual' });
    const stateMachine = this.workflow.stateMachine;
    const manualMachine = this.manualWorkflow.stateMachine;
    for (const machine of [stateMachine, manualMachine]) reencryption?.grantToStateMachine(machine);

    // Triggers: the finding rules of findingRules() (GuardDuty, Security Hub, IAM Access Analyzer,
    // each as configured) share one target and its dead-letter queue.
    const deadLetters = new sqs.Queue(this, 'TriggerDeadLetters', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: productKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const target = new targets.SfnStateMachine(stateMachine, {
      deadLetterQueue: deadLetters,
      retryAttempts: 10,
      maxEventAge: Duration.hours(6),
    });
    for (const [id, rule] of Object.entries(findingRules(settings, Aws.ACCOUNT_ID))) {
      new events.Rule(this, id, { ...rule, targets: [target] });
    }

    // Alarms through the same topic, and the dashboard (lib/observability.ts).
    const observability = new Observability(this, 'Observability', {
      stateMachines: [stateMachine, manualMachine],
      deadLetters,
      topic: this.topic,
      automaticReserve: settings.automaticReserve,
    });
    new CfnOutput(this, DASHBOARD_URL_OUTPUT, {
      value: observability.dashboardUrl,
      description: 'kms-rotate status prints it: executions, outcomes, rotations remaining, alarms',
    });

    // People's one way in: the front door starts the manual machine and answers approvals.
    const frontDoor = new FrontDoor(this, 'FrontDoor', {
      manualStateMachine: manualMachine,
      ledgerTable: table.tableName,
      logRetention,
      logEncryptionKey: productKey,
      roles: accessRoles(settings),
    });
    manualMachine.grantStartExecution(frontDoor.function);
    frontDoor.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
        resources: [stateMachine.stateMachineArn, manualMachine.stateMachineArn],
      }),
    );
    grantLedgerItems(frontDoor.function, table, [
      { actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], prefix: 'APPROVAL#' },
    ]);
    grantProductKeyVia(frontDoor.function, productKey, ['dynamodb']);
    // The drill component: the only role with KMS key creation; it tags and deletes only keys
    // whose own policy lets it (lib/drill.ts).
    new DrillRights(this, 'Drills', {
      drill: frontDoor.drillFunction,
      ledger: table,
      productKey,
      dailyCap: settings.drillDailyCapPerPerson,
    });

    // Counts approvals waiting past half their window, for the ApprovalsOverdue alarm.
    new ApprovalWatch(this, 'ApprovalWatch', { ledger: table, productKey, logRetention });

    const people = new HumanPolicies(this, 'OnCall', {
      stateMachines: [stateMachine, manualMachine],
      api: frontDoor.api,
    });
    new CfnOutput(this, 'OnCallPolicyArn', {
      value: people.onCall.managedPolicyArn,
      description: 'attach to on-call roles: what kms-rotate needs (no force)',
    });
    new CfnOutput(this, 'BreakGlassPolicyArn', {
      value: people.breakGlass.managedPolicyArn,
      description: 'attach (with the on-call policy) to the few roles that may force a rotation',
    });
    new CfnOutput(this, 'FrontDoorUrl', {
      value: frontDoor.api.url,
      description: 'kms-rotate sends its signed requests here',
    });

    new CfnOutput(this, 'StateMachineArn', {
      value: manualMachine.stateMachineArn,
      description: 'the manual machine (kms-rotate start runs go here, through the front door)',
    });
    new CfnOutput(this, 'ManualStateMachineArn', {
      value: manualMachine.stateMachineArn,
      description: 'manual runs (front door only)',
    });
    new CfnOutput(this, 'AutomaticStateMachineArn', {
      value: stateMachine.stateMachineArn,
      description: 'finding-triggered runs (EventBridge only)',
    });
    new CfnOutput(this, SETTINGS_OUTPUT, {
      value: encodePublishedSettings(settings),
      description: 'kms-rotate check assesses keys with these settings',
    });
    new CfnOutput(this, 'TopicArn', { value: this.topic.topicArn });
    new CfnOutput(this, 'KeyPolicyPrincipals', {
      value: Fn.join(',', [fns.assess.role!.roleArn, fns.rotate.role!.roleArn, fns['check-rotation'].role!.roleArn]),
      description:
        'roles to name in the key policy of keys whose policy does not delegate to IAM (see docs/deploy.md, "Key policies")',
    });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: deadLetters.queueUrl });
    new CfnOutput(this, 'LedgerTableName', {
      value: table.tableName,
      description: 'The audit trail: see docs/architecture.md, "Audit ledger"',
    });

    // KEY# audit entries: no role of the stack may update or delete one, whatever it is granted.
    for (const child of this.node.findAll()) if (child instanceof lambda.Function) denyAuditEntryChanges(child, table);
    // Named so that the product key's policy names this stack's log groups only.
    nameLogGroups(this);

    this.acknowledgeNagFindings(deadLetters, functions, frontDoor);
    // NIST 800-53 R5: ledger backups, reserved concurrency, acknowledgements (last: it sees every role).
    new Compliance(this, 'Compliance', {
      productKey,
      ledger: table,
      functions: fns,
      reEncryptKmsRequestsPerSecond: settings.reEncryptKmsRequestsPerSecond,
      stateMachines: [stateMachine, manualMachine],
      frontDoor,
    });
  }

  /** Every cdk-nag finding we accept, each with its reason. */
  private acknowledgeNagFindings(deadLetters: sqs.Queue, functions: TaskFunctions, frontDoor: FrontDoor): void {
    for (const id of ['AwsSolutions-SQS3', 'Serverless-SQSRedrivePolicy']) {
      Validations.of(deadLetters).acknowledge({
        id,
        reason: 'This queue IS the dead-letter queue of the EventBridge target; a DLQ of a DLQ adds nothing.',
      });
    }
    const xray =
      'X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords do not support resource-level permissions.';
    const rolesWithStar: [string, iam.IRole][] = [
      ...Object.entries(functions.byName).map(([n, fn]) => [n, fn.role!] as [string, iam.IRole]),
      ['front-door', frontDoor.function.role!],
      ['drill', frontDoor.drillFunction.role!],
    ];
    for (const [name, role] of rolesWithStar) {
      const why =
        name === 'assess'
          ? `${xray} kms:ListAliases does not support resource-level permissions either.`
          : name === 'rotate'
            ? `${xray} The Resource * statement is the explicit DENY of kms:RotateKeyOnDemand on opted-out keys (a Deny on every key is the point).`
            : name === 'drill'
              ? `${xray} kms:CreateKey has no resource to name before the key exists; it is limited to plain symmetric keys without tags (lib/drill.ts).`
              : xray;
      Validations.of(role).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason: why });
      if (name === 'assess' || name === 'rotate' || name === 'check-rotation') {
        Validations.of(role).acknowledge({
          id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:*:<AWS::AccountId>:key/*]',
          reason:
            "The keys are named by findings at run time, in any Region (multi-Region primaries); the resource is limited to this account's keys and the actions to reads plus kms:RotateKeyOnDemand.",
        });
      }
    }
    for (const machine of [this.workflow.stateMachine, this.manualWorkflow.stateMachine]) {
      const machineRole = machine.role;
      Validations.of(machineRole).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Step Functions X-Ray tracing and CloudWatch Logs delivery (logs:CreateLogDelivery etc.) do not support resource-level permissions.',
      });
      for (const fn of Object.values(functions.byName)) {
        const logicalId = Stack.of(this).getLogicalId(fn.node.defaultChild as CfnElement);
        Validations.of(machineRole).acknowledge({
          id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>:*]`,
          reason:
            "CDK grants invoke on the task function and its versions/aliases (ARN:*); only this stack's task functions.",
        });
      }
    }
    const api = frontDoor.api;
    Validations.of(api).acknowledge({
      id: 'AwsSolutions-APIG3',
      reason:
        'Every route needs a SigV4 signature of an IAM principal of this account (AWS_IAM authorization); the callers are a handful of on-call engineers, so a WAF web ACL adds cost and nothing the IAM check does not already refuse.',
    });
    Validations.of(api).acknowledge({
      id: 'AwsSolutions-APIG2',
      reason:
        'The front-door Lambda validates every body strictly (unknown fields refused, identity fields ignored, force only by route) and answers 400 naming the field; an API Gateway model would be a second copy of that contract.',
    });
    Validations.of(api).acknowledge({
      id: 'AwsSolutions-APIG6',
      reason:
        'Access logs (JSON, every request with the caller) go to a log group with retention; execution logging needs an account-wide API Gateway CloudWatch role that this product does not own.',
    });
    Validations.of(api).acknowledge({
      id: 'AwsSolutions-COG4',
      reason:
        "The front door authorizes with IAM (AWS_IAM, SigV4), by design: the caller's IAM identity is what the audit trail and the two-person rule use; a Cognito user pool would be a second identity system.",
    });
  }
}

/**
 * One EventBridge rule per enabled finding source. Findings from other accounts are filtered by
 * the pattern (`account`), never by code: only this account and `acceptFindingsFromAccounts`.
 */
export function findingRules(
  settings: Settings,
  thisAccount: string,
): Record<string, Pick<events.RuleProps, 'description' | 'eventPattern'>> {
  const account = [thisAccount, ...settings.acceptFindingsFromAccounts];
  const rules: Record<string, Pick<events.RuleProps, 'description' | 'eventPattern'>> = {};
  if (settings.enableGuardDuty) {
    rules.GuardDutyFindings = {
      description: `GuardDuty findings with severity >= ${settings.minGuardDutySeverity} start the KMS incident rotation workflow`,
      eventPattern: {
        source: ['aws.guardduty'],
        detailType: ['GuardDuty Finding'],
        account,
        detail: { severity: events.Match.greaterThanOrEqual(settings.minGuardDutySeverity) },
      },
    };
  }
  if (settings.enableSecurityHub) {
    rules.SecurityHubFindings = {
      description: `Active Security Hub findings (${settings.securityHubSeverityLabels.join(', ')}) of the accepted products on KMS keys or SSE-KMS buckets start the workflow`,
      eventPattern: {
        source: ['aws.securityhub'],
        detailType: ['Security Hub Findings - Imported'],
        account,
        detail: {
          findings: {
            // Only the products in securityHubProductArns (default AWS's own integrations):
            // anyone with securityhub:BatchImportFindings can import findings of their own.
            ProductArn: securityHubProductArnPrefixes(settings).flatMap((prefix) => events.Match.prefix(prefix)),
            RecordState: ['ACTIVE'],
            // NEW only: BatchUpdateFindings makes Security Hub emit "Security Hub Findings -
            // Imported" for the updated finding, so the NOTIFIED/RESOLVED this stack writes would
            // otherwise start another run for it (again and again after a FAILED run, whose claim
            // lets the next delivery retry). A finding set back to NEW by a person starts one.
            Workflow: { Status: ['NEW'] },
            Severity: { Label: settings.securityHubSeverityLabels },
            Resources: { Type: ['AwsKmsKey', 'AwsS3Bucket'] },
          },
        },
      },
    };
  }
  if (settings.enableAccessAnalyzer) {
    rules.AccessAnalyzerFindings = {
      description:
        'Active IAM Access Analyzer findings on KMS keys (shared outside the zone of trust) start the workflow',
      eventPattern: {
        source: ['aws.access-analyzer'],
        detailType: ['Access Analyzer Finding'],
        account,
        detail: { resourceType: ['AWS::KMS::Key'], status: ['ACTIVE'] },
      },
    };
  }
  return rules;
}
