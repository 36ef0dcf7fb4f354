import fc from 'fast-check';
import {
  assessKey,
  formatAge,
  type AssessContext,
  type Decision,
  type KeyFacts,
} from '../../lambdas/domain/rotation/eligibility';
import { SKIP_REASONS } from '../../lambdas/domain/contracts';

const ACCOUNT = '111122223333';
const NOW = new Date('2025-06-01T12:00:00.000Z');
const HOUR = 3600;

/** An enabled, customer managed, symmetric AWS_KMS key with plenty of budget and no history. */
function baseFacts(overrides: Partial<KeyFacts> = {}): KeyFacts {
  return {
    arn: `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
    account: ACCOUNT,
    keyManager: 'CUSTOMER',
    keySpec: 'SYMMETRIC_DEFAULT',
    keyUsage: 'ENCRYPT_DECRYPT',
    origin: 'AWS_KMS',
    keyState: 'Enabled',
    customKeyStoreId: null,
    multiRegionKeyType: null,
    currentKeyMaterialId: 'material-1',
    tags: {},
    importedMaterialStaged: false,
    onDemandRotationStartDate: null,
    onDemandRotationsUsed: 0,
    lastOnDemandRotation: null,
    ...overrides,
  };
}

/** An automatic (GuardDuty) trigger, budget 25, reserve 2, cooldown 24 h. */
function baseCtx(overrides: Partial<AssessContext> = {}): AssessContext {
  return {
    accountId: ACCOUNT,
    source: 'guardduty',
    dryRun: false,
    force: false,
    rotationBudget: 25,
    automaticReserve: 2,
    cooldownSeconds: 24 * HOUR,
    optOutTag: 'kms-incident-rotation',
    forceMinIntervalSeconds: 600,
    forceDailyCap: 2,
    dailyRotationCap: 3,
    now: NOW,
    ...overrides,
  };
}

const secondsAgo = (s: number) => new Date(NOW.getTime() - s * 1000);

/** The decision reduced to what the workflow routes on. */
function verdict(d: Decision): string {
  return d.action === 'SKIP' ? `SKIP:${d.reason}` : d.action;
}

type Row = [name: string, facts: Partial<KeyFacts>, ctx: Partial<AssessContext>, expected: string];

/** Table rows as named cases, so that titles read `name -> expected`. */
const cases = (rows: Row[]) => rows.map(([name, facts, ctx, expected]) => ({ name, facts, ctx, expected }));

describe('assessKey: SKIPPED reasons', () => {
  it.each(
    cases([
      ['key of another account', { account: '444455556666' }, {}, 'SKIP:FOREIGN_ACCOUNT'],
      ['AWS managed key', { keyManager: 'AWS' }, {}, 'SKIP:AWS_MANAGED'],
      [
        'asymmetric RSA_2048 encryption key',
        { keySpec: 'RSA_2048', keyUsage: 'ENCRYPT_DECRYPT' },
        {},
        'SKIP:UNSUPPORTED_KEY_SPEC',
      ],
      ['RSA_2048 signing key', { keySpec: 'RSA_2048', keyUsage: 'SIGN_VERIFY' }, {}, 'SKIP:UNSUPPORTED_KEY_SPEC'],
      ['HMAC_256 key', { keySpec: 'HMAC_256', keyUsage: 'GENERATE_VERIFY_MAC' }, {}, 'SKIP:UNSUPPORTED_KEY_SPEC'],
      ['ECC_NIST_P256 key', { keySpec: 'ECC_NIST_P256', keyUsage: 'SIGN_VERIFY' }, {}, 'SKIP:UNSUPPORTED_KEY_SPEC'],
      ['ECC_SECG_P256K1 key', { keySpec: 'ECC_SECG_P256K1', keyUsage: 'SIGN_VERIFY' }, {}, 'SKIP:UNSUPPORTED_KEY_SPEC'],
      [
        'SYMMETRIC_DEFAULT with a non-ENCRYPT_DECRYPT usage',
        { keyUsage: 'GENERATE_VERIFY_MAC' },
        {},
        'SKIP:UNSUPPORTED_KEY_SPEC',
      ],
      [
        'CloudHSM key store',
        { origin: 'AWS_CLOUDHSM', customKeyStoreId: 'cks-1234567890abcdef0' },
        {},
        'SKIP:CUSTOM_KEY_STORE',
      ],
      [
        'external key store',
        { origin: 'EXTERNAL_KEY_STORE', customKeyStoreId: 'cks-abcdef01234567890' },
        {},
        'SKIP:CUSTOM_KEY_STORE',
      ],
      ['Disabled key', { keyState: 'Disabled' }, {}, 'SKIP:KEY_NOT_ENABLED'],
      ['PendingDeletion key', { keyState: 'PendingDeletion' }, {}, 'SKIP:KEY_NOT_ENABLED'],
      ['PendingImport key', { keyState: 'PendingImport', origin: 'EXTERNAL' }, {}, 'SKIP:KEY_NOT_ENABLED'],
      [
        'imported material, nothing staged',
        { origin: 'EXTERNAL', importedMaterialStaged: false },
        {},
        'SKIP:IMPORTED_MATERIAL_NOT_STAGED',
      ],
      ['opt-out tag = disabled', { tags: { 'kms-incident-rotation': 'disabled' } }, {}, 'SKIP:OPTED_OUT'],
      [
        'opt-out tag = DISABLED (case-insensitive)',
        { tags: { 'kms-incident-rotation': 'DISABLED' } },
        {},
        'SKIP:OPTED_OUT',
      ],
      [
        'opt-out tag under a custom tag key',
        { tags: { 'sec:auto-rotate': 'Disabled' } },
        { optOutTag: 'sec:auto-rotate' },
        'SKIP:OPTED_OUT',
      ],
      [
        'rotated on demand inside the cooldown',
        { onDemandRotationsUsed: 1, lastOnDemandRotation: secondsAgo(HOUR) },
        {},
        'SKIP:RECENTLY_ROTATED',
      ],
      ['budget used exactly', { onDemandRotationsUsed: 25 }, {}, 'SKIP:BUDGET_EXHAUSTED'],
      [
        'budget overspent (lowered setting)',
        { onDemandRotationsUsed: 12 },
        { rotationBudget: 10 },
        'SKIP:BUDGET_EXHAUSTED',
      ],
      [
        'budget used exactly, even for manual + force',
        { onDemandRotationsUsed: 25 },
        { source: 'manual', force: true },
        'SKIP:BUDGET_EXHAUSTED',
      ],
      ['automatic trigger, remaining == reserve', { onDemandRotationsUsed: 23 }, {}, 'SKIP:BUDGET_RESERVE'],
      ['automatic trigger, remaining < reserve', { onDemandRotationsUsed: 24 }, {}, 'SKIP:BUDGET_RESERVE'],
      [
        'manual request without force, inside the reserve',
        { onDemandRotationsUsed: 23 },
        { source: 'manual' },
        'SKIP:BUDGET_RESERVE',
      ],
      [
        'automatic trigger with force does not unlock the reserve',
        { onDemandRotationsUsed: 24 },
        { force: true },
        'SKIP:BUDGET_RESERVE',
      ],
    ]),
  )('$name -> $expected', ({ facts, ctx, expected }) => {
    // When
    const decision = assessKey(baseFacts(facts), baseCtx(ctx));

    // Then
    expect(verdict(decision)).toBe(expected);
    expect(decision.detail.length).toBeGreaterThan(10);
  });

  it('produces every SKIPPED reason assessKey owns (the rest come from other steps)', () => {
    // Given: the reasons assessKey is not responsible for
    // MATERIAL_PREDATES_EXPOSURE: re-encrypt-only requests (domain/reencryption/reencrypt-only.ts, its own tests).
    // FINDING_NOT_CONFIRMED: the Assess handler, before any key is looked up (handlers/intake-confirm tests).
    const elsewhere = new Set([
      'NOT_FOUND',
      'DUPLICATE_FINDING',
      'APPROVAL_DENIED',
      'MATERIAL_PREDATES_EXPOSURE',
      'FINDING_NOT_CONFIRMED',
    ]);

    // When
    const produced = new Set(
      [
        assessKey(baseFacts({ account: '444455556666' }), baseCtx()),
        assessKey(baseFacts({ keyManager: 'AWS' }), baseCtx()),
        assessKey(baseFacts({ keySpec: 'HMAC_256' }), baseCtx()),
        assessKey(baseFacts({ origin: 'AWS_CLOUDHSM' }), baseCtx()),
        assessKey(baseFacts({ keyState: 'Disabled' }), baseCtx()),
        assessKey(baseFacts({ origin: 'EXTERNAL' }), baseCtx()),
        assessKey(baseFacts({ tags: { 'kms-incident-rotation': 'disabled' } }), baseCtx()),
        assessKey(baseFacts({ lastOnDemandRotation: secondsAgo(1) }), baseCtx()),
        assessKey(baseFacts({ onDemandRotationsUsed: 25 }), baseCtx()),
        assessKey(baseFacts({ onDemandRotationsUsed: 24 }), baseCtx()),
      ].map(verdict),
    );

    // Then
    expect([...produced].sort()).toEqual(
      SKIP_REASONS.filter((r) => !elsewhere.has(r))
        .map((r) => `SKIP:${r}`)
        .sort(),
    );
  });

  it('names the numbers in the budget details', () => {
    // When
    const exhausted = assessKey(baseFacts({ onDemandRotationsUsed: 25 }), baseCtx());
    const reserve = assessKey(baseFacts({ onDemandRotationsUsed: 24 }), baseCtx());

    // Then
    expect(exhausted.detail).toContain('25');
    expect(reserve.detail).toMatch(/Only 1 of 25/);
  });
});

describe('assessKey: keys that are not skipped', () => {
  it.each(
    cases([
      ['eligible key, automatic trigger', {}, {}, 'ROTATE'],
      ['multi-Region primary', { multiRegionKeyType: 'PRIMARY' }, {}, 'ROTATE'],
      [
        'imported material with new material staged',
        { origin: 'EXTERNAL', importedMaterialStaged: true },
        {},
        'ROTATE',
      ],
      ['opt-out tag with another value', { tags: { 'kms-incident-rotation': 'enabled' } }, {}, 'ROTATE'],
      ['opt-out value under a different tag key', { tags: { 'other-tag': 'disabled' } }, {}, 'ROTATE'],
      [
        'opt-out tag whose value only contains "disabled"',
        { tags: { 'kms-incident-rotation': 'not-disabled' } },
        {},
        'ROTATE',
      ],
      // Past the break-glass minimum interval (10 min), inside the cooldown.
      [
        'inside the cooldown but forced',
        { onDemandRotationsUsed: 1, lastOnDemandRotation: secondsAgo(20 * 60) },
        { source: 'manual', force: true },
        'ROTATE',
      ],
      [
        'exactly at the end of the cooldown',
        { onDemandRotationsUsed: 1, lastOnDemandRotation: secondsAgo(24 * HOUR) },
        {},
        'ROTATE',
      ],
      [
        'just after the cooldown',
        { onDemandRotationsUsed: 1, lastOnDemandRotation: secondsAgo(24 * HOUR + 1) },
        {},
        'ROTATE',
      ],
      ['automatic trigger, one above the reserve', { onDemandRotationsUsed: 22 }, {}, 'ROTATE'],
      [
        'manual request WITH force may spend the reserve',
        { onDemandRotationsUsed: 24 },
        { source: 'manual', force: true },
        'ROTATE',
      ],
      [
        'reserve 0: the last rotation is for automation too',
        { onDemandRotationsUsed: 24 },
        { automaticReserve: 0 },
        'ROTATE',
      ],
    ]),
  )('$name -> $expected', ({ facts, ctx, expected }) => {
    // When
    const decision = assessKey(baseFacts(facts), baseCtx(ctx));

    // Then
    expect(verdict(decision)).toBe(expected);
  });

  it('says how many rotations a ROTATE leaves', () => {
    // When
    const decision = assessKey(baseFacts({ onDemandRotationsUsed: 3 }), baseCtx());

    // Then
    expect(decision).toEqual({ action: 'ROTATE', detail: expect.stringContaining('21 of 25') });
  });

  it('JOINs a running on-demand rotation', () => {
    // Given
    const started = secondsAgo(30);

    // When
    const decision = assessKey(baseFacts({ onDemandRotationStartDate: started }), baseCtx());

    // Then
    expect(decision).toEqual({ action: 'JOIN', detail: expect.stringContaining(started.toISOString()) });
  });

  it.each<[string, Partial<KeyFacts>, Partial<AssessContext>]>([
    ['budget exhausted', { onDemandRotationsUsed: 25 }, {}],
    ['inside the reserve', { onDemandRotationsUsed: 24 }, {}],
    ['inside the cooldown', { onDemandRotationsUsed: 5, lastOnDemandRotation: secondsAgo(10) }, {}],
  ])('JOINs a running rotation even when %s (joining spends nothing)', (_name, facts, ctx) => {
    // When
    const decision = assessKey(baseFacts({ ...facts, onDemandRotationStartDate: secondsAgo(5) }), baseCtx(ctx));

    // Then
    expect(decision.action).toBe('JOIN');
  });

  it('does not JOIN a running rotation of a key that fails a key check', () => {
    // When
    const decision = assessKey(
      baseFacts({ keyState: 'Disabled', onDemandRotationStartDate: secondsAgo(5) }),
      baseCtx(),
    );

    // Then
    expect(verdict(decision)).toBe('SKIP:KEY_NOT_ENABLED');
  });

  it('DRY_RUN for an eligible key in a dry run', () => {
    // When
    const decision = assessKey(baseFacts({ onDemandRotationsUsed: 4 }), baseCtx({ dryRun: true }));

    // Then
    expect(decision).toEqual({
      action: 'DRY_RUN',
      wouldJoin: false,
      detail: expect.stringContaining('20 rotations would be left'),
    });
  });

  it('DRY_RUN with wouldJoin for a running rotation in a dry run', () => {
    // When
    const decision = assessKey(baseFacts({ onDemandRotationStartDate: secondsAgo(5) }), baseCtx({ dryRun: true }));

    // Then
    expect(decision).toEqual({ action: 'DRY_RUN', wouldJoin: true, detail: expect.stringContaining('would join') });
  });

  it('a dry run still reports why an ineligible key would be skipped', () => {
    // When
    const decision = assessKey(baseFacts({ onDemandRotationsUsed: 25 }), baseCtx({ dryRun: true }));

    // Then
    expect(verdict(decision)).toBe('SKIP:BUDGET_EXHAUSTED');
  });
});

describe('assessKey: the daily cap (every source)', () => {
  // Rotations 2 h, 5 h and 20 h before NOW (2025-06-01T12:00Z); the cooldown (15 min) is not what decides.
  const threeInADay = [secondsAgo(2 * HOUR), secondsAgo(5 * HOUR), secondsAgo(20 * HOUR)];
  const history = (dates: Date[]): Partial<KeyFacts> => ({
    onDemandRotationsUsed: dates.length,
    lastOnDemandRotation: dates[0]!,
    onDemandRotationDates: dates,
  });
  const short = { cooldownSeconds: 15 * 60 };

  it.each<[string, Partial<KeyFacts>, Partial<AssessContext>, string, string | RegExp]>([
    [
      'an automatic finding, cap reached',
      history(threeInADay),
      short,
      'SKIP:RECENTLY_ROTATED',
      '3 on-demand rotations of this key in the last 24 h; every rotation stops at 3 per key per 24 h (dailyRotationCap); next rotation allowed from 2025-06-01T16:00:00.000Z.',
    ],
    [
      'a manual request, cap reached',
      history(threeInADay),
      { ...short, source: 'manual' },
      'SKIP:RECENTLY_ROTATED',
      /\(dailyRotationCap\); next rotation allowed from 2025-06-01T16:00:00\.000Z\.$/,
    ],
    [
      'four in the window: the slot frees when the second oldest is a day old',
      history([secondsAgo(HOUR), ...threeInADay]),
      short,
      'SKIP:RECENTLY_ROTATED',
      '4 on-demand rotations of this key in the last 24 h; every rotation stops at 3 per key per 24 h (dailyRotationCap); next rotation allowed from 2025-06-02T07:00:00.000Z.',
    ],
    [
      'a forced request within forceDailyCap',
      history([secondsAgo(2 * HOUR)]),
      { ...short, source: 'manual', force: true },
      'ROTATE',
      /^Eligible/,
    ],
    [
      'a forced request at forceDailyCap: the break-glass cap is named',
      history(threeInADay.slice(0, 2)),
      { ...short, source: 'manual', force: true },
      'SKIP:RECENTLY_ROTATED',
      'Break-glass refused: 2 on-demand rotations of this key in the last 24 h; forced rotations stop at 2 per key per 24 h (forceDailyCap); next forced rotation allowed from 2025-06-02T07:00:00.000Z.',
    ],
    [
      'a forced request with a larger forceDailyCap still stops at dailyRotationCap',
      history(threeInADay),
      { ...short, source: 'manual', force: true, forceDailyCap: 5 },
      'SKIP:RECENTLY_ROTATED',
      /every rotation stops at 3 per key per 24 h \(dailyRotationCap\); next rotation allowed from 2025-06-01T16:00:00\.000Z\.$/,
    ],
    [
      'the oldest exactly 24 h ago is out of the window',
      history([secondsAgo(2 * HOUR), secondsAgo(5 * HOUR), secondsAgo(24 * HOUR)]),
      short,
      'ROTATE',
      /^Eligible/,
    ],
    [
      'no ListKeyRotations dates: the last rotation counts, cap 1',
      { onDemandRotationsUsed: 4, lastOnDemandRotation: secondsAgo(2 * HOUR) },
      { ...short, dailyRotationCap: 1 },
      'SKIP:RECENTLY_ROTATED',
      /^1 on-demand rotations .* next rotation allowed from 2025-06-02T10:00:00\.000Z\.$/,
    ],
  ])('%s', (_name, facts, ctx, expected, detail) => {
    // When
    const decision = assessKey(baseFacts(facts), baseCtx(ctx));

    // Then
    expect(verdict(decision)).toBe(expected);
    if (typeof detail === 'string') expect(decision.detail).toBe(detail);
    else expect(decision.detail).toMatch(detail);
  });
});

describe('assessKey: precedence', () => {
  it.each(
    cases([
      ['foreign + AWS managed', { account: '444455556666', keyManager: 'AWS' }, {}, 'SKIP:FOREIGN_ACCOUNT'],
      ['AWS managed + disabled', { keyManager: 'AWS', keyState: 'Disabled' }, {}, 'SKIP:AWS_MANAGED'],
      ['HMAC + disabled', { keySpec: 'HMAC_256', keyState: 'Disabled' }, {}, 'SKIP:UNSUPPORTED_KEY_SPEC'],
      ['CloudHSM + disabled', { origin: 'AWS_CLOUDHSM', keyState: 'Disabled' }, {}, 'SKIP:CUSTOM_KEY_STORE'],
      [
        'disabled + opted out',
        { keyState: 'Disabled', tags: { 'kms-incident-rotation': 'disabled' } },
        {},
        'SKIP:KEY_NOT_ENABLED',
      ],
      [
        'not staged + opted out',
        { origin: 'EXTERNAL', tags: { 'kms-incident-rotation': 'disabled' } },
        {},
        'SKIP:IMPORTED_MATERIAL_NOT_STAGED',
      ],
      [
        'opted out + budget exhausted',
        { tags: { 'kms-incident-rotation': 'disabled' }, onDemandRotationsUsed: 25 },
        {},
        'SKIP:OPTED_OUT',
      ],
      [
        'opted out + rotation running',
        { tags: { 'kms-incident-rotation': 'disabled' }, onDemandRotationStartDate: secondsAgo(5) },
        {},
        'SKIP:OPTED_OUT',
      ],
      [
        'budget exhausted + recently rotated',
        { onDemandRotationsUsed: 25, lastOnDemandRotation: secondsAgo(10) },
        {},
        'SKIP:BUDGET_EXHAUSTED',
      ],
      [
        'recently rotated + inside the reserve',
        { onDemandRotationsUsed: 24, lastOnDemandRotation: secondsAgo(10) },
        {},
        'SKIP:RECENTLY_ROTATED',
      ],
    ]),
  )('$name -> $expected', ({ facts, ctx, expected }) => {
    // When
    const decision = assessKey(baseFacts(facts), baseCtx(ctx));

    // Then
    expect(verdict(decision)).toBe(expected);
  });
});

describe('assessKey: properties', () => {
  const arbFacts = fc.record({
    arn: fc.constant(baseFacts().arn),
    account: fc.constantFrom(ACCOUNT, '444455556666'),
    keyManager: fc.constantFrom('CUSTOMER', 'AWS', 'UNKNOWN'),
    keySpec: fc.constantFrom(
      'SYMMETRIC_DEFAULT',
      'RSA_2048',
      'HMAC_256',
      'ECC_NIST_P384',
      'ML_DSA_44',
      'SM2',
      'UNKNOWN',
    ),
    keyUsage: fc.constantFrom('ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT'),
    origin: fc.constantFrom('AWS_KMS', 'EXTERNAL', 'AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE'),
    keyState: fc.constantFrom(
      'Enabled',
      'Disabled',
      'PendingDeletion',
      'PendingImport',
      'Unavailable',
      'Creating',
      'Updating',
    ),
    customKeyStoreId: fc.option(fc.constant('cks-1234567890abcdef0'), { nil: null }),
    multiRegionKeyType: fc.constantFrom<'PRIMARY' | 'REPLICA' | null>('PRIMARY', 'REPLICA', null),
    currentKeyMaterialId: fc.option(fc.stringMatching(/^[0-9a-f]{1,8}$/), { nil: null }),
    tags: fc.dictionary(
      fc.constantFrom('kms-incident-rotation', 'owner', 'env'),
      fc.constantFrom('disabled', 'Disabled', 'enabled', '', 'x'),
    ),
    importedMaterialStaged: fc.boolean(),
    onDemandRotationStartDate: fc.option(fc.date({ min: new Date('2024-01-01'), max: NOW, noInvalidDate: true }), {
      nil: null,
    }),
    onDemandRotationsUsed: fc.nat({ max: 40 }),
    lastOnDemandRotation: fc.option(
      fc.date({ min: new Date('2024-01-01'), max: new Date('2026-01-01'), noInvalidDate: true }),
      { nil: null },
    ),
  });
  const arbCtx = fc.record({
    accountId: fc.constant(ACCOUNT),
    source: fc.constantFrom(
      'guardduty' as const,
      'securityhub' as const,
      'access-analyzer' as const,
      'manual' as const,
    ),
    dryRun: fc.boolean(),
    force: fc.boolean(),
    rotationBudget: fc.integer({ min: 1, max: 30 }),
    automaticReserve: fc.integer({ min: 0, max: 5 }),
    cooldownSeconds: fc.integer({ min: 0, max: 30 * 24 * HOUR }),
    optOutTag: fc.constant('kms-incident-rotation'),
    forceMinIntervalSeconds: fc.integer({ min: 0, max: 3600 }),
    forceDailyCap: fc.integer({ min: 1, max: 5 }),
    dailyRotationCap: fc.integer({ min: 1, max: 5 }),
    now: fc.constant(NOW),
  });

  it('always decides within the vocabulary, never ROTATE when the budget is used or in a dry run', () => {
    fc.assert(
      fc.property(arbFacts, arbCtx, (facts, ctx) => {
        // When
        const decision = assessKey(facts, ctx);

        // Then
        expect(['SKIP', 'DRY_RUN', 'JOIN', 'ROTATE']).toContain(decision.action);
        if (decision.action === 'SKIP') expect(SKIP_REASONS).toContain(decision.reason);
        expect(typeof decision.detail).toBe('string');
        if (facts.onDemandRotationsUsed >= ctx.rotationBudget || ctx.dryRun) expect(decision.action).not.toBe('ROTATE');
        if (ctx.dryRun) expect(decision.action).not.toBe('JOIN');
        if (decision.action === 'ROTATE') {
          const inLastDay =
            facts.lastOnDemandRotation && facts.lastOnDemandRotation.getTime() > NOW.getTime() - 24 * HOUR * 1000
              ? 1
              : 0;
          expect(inLastDay).toBeLessThan(Math.min(ctx.dailyRotationCap, ctx.force ? ctx.forceDailyCap : 5));
          expect(facts.account).toBe(ctx.accountId);
          expect(facts.keyManager).toBe('CUSTOMER');
          expect(facts.keyState).toBe('Enabled');
          expect(facts.onDemandRotationStartDate).toBeNull();
          expect(ctx.rotationBudget - facts.onDemandRotationsUsed).toBeGreaterThan(
            ctx.source === 'manual' && ctx.force ? 0 : ctx.automaticReserve,
          );
        }
      }),
      { numRuns: 500 },
    );
  });

  it('decides from its inputs alone: the clock it reads is ctx.now, and it changes neither input', () => {
    fc.assert(
      fc.property(
        // Eligible keys with rotations around ctx.now, so that the clock-dependent checks decide.
        fc.oneof(
          arbFacts,
          fc
            .record({ ago: fc.integer({ min: 0, max: 3 * 24 * 3600 }), used: fc.nat({ max: 25 }) })
            .map(({ ago, used }) =>
              baseFacts({
                lastOnDemandRotation: secondsAgo(ago),
                onDemandRotationDates: [secondsAgo(ago)],
                onDemandRotationsUsed: used,
              }),
            ),
        ),
        fc.oneof(
          arbCtx,
          fc
            .record({ force: fc.boolean(), source: fc.constantFrom('guardduty' as const, 'manual' as const) })
            .map((o) => baseCtx(o)),
        ),
        fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }),
        (facts, ctx, wallClock) => {
          const [factsBefore, ctxBefore] = [structuredClone(facts), structuredClone(ctx)];
          // Once with the wall clock at ctx.now, once elsewhere: a check that read Date.now() would differ.
          const at = (clock: Date) => {
            jest.useFakeTimers({ now: clock });
            try {
              return assessKey(facts, ctx);
            } finally {
              jest.useRealTimers();
            }
          };
          expect(at(wallClock)).toEqual(at(ctx.now));
          expect([facts, ctx]).toEqual([factsBefore, ctxBefore]);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('formatAge', () => {
  it.each<[number, string]>([
    [30, '30 s'],
    [89, '89 s'],
    [90, '2 min'],
    [3600, '60 min'],
    [5400, '2 h'],
    [47 * HOUR, '47 h'],
    [48 * HOUR, '2 days'],
  ])('%d s -> %s', (seconds, expected) => {
    expect(formatAge(seconds)).toBe(expected);
  });
});
