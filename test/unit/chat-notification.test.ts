import { chatNotification, perProtocolMessage, CHAT_LIMITS } from '../../lambdas/domain/notification/chat-notification';
import type { KeyResult, RunSummary } from '../../lambdas/domain/contracts';
import { chatFormatProblems } from '../chat-format';

const K1 = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

function key(extra: Partial<KeyResult> = {}): KeyResult {
  return {
    ref: K1,
    keyArn: K1,
    via: null,
    aliases: [],
    outcome: 'ROTATED',
    reason: null,
    detail: 'Rotated on demand.',
    onDemandRotationsUsed: 1,
    onDemandRotationsRemaining: 24,
    previousKeyMaterialId: null,
    currentKeyMaterialId: null,
    joined: false,
    rotationStartedAt: null,
    confirmedAt: null,
    approvedBy: null,
    approvalReason: null,
    ...extra,
  };
}

function summary(keys: KeyResult[]): RunSummary {
  return {
    requestId: 'guardduty-abc',
    source: 'guardduty',
    findingId: 'f1',
    findingType: 'T',
    severity: 8,
    severityLabel: 'HIGH',
    reason: 'Exfiltration seen',
    dryRun: false,
    executionArn: 'arn:aws:states:us-east-1:111122223333:execution:KmsIncidentRotation:x',
    startedAt: null,
    outcome: keys[0]?.outcome ?? 'NONE',
    anyFailed: false,
    keys,
  };
}

describe('chat custom notification (Amazon Q Developer in chat applications format)', () => {
  test('a run: the documented fields, title, keys and their outcomes, next steps per reason', () => {
    const n = chatNotification(
      summary([key(), key({ ref: 'k2', keyArn: 'k2', outcome: 'SKIPPED', reason: 'OPTED_OUT', detail: 'opted out' })]),
      '[ROTATED] 1 key',
    );
    expect(chatFormatProblems(n)).toEqual([]);
    expect(n).toMatchObject({
      version: '1.0',
      source: 'custom',
      content: { textType: 'client-markdown', title: '[ROTATED] 1 key' },
      metadata: { threadId: 'guardduty-abc' },
    });
    expect(n.content.description).toContain(`\`${K1}\`: *ROTATED*`);
    expect(n.content.description).toContain('*SKIPPED* OPTED_OUT');
    expect(n.content.nextSteps).toEqual([expect.stringMatching(/^OPTED_OUT: /)]);
  });

  test('within the size limits whatever the run (50 keys with long details, a long subject)', () => {
    const keys = Array.from({ length: 50 }, (_, i) =>
      key({ ref: `${K1}-${i}`, keyArn: `${K1}-${i}`, detail: 'x'.repeat(400) }),
    );
    const n = chatNotification(summary(keys), 'S'.repeat(400));
    expect(chatFormatProblems(n)).toEqual([]);
    expect([...n.content.description].length).toBeLessThanOrEqual(CHAT_LIMITS.description);
    expect(n.metadata.relatedResources).toHaveLength(CHAT_LIMITS.relatedResources);
  });

  test('cut between whole key lines, the rest counted; every shown line keeps its markdown closed', () => {
    const keys = Array.from({ length: 50 }, (_, i) =>
      key({ ref: `${K1}-${i}`, keyArn: `${K1}-${i}`, detail: 'x'.repeat(400) }),
    );
    const lines = chatNotification(summary(keys), 'subject').content.description.split('\n');
    const shown = lines.filter((l) => l.startsWith('• '));
    expect(shown.length).toBeGreaterThan(5);
    expect(shown.length).toBeLessThan(50);
    expect(lines.at(-1)).toBe(`…and ${50 - shown.length} more keys: see the e-mail or the execution`);
    for (const line of shown) {
      expect(line.split('`').length % 2).toBe(1);
      expect(line.split('*').length % 2).toBe(1);
      expect(line.endsWith('x')).toBe(true);
    }
  });

  test('one key with a huge detail cannot take the whole description; a short run is never cut', () => {
    const huge = chatNotification(
      summary([key({ detail: 'y'.repeat(20_000) }), key({ ref: 'alias/b', keyArn: null })]),
      's',
    );
    expect(chatFormatProblems(huge)).toEqual([]);
    expect(huge.content.description).toContain('alias/b');
    expect(huge.content.description).toMatch(/y…\n/);
    const short = chatNotification(summary([key()]), 's').content.description;
    expect(short).not.toMatch(/more keys?:/);
    expect(short).not.toContain('…');
  });

  test('the validator refuses what the format does not allow (it can fail)', () => {
    expect(
      chatFormatProblems({ version: '2', source: 'aws', content: { textType: 'plain', title: 't'.repeat(251) } }),
    ).toHaveLength(4);
  });

  test('per-protocol message: the e-mail text for default and email, the notification for https; email dropped when both would not fit', () => {
    const n = chatNotification(summary([key()]), 'subject');
    const message = JSON.parse(perProtocolMessage('the e-mail text', n));
    expect(message).toEqual({ default: 'the e-mail text', email: 'the e-mail text', https: JSON.stringify(n) });
    const big = 'y'.repeat(150 * 1024);
    const cut = JSON.parse(perProtocolMessage(big, n));
    expect(Object.keys(cut)).toEqual(['default', 'https']);
  });
});
