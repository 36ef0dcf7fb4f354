import { Aws } from 'aws-cdk-lib';
import type { Settings } from './settings/settings';

/**
 * The `securityHubProductArns` setting as ProductArn prefixes for this stack: placeholders
 * replaced with the stack's partition, Region and account (CloudFormation pseudo parameters), a
 * trailing `*` dropped (EventBridge `prefix` matching and intake's startsWith do the rest).
 */
export function securityHubProductArnPrefixes(settings: Pick<Settings, 'securityHubProductArns'>): string[] {
  return settings.securityHubProductArns.map((arn) =>
    arn
      .replace(/\*$/, '')
      .replaceAll('<partition>', Aws.PARTITION)
      .replaceAll('<region>', Aws.REGION)
      .replaceAll('<account>', Aws.ACCOUNT_ID),
  );
}
