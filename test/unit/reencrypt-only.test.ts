/** Re-encrypt only (domain/reencryption/reencrypt-only.ts): which material counts, the decision, the request fields, the plan, and LockKey after an approval. */
import {
  assessReencryptOnly,
  newestMaterialDate,
  readReencryptOnly,
} from '../../lambdas/domain/reencryption/reencrypt-only';
import type { AssessContext, KeyFacts } from '../../lambdas/domain/rotation/eligibility';
import { planReencryption } from '../../lambdas/domain/reencryption';
import { newKeyTask } from '../../lambdas/domain/rotation/key-task';
import { lockKey } from '../../lambdas/lock-key/handler';
import type { Ledger } from '../../lambdas/adapters/ledger';
import { ACCOUNT, KEY_ARN, NOW, config, request } from './handlers/fixtures';

const at = (iso: string) => new Date(iso);

function facts(
  overrides: Partial<KeyFacts & { newestMaterialDate: Date | null }> = {},
): KeyFacts & { newestMaterialDate: Date | null } {
  return {
    arn: KEY_ARN,
    account: ACCOUNT,
    keyManager: 'CUSTOMER',
    keySpec: 'SYMMETRIC_DEFAULT',
    keyUsage: 'ENCRYPT_DECRYPT',
    origin: 'AWS_KMS',
    keyState: 'Enabled',
    customKeyStoreId: null,
    multiRegionKeyType: null,
    currentKeyMaterialId: 'm-2',
    tags: {},
    importedMaterialStaged: false,
    onDemandRotationStartDate: null,
    onDemandRotationsUsed: 25,
    lastOnDemandRotation: at('2025-06-01T10:00:00Z'),
    newestMaterialDate: at('2025-06-01T10:00:00Z'),
    ...overrides,
  };
}
function ctx(overrides: Partial<AssessContext> = {}): AssessContext {
  return {
    accountId: ACCOUNT,
    source: 'manual',
    dryRun: false,
    force: false,
    rotationBudget: 25,
    automaticReserve: 2,
    cooldownSeconds: 86400,
    optOutTag: 'kms-incident-rotation',
    forceMinIntervalSeconds: 600,
    forceDailyCap: 2,
    dailyRotationCap: 3,
    now: NOW,
    ...overrides,
  };
}

describe('newestMaterialDate', () => {
  it('is the latest completed rotation of any type (automatic included), ignoring staged material', () => {
    const rotations = [
      { RotationDate: at('2025-01-01T00:00:00Z'), RotationType: 'ON_DEMAND' },
      { RotationDate: at('2025-05-01T00:00:00Z'), RotationType: 'AUTOMATIC' },
      { RotationDate: at('2025-06-01T00:00:00Z'), KeyMaterialState: 'PENDING_ROTATION' },
    ];
    expect(newestMaterialDate(rotations, at('2020-01-01T00:00:00Z'))).toEqual(at('2025-05-01T00:00:00Z'));
  });
  it("is the key's creation when it was never rotated; null when unknown", () => {
    expect(newestMaterialDate([], at('2020-01-01T00:00:00Z'))).toEqual(at('2020-01-01T00:00:00Z'));
    expect(newestMaterialDate([], undefined)).toBeNull();
  });
});

describe('assessReencryptOnly', () => {
  it('goes ahead when the material post-dates the exposure, even with every rotation spent (nothing is spent)', () => {
    expect(assessReencryptOnly(facts(), ctx(), { exposedAt: '2025-06-01T09:00:00.000Z' })).toMatchObject({
      action: 'REENCRYPT_ONLY',
    });
  });
  it.each([
    ['made before the exposure', '2025-06-01T11:00:00.000Z', facts()],
    ['made at the exposure itself', '2025-06-01T10:00:00.000Z', facts()],
    ['of unknown age', '2025-06-01T09:00:00.000Z', facts({ newestMaterialDate: null })],
  ])('refuses material %s: MATERIAL_PREDATES_EXPOSURE, saying to rotate first', (_what, exposedAt, f) => {
    const d = assessReencryptOnly(f, ctx(), { exposedAt });
    expect(d).toMatchObject({ action: 'SKIP', reason: 'MATERIAL_PREDATES_EXPOSURE' });
    expect(d.detail).toContain('Rotate the key first');
  });
  it('applies the key checks (a disabled key) but not the rotation-only one (staged imported material)', () => {
    expect(
      assessReencryptOnly(facts({ keyState: 'Disabled' }), ctx(), { exposedAt: '2025-06-01T09:00:00Z' }),
    ).toMatchObject({ action: 'SKIP', reason: 'KEY_NOT_ENABLED' });
    expect(
      assessReencryptOnly(facts({ origin: 'EXTERNAL' }), ctx(), { exposedAt: '2025-06-01T09:00:00Z' }),
    ).toMatchObject({ action: 'REENCRYPT_ONLY' });
  });
  it('an approval-tagged key waits for a second person; a dry run changes nothing', () => {
    expect(
      assessReencryptOnly(facts({ tags: { 'kms-incident-rotation': 'approval' } }), ctx(), {
        exposedAt: '2025-06-01T09:00:00Z',
      }),
    ).toMatchObject({ action: 'APPROVAL' });
    expect(assessReencryptOnly(facts(), ctx({ dryRun: true }), { exposedAt: '2025-06-01T09:00:00Z' })).toMatchObject({
      action: 'DRY_RUN',
    });
  });
});

describe('readReencryptOnly', () => {
  const read = (f: Partial<Parameters<typeof readReencryptOnly>[0]>) =>
    readReencryptOnly(
      { reEncryptOnly: true, exposedAt: '2025-06-01T09:00:00+02:00', hasTargets: true, forced: false, ...f },
      NOW,
    );
  it('normalises the exposure time to UTC', () =>
    expect(read({})).toEqual({ value: { exposedAt: '2025-06-01T07:00:00.000Z' } }));
  it.each([
    [{ reEncryptOnly: undefined }, /exposedAt: only with reEncryptOnly: true/],
    [{ reEncryptOnly: 'yes' }, /reEncryptOnly: expected true or false/],
    [{ exposedAt: '2025-06-01' }, /exposedAt: expected the ISO 8601 time/],
    [{ exposedAt: '2025-06-02T00:00:00Z' }, /is in the future/],
    [{ hasTargets: false }, /needs reEncrypt.targets/],
    [{ forced: true }, /break-glass \(force\) is neither needed nor allowed/],
  ])('refuses %j', (f, message) => expect((read(f) as { error: string }).error).toMatch(message));
  it('a normal request has no re-encrypt-only part', () =>
    expect(
      readReencryptOnly({ reEncryptOnly: undefined, exposedAt: undefined, hasTargets: false, forced: true }, NOW),
    ).toEqual({ value: null }));
});

describe('planning', () => {
  const settings = { buckets: ['orders'], targets: {}, auto: false };
  const targets = [{ type: 's3-sse-kms' as const, bucket: 'orders', prefix: '', origin: 'request' as const }];
  it('plans a REENCRYPT_ONLY key like a rotated one', () => {
    const plan = planReencryption(
      { source: 'manual', dryRun: false, reEncryptTargets: targets },
      [{ keyArn: KEY_ARN, outcome: 'REENCRYPT_ONLY', aliases: [] }],
      settings,
    );
    expect(plan).toMatchObject({ mode: 'RUN', units: [{ bucket: 'orders', keyArn: KEY_ARN }] });
  });
  it('refuses the targets with MATERIAL_PREDATES_EXPOSURE when the material predates the exposure', () => {
    const plan = planReencryption(
      { source: 'manual', dryRun: false, reEncryptTargets: targets },
      [{ keyArn: KEY_ARN, outcome: 'SKIPPED', reason: 'MATERIAL_PREDATES_EXPOSURE', aliases: [] }],
      settings,
    );
    expect(plan).toMatchObject({
      mode: 'NONE',
      units: [],
      refused: [{ bucket: 'orders', reason: 'MATERIAL_PREDATES_EXPOSURE' }],
    });
  });
});

test('LockKey after an approved re-encrypt-only request: REENCRYPT_ONLY, no lock taken, never Rotate', async () => {
  const ledger = { acquireKeyLock: () => Promise.reject(new Error('no lock may be taken')) } as unknown as Ledger;
  const task = {
    ...newKeyTask({
      ref: KEY_ARN,
      request: { ...request(), reEncryptOnly: { exposedAt: '2025-06-01T09:00:00.000Z' } },
      executionArn: 'exec',
    }),
    keyArn: KEY_ARN,
    next: 'APPROVAL' as const,
  };
  expect(await lockKey(task, config(), ledger, NOW)).toMatchObject({
    next: 'DONE',
    outcome: 'REENCRYPT_ONLY',
    reason: null,
  });
});
