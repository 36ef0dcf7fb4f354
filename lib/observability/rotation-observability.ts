import { CfnOutput } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { DASHBOARD_URL_OUTPUT } from '../names';
import { Observability } from './observability';
import type { RotationCore, RotationMachines } from '../rotation-core';

/**
 * Observability, a part of KmsIncidentRotation: alarms that page through the notification topic,
 * the dashboard and its URL output (lib/observability/observability.ts). Built in the construct's own scope.
 */
export function addObservability(
  scope: Construct,
  core: RotationCore,
  machines: RotationMachines,
  automaticReserve: number,
): Observability {
  const observability = new Observability(scope, 'Observability', {
    stateMachines: [machines.workflow.stateMachine, machines.manualWorkflow.stateMachine],
    deadLetters: machines.deadLetters,
    topic: core.topic,
    automaticReserve,
  });
  new CfnOutput(scope, DASHBOARD_URL_OUTPUT, {
    value: observability.dashboardUrl,
    description: 'kms-rotate status prints it: executions, outcomes, rotations remaining, alarms',
  });
  return observability;
}
