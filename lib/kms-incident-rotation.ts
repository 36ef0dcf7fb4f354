import { CfnOutput, Fn, Stack } from 'aws-cdk-lib';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { deriveRuntime } from './settings/derived';
import { encodePublishedSettings, SETTINGS_OUTPUT } from './settings/published-settings';
import { RotationCore, type RotationMachines } from './rotation-core';
import { applyCompliance } from './compliance/rotation-compliance';
import { addObservability } from './observability/rotation-observability';
import { addPeopleAccess } from './people/rotation-people';
import { plugReencryption } from './reencryption/rotation-reencryption';
import { parseSettings, type Settings } from './settings/settings';
import type { KmsIncidentRotationProps } from './settings/settings-props.generated';
import type { RotationWorkflow } from './workflow';

/**
 * The construct's props: generated from the settings contract (lib/settings/settings.ts) with each field's
 * documentation, bounds and default, so that an editor shows them.
 */
export type { KmsIncidentRotationProps } from './settings/settings-props.generated';

/**
 * Everything one account and Region needs: the workflow and its functions, the finding triggers
 * (GuardDuty, Security Hub, IAM Access Analyzer) with a dead-letter queue, the encrypted
 * notification topic, and alarms that page through it. Add it to any stack of a CDK app:
 * `new KmsIncidentRotation(this, 'Default', { notificationEmails: ['oncall@example.com'] })`.
 *
 * One per stack: two in one stack would both act on every finding, each with its own ledger and
 * locks, so a key would be rotated twice per finding. It sets no physical names (state machines,
 * table, topic, dashboard are named by CloudFormation), so stacks holding one each never collide.
 * Its stack outputs keep their plain names (StateMachineArn, ...) when its id is 'Default', as in
 * KmsIncidentRotationStack; under another id CDK prefixes them with the id.
 */
export class KmsIncidentRotation extends Construct {
  /** The validated settings it was built with. */
  readonly settings: Settings;
  /** The automatic machine: finding events, started only by the EventBridge rules. */
  readonly workflow: RotationWorkflow;
  /** The manual machine: the front door's requests, started only by the front door. */
  readonly manualWorkflow: RotationWorkflow;
  readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: KmsIncidentRotationProps = {}) {
    // Checked before the construct joins the tree: a refused one leaves nothing behind.
    const path = scope.node.path ? `${scope.node.path}/${id}` : id;
    const stack = Stack.of(scope);
    const other = stack.node.findAll().find((c) => c instanceof KmsIncidentRotation);
    if (other) {
      throw new Error(
        `KmsIncidentRotation '${path}': stack '${stack.node.id}' already holds one ('${other.node.path}'). Two in one stack would both act on every finding with separate ledgers and locks (a key rotated twice per finding); use one stack per account and Region.`,
      );
    }
    const settings = parseSettings(props, `the props of KmsIncidentRotation '${path}'`);
    super(scope, id);
    this.settings = settings;
    // Every value computed from the settings, once, for every part below.
    const runtime = deriveRuntime(settings);

    // The parts build in this construct's own scope (construct paths, hence logical ids, unchanged).
    // Their order is the order of their resources' policy statements: keep it.
    const core = new RotationCore(this, settings, runtime);
    const reencryption = plugReencryption(this, core, settings, runtime);
    const machines = core.addStateMachines(reencryption);
    this.topic = core.topic;
    this.workflow = machines.workflow;
    this.manualWorkflow = machines.manualWorkflow;
    addObservability(this, core, machines, settings.automaticReserve);
    const frontDoor = addPeopleAccess(this, core, machines, settings);
    this.addOutputs(core, machines);
    applyCompliance(this, core, machines, frontDoor, runtime);
  }

  /** The outputs the CLI and the operator read (the parts add their own). */
  private addOutputs(core: RotationCore, machines: RotationMachines): void {
    const { fns, table } = core;
    const manualMachine = this.manualWorkflow.stateMachine;
    new CfnOutput(this, 'StateMachineArn', {
      value: manualMachine.stateMachineArn,
      description: 'the manual machine (kms-rotate start runs go here, through the front door)',
    });
    new CfnOutput(this, 'ManualStateMachineArn', {
      value: manualMachine.stateMachineArn,
      description: 'manual runs (front door only)',
    });
    new CfnOutput(this, 'AutomaticStateMachineArn', {
      value: this.workflow.stateMachine.stateMachineArn,
      description: 'finding-triggered runs (EventBridge only)',
    });
    new CfnOutput(this, SETTINGS_OUTPUT, {
      value: encodePublishedSettings(this.settings),
      description: 'kms-rotate check assesses keys with these settings',
    });
    new CfnOutput(this, 'TopicArn', { value: this.topic.topicArn });
    new CfnOutput(this, 'KeyPolicyPrincipals', {
      value: Fn.join(',', [fns.assess.role!.roleArn, fns.rotate.role!.roleArn, fns['check-rotation'].role!.roleArn]),
      description:
        'roles to name in the key policy of keys whose policy does not delegate to IAM (see docs/deploy.md, "Key policies")',
    });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: machines.deadLetters.queueUrl });
    new CfnOutput(this, 'LedgerTableName', {
      value: table.tableName,
      description: 'The audit trail: see docs/architecture.md, "Audit ledger"',
    });
  }
}
