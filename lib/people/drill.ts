import { Aws, Duration, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { DRILL_ENV } from '../../lambdas/domain/drill';
import { grantLedgerItems, grantProductKeyVia } from '../ledger-access';

/** How often the sweep looks for drill keys nobody cleaned up (they are deleted once a day old). */
export const DRILL_SWEEP_RATE = Duration.hours(1);

export interface DrillRightsProps {
  /** The drill function (lib/people/front-door.ts). */
  drill: NodejsFunction;
  ledger: dynamodb.ITable;
  productKey: kms.IKey;
  /** `drillDailyCapPerPerson`. */
  dailyCap: number;
}

/**
 * The drill component's rights and its hourly sweep. Its identity policy allows creating a plain
 * symmetric key only (no tags, no multi-Region, no bypass of the policy lockout check) and listing
 * keys and their tags (the sweep); describing, tagging and deleting are granted by each drill key's own policy (lambdas/domain/drill.ts
 * drillKeyPolicy), never by an identity policy, so the role cannot tag or delete any other key.
 */
export class DrillRights extends Construct {
  readonly sweep: events.Rule;

  constructor(scope: Construct, id: string, props: DrillRightsProps) {
    super(scope, id);
    const { drill } = props;
    const role = drill.role!;
    drill.addEnvironment(DRILL_ENV.roleArn, role.roleArn);
    drill.addEnvironment(DRILL_ENV.dailyCap, String(props.dailyCap));
    drill.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'CreatePlainSymmetricKeysOnly',
        actions: ['kms:CreateKey'],
        // CreateKey has no resource before the key exists (Service Authorization Reference).
        resources: ['*'],
        conditions: {
          StringEquals: {
            'kms:KeySpec': 'SYMMETRIC_DEFAULT',
            'kms:KeyUsage': 'ENCRYPT_DECRYPT',
            'kms:KeyOrigin': 'AWS_KMS',
          },
          Bool: { 'kms:MultiRegion': 'false' },
          // Tags on CreateKey would need kms:TagResource on every key; the drill tags afterwards.
          Null: { 'aws:TagKeys': 'true' },
        },
      }),
    );
    drill.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'NeverBypassThePolicyLockoutCheck',
        effect: iam.Effect.DENY,
        actions: ['kms:CreateKey'],
        resources: ['*'],
        conditions: { Bool: { 'kms:BypassPolicyLockoutSafetyCheck': 'true' } },
      }),
    );
    drill.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'SweepListsKeys',
        actions: ['kms:ListKeys'],
        // ListKeys has no resource (Service Authorization Reference).
        resources: ['*'],
      }),
    );
    drill.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'SweepReadsKeyTags',
        // Read-only: the sweep finds keys carrying the drill tag; whether it may delete one is the
        // key policy's answer (DescribeKey too is granted by drill keys' own policy only).
        actions: ['kms:ListResourceTags'],
        // ListKeys lists this Region's keys only, so the Region's keys are all the sweep reads.
        resources: [`arn:${Aws.PARTITION}:kms:${Aws.REGION}:${Aws.ACCOUNT_ID}:key/*`],
      }),
    );
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*]',
      reason:
        "The sweep reads the tags of this account's keys in this Region (kms:ListResourceTags only) to find drill keys nobody cleaned up; deleting one is granted by the drill key's own policy alone.",
    });
    // DRILL#<arn> records, DRILL#OPEN (the sweep's list), DRILL#COUNT#<person> (the daily cap).
    grantLedgerItems(drill, props.ledger, [
      {
        actions: [
          'dynamodb:PutItem',
          'dynamodb:GetItem',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
          'dynamodb:Query',
        ],
        prefix: 'DRILL#',
      },
    ]);
    grantProductKeyVia(drill, props.productKey, ['dynamodb']);

    // A drill key nobody cleaned up (the CLI died, the laptop closed) is scheduled for deletion
    // by the stack once a day old. A deletion scheduled at creation instead would make the key
    // unusable (PendingDeletion) for the drill's own rotation.
    this.sweep = new events.Rule(this, 'Sweep', {
      description: 'kms-incident-rotation: schedules deletion of drill keys older than a day that nobody cleaned up',
      schedule: events.Schedule.rate(DRILL_SWEEP_RATE),
      targets: [new targets.LambdaFunction(drill, { retryAttempts: 2 })],
    });
    Validations.of(this.sweep).acknowledge({
      id: 'Serverless-EventBusDLQ',
      reason:
        'A scheduled event without input: an undelivered one has nothing to keep, and the next hourly sweep finds every open drill key again.',
    });
  }
}
