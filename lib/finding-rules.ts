import * as events from 'aws-cdk-lib/aws-events';
import { securityHubProductArnPrefixes } from './security-hub-products';
import type { Settings } from './settings/settings';

/**
 * One EventBridge rule per enabled finding source. Findings from other accounts are filtered by
 * the pattern (`account`), never by code: only this account and `acceptFindingsFromAccounts`.
 */
export function findingRules(
  settings: Settings,
  thisAccount: string,
): Record<string, Pick<events.RuleProps, 'description' | 'eventPattern'>> {
  const account = [thisAccount, ...settings.acceptFindingsFromAccounts];
  const rules: Record<string, Pick<events.RuleProps, 'description' | 'eventPattern'>> = {};
  if (settings.enableGuardDuty) {
    rules.GuardDutyFindings = {
      description: `GuardDuty findings with severity >= ${settings.minGuardDutySeverity} start the KMS incident rotation workflow`,
      eventPattern: {
        source: ['aws.guardduty'],
        detailType: ['GuardDuty Finding'],
        account,
        detail: { severity: events.Match.greaterThanOrEqual(settings.minGuardDutySeverity) },
      },
    };
  }
  if (settings.enableSecurityHub) {
    rules.SecurityHubFindings = {
      description: `Active Security Hub findings (${settings.securityHubSeverityLabels.join(', ')}) of the accepted products on KMS keys or SSE-KMS buckets start the workflow`,
      eventPattern: {
        source: ['aws.securityhub'],
        detailType: ['Security Hub Findings - Imported'],
        account,
        detail: {
          findings: {
            // Only the products in securityHubProductArns (default AWS's own integrations):
            // anyone with securityhub:BatchImportFindings can import findings of their own.
            ProductArn: securityHubProductArnPrefixes(settings).flatMap((prefix) => events.Match.prefix(prefix)),
            RecordState: ['ACTIVE'],
            // NEW only: BatchUpdateFindings makes Security Hub emit "Security Hub Findings -
            // Imported" for the updated finding, so the NOTIFIED/RESOLVED this stack writes would
            // otherwise start another run for it (again and again after a FAILED run, whose claim
            // lets the next delivery retry). A finding set back to NEW by a person starts one.
            Workflow: { Status: ['NEW'] },
            Severity: { Label: settings.securityHubSeverityLabels },
            Resources: { Type: ['AwsKmsKey', 'AwsS3Bucket'] },
          },
        },
      },
    };
  }
  if (settings.enableAccessAnalyzer) {
    rules.AccessAnalyzerFindings = {
      description:
        'Active IAM Access Analyzer findings on KMS keys (shared outside the zone of trust) start the workflow',
      eventPattern: {
        source: ['aws.access-analyzer'],
        detailType: ['Access Analyzer Finding'],
        account,
        detail: { resourceType: ['AWS::KMS::Key'], status: ['ACTIVE'] },
      },
    };
  }
  return rules;
}
