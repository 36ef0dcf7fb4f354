import { type App, CliCredentialsStackSynthesizer } from 'aws-cdk-lib';
import { STACK_NAME } from './names';
import { SettingsError } from './settings/settings';
import { KmsIncidentRotationStack } from './stack';

/** Context keys of the StackSet form (docs/deploy.md "Deploy across an Organization"). */
export const STACK_SET_CONTEXT = {
  /** `-c stackSetAssetsBucket=my-org-assets-${AWS::Region}`: the Lambda code's bucket in every member Region. */
  assetsBucket: 'stackSetAssetsBucket',
  /** Key prefix in that bucket (default `kms-incident-rotation/`). */
  assetsPrefix: 'stackSetAssetsPrefix',
} as const;

/**
 * The synthesizer of the StackSet form, or undefined for a normal `cdk deploy`.
 *
 * Why CliCredentialsStackSynthesizer (and not cdk-stacksets or DefaultStackSynthesizer options):
 * a StackSet instance is created by CloudFormation in each member account, which has no CDK
 * bootstrap: no `cdk-hnb659fds-assets-<account>-<region>` bucket and no `/cdk-bootstrap/.../version`
 * SSM parameter. This synthesizer writes neither the BootstrapVersion parameter nor its rule, points
 * the Lambda code at the bucket given here (`${AWS::Region}` resolved by each instance), and
 * publishes with the caller's own credentials (no bootstrap publishing role). The template stays
 * one flat, parameterless template that any StackSet (service-managed included) deploys as is;
 * cdk-stacksets would add a dependency and make the StackSet itself a CDK resource of a
 * management-account stack, which Organizations usually manage on their own.
 */
export function stackSetSynthesizer(
  tryGetContext: (key: string) => unknown,
): CliCredentialsStackSynthesizer | undefined {
  const bucket = tryGetContext(STACK_SET_CONTEXT.assetsBucket);
  if (bucket === undefined) return undefined;
  const problems: string[] = [];
  if (typeof bucket !== 'string' || !/^[a-z0-9][a-z0-9.-]*\$\{AWS::Region\}[a-z0-9.-]*$/.test(bucket)) {
    // Lambda reads its code from a bucket in its own Region: one bucket per Region, same name pattern.
    problems.push(
      `${STACK_SET_CONTEXT.assetsBucket}: a bucket name with \${AWS::Region} in it, such as my-org-assets-\${AWS::Region} (Lambda reads code from a bucket in its own Region), got ${JSON.stringify(bucket)}`,
    );
  }
  const prefix = tryGetContext(STACK_SET_CONTEXT.assetsPrefix) ?? 'kms-incident-rotation/';
  if (typeof prefix !== 'string' || !/^[\w.-]+(\/[\w.-]+)*\/$/.test(prefix)) {
    problems.push(
      `${STACK_SET_CONTEXT.assetsPrefix}: a key prefix ending in /, such as kms-incident-rotation/, got ${JSON.stringify(prefix)}`,
    );
  }
  if (problems.length) throw new SettingsError('cdk.json context', problems);
  return new CliCredentialsStackSynthesizer({ fileAssetsBucketName: bucket as string, bucketPrefix: prefix as string });
}

/**
 * The product's stack in `app` (bin/app.ts): settings from the context (per environment with
 * `-c env=` or `-c settingsFile=`), and the StackSet form with `-c stackSetAssetsBucket=`.
 */
export function productStack(app: App): KmsIncidentRotationStack {
  const synthesizer = stackSetSynthesizer((key) => app.node.tryGetContext(key));
  return new KmsIncidentRotationStack(app, STACK_NAME, {
    // The StackSet form is environment-agnostic: each instance resolves its own account and Region.
    env: synthesizer ? undefined : { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
    synthesizer,
    description: 'kms-incident-rotation: rotates KMS keys on demand when security findings implicate them',
  });
}
