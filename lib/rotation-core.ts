import { Aws, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { allowLogsToUseKey } from './compliance/compliance';
import type { DerivedRuntime } from './settings/derived';
import { TaskFunctions, type BranchHandlerName, type HandlerName, type TaskFunctionMap } from './functions';
import { LedgerTable } from './ledger';
import { grantLedgerItems, grantProductKeyVia, type LedgerItemAccess, type ProductKeyUser } from './ledger-access';
import type { ReencryptionResources } from './reencryption/reencryption';
import { findingRules } from './finding-rules';
import { reencryptionTargetSettings, type Settings } from './settings/settings';
import { RotationWorkflow } from './workflow';

type CoreHandlerName = Exclude<HandlerName, BranchHandlerName>;

/** KMS read actions the workflow needs on the account's keys. */
const KMS_READ = ['kms:DescribeKey', 'kms:GetKeyRotationStatus', 'kms:ListKeyRotations'];

/** The two state machines and the finding triggers' dead-letter queue (RotationCore.addStateMachines). */
export interface RotationMachines {
  /** The automatic machine: finding events, started only by the EventBridge rules. */
  workflow: RotationWorkflow;
  /** The manual machine: the front door's requests, started only by the front door. */
  manualWorkflow: RotationWorkflow;
  deadLetters: sqs.Queue;
}

/**
 * The core workflow of KmsIncidentRotation: the product key, the notification topic, the ledger,
 * the task functions with exactly their rights, and (addStateMachines) the two state machines with
 * the finding triggers. A part, not a construct: it builds in the construct's own scope, so every
 * construct path, and therefore every logical id, is the one the construct always had.
 */
export class RotationCore {
  readonly logRetention = logs.RetentionDays.THREE_MONTHS;
  /** Customer managed key for the topic, the dead-letter queue, the ledger and the log groups. */
  readonly productKey: kms.Key;
  readonly topic: sns.Topic;
  readonly table: dynamodb.Table;
  readonly functions: TaskFunctions;
  readonly fns: TaskFunctionMap<lambda.Function>;

  constructor(
    private readonly scope: Construct,
    private readonly settings: Settings,
    private readonly runtime: DerivedRuntime,
  ) {
    this.productKey = productKey(scope);
    this.topic = notificationTopic(scope, this.productKey, settings.notificationEmails);
    const ledger = new LedgerTable(scope, 'Ledger', {
      encryptionKey: this.productKey,
      deletionProtection: settings.ledgerDeletionProtection,
    });
    this.table = ledger.table;
    this.functions = new TaskFunctions(scope, 'Tasks', {
      settings,
      runtime,
      topicArn: this.topic.topicArn,
      ledgerTable: this.table.tableName,
      logRetention: this.logRetention,
      logEncryptionKey: this.productKey,
    });
    this.fns = this.functions.byName;
    this.grantKmsRights();
    this.grantFindingSourceRights();
    this.grantTopicLedgerAndKey();
  }

  /**
   * The two machines from one definition (people cannot start the automatic one; only the front
   * door starts the manual one), each given the re-encryption branch when it is plugged in, and
   * the finding rules with their shared target and dead-letter queue.
   */
  addStateMachines(reencryption: ReencryptionResources | undefined): RotationMachines {
    const workflowProps = {
      functions: this.fns,
      logRetention: this.logRetention,
      logEncryptionKey: this.productKey,
      // Derived from the settings (approval + rotation timeouts + every step at its longest), so
      // a silent approval or a stalled rotation ends with Record and Notify, not a timeout.
      timeout: Duration.seconds(this.runtime.executionTimeoutSeconds),
      approvalTimeout: Duration.seconds(this.runtime.approvalTimeoutSeconds),
      approvalTimeoutAction: this.settings.approvalTimeoutAction,
      reencryptionTargets: reencryptionTargetSettings(this.settings),
      reencryptionPacing: this.runtime.reencryption,
      reencryption,
    };
    const workflow = new RotationWorkflow(this.scope, 'Workflow', { ...workflowProps, mode: 'automatic' });
    const manualWorkflow = new RotationWorkflow(this.scope, 'ManualWorkflow', { ...workflowProps, mode: 'manual' });
    for (const machine of [workflow.stateMachine, manualWorkflow.stateMachine])
      reencryption?.grantToStateMachine(machine);
    return { workflow, manualWorkflow, deadLetters: this.addTriggers(workflow) };
  }

  /**
   * Triggers: the finding rules of findingRules() (GuardDuty, Security Hub, IAM Access Analyzer,
   * each as configured) share one target and its dead-letter queue.
   */
  private addTriggers(workflow: RotationWorkflow): sqs.Queue {
    const deadLetters = new sqs.Queue(this.scope, 'TriggerDeadLetters', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.productKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const target = new targets.SfnStateMachine(workflow.stateMachine, {
      deadLetterQueue: deadLetters,
      retryAttempts: 10,
      maxEventAge: Duration.hours(6),
    });
    for (const [id, rule] of Object.entries(findingRules(this.settings, Aws.ACCOUNT_ID))) {
      new events.Rule(this.scope, id, { ...rule, targets: [target] });
    }
    return deadLetters;
  }

  /** KMS: reads for Assess and CheckRotation, and the product's only KMS write action for Rotate. */
  private grantKmsRights(): void {
    const { fns } = this;
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
        conditions: { StringEqualsIgnoreCase: { [`aws:ResourceTag/${this.settings.optOutTag}`]: 'disabled' } },
      }),
    );
    fns['check-rotation'].addToRolePolicy(new iam.PolicyStatement({ actions: KMS_READ, resources: [accountKeys] }));
  }

  /**
   * Intake confirms each finding with its source service before any key is touched: read-only,
   * this account and Region, and only for the sources whose rule exists.
   */
  private grantFindingSourceRights(): void {
    const { fns, settings } = this;
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
  }

  /** Publishing to the topic, the ledger items each function touches, and the product key through those services. */
  private grantTopicLedgerAndKey(): void {
    const { fns, table } = this;
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
    for (const [name, services] of keyUsers) grantProductKeyVia(fns[name], this.productKey, services);
  }
}

/**
 * The product key, usable by EventBridge (the rules' dead-letter queue) and CloudWatch (alarms to
 * the topic), each only for this account's rules / alarms in this Region (aws:SourceArn), and by
 * CloudWatch Logs for this stack's log groups (NIST CloudWatchLogGroupEncrypted). Not the exact
 * ARNs: the rules target the state machines, whose log groups this key encrypts, so naming a rule
 * here would be a dependency cycle; alarms have no name before CloudFormation creates them.
 */
function productKey(scope: Construct): kms.Key {
  const key = new kms.Key(scope, 'ProductKey', {
    description:
      'kms-incident-rotation: encrypts the notification topic, the trigger dead-letter queue, the ledger, its backup vault and the log groups',
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const serviceSources: [string, string][] = [
    ['events.amazonaws.com', `arn:${Aws.PARTITION}:events:${Aws.REGION}:${Aws.ACCOUNT_ID}:rule/*`],
    ['cloudwatch.amazonaws.com', `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*`],
  ];
  for (const [service, sourceArn] of serviceSources) {
    key.addToResourcePolicy(
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
  allowLogsToUseKey(key);
  return key;
}

/**
 * The encrypted notification topic with the e-mail subscriptions. People are not mailed runs that
 * changed nothing: every key a duplicate finding (GuardDuty repeats a finding every 15 min to 6 h,
 * Security Hub on every update), rotated recently or by another execution, or joined
 * (domain/notification/message.ts isDuplicateOnly). Other subscribers can filter on the same attributes.
 */
function notificationTopic(scope: Construct, key: kms.IKey, emails: readonly string[]): sns.Topic {
  const topic = new sns.Topic(scope, 'Notifications', {
    displayName: 'KMS incident rotation',
    masterKey: key,
    enforceSSL: true,
  });
  for (const email of emails) {
    topic.addSubscription(
      new subscriptions.EmailSubscription(email, {
        filterPolicy: { duplicate: sns.SubscriptionFilter.stringFilter({ allowlist: ['false'] }) },
      }),
    );
  }
  return topic;
}
