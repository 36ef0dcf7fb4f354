import { Duration, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV } from '../../lambdas/domain/function-environment';
import { PENDING_APPROVALS_INDEX } from '../../lambdas/domain/approvals/approval';
import { COMPONENT_METADATA_KEY } from './front-door';
import { productFunction } from '../functions';
import { grantProductKeyVia } from '../ledger-access';

export interface ApprovalWatchProps {
  ledger: dynamodb.ITable;
  /** The ledger's key (the index is encrypted with it too). */
  productKey: kms.IKey;
  logRetention: logs.RetentionDays;
}

/** How often pending approvals are counted (the ApprovalsOverdue alarm's period is the same). */
const APPROVAL_WATCH_RATE = Duration.minutes(5);

/**
 * The approval watch: a scheduled function that counts approvals waiting past half their window
 * (ApprovalsOverdue metric, alarm in lib/observability/observability.ts). It may only Query the PendingApprovals
 * index for `APPROVAL#` partition values: no item reads, no writes, no other item kinds.
 */
export class ApprovalWatch extends Construct {
  readonly function: lambda.Function;

  constructor(scope: Construct, id: string, props: ApprovalWatchProps) {
    super(scope, id);
    this.function = productFunction(
      this,
      { logs: 'Logs', role: 'Role', fn: 'Function' },
      {
        folder: 'approval-watch',
        description: 'kms-incident-rotation approval watch: counts approvals waiting past half their window',
        roleDescription: 'kms-incident-rotation approval-watch',
        environment: { [ENV.ledgerTable]: props.ledger.tableName },
        logRetention: props.logRetention,
        logEncryptionKey: props.productKey,
        memorySize: 128,
        // One run at a time is all a 5-minute schedule needs (NIST LambdaConcurrency).
        reservedConcurrentExecutions: 1,
      },
    );
    const role = this.function.role as iam.Role;
    (this.function.node.defaultChild as lambda.CfnFunction).addMetadata(COMPONENT_METADATA_KEY, 'approval-watch');

    // Query on the index only, and only for APPROVAL# partition values (the index's partition key
    // in the request's key condition); the table itself is not named.
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [`${props.ledger.tableArn}/index/${PENDING_APPROVALS_INDEX.name}`],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['APPROVAL#*'] } },
      }),
    );
    grantProductKeyVia(this.function, props.productKey, ['dynamodb']);

    const schedule = new events.Rule(this, 'Schedule', {
      description: 'Counts approval requests waiting past half their timeout (ApprovalsOverdue)',
      schedule: events.Schedule.rate(APPROVAL_WATCH_RATE),
      // A failed run is simply the next run 5 minutes later: no retries piling up behind it.
      targets: [new targets.LambdaFunction(this.function, { retryAttempts: 0, maxEventAge: Duration.minutes(5) })],
    });

    Validations.of(schedule).acknowledge({
      id: 'Serverless-EventBusDLQ',
      reason:
        'A scheduled event without input: an undelivered one has nothing to keep, and the next one 5 minutes later counts the same approvals.',
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords do not support resource-level permissions.',
    });
    Validations.of(role).acknowledge({
      id: 'NIST.800.53.R5-IAMNoInlinePolicy',
      reason:
        'The role has exactly one inline policy, written for it alone (Query on one index, LeadingKeys APPROVAL#) and created and deleted with it; a customer managed policy would be the same document with a second lifecycle.',
    });
    for (const id of ['NIST.800.53.R5-LambdaDLQ', 'Serverless-LambdaDLQ']) {
      Validations.of(this.function).acknowledge({
        id,
        reason:
          "The schedule invokes it every 5 minutes with no input: a failed run has nothing to keep, and the next run counts again. Failures show in the function's Errors metric and logs.",
      });
    }
    Validations.of(this.function).acknowledge({
      id: 'NIST.800.53.R5-LambdaInsideVPC',
      reason:
        'The function reaches only DynamoDB and CloudWatch Logs over TLS with SigV4 and holds no network-reachable resources; a VPC would add endpoints without narrowing what it can call (IAM does).',
    });
  }
}
