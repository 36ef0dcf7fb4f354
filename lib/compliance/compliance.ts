import { Aws, Duration, Fn, Names, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as events from 'aws-cdk-lib/aws-events';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { HandlerName } from '../functions';
import type { FrontDoor } from '../people/front-door';
import type { TaskFunctionMap } from '../functions';

/**
 * Reserved concurrency per task function (NIST 800-53 R5 LambdaConcurrency): capacity guaranteed
 * to the responder during an incident, whatever else the account runs, and a cap on what one
 * storm can take from the rest. Step Functions runs at most 40 inline Map iterations at once per
 * execution and each key's iteration runs one task at a time, so 40 lets one incident's keys all
 * assess, lock, rotate, poll and record at once; a second simultaneous incident past that is
 * throttled (Lambda.TooManyRequestsException) and retried by every task's lambdaTransient
 * retrier (lib/retriers.ts), never failed. The once-per-execution tasks get 10: ten incidents
 * starting in the same second. The account's concurrency quota must be at least the total plus 100
 * (Lambda keeps 100 unreserved); the default quota is 1,000. docs/operating.md states the total, and
 * test/docs/figures-settings.test.ts keeps it equal to this table.
 */
export const RESERVED_CONCURRENCY: Record<Exclude<HandlerName, 'reencrypt-objects'>, number> = {
  intake: 10,
  'claim-request': 10,
  assess: 40,
  'request-approval': 40,
  'lock-key': 40,
  rotate: 40,
  'check-rotation': 40,
  record: 40,
  notify: 10,
  'close-request': 10,
  // Once per execution (plan), once per re-encryption unit (summarize).
  'plan-reencryption': 10,
  'summarize-reencryption': 10,
};

/**
 * Backups of the audit ledger (NIST DynamoDBInBackupPlan): AWS Backup, daily kept 35 days and
 * monthly kept a year, in a vault encrypted with the product key that outlives the stack. Point
 * in time recovery (35 days) stays on the table; the vault adds copies a table deletion or a bad
 * write cannot reach.
 */
export const LEDGER_BACKUP = { dailyRetentionDays: 35, monthlyRetentionDays: 365 } as const;

/** The prefix of this stack's log group names (set by `nameLogGroups`): the product key's policy lets Logs use it for these only. */
export function logGroupPrefix(): string {
  return `/kms-incident-rotation/${Aws.STACK_NAME}/`;
}

/**
 * Names every log group under `scope` that has no name `/kms-incident-rotation/<stack>/<id>`,
 * so the product key's policy can name this stack's groups (kms:EncryptionContext:aws:logs:arn).
 * CloudFormation's generated names follow no documented pattern; a stack name is unique in its
 * account and Region, so these names never collide.
 */
export function nameLogGroups(scope: Construct): void {
  for (const child of scope.node.findAll()) {
    // The L2 LogGroup leaves a lazy name that resolves to nothing when no name was given.
    if (child instanceof logs.CfnLogGroup && Stack.of(child).resolve(child.logGroupName) === undefined)
      child.logGroupName = Fn.join('', [logGroupPrefix(), Names.uniqueId(child)]);
  }
}

/**
 * Let CloudWatch Logs in this Region encrypt this stack's log groups with `key` (the service
 * requires the key policy to allow it, bound by the encryption context to those groups).
 */
export function allowLogsToUseKey(key: kms.Key): void {
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowCloudWatchLogsToEncryptThisAccountsLogGroups',
      principals: [new iam.ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'],
      conditions: {
        ArnLike: {
          'kms:EncryptionContext:aws:logs:arn': `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:${logGroupPrefix()}*`,
        },
      },
    }),
  );
}

export interface ComplianceProps {
  productKey: kms.IKey;
  ledger: dynamodb.ITable;
  functions: TaskFunctionMap<lambda.Function>;
  /** ReencryptObjects' reserved concurrency: the derived map concurrency (DerivedRuntime.reencryption), absent without the branch. */
  reencryptObjectsConcurrency: number | undefined;
  stateMachines: sfn.StateMachine[];
  /** People's API and its two functions (front door, drill). */
  frontDoor: FrontDoor;
}

/** Reserved concurrency of the front door's functions: people, not incidents, call them. */
export const FRONT_DOOR_CONCURRENCY = { frontDoor: 10, drill: 2 } as const;

/**
 * What the NIST 800-53 R5 pack asks beyond AwsSolutions: the ledger's backups, the functions'
 * reserved concurrency, and an acknowledgement with its reason for each rule that does not fit
 * (log group encryption is done where the log groups are made: lib/functions.ts, lib/workflow.ts).
 */
export class Compliance extends Construct {
  readonly vault: backup.BackupVault;
  readonly plan: backup.BackupPlan;

  constructor(scope: Construct, id: string, props: ComplianceProps) {
    super(scope, id);
    this.vault = new backup.BackupVault(this, 'LedgerVault', {
      encryptionKey: props.productKey,
      // The backups are the audit trail's copies: they outlive the stack.
      removalPolicy: RemovalPolicy.RETAIN,
      // Vault Lock in governance mode (no changeableFor: compliance mode would become immutable
      // after the grace time): no recovery point is deleted before the daily rule's retention,
      // and none kept past the monthly rule's. Principals with
      // backup:DeleteBackupVaultLockConfiguration can still remove the lock (README "Audit ledger").
      lockConfiguration: {
        minRetention: Duration.days(LEDGER_BACKUP.dailyRetentionDays),
        maxRetention: Duration.days(LEDGER_BACKUP.monthlyRetentionDays),
      },
    });
    this.plan = new backup.BackupPlan(this, 'LedgerBackups', {
      backupVault: this.vault,
      backupPlanRules: [
        new backup.BackupPlanRule({
          ruleName: 'Daily',
          scheduleExpression: events.Schedule.cron({ hour: '5', minute: '0' }),
          deleteAfter: Duration.days(LEDGER_BACKUP.dailyRetentionDays),
        }),
        new backup.BackupPlanRule({
          ruleName: 'Monthly',
          scheduleExpression: events.Schedule.cron({ day: '1', hour: '5', minute: '0' }),
          deleteAfter: Duration.days(LEDGER_BACKUP.monthlyRetentionDays),
        }),
      ],
    });
    const selection = this.plan.addSelection('Ledger', {
      resources: [backup.BackupResource.fromDynamoDbTable(props.ledger)],
    });
    const backupRole = selection.node.findChild('Role') as iam.Role;
    Validations.of(backupRole).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]',
      reason:
        "AWS Backup's own service role policy: AWS keeps its actions (DynamoDB backup, KMS grants for the vault key) current; assumable by backup.amazonaws.com only.",
    });

    for (const [name, fn] of Object.entries(props.functions) as [HandlerName, lambda.Function][]) {
      (fn.node.defaultChild as lambda.CfnFunction).reservedConcurrentExecutions =
        name === 'reencrypt-objects' ? props.reencryptObjectsConcurrency : RESERVED_CONCURRENCY[name];
      const syncOnly =
        'Step Functions invokes the task functions synchronously (RequestResponse); a function DLQ or failure destination only receives failed asynchronous invocations. Failures are caught, classified and recorded by the state machine, and executions that fail page (ExecutionsFailed alarm).';
      for (const id of ['NIST.800.53.R5-LambdaDLQ', 'Serverless-LambdaDLQ'])
        Validations.of(fn).acknowledge({ id, reason: syncOnly });
      Validations.of(fn).acknowledge({
        id: 'NIST.800.53.R5-LambdaInsideVPC',
        reason:
          'The functions reach only AWS APIs (KMS, DynamoDB, SNS) over TLS with SigV4 and hold no network-reachable resources; a VPC would add NAT or interface endpoints in every account and Region without narrowing what they can call (IAM does).',
      });
    }
    // The front door: API Gateway invokes its functions synchronously, like Step Functions the tasks.
    const { frontDoor } = props;
    (frontDoor.function.node.defaultChild as lambda.CfnFunction).reservedConcurrentExecutions =
      FRONT_DOOR_CONCURRENCY.frontDoor;
    (frontDoor.drillFunction.node.defaultChild as lambda.CfnFunction).reservedConcurrentExecutions =
      FRONT_DOOR_CONCURRENCY.drill;
    const frontDoorSync =
      'API Gateway invokes the front door synchronously (Lambda proxy integration); the caller gets the error in the HTTP answer and the CLI reports it. A function DLQ only receives failed asynchronous invocations.';
    // The drill function is also invoked asynchronously by its hourly sweep (lib/people/drill.ts).
    const drillSweep = `${frontDoorSync} The hourly sweep's invocations carry no input: a failed sweep has nothing to keep, and the next one looks at every open drill key again; failures show in the function's Errors metric.`;
    for (const [fn, reason] of [
      [frontDoor.function, frontDoorSync],
      [frontDoor.drillFunction, drillSweep],
    ] as const) {
      for (const id of ['NIST.800.53.R5-LambdaDLQ', 'Serverless-LambdaDLQ'])
        Validations.of(fn).acknowledge({ id, reason });
    }
    for (const fn of [frontDoor.function, frontDoor.drillFunction]) {
      Validations.of(fn).acknowledge({
        id: 'NIST.800.53.R5-LambdaInsideVPC',
        reason:
          'The front door reaches only AWS APIs (Step Functions, DynamoDB, KMS for drills) over TLS with SigV4 and holds no network-reachable resources; a VPC would add endpoints without narrowing what it can call (IAM does).',
      });
    }
    const stage = frontDoor.api.deploymentStage;
    Validations.of(stage).acknowledge({
      id: 'NIST.800.53.R5-APIGWSSLEnabled',
      reason:
        'The check is for a client certificate towards an HTTP backend; the only backends are Lambda proxy integrations inside AWS. Callers reach the API over TLS only (API Gateway serves HTTPS only).',
    });
    Validations.of(stage).acknowledge({
      id: 'NIST.800.53.R5-APIGWCacheEnabledAndEncrypted',
      reason: 'Every route is a POST that starts a run or answers an approval: nothing may be served from a cache.',
    });
    Validations.of(stage).acknowledge({
      id: 'NIST.800.53.R5-APIGWExecutionLoggingEnabled',
      reason:
        "Execution logging needs an account-wide API Gateway CloudWatch role, which a stack deployed into every account must not own (AwsSolutions-APIG6 has the same reason). Access logs (encrypted, with the IAM caller) and the functions' own logs record every request.",
    });
    Validations.of(stage).acknowledge({
      id: 'NIST.800.53.R5-APIGWAssociatedWithWAF',
      reason:
        'Every route requires SigV4 (AWS_IAM): unsigned requests are refused by API Gateway before any code runs, and callers are a few on-call principals. A WAF web ACL per account and Region adds cost without a rule that IAM does not already enforce (AwsSolutions-APIG3 has the same reason).',
    });
    const inlineReason =
      'Each role has exactly one inline policy, written for that role alone (least privilege per task, see lib/stack.ts) and created and deleted with it; a customer managed policy would be the same document with a second lifecycle.';
    for (const fn of Object.values(props.functions) as lambda.Function[])
      Validations.of(fn.role!).acknowledge({ id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: inlineReason });
    for (const machine of props.stateMachines)
      Validations.of(machine.role).acknowledge({ id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: inlineReason });
    for (const fn of [frontDoor.function, frontDoor.drillFunction])
      Validations.of(fn.role!).acknowledge({ id: 'NIST.800.53.R5-IAMNoInlinePolicy', reason: inlineReason });
    // The EventBridge rules' target role (CDK makes one per state machine target, in the stack).
    for (const child of Stack.of(this).node.findAll()) {
      if (child instanceof iam.Role && child.node.path.includes('EventsRole')) {
        Validations.of(child).acknowledge({
          id: 'NIST.800.53.R5-IAMNoInlinePolicy',
          reason: `${inlineReason} (CDK's EventBridge target role: states:StartExecution on this state machine only.)`,
        });
      }
    }
  }
}
