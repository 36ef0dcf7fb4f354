import { CfnOutput } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { ApprovalWatch } from './approval-watch';
import { DrillRights } from './drill';
import { FrontDoor } from './front-door';
import { grantLedgerItems, grantProductKeyVia } from '../ledger-access';
import { HumanPolicies } from './oncall';
import type { RotationCore, RotationMachines } from '../rotation-core';
import { accessRoles, type Settings } from '../settings/settings';

/**
 * Front door and people, a part of KmsIncidentRotation: people's one way in (the front door starts
 * the manual machine and answers approvals), the drill component, the overdue-approval watch and
 * the managed policies to attach to on-call and break-glass roles, with their stack outputs.
 * Built in the construct's own scope (logical ids unchanged).
 */
export function addPeopleAccess(
  scope: Construct,
  core: RotationCore,
  machines: RotationMachines,
  settings: Settings,
): FrontDoor {
  const { productKey, table, logRetention } = core;
  const stateMachine = machines.workflow.stateMachine;
  const manualMachine = machines.manualWorkflow.stateMachine;
  const frontDoor = new FrontDoor(scope, 'FrontDoor', {
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
  // whose own policy lets it (lib/people/drill.ts).
  new DrillRights(scope, 'Drills', {
    drill: frontDoor.drillFunction,
    ledger: table,
    productKey,
    dailyCap: settings.drillDailyCapPerPerson,
  });

  // Counts approvals waiting past half their window, for the ApprovalsOverdue alarm.
  new ApprovalWatch(scope, 'ApprovalWatch', { ledger: table, productKey, logRetention });

  const people = new HumanPolicies(scope, 'OnCall', {
    stateMachines: [stateMachine, manualMachine],
    api: frontDoor.api,
  });
  new CfnOutput(scope, 'OnCallPolicyArn', {
    value: people.onCall.managedPolicyArn,
    description: 'attach to on-call roles: what kms-rotate needs (no force)',
  });
  new CfnOutput(scope, 'BreakGlassPolicyArn', {
    value: people.breakGlass.managedPolicyArn,
    description: 'attach (with the on-call policy) to the few roles that may force a rotation',
  });
  new CfnOutput(scope, 'FrontDoorUrl', {
    value: frontDoor.api.url,
    description: 'kms-rotate sends its signed requests here',
  });
  return frontDoor;
}
