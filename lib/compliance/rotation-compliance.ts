import { type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { Compliance, nameLogGroups } from './compliance';
import type { DerivedRuntime } from '../settings/derived';
import type { FrontDoor } from '../people/front-door';
import type { TaskFunctions } from '../functions';
import { denyAuditEntryChanges } from '../ledger-access';
import type { RotationCore, RotationMachines } from '../rotation-core';

/**
 * Compliance, a part of KmsIncidentRotation, applied last because it looks at everything built
 * before it: no role may change a KEY# audit entry, the log groups get names the product key's
 * policy can name, every accepted cdk-nag finding is acknowledged with its reason, and the NIST
 * 800-53 R5 additions (ledger backups, reserved concurrency). Built in the construct's own scope.
 */
export function applyCompliance(
  scope: Construct,
  core: RotationCore,
  machines: RotationMachines,
  frontDoor: FrontDoor,
  runtime: DerivedRuntime,
): void {
  const stateMachines = [machines.workflow.stateMachine, machines.manualWorkflow.stateMachine];
  // KEY# audit entries: no role of the stack may update or delete one, whatever it is granted.
  for (const child of scope.node.findAll())
    if (child instanceof lambda.Function) denyAuditEntryChanges(child, core.table);
  // Named so that the product key's policy names this stack's log groups only.
  nameLogGroups(scope);

  acknowledgeNagFindings(scope, machines.deadLetters, core.functions, frontDoor, stateMachines);
  // NIST 800-53 R5: ledger backups, reserved concurrency, acknowledgements (last: it sees every role).
  new Compliance(scope, 'Compliance', {
    productKey: core.productKey,
    ledger: core.table,
    functions: core.fns,
    reencryptObjectsConcurrency: runtime.reencryption?.maxConcurrency,
    stateMachines,
    frontDoor,
  });
}

/** Every cdk-nag finding we accept, each with its reason. */
function acknowledgeNagFindings(
  scope: Construct,
  deadLetters: sqs.Queue,
  functions: TaskFunctions,
  frontDoor: FrontDoor,
  stateMachines: sfn.StateMachine[],
): void {
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
            ? `${xray} kms:CreateKey has no resource to name before the key exists; it is limited to plain symmetric keys without tags (lib/people/drill.ts).`
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
  for (const machine of stateMachines) {
    const machineRole = machine.role;
    Validations.of(machineRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Step Functions X-Ray tracing and CloudWatch Logs delivery (logs:CreateLogDelivery etc.) do not support resource-level permissions.',
    });
    for (const fn of Object.values(functions.byName)) {
      const logicalId = Stack.of(scope).getLogicalId(fn.node.defaultChild as CfnElement);
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
