import fc from 'fast-check';
import type { KeyResult, Outcome, Reason, RequestSource, RunSummary } from '../../lambdas/domain/contracts';
import { FAIL_REASONS, SKIP_REASONS, SOURCES } from '../../lambdas/domain/contracts';
import { NEXT_STEP, REASON_TEXT } from '../../lambdas/domain/notification/reasons';
import {
  MESSAGE_MAX_BYTES,
  formatNotification,
  formatSummaryText,
  rotationsText,
} from '../../lambdas/domain/notification/message';
import { formatSubject, severityLabel } from '../../lambdas/domain/notification/message-subject';

const OPTS = { region: 'eu-central-1', rotationBudget: 25 };
const EXECUTION = 'arn:aws:states:eu-central-1:111122223333:execution:KmsIncidentRotation:gd-1a2b3c';
const arn = (id: string) => `arn:aws:kms:eu-central-1:111122223333:key/${id}`;
const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

function key(
  id: string,
  outcome: Outcome,
  reason: Reason | null = null,
  overrides: Partial<KeyResult> = {},
): KeyResult {
  return {
    ref: arn(id),
    keyArn: arn(id),
    via: null,
    approvedBy: null,
    approvalReason: null,
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
    ...overrides,
  };
}

function summary(keys: KeyResult[], overrides: Partial<RunSummary> = {}): RunSummary {
  const rank = ['SKIPPED', 'DRY_RUN', 'ROTATED', 'FAILED'] as const;
  const worst =
    keys.length === 0 ? 'NONE' : rank[Math.max(...keys.map((k) => rank.indexOf(k.outcome as (typeof rank)[number])))]!;
  return {
    requestId: 'req-0001',
    source: 'guardduty',
    findingId: 'a1b2c3d4e5',
    findingType: 'UnauthorizedAccess:IAMUser/AnomalousBehavior',
    severity: 8,
    severityLabel: 'HIGH',
    reason: 'Unusual KMS API calls by a user',
    dryRun: false,
    executionArn: EXECUTION,
    startedAt: '2025-06-01T00:00:00.000Z',
    outcome: worst,
    anyFailed: keys.some((k) => k.outcome === 'FAILED'),
    keys,
    ...overrides,
  };
}

const rotatedKey = () =>
  key('1111', 'ROTATED', null, {
    ref: 'alias/payments',
    aliases: ['alias/payments', 'alias/payments-legacy'],
    detail: 'Rotated on demand; new key material is in use.',
    onDemandRotationsUsed: 4,
    onDemandRotationsRemaining: 21,
    previousKeyMaterialId: 'material-old',
    currentKeyMaterialId: 'material-new',
    rotationStartedAt: '2025-06-01T00:00:05.000Z',
    confirmedAt: '2025-06-01T00:01:00.000Z',
  });

describe('formatSubject', () => {
  it.each<[string, RunSummary, string]>([
    [
      'rotated by GuardDuty',
      summary([rotatedKey()]),
      '[ROTATED] 1 key - GuardDuty UnauthorizedAccess:IAMUser/AnomalousBehavior',
    ],
    [
      'failed manual',
      summary([rotatedKey(), key('2', 'FAILED', 'KMS_ERROR')], {
        source: 'manual',
        findingId: null,
        findingType: null,
        reason: 'suspected leak of payments key',
      }),
      '[FAILED] 2 keys (1 failed) - manual: suspected leak of payments key',
    ],
    [
      'skipped by Security Hub',
      summary([key('3', 'SKIPPED', 'OPTED_OUT')], {
        source: 'securityhub',
        findingType: 'Software and Configuration Checks/AWS Security Best Practices',
      }),
      '[SKIPPED] 1 key - Security Hub Software and Configuration Checks/AWS Security Best Practices',
    ],
    [
      'Access Analyzer without a type uses the reason',
      summary([key('3', 'DRY_RUN')], {
        source: 'access-analyzer',
        findingType: null,
        reason: 'Key shared publicly',
        dryRun: true,
      }),
      '[DRY_RUN] 1 key - Access Analyzer Key shared publicly',
    ],
    ['no keys', summary([]), '[NONE] no KMS key implicated - GuardDuty UnauthorizedAccess:IAMUser/AnomalousBehavior'],
    [
      'dry run that skipped',
      summary([key('3', 'SKIPPED', 'AWS_MANAGED')], { dryRun: true }),
      '[SKIPPED] 1 key (dry run) - GuardDuty UnauthorizedAccess:IAMUser/AnomalousBehavior',
    ],
    [
      'all failed',
      summary([key('1', 'FAILED', 'THROTTLED'), key('2', 'FAILED', 'THROTTLED')]),
      '[FAILED] 2 keys (2 failed) - GuardDuty UnauthorizedAccess:IAMUser/AnomalousBehavior',
    ],
  ])('%s', (_name, s, expected) => {
    expect(formatSubject(s)).toBe(expected);
  });

  it('sanitises and truncates untrusted finding text', () => {
    // Given
    const s = summary([rotatedKey()], { findingType: `Evil\r\nBcc: someone@example.com\t\u0000${'A'.repeat(200)}` });

    // When
    const subject = formatSubject(s);

    // Then
    expect(subject.startsWith('[ROTATED] 1 key - GuardDuty Evil Bcc: someone@example.com AAAA')).toBe(true);
    expect(subject.endsWith('A...')).toBe(true);
    expect(bytes(subject)).toBeLessThan(100);
  });

  it('stays under 100 characters with no control characters for any finding text (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.string({ unit: 'grapheme', maxLength: 300 }),
        fc.constantFrom<RequestSource>(...SOURCES),
        fc.integer({ min: 0, max: 60 }),
        fc.boolean(),
        (findingType, reason, source, n, dryRun) => {
          const keys = Array.from({ length: n }, (_, i) =>
            key(String(i), i % 3 === 0 ? 'FAILED' : 'SKIPPED', i % 3 === 0 ? 'INTERNAL' : 'OPTED_OUT'),
          );
          const subject = formatSubject(summary(keys, { findingType, reason, source, dryRun }));
          expect(subject.length).toBeLessThan(100);
          expect(bytes(subject)).toBeLessThan(100);
          expect(subject).not.toMatch(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u);
          expect(subject).not.toMatch(/[\r\n]/);
          expect(subject).toMatch(/^[\x20-\x7e]+$/); // SNS: ASCII only
          expect(subject).toMatch(/^\[(ROTATED|DRY_RUN|SKIPPED|FAILED|NONE)\] /);
        },
      ),
    );
  });

  it('cuts multi-byte text on a character boundary', () => {
    const subject = formatSubject(summary([rotatedKey()], { findingType: '漢字'.repeat(100) }));
    expect(bytes(subject)).toBeLessThan(100);
    expect(subject).toMatch(/^\[ROTATED\] 1 key - GuardDuty \?+\.\.\.$/);
  });
});

describe('formatSummaryText', () => {
  it('describes a rotated key with everything a person needs', () => {
    // Given
    const s = summary([{ ...rotatedKey(), via: 'arn:aws:kms:eu-west-1:111122223333:key/mrk-replica', joined: true }]);

    // When
    const text = formatSummaryText(s, OPTS);

    // Then
    expect(text).toContain('KMS incident rotation: ROTATED - 1 key: 1 rotated.');
    expect(text).toContain(`1. ${arn('1111')}`);
    expect(text).toContain('Named as:    alias/payments');
    expect(text).toContain('Aliases:     alias/payments, alias/payments-legacy');
    expect(text).toContain('Via:         arn:aws:kms:eu-west-1:111122223333:key/mrk-replica');
    expect(text).toContain('Outcome:     ROTATED - rotated: new key material');
    expect(text).toContain('On-demand rotations: 4 of 25 used, 21 left');
    expect(text).toContain('Key material: material-old -> material-new');
    expect(text).toContain('joined an on-demand rotation that was already running');
    expect(text).toContain('Confirmed:   2025-06-01T00:01:00.000Z');
    expect(text).toContain('No action required on the keys');
  });

  it('describes the finding: source in words, id, type, severity number and label, title', () => {
    const text = formatSummaryText(summary([rotatedKey()]), OPTS);
    expect(text).toContain('Source:       Amazon GuardDuty finding');
    expect(text).toContain('Finding id:   a1b2c3d4e5');
    expect(text).toContain('Type:         UnauthorizedAccess:IAMUser/AnomalousBehavior');
    expect(text).toContain('Severity:     8 (HIGH)');
    expect(text).toContain('Title:        Unusual KMS API calls by a user');
  });

  it('describes a manual request: reason and requester', () => {
    const s = summary([rotatedKey()], {
      source: 'manual',
      findingId: null,
      findingType: null,
      severity: null,
      severityLabel: null,
      reason: 'suspected leak',
    });
    const text = formatSummaryText(s, { ...OPTS, requestedBy: 'arn:aws:sts::111122223333:assumed-role/OnCall/alice' });
    expect(text).toContain('Source:       manual request');
    expect(text).toContain('Reason:       suspected leak');
    expect(text).toContain('Requested by: arn:aws:sts::111122223333:assumed-role/OnCall/alice');
    expect(text).not.toContain('Finding id:');
    expect(formatSummaryText(s, OPTS)).toContain('Requested by: unknown');
  });

  it('links the execution in the console', () => {
    const text = formatSummaryText(summary([rotatedKey()]), OPTS);
    expect(text).toContain(`  ${EXECUTION}\n`);
    expect(text).toContain(
      `https://eu-central-1.console.aws.amazon.com/states/home?region=eu-central-1#/v2/executions/details/${EXECUTION}`,
    );
  });

  it('says when the execution ARN is not known', () => {
    expect(formatSummaryText(summary([rotatedKey()], { executionArn: null }), OPTS)).toContain(
      '(execution ARN not known)',
    );
  });

  it.each<[string, RunSummary]>([
    ['rotated', summary([rotatedKey()])],
    ['skipped', summary([key('1', 'SKIPPED', 'OPTED_OUT')])],
    ['failed', summary([key('1', 'FAILED', 'INTERNAL')])],
    ['no keys', summary([])],
  ])('always warns that rotation does not change data keys already issued (%s)', (_name, s) => {
    const text = formatSummaryText(s, OPTS);
    expect(text).toContain('What to do next');
    expect(text).toContain('Rotation does NOT change data keys already issued');
    expect(text).toContain('data encrypted before the rotation stays decryptable');
    expect(text).toContain('any data key that was exposed stays valid');
    expect(text).toContain('re-encrypt the affected data under NEW data keys');
  });

  it.each<Reason>([...SKIP_REASONS, ...FAIL_REASONS])('explains %s in words and gives its next step', (reason) => {
    // Given
    const outcome: Outcome = (FAIL_REASONS as readonly string[]).includes(reason) ? 'FAILED' : 'SKIPPED';
    const s = summary([key('abcd', outcome, reason, { detail: 'The detail.' })]);

    // When
    const text = formatSummaryText(s, OPTS);

    // Then
    expect(text).toContain(`Reason:      ${reason} - ${REASON_TEXT[reason]}`);
    expect(text).toContain('Detail:      The detail.');
    expect(text).toContain(`- ${reason} (key 1): ${NEXT_STEP[reason].replaceAll('<key ARN>', arn('abcd'))}`);
  });

  it('gives each reason one next step, naming the keys it applies to', () => {
    // Given
    const s = summary([
      key('1', 'SKIPPED', 'BUDGET_RESERVE'),
      key('2', 'ROTATED'),
      key('3', 'SKIPPED', 'BUDGET_RESERVE'),
      key('4', 'FAILED', 'ROTATION_TIMEOUT'),
    ]);

    // When
    const text = formatSummaryText(s, OPTS);

    // Then
    expect(text.split('- BUDGET_RESERVE').length - 1).toBe(1);
    expect(text).toContain(`- BUDGET_RESERVE (keys 1, 3): ${NEXT_STEP.BUDGET_RESERVE}`);
    expect(text).toContain(
      `- ROTATION_TIMEOUT (key 4): The rotation may still complete; check \`kms-rotate check --key ${arn('4')}\``,
    );
    expect(text.indexOf('- BUDGET_RESERVE')).toBeLessThan(text.indexOf('- ROTATION_TIMEOUT'));
    expect(text).toContain('KMS incident rotation: FAILED - 4 keys: 1 rotated, 2 skipped, 1 failed.');
    expect(text).toContain('ACTION REQUIRED');
  });

  it('marks a dry run', () => {
    const text = formatSummaryText(
      summary([key('1', 'DRY_RUN', null, { detail: 'Dry run: would be rotated.' })], { dryRun: true }),
      OPTS,
    );
    expect(text).toContain('DRY RUN: nothing was changed.');
    expect(text).toContain('rerun without --dry-run');
  });

  it('explains an empty run', () => {
    const text = formatSummaryText(summary([]), OPTS);
    expect(text).toContain('KMS incident rotation: NONE - no KMS key was implicated');
    expect(text).toContain('Keys: none.');
  });

  it('keeps untrusted text from forging lines in the body', () => {
    const s = summary([key('1', 'ROTATED', null, { detail: 'ok\nWhat to do next\n- nothing' })], {
      reason: 'title\n\nWhat to do next\n- ignore this',
      findingId: 'id\r\nSeverity: LOW',
    });
    const text = formatSummaryText(s, OPTS);
    expect(text.match(/^What to do next$/gm)).toHaveLength(1);
    expect(text).toContain('Title:        title What to do next - ignore this');
    expect(text).not.toMatch(/^\s*Severity: LOW/m);
  });

  it('stays well under 256 KiB for 50 keys with huge fields, and says what it shortened', () => {
    // Given
    const huge = 'x'.repeat(20_000);
    const keys = Array.from({ length: 50 }, (_, i) =>
      key(String(i), 'FAILED', 'INTERNAL', {
        ref: huge,
        aliases: Array.from({ length: 200 }, (_, j) => `alias/${j}-${huge.slice(0, 250)}`),
        detail: huge,
        previousKeyMaterialId: huge,
        currentKeyMaterialId: huge,
      }),
    );
    const s = summary(keys, { reason: huge, findingType: huge, findingId: huge });

    // When
    const { message } = formatNotification(s, OPTS);

    // Then
    expect(bytes(message)).toBeLessThan(MESSAGE_MAX_BYTES);
    expect(message).toContain('(+190 more)');
    expect(message).toMatch(/^50\. arn:aws:kms:\S+\n   Named as: /m);
    expect(message).toContain('Some long values above were shortened');
    expect(message).not.toContain('SNS size limit');
    expect(message).toContain('Rotation does NOT change data keys already issued');
  });

  it('lists every key as a block when they fit', () => {
    const keys = Array.from({ length: 50 }, (_, i) => ({
      ...rotatedKey(),
      keyArn: arn(String(i)),
      ref: arn(String(i)),
    }));
    const text = formatSummaryText(summary(keys), OPTS);
    expect(text.match(/^ {3}Outcome: {5}ROTATED/gm)).toHaveLength(50);
    expect(text).not.toContain('SNS size limit');
    expect(text).not.toContain('were shortened');
  });

  it('falls back to one line per key, then to a count, when the keys do not fit', () => {
    // Given
    const keys = Array.from({ length: 5000 }, (_, i) =>
      key(String(i), 'SKIPPED', 'OPTED_OUT', { detail: 'd'.repeat(500) }),
    );

    // When
    const text = formatSummaryText(summary(keys), OPTS);

    // Then
    expect(bytes(text)).toBeLessThanOrEqual(MESSAGE_MAX_BYTES);
    expect(text).toMatch(/^\d+\. arn:aws:kms:\S+ - SKIPPED OPTED_OUT$/m);
    expect(text).toMatch(/^\.\.\. \d+ more keys not listed to keep this message under the SNS size limit/m);
    expect(text).toContain('Some keys are shown on one line');
    expect(text).toContain('- OPTED_OUT (keys 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 4990 more)');
    expect(text).toContain('Rotation does NOT change data keys already issued');
  });

  it('honours a smaller maxBytes', () => {
    const keys = Array.from({ length: 50 }, (_, i) => ({ ...rotatedKey(), keyArn: arn(String(i)) }));
    const text = formatSummaryText(summary(keys), { ...OPTS, maxBytes: 8000 });
    expect(bytes(text)).toBeLessThanOrEqual(8000);
    expect(text).toContain('SNS size limit');
  });
});

describe('rotationsText', () => {
  it.each<[number | null, number | null, number | null, string | null]>([
    [4, 21, 25, '4 of 25 used, 21 left'],
    [4, null, 25, '4 of 25 used, 21 left'],
    [null, 21, 25, '4 of 25 used, 21 left'],
    [25, 0, 25, '25 of 25 used, 0 left'],
    [30, null, 25, '30 of 25 used, 0 left'],
    [null, null, 25, null],
    [3, 7, 10, '3 of 10 used, 7 left'],
    [4, null, null, '4 used'],
    [Number.NaN, null, 25, null],
  ])('used %s remaining %s budget %s -> %s', (used, remaining, budget, expected) => {
    expect(rotationsText({ onDemandRotationsUsed: used, onDemandRotationsRemaining: remaining }, budget)).toBe(
      expected,
    );
  });
});

describe('severityLabel', () => {
  it.each<[number | null, string | null, string | null]>([
    [8, 'HIGH', 'HIGH'],
    [null, 'critical', 'CRITICAL'],
    [null, 'INFORMATIONAL', 'INFORMATIONAL'],
    [2, null, 'LOW'],
    [5.5, null, 'MEDIUM'],
    [7, null, 'HIGH'],
    [9, null, 'CRITICAL'],
    [null, 'weird\nlabel', null],
    [null, null, null],
  ])('severity %s label %s -> %s', (severity, label, expected) => {
    expect(severityLabel({ severity, severityLabel: label })).toBe(expected);
  });
});

describe('duplicate attribute', () => {
  it('is true when every key is a DUPLICATE_FINDING, false when any key was rotated here', () => {
    expect(
      formatNotification(
        summary([key('1', 'SKIPPED', 'DUPLICATE_FINDING'), key('2', 'SKIPPED', 'DUPLICATE_FINDING')]),
        OPTS,
      ).attributes.duplicate.StringValue,
    ).toBe('true');
    expect(
      formatNotification(summary([key('1', 'SKIPPED', 'DUPLICATE_FINDING'), rotatedKey()]), OPTS).attributes.duplicate
        .StringValue,
    ).toBe('false');
    expect(formatNotification(summary([]), OPTS).attributes.duplicate.StringValue).toBe('false');
  });

  it('is true when every key was handled by another execution: a storm mails each rotation once', () => {
    const duplicate = (keys: KeyResult[]) => formatNotification(summary(keys), OPTS).attributes.duplicate.StringValue;
    const joined = key('3', 'ROTATED', null, { joined: true });
    expect(duplicate([key('1', 'SKIPPED', 'RECENTLY_ROTATED'), key('2', 'SKIPPED', 'DUPLICATE_FINDING'), joined])).toBe(
      'true',
    );
    expect(duplicate([key('1', 'SKIPPED', 'RECENTLY_ROTATED')])).toBe('true');
    // Anything this execution did or could not do itself is mailed.
    expect(duplicate([key('1', 'SKIPPED', 'RECENTLY_ROTATED'), rotatedKey()])).toBe('false');
    expect(duplicate([key('1', 'SKIPPED', 'RECENTLY_ROTATED'), key('2', 'FAILED', 'THROTTLED')])).toBe('false');
    expect(duplicate([key('1', 'SKIPPED', 'RECENTLY_ROTATED'), key('2', 'SKIPPED', 'OPTED_OUT')])).toBe('false');
  });
});

describe('formatNotification attributes', () => {
  const attr = (value: string) => ({ DataType: 'String', StringValue: value });

  it.each<[string, RunSummary, Record<string, string>]>([
    [
      'rotated GuardDuty HIGH',
      summary([rotatedKey()]),
      { outcome: 'ROTATED', source: 'guardduty', severity: 'HIGH', actionRequired: 'false' },
    ],
    [
      'failed manual without severity',
      summary([key('1', 'FAILED', 'THROTTLED')], { source: 'manual', severity: null, severityLabel: null }),
      { outcome: 'FAILED', source: 'manual', severity: 'NONE', actionRequired: 'true' },
    ],
    [
      'Security Hub CRITICAL, skipped for a foreign account',
      summary([key('1', 'SKIPPED', 'FOREIGN_ACCOUNT')], {
        source: 'securityhub',
        severity: null,
        severityLabel: 'CRITICAL',
      }),
      { outcome: 'SKIPPED', source: 'securityhub', severity: 'CRITICAL', actionRequired: 'true' },
    ],
    [
      'Access Analyzer, duplicate finding',
      summary([key('1', 'SKIPPED', 'DUPLICATE_FINDING')], {
        source: 'access-analyzer',
        severity: null,
        severityLabel: null,
      }),
      { outcome: 'SKIPPED', source: 'access-analyzer', severity: 'NONE', actionRequired: 'false', duplicate: 'true' },
    ],
    [
      'dry run',
      summary([key('1', 'DRY_RUN')], { dryRun: true }),
      { outcome: 'DRY_RUN', source: 'guardduty', severity: 'HIGH', actionRequired: 'false' },
    ],
    ['no keys', summary([]), { outcome: 'NONE', source: 'guardduty', severity: 'HIGH', actionRequired: 'false' }],
    [
      'opted out',
      summary([key('1', 'SKIPPED', 'OPTED_OUT')]),
      { outcome: 'SKIPPED', source: 'guardduty', severity: 'HIGH', actionRequired: 'false' },
    ],
    [
      'rotated plus budget reserve',
      summary([rotatedKey(), key('2', 'SKIPPED', 'BUDGET_RESERVE')]),
      { outcome: 'ROTATED', source: 'guardduty', severity: 'HIGH', actionRequired: 'true' },
    ],
    [
      'imported material not staged, severity from the number',
      summary([key('1', 'SKIPPED', 'IMPORTED_MATERIAL_NOT_STAGED')], { severity: 5, severityLabel: null }),
      { outcome: 'SKIPPED', source: 'guardduty', severity: 'MEDIUM', actionRequired: 'true' },
    ],
  ])('%s', (_name, s, expected) => {
    const { attributes } = formatNotification(s, OPTS);
    expect(attributes).toEqual({
      outcome: attr(expected.outcome!),
      source: attr(expected.source!),
      severity: attr(expected.severity!),
      actionRequired: attr(expected.actionRequired!),
      duplicate: attr(expected.duplicate ?? 'false'),
    });
  });

  it.each<[Reason, boolean]>([
    ['NOT_FOUND', false],
    ['AWS_MANAGED', false],
    ['UNSUPPORTED_KEY_SPEC', true],
    ['CUSTOM_KEY_STORE', true],
    ['IMPORTED_MATERIAL_NOT_STAGED', true],
    ['KEY_NOT_ENABLED', true],
    ['FOREIGN_ACCOUNT', true],
    ['OPTED_OUT', false],
    ['RECENTLY_ROTATED', false],
    ['DUPLICATE_FINDING', false],
    ['BUDGET_RESERVE', true],
    ['BUDGET_EXHAUSTED', true],
    ['APPROVAL_DENIED', true],
  ])('a key SKIPPED for %s sets actionRequired=%s', (reason, expected) => {
    const { attributes } = formatNotification(summary([key('1', 'SKIPPED', reason)]), OPTS);
    expect(attributes.actionRequired.StringValue).toBe(String(expected));
  });

  it('returns subject, message and attributes together', () => {
    const n = formatNotification(summary([rotatedKey()]), OPTS);
    expect(n.subject).toBe(formatSubject(summary([rotatedKey()])));
    expect(n.message).toBe(formatSummaryText(summary([rotatedKey()]), OPTS));
    expect(Object.keys(n.attributes).sort()).toEqual(['actionRequired', 'duplicate', 'outcome', 'severity', 'source']);
  });
});
