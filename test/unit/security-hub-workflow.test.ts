import { endUpdate, NOTE_MAX, startUpdate } from '../../lambdas/domain/notification/security-hub-workflow';
import type { IncidentRequest, KeyResult, RunSummary } from '../../lambdas/domain/contracts';

const FINDING = {
  Id: 'arn:aws:securityhub:us-east-1:111122223333:finding/1',
  ProductArn: 'arn:aws:securityhub:us-east-1::product/aws/guardduty',
};
const EXECUTION = 'arn:aws:states:us-east-1:111122223333:execution:KmsIncidentRotation:x';
const K = (i: number) =>
  `arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-${String(i).padStart(12, '0')}`;

function request(extra: Partial<IncidentRequest> = {}): IncidentRequest {
  return {
    requestId: 'securityhub-1',
    source: 'securityhub',
    findingId: FINDING.Id,
    findingType: null,
    severity: null,
    severityLabel: 'HIGH',
    reason: 'r',
    keys: [K(1)],
    dryRun: false,
    force: false,
    breakGlass: false,
    requestedBy: null,
    account: null,
    region: null,
    duplicateOf: null,
    notConfirmed: null,
    securityHubFindings: [FINDING],
    ...extra,
  };
}
function result(i: number, outcome: KeyResult['outcome'], reason: KeyResult['reason'] = null): KeyResult {
  return {
    ref: K(i),
    keyArn: K(i),
    via: null,
    aliases: [],
    outcome,
    reason,
    detail: null,
    onDemandRotationsUsed: null,
    onDemandRotationsRemaining: null,
    previousKeyMaterialId: null,
    currentKeyMaterialId: null,
    joined: false,
    rotationStartedAt: null,
    confirmedAt: null,
    approvedBy: null,
    approvalReason: null,
  };
}
const summary = (keys: KeyResult[]): RunSummary => ({
  requestId: 'securityhub-1',
  source: 'securityhub',
  findingId: FINDING.Id,
  findingType: null,
  severity: null,
  severityLabel: null,
  reason: 'r',
  dryRun: false,
  executionArn: EXECUTION,
  startedAt: null,
  outcome: 'ROTATED',
  anyFailed: false,
  keys,
});
const NOW = new Date('2026-12-04T12:00:00.000Z');

describe('Security Hub workflow updates', () => {
  test('no update for a duplicate run, an unconfirmed finding, or a request without Security Hub findings', () => {
    for (const r of [
      request({ duplicateOf: 'arn:other' }),
      request({ notConfirmed: 'not held' }),
      request({ securityHubFindings: undefined }),
    ]) {
      expect(startUpdate(r, EXECUTION)).toBeNull();
      expect(endUpdate(r, summary([result(1, 'ROTATED')]), NOW)).toBeNull();
    }
  });

  test('RESOLVED only when every key ended ROTATED (and there was a key)', () => {
    expect(endUpdate(request(), summary([result(1, 'ROTATED'), result(2, 'ROTATED')]), NOW)?.status).toBe('RESOLVED');
    expect(endUpdate(request(), summary([result(1, 'ROTATED'), result(2, 'DRY_RUN')]), NOW)?.status).toBe('NOTIFIED');
    expect(endUpdate(request(), summary([]), NOW)?.status).toBe('NOTIFIED');
  });

  test("the note stays within ASFF's 512 characters and keeps the execution and time, whatever the number of keys", () => {
    const keys = Array.from({ length: 50 }, (_, i) => result(i, 'FAILED', 'ACCESS_DENIED'));
    const note = endUpdate(request(), summary(keys), NOW)!.note;
    expect([...note].length).toBeLessThanOrEqual(NOTE_MAX);
    expect(note).toContain(`Execution: ${EXECUTION}, 2026-12-04T12:00:00.000Z.`);
    expect(note).toContain(`${K(0)}: FAILED ACCESS_DENIED`);
  });
});
