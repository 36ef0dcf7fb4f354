import { Aws, type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

import { DRILL_TAG_KEY } from './names';

/**
 * A managed policy with exactly what `kms-rotate` needs, for teams to attach to their on-call
 * roles: start and follow this workflow's executions, answer its approval gate, read keys for
 * `check`, and run drills on throwaway keys only (created with the drill tag; only keys with that
 * tag may be scheduled for deletion).
 */
export class OnCallPolicy extends Construct {
  readonly policy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: { stateMachine: sfn.StateMachine }) {
    super(scope, id);
    const stack = Stack.of(this);
    const machine = props.stateMachine;
    const executions = `arn:${Aws.PARTITION}:states:${Aws.REGION}:${Aws.ACCOUNT_ID}:execution:${machine.stateMachineName}:*`;
    const accountKeys = `arn:${Aws.PARTITION}:kms:*:${Aws.ACCOUNT_ID}:key/*`;
    this.policy = new iam.ManagedPolicy(this, 'Policy', {
      description: 'kms-incident-rotation: what the kms-rotate CLI needs (start, watch, status, check, approve/deny, drill)',
      statements: [
        new iam.PolicyStatement({
          sid: 'StartAndAnswer',
          actions: ['states:StartExecution', 'states:ListExecutions', 'states:DescribeStateMachine', 'states:SendTaskSuccess', 'states:SendTaskFailure'],
          resources: [machine.stateMachineArn],
        }),
        new iam.PolicyStatement({
          sid: 'FollowExecutions',
          actions: ['states:DescribeExecution', 'states:GetExecutionHistory'],
          resources: [executions],
        }),
        new iam.PolicyStatement({ sid: 'FindTheStack', actions: ['cloudformation:DescribeStacks'], resources: [stack.stackId] }),
        new iam.PolicyStatement({
          sid: 'CheckKeys',
          actions: ['kms:DescribeKey', 'kms:GetKeyRotationStatus', 'kms:ListKeyRotations', 'kms:ListResourceTags'],
          resources: [accountKeys],
        }),
        new iam.PolicyStatement({ sid: 'ListAliases', actions: ['kms:ListAliases'], resources: ['*'] }),
        new iam.PolicyStatement({
          sid: 'DrillCreatesTaggedKeysOnly',
          actions: ['kms:CreateKey', 'kms:TagResource'],
          resources: ['*'],
          conditions: { StringEquals: { [`aws:RequestTag/${DRILL_TAG_KEY}`]: 'true' }, 'ForAllValues:StringEquals': { 'aws:TagKeys': [DRILL_TAG_KEY] } },
        }),
        new iam.PolicyStatement({
          sid: 'DrillDeletesDrillKeysOnly',
          actions: ['kms:ScheduleKeyDeletion'],
          resources: [accountKeys],
          conditions: { StringEquals: { [`aws:ResourceTag/${DRILL_TAG_KEY}`]: 'true' } },
        }),
      ],
    });
    Validations.of(this.policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'kms:ListAliases has no resource-level permissions; kms:CreateKey/TagResource (drill) are limited by the aws:RequestTag and aws:TagKeys conditions to drill-tagged keys.',
    });
    Validations.of(this.policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:*:<AWS::AccountId>:key/*]',
      reason: 'check reads any key of this account named by the engineer; ScheduleKeyDeletion is limited by aws:ResourceTag to drill-tagged keys.',
    });
    const machineId = stack.getLogicalId(machine.node.defaultChild as CfnElement);
    Validations.of(this.policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<${machineId}.Name>:*]`,
      reason: 'Executions of this state machine only: their names are not known in advance.',
    });
  }
}
