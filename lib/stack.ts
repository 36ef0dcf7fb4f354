import { Aws, type CfnElement, CfnOutput, Duration, Fn, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { TaskFunctions } from './functions';
import { LedgerTable } from './ledger';
import { OnCallPolicy } from './oncall';
import type { Settings } from './settings';
import { encodePublishedSettings, SETTINGS_OUTPUT } from './published-settings';
import { executionTimeoutSeconds } from './limits';
import { RotationWorkflow } from './workflow';
import { Observability } from './observability';
import { allowLogsToUseKey, Compliance } from './compliance';
import { DASHBOARD_URL_OUTPUT } from './names';

export interface KmsIncidentRotationStackProps extends StackProps {
  settings: Settings;
}

/** KMS read actions the workflow needs on the account's keys. */
const KMS_READ = ['kms:DescribeKey', 'kms:GetKeyRotationStatus', 'kms:ListKeyRotations'];

/**
 * Everything one account needs: the workflow and its functions, the finding triggers (GuardDuty,
 * Security Hub, IAM Access Analyzer) with a dead-letter queue, the encrypted notification topic, and alarms that page through it.
 */
export class KmsIncidentRotationStack extends Stack {
  readonly workflow: RotationWorkflow;
  readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: KmsIncidentRotationStackProps) {
    super(scope, id, props);
    const { settings } = props;
    const logRetention = logs.RetentionDays.THREE_MONTHS;

    // Customer managed key for the topic and the dead-letter queue.
    const productKey = new kms.Key(this, 'ProductKey', {
      description: 'kms-incident-rotation: encrypts the notification topic, the trigger dead-letter queue, the ledger, its backup vault and the log groups',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const service of ['events.amazonaws.com', 'cloudwatch.amazonaws.com']) {
      productKey.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: `Allow${service.split('.')[0]}ToUseTheKey`,
          principals: [new iam.ServicePrincipal(service)],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
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

    const ledger = new LedgerTable(this, 'Ledger', { encryptionKey: productKey, deletionProtection: settings.ledgerDeletionProtection });
    const table = ledger.table;
    const functions = new TaskFunctions(this, 'Tasks', { settings, topicArn: this.topic.topicArn, ledgerTable: table.tableName, logRetention, logEncryptionKey: productKey });
    const fns = functions.byName;
    const accountKeys = `arn:${Aws.PARTITION}:kms:*:${Aws.ACCOUNT_ID}:key/*`;
    fns.assess.addToRolePolicy(new iam.PolicyStatement({ actions: [...KMS_READ, 'kms:ListResourceTags'], resources: [accountKeys] }));
    fns.assess.addToRolePolicy(new iam.PolicyStatement({ actions: ['kms:ListAliases'], resources: ['*'] }));
    // The only KMS write action anywhere in the product.
    fns.rotate.addToRolePolicy(new iam.PolicyStatement({ actions: ['kms:RotateKeyOnDemand', ...KMS_READ], resources: [accountKeys] }));
    fns['check-rotation'].addToRolePolicy(new iam.PolicyStatement({ actions: KMS_READ, resources: [accountKeys] }));
    // Publish to an encrypted topic: sns:Publish plus the two KMS actions SNS performs for the publisher.
    for (const publisher of [fns.notify, fns['request-approval']]) {
      publisher.addToRolePolicy(new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [this.topic.topicArn] }));
    }
    // The ledger: each function gets exactly the item operations it performs, on this table only;
    // the table's key (the product key) for its encryption. Publishers need the same key for SNS.
    const ledgerAccess: [keyof typeof fns, string[]][] = [
      ['claim-request', ['dynamodb:PutItem', 'dynamodb:GetItem']],
      ['close-request', ['dynamodb:UpdateItem']],
      ['lock-key', ['dynamodb:PutItem', 'dynamodb:GetItem']],
      ['record', ['dynamodb:PutItem', 'dynamodb:DeleteItem']],
      // NOTIFY#<execution>: read before publishing, written after, so a retry never re-publishes.
      ['notify', ['dynamodb:GetItem', 'dynamodb:PutItem']],
    ];
    for (const [name, actions] of ledgerAccess) {
      fns[name].addToRolePolicy(new iam.PolicyStatement({ actions, resources: [table.tableArn] }));
    }
    for (const name of ['claim-request', 'close-request', 'lock-key', 'record', 'notify', 'request-approval'] as const) {
      fns[name].addToRolePolicy(new iam.PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [productKey.keyArn] }));
    }

    this.workflow = new RotationWorkflow(this, 'Workflow', {
      functions: fns,
      logRetention,
      logEncryptionKey: productKey,
      // Derived from the settings (approval + rotation timeouts + every step at its longest), so
      // a silent approval or a stalled rotation ends with Record and Notify, not a timeout.
      timeout: Duration.seconds(executionTimeoutSeconds(settings)),
      approvalTimeout: Duration.minutes(settings.approvalTimeoutMinutes),
      approvalTimeoutAction: settings.approvalTimeoutAction,
    });
    const stateMachine = this.workflow.stateMachine;

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
    const observability = new Observability(this, 'Observability', { stateMachine, deadLetters, topic: this.topic, automaticReserve: settings.automaticReserve });
    new CfnOutput(this, DASHBOARD_URL_OUTPUT, { value: observability.dashboardUrl, description: 'kms-rotate status prints it: executions, outcomes, rotations remaining, alarms' });

    const onCall = new OnCallPolicy(this, 'OnCall', { stateMachine });
    new CfnOutput(this, 'OnCallPolicyArn', { value: onCall.policy.managedPolicyArn, description: 'attach to on-call roles: what kms-rotate needs' });

    new CfnOutput(this, 'StateMachineArn', { value: stateMachine.stateMachineArn, description: 'kms-rotate start uses this' });
    new CfnOutput(this, SETTINGS_OUTPUT, { value: encodePublishedSettings(settings), description: 'kms-rotate check assesses keys with these settings' });
    new CfnOutput(this, 'TopicArn', { value: this.topic.topicArn });
    new CfnOutput(this, 'KeyPolicyPrincipals', {
      value: Fn.join(',', [fns.assess.role!.roleArn, fns.rotate.role!.roleArn, fns['check-rotation'].role!.roleArn]),
      description: 'roles to name in the key policy of keys whose policy does not delegate to IAM (see README "Key policies")',
    });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: deadLetters.queueUrl });
    new CfnOutput(this, 'LedgerTableName', { value: table.tableName, description: 'The audit trail: see README "Audit ledger"' });

    this.acknowledgeNagFindings(deadLetters, functions);
    // NIST 800-53 R5: ledger backups, reserved concurrency, acknowledgements (last: it sees every role).
    new Compliance(this, 'Compliance', { productKey, ledger: table, functions: fns, stateMachine });
  }

  /** Every cdk-nag finding we accept, each with its reason. */
  private acknowledgeNagFindings(deadLetters: sqs.Queue, functions: TaskFunctions): void {
    Validations.of(deadLetters).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue IS the dead-letter queue of the EventBridge target; a DLQ of a DLQ adds nothing.',
    });
    const xray = 'X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords do not support resource-level permissions.';
    for (const [name, fn] of Object.entries(functions.byName)) {
      const role = fn.role!;
      Validations.of(role).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason: name === 'assess' ? `${xray} kms:ListAliases does not support resource-level permissions either.` : xray });
      if (name === 'assess' || name === 'rotate' || name === 'check-rotation') {
        Validations.of(role).acknowledge({
          id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:*:<AWS::AccountId>:key/*]',
          reason: 'The keys are named by findings at run time, in any Region (multi-Region primaries); the resource is limited to this account\'s keys and the actions to reads plus kms:RotateKeyOnDemand.',
        });
      }
    }
    const machineRole = this.workflow.stateMachine.role;
    Validations.of(machineRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'Step Functions X-Ray tracing and CloudWatch Logs delivery (logs:CreateLogDelivery etc.) do not support resource-level permissions.',
    });
    for (const fn of Object.values(functions.byName)) {
      const logicalId = this.getLogicalId(fn.node.defaultChild as CfnElement);
      Validations.of(machineRole).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>:*]`,
        reason: 'CDK grants invoke on the task function and its versions/aliases (ARN:*); only this stack\'s task functions.',
      });
    }
  }
}

/**
 * One EventBridge rule per enabled finding source. Findings from other accounts are filtered by
 * the pattern (`account`), never by code: only this account and `acceptFindingsFromAccounts`.
 */
export function findingRules(settings: Settings, thisAccount: string): Record<string, Pick<events.RuleProps, 'description' | 'eventPattern'>> {
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
      description: `Active Security Hub findings (${settings.securityHubSeverityLabels.join(', ')}) on KMS keys or SSE-KMS buckets start the workflow`,
      eventPattern: {
        source: ['aws.securityhub'],
        detailType: ['Security Hub Findings - Imported'],
        account,
        detail: {
          findings: {
            RecordState: ['ACTIVE'],
            Workflow: { Status: ['NEW', 'NOTIFIED'] },
            Severity: { Label: settings.securityHubSeverityLabels },
            Resources: { Type: ['AwsKmsKey', 'AwsS3Bucket'] },
          },
        },
      },
    };
  }
  if (settings.enableAccessAnalyzer) {
    rules.AccessAnalyzerFindings = {
      description: 'Active IAM Access Analyzer findings on KMS keys (shared outside the zone of trust) start the workflow',
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
