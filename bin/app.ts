#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NIST80053R5Checks, ServerlessChecks } from 'cdk-nag';
import { productStack } from '../lib/app';
import { SettingsError } from '../lib/settings/settings';

const app = new App();
try {
  // Settings from the context (cdk.json, -c), or per environment with -c env=<name> (settings/<name>.json)
  // or -c settingsFile=<path>; the StackSet form with -c stackSetAssetsBucket=<bucket-${AWS::Region}>.
  productStack(app);
  // Three packs, zero unacknowledged findings (each acknowledgement carries its reason: lib/kms-incident-rotation.ts, lib/compliance/compliance.ts).
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new NIST80053R5Checks(app), new ServerlessChecks(app));
} catch (error) {
  if (error instanceof SettingsError) {
    console.error(error.message);
    process.exit(2);
  }
  throw error;
}
