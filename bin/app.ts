#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NIST80053R5Checks } from 'cdk-nag';
import { KmsIncidentRotationStack } from '../lib/stack';
import { STACK_NAME } from '../lib/names';
import { SettingsError } from '../lib/settings';

const app = new App();
try {
  // Settings from the context (cdk.json, -c), or per environment with -c env=<name> (settings/<name>.json)
  // or -c settingsFile=<path>: the stack reads them (lib/settings.ts settingsFromContext).
  new KmsIncidentRotationStack(app, STACK_NAME, {
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
    description: 'kms-incident-rotation: rotates KMS keys on demand when security findings implicate them',
  });
  // Both packs, zero unacknowledged findings (each acknowledgement carries its reason: lib/stack.ts, lib/compliance.ts).
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new NIST80053R5Checks(app));
} catch (error) {
  if (error instanceof SettingsError) {
    console.error(error.message);
    process.exit(2);
  }
  throw error;
}
