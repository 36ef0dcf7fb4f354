import { Aws, type CfnElement, Stack, Token, Validations } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ROUTES, type RouteName } from '../../lambdas/domain/approvals/front-door';

export interface HumanPoliciesProps {
  /** Both state machines (automatic and manual): people follow their executions, never start or answer them. */
  stateMachines: sfn.StateMachine[];
  /** The front door: people's only way to start runs, answer approvals and run drills. */
  api: apigateway.RestApi;
}

/** The on-call routes (everything but break-glass). */
const ON_CALL_ROUTES: readonly RouteName[] = ['request', 'approval', 'drill', 'drillCleanup'];

/**
 * The two human-facing managed policies, for teams to attach to roles:
 * - on-call: `kms-rotate start` (no force), `approve|deny` (a second person), `drill`, and read
 *   access for `watch`, `status` and `check`. No KMS write, no key creation, tagging or deletion,
 *   no states:StartExecution/SendTaskSuccess/SendTaskFailure: the front door does those;
 * - break-glass: only the front door's `/break-glass` route (`start --force`), attached with the
 *   on-call policy to the few roles that may force a rotation.
 */
export class HumanPolicies extends Construct {
  readonly onCall: iam.ManagedPolicy;
  readonly breakGlass: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: HumanPoliciesProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const accountKeys = `arn:${Aws.PARTITION}:kms:*:${Aws.ACCOUNT_ID}:key/*`;
    const invoke = (routes: readonly RouteName[]) =>
      routes.map((r) =>
        props.api.arnForExecuteApi(
          ROUTES[r].method,
          ROUTES[r].resource.replace(/\{\w+\}/g, '*'),
          props.api.deploymentStage.stageName,
        ),
      );
    const executions = props.stateMachines.map(
      (m) => `arn:${Aws.PARTITION}:states:${Aws.REGION}:${Aws.ACCOUNT_ID}:execution:${m.stateMachineName}:*`,
    );

    this.onCall = new iam.ManagedPolicy(this, 'Policy', {
      description:
        'kms-incident-rotation on-call: kms-rotate start (no force), approve/deny, drill, watch, status, check; no KMS writes, no direct Step Functions start or answers',
      statements: [
        new iam.PolicyStatement({
          sid: 'FrontDoorOnCallRoutes',
          actions: ['execute-api:Invoke'],
          resources: invoke(ON_CALL_ROUTES),
        }),
        new iam.PolicyStatement({
          sid: 'ListExecutions',
          actions: ['states:ListExecutions', 'states:DescribeStateMachine'],
          resources: props.stateMachines.map((m) => m.stateMachineArn),
        }),
        new iam.PolicyStatement({
          sid: 'FollowExecutions',
          actions: ['states:DescribeExecution', 'states:GetExecutionHistory'],
          resources: executions,
        }),
        new iam.PolicyStatement({
          sid: 'FindTheStack',
          actions: ['cloudformation:DescribeStacks'],
          resources: [stack.stackId],
        }),
        new iam.PolicyStatement({
          sid: 'CheckKeys',
          actions: ['kms:DescribeKey', 'kms:GetKeyRotationStatus', 'kms:ListKeyRotations', 'kms:ListResourceTags'],
          resources: [accountKeys],
        }),
        new iam.PolicyStatement({ sid: 'ListAliases', actions: ['kms:ListAliases'], resources: ['*'] }),
      ],
    });
    this.breakGlass = new iam.ManagedPolicy(this, 'BreakGlassPolicy', {
      description:
        "kms-incident-rotation break-glass: kms-rotate start --force (the front door's /break-glass route only; bounded by forceMinIntervalMinutes and forceDailyCap). Attach together with the on-call policy.",
      statements: [
        new iam.PolicyStatement({
          sid: 'FrontDoorBreakGlassRoute',
          actions: ['execute-api:Invoke'],
          resources: invoke(['breakGlass']),
        }),
      ],
    });

    Validations.of(this.onCall).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'kms:ListAliases has no resource-level permissions (read-only).',
    });
    Validations.of(this.onCall).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:*:<AWS::AccountId>:key/*]',
      reason: 'check reads any key of this account named by the engineer: read actions only.',
    });
    for (const machine of props.stateMachines) {
      const machineId = stack.getLogicalId(machine.node.defaultChild as CfnElement);
      Validations.of(this.onCall).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<${machineId}.Name>:*]`,
        reason: "Executions of this product's state machines only (read): their names are not known in advance.",
      });
    }
    // cdk-nag names the route ARNs as they render: this stack's Region and account when known.
    const apiId = stack.getLogicalId(props.api.node.defaultChild as CfnElement);
    const stageId = stack.getLogicalId(props.api.deploymentStage.node.defaultChild as CfnElement);
    const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
    const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
    // A literal partition where the Region is known and @aws-cdk/core:enablePartitionLiterals is on.
    const partition = Token.isUnresolved(stack.partition) ? '<AWS::Partition>' : stack.partition;
    for (const route of ['approvals/*', 'drills/*/cleanup']) {
      Validations.of(this.onCall).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:${partition}:execute-api:${region}:${account}:<${apiId}>/<${stageId}>/POST/${route}]`,
        reason:
          'Per-route rights of the front door: the wildcard stands for the path parameter (an approval id or a drill key id) only.',
      });
    }
  }
}
