/**
 * The Security Hub rule does not start a run for the workflow's own updates: BatchUpdateFindings
 * makes Security Hub emit "Security Hub Findings - Imported" for the updated finding (Security Hub
 * user guide, "BatchUpdateFindings for customers"), with the Workflow.Status and Note the run
 * wrote. Checked on the synthesized rule with EventBridge's matching rules (./event-pattern).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { KmsIncidentRotationStack } from '../../lib/stack';
import { parseSettings } from '../../lib/settings/settings';
import { NOTE_AUTHOR, type WorkflowUpdate } from '../../lambdas/domain/notification/security-hub-workflow';
import { matchesPattern, resolveIntrinsics } from './event-pattern';

const env = { account: '111122223333', region: 'us-east-1' };
const fixture = (name: string) =>
  JSON.parse(readFileSync(path.join(__dirname, '../fixtures', name), 'utf8')) as Record<string, any>;

const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
const stack = new KmsIncidentRotationStack(app, 'KmsIncidentRotation', { settings: parseSettings({}), env });
const patterns = Object.values(Template.fromStack(stack).findResources('AWS::Events::Rule')).flatMap((r) =>
  r.Properties.EventPattern ? [resolveIntrinsics(r.Properties.EventPattern, env) as Record<string, any>] : [],
);
const ruleFor = (source: string) => patterns.find((p) => p.source[0] === source)!;
const securityHubRule = ruleFor('aws.securityhub');

/** The event Security Hub emits after BatchUpdateFindings set `status` and a note on finding `index`. */
function afterUpdate(event: Record<string, any>, status: WorkflowUpdate['status'] | 'NEW', index = 0) {
  const updated = structuredClone(event);
  const finding = updated.detail.findings[index];
  finding.Workflow = { Status: status };
  finding.Note = {
    Text: 'kms-incident-rotation is rotating 1 KMS key',
    UpdatedBy: NOTE_AUTHOR,
    UpdatedAt: updated.time,
  };
  return updated;
}

describe('EventBridge matching (the checker can fail)', () => {
  test("a NEW finding of AWS's own products matches; a GuardDuty finding matches its numeric severity", () => {
    expect(matchesPattern(securityHubRule, fixture('securityhub/kms-key-resource.json'))).toBe(true);
    const guardDuty = fixture('guardduty/s3-bucket-kms.json');
    expect(matchesPattern(ruleFor('aws.guardduty'), guardDuty)).toBe(true);
    guardDuty.detail.severity = 1;
    expect(matchesPattern(ruleFor('aws.guardduty'), guardDuty)).toBe(false);
  });

  test('another account, or a product outside the accepted prefixes, does not match', () => {
    const other = fixture('securityhub/kms-key-resource.json');
    other.account = '444455556666';
    expect(matchesPattern(securityHubRule, other)).toBe(false);
    const forged = fixture('securityhub/kms-key-resource.json');
    forged.detail.findings[0].ProductArn = 'arn:aws:securityhub:us-east-1:444455556666:product/444455556666/default';
    expect(matchesPattern(securityHubRule, forged)).toBe(false);
  });
});

describe('Security Hub rule and the workflow updates', () => {
  const event = fixture('securityhub/kms-key-resource.json');

  test.each(['NOTIFIED', 'RESOLVED'] as const)(
    'the Imported event for our own update to %s starts no run',
    (status) => {
      expect(matchesPattern(securityHubRule, afterUpdate(event, status))).toBe(false);
    },
  );

  test('a person setting the finding back to NEW starts a run (the way to retry after a failed run)', () => {
    expect(matchesPattern(securityHubRule, afterUpdate(event, 'NEW'))).toBe(true);
  });

  test('our NOTIFIED finding delivered with a NEW one matches (any finding matches): intake drops ours', () => {
    const multi = fixture('securityhub/multiple-findings.json');
    expect(matchesPattern(securityHubRule, afterUpdate(multi, 'NOTIFIED', 2))).toBe(true);
    // test/unit/intake.test.ts: "our own update of one finding, delivered with another NEW finding".
  });
});
