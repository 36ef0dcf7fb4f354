import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { KmsIncidentRotation } from './kms-incident-rotation';
import { readCdkJsonContext } from './settings/context-keys';
import type { Settings } from './settings/settings';
import { settingsFromContext } from './settings/settings-sources';
import type { RotationWorkflow } from './workflow';
import type * as sns from 'aws-cdk-lib/aws-sns';

export interface KmsIncidentRotationStackProps extends StackProps {
  /** Validated settings; default: read from the app's context (cdk.json, `-c`), see settingsFromContext. */
  settings?: Settings;
}

/**
 * The product as its own stack (bin/app.ts, `cdk deploy`): a thin wrapper that reads the settings
 * from the context and adds one KmsIncidentRotation. The construct's id is 'Default', which CDK
 * leaves out of logical ids, so every resource and output keeps the logical id it had when this
 * stack held the resources itself (no replacement of the ledger or the product key on update).
 */
export class KmsIncidentRotationStack extends Stack {
  readonly rotation: KmsIncidentRotation;
  /** The automatic machine (finding events). */
  readonly workflow: RotationWorkflow;
  /** The manual machine (the front door). */
  readonly manualWorkflow: RotationWorkflow;
  readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: KmsIncidentRotationStackProps = {}) {
    super(scope, id, props);
    const settings =
      props.settings ??
      settingsFromContext((key) => this.node.tryGetContext(key), undefined, {
        keys: Object.keys(this.node.getAllContext() as Record<string, unknown>),
        cdkJson: readCdkJsonContext(),
      });
    this.rotation = new KmsIncidentRotation(this, 'Default', settings);
    this.workflow = this.rotation.workflow;
    this.manualWorkflow = this.rotation.manualWorkflow;
    this.topic = this.rotation.topic;
  }
}
