import type { Reason, RequestSource } from '../contracts';

/**
 * Everything the decision needs about one key, gathered by the KMS adapter (lambdas/adapters/) from
 * DescribeKey, GetKeyRotationStatus, ListKeyRotations and ListResourceTags.
 */
export interface KeyFacts {
  arn: string;
  account: string;
  keyManager: string;
  keySpec: string;
  keyUsage: string;
  origin: string;
  keyState: string;
  customKeyStoreId: string | null;
  multiRegionKeyType: 'PRIMARY' | 'REPLICA' | null;
  currentKeyMaterialId: string | null;
  tags: Record<string, string>;
  /** EXTERNAL origin: new key material imported and in PENDING_ROTATION (ready to rotate). */
  importedMaterialStaged: boolean;
  /** Set while an on-demand rotation is running (GetKeyRotationStatus). */
  onDemandRotationStartDate: Date | null;
  onDemandRotationsUsed: number;
  lastOnDemandRotation: Date | null;
  /** Dates of the ON_DEMAND rotations (ListKeyRotations' RotationDate), for the daily caps; absent: only lastOnDemandRotation is known. */
  onDemandRotationDates?: Date[];
  /** When the key's newest key material was made (latest completed rotation of any type, else CreationDate); absent: unknown. */
  newestMaterialDate?: Date | null;
}

export interface AssessContext {
  accountId: string;
  source: RequestSource;
  dryRun: boolean;
  force: boolean;
  rotationBudget: number;
  automaticReserve: number;
  cooldownSeconds: number;
  optOutTag: string;
  /** Break-glass bounds (settings forceMinIntervalMinutes, forceDailyCap): what `force` can never lift. */
  forceMinIntervalSeconds: number;
  forceDailyCap: number;
  /** Setting dailyRotationCap: every source, forced or not, stops at this many on-demand rotations of a key in 24 h. */
  dailyRotationCap: number;
  now: Date;
}

export type Decision =
  | { action: 'SKIP'; reason: Reason; detail: string }
  | { action: 'DRY_RUN'; detail: string; wouldJoin: boolean }
  | { action: 'JOIN'; detail: string }
  | { action: 'ROTATE'; detail: string }
  | { action: 'APPROVAL'; detail: string };

/** A named eligibility rule: a reason when the key fails it, nothing when it passes. */
export type Check = (facts: KeyFacts, ctx: AssessContext) => { reason: Reason; detail: string } | undefined;

export const foreignAccount: Check = (f, c) =>
  f.account !== c.accountId
    ? { reason: 'FOREIGN_ACCOUNT', detail: `The key belongs to account ${f.account}, not ${c.accountId}.` }
    : undefined;

export const awsManaged: Check = (f) =>
  f.keyManager !== 'CUSTOMER'
    ? {
        reason: 'AWS_MANAGED',
        detail: `The key is ${f.keyManager} managed; AWS rotates it and on-demand rotation is not allowed.`,
      }
    : undefined;

export const unsupportedKeySpec: Check = (f) =>
  f.keySpec !== 'SYMMETRIC_DEFAULT' || f.keyUsage !== 'ENCRYPT_DECRYPT'
    ? {
        reason: 'UNSUPPORTED_KEY_SPEC',
        detail: `The key is ${f.keySpec}/${f.keyUsage}; only SYMMETRIC_DEFAULT/ENCRYPT_DECRYPT keys rotate on demand.`,
      }
    : undefined;

export const customKeyStore: Check = (f) =>
  f.origin === 'AWS_CLOUDHSM' || f.origin === 'EXTERNAL_KEY_STORE' || f.customKeyStoreId
    ? {
        reason: 'CUSTOM_KEY_STORE',
        detail: `The key lives in a custom key store (${f.origin}${f.customKeyStoreId ? ` ${f.customKeyStoreId}` : ''}).`,
      }
    : undefined;

export const keyNotEnabled: Check = (f) =>
  f.keyState !== 'Enabled' ? { reason: 'KEY_NOT_ENABLED', detail: `The key is ${f.keyState}.` } : undefined;

export const importedMaterialNotStaged: Check = (f) =>
  f.origin === 'EXTERNAL' && !f.importedMaterialStaged
    ? {
        reason: 'IMPORTED_MATERIAL_NOT_STAGED',
        detail: 'The key uses imported key material and no new material is in PENDING_ROTATION.',
      }
    : undefined;

export const optedOut: Check = (f, c) =>
  f.tags[c.optOutTag]?.toLowerCase() === 'disabled'
    ? { reason: 'OPTED_OUT', detail: `The key is tagged ${c.optOutTag}=disabled.` }
    : undefined;

/** The opt-out verdict for tags read again (Rotate, after an approval wait): its detail, or null. */
export function optedOutNow(tags: Record<string, string>, optOutTag: string): string | null {
  return tags[optOutTag]?.toLowerCase() === 'disabled' ? `The key is tagged ${optOutTag}=disabled` : null;
}

/** A key tagged `<optOutTag>=approval` is rotated only after an on-call engineer approves. */
export function requiresApproval(f: KeyFacts, c: AssessContext): boolean {
  return f.tags[c.optOutTag]?.toLowerCase() === 'approval';
}

export const budgetExhausted: Check = (f, c) =>
  f.onDemandRotationsUsed >= c.rotationBudget
    ? { reason: 'BUDGET_EXHAUSTED', detail: `All ${c.rotationBudget} lifetime on-demand rotations are used.` }
    : undefined;

export const recentlyRotated: Check = (f, c) => {
  if (c.force || !f.lastOnDemandRotation) return undefined;
  const ageSeconds = (c.now.getTime() - f.lastOnDemandRotation.getTime()) / 1000;
  return ageSeconds < c.cooldownSeconds
    ? {
        reason: 'RECENTLY_ROTATED',
        detail: `Rotated on demand ${formatAge(ageSeconds)} ago (${f.lastOnDemandRotation.toISOString()}); the cooldown is ${formatAge(c.cooldownSeconds)}.`,
      }
    : undefined;
};

/**
 * Break-glass is bounded too: a forced rotation needs `forceMinIntervalSeconds` since the key's
 * last on-demand rotation, and fewer than `forceDailyCap` on-demand rotations of the key in the
 * last 24 h, so that repeated forcing cannot drain the lifetime budget (dailyCapReached applies too).
 */
export const breakGlassBounds: Check = (f, c) => {
  if (!c.force) return undefined;
  if (f.lastOnDemandRotation) {
    const ageSeconds = (c.now.getTime() - f.lastOnDemandRotation.getTime()) / 1000;
    if (ageSeconds < c.forceMinIntervalSeconds) {
      return {
        reason: 'RECENTLY_ROTATED',
        detail: `Break-glass refused: rotated on demand ${formatAge(Math.max(0, ageSeconds))} ago (${f.lastOnDemandRotation.toISOString()}); forced rotations of one key need ${formatAge(c.forceMinIntervalSeconds)} between them (forceMinIntervalMinutes); next forced rotation allowed from ${new Date(f.lastOnDemandRotation.getTime() + c.forceMinIntervalSeconds * 1000).toISOString()}.`,
      };
    }
  }
  const window = capWindow(f, c.now, c.forceDailyCap);
  return window
    ? {
        reason: 'RECENTLY_ROTATED',
        detail: `Break-glass refused: ${window.count} on-demand rotations of this key in the last 24 h; forced rotations stop at ${c.forceDailyCap} per key per 24 h (forceDailyCap); next forced rotation allowed from ${window.freedAt}.`,
      }
    : undefined;
};

/**
 * Every source (automatic findings, manual requests, forced or not) stops at `dailyRotationCap`
 * on-demand rotations of one key in the last 24 h. A forced rotation meets breakGlassBounds' smaller
 * forceDailyCap first; this still holds should a context carry a larger one.
 */
export const dailyCapReached: Check = (f, c) => {
  const window = capWindow(f, c.now, c.dailyRotationCap);
  return window
    ? {
        reason: 'RECENTLY_ROTATED',
        detail: `${window.count} on-demand rotations of this key in the last 24 h; every rotation stops at ${c.dailyRotationCap} per key per 24 h (dailyRotationCap); next rotation allowed from ${window.freedAt}.`,
      }
    : undefined;
};

const DAY_MS = 86_400_000;

/** The key's on-demand rotations in the 24 h before `now` when they reach `cap`, and when the cap frees a slot; undefined below the cap. */
function capWindow(f: KeyFacts, now: Date, cap: number): { count: number; freedAt: string } | undefined {
  const dayAgo = now.getTime() - DAY_MS;
  // Without the full history (not from ListKeyRotations), the last rotation is the one known.
  const known = f.onDemandRotationDates ?? (f.lastOnDemandRotation ? [f.lastOnDemandRotation] : []);
  const oldestFirst = known
    .map((d) => d.getTime())
    .filter((t) => t > dayAgo)
    .sort((x, y) => x - y);
  if (oldestFirst.length < cap) return undefined;
  // The cap frees a slot when the (count - cap + 1)-th oldest rotation of the window is 24 h old.
  return {
    count: oldestFirst.length,
    freedAt: new Date(oldestFirst[oldestFirst.length - cap]! + DAY_MS).toISOString(),
  };
}

/**
 * The last `automaticReserve` rotations are kept for people: an automatic trigger never spends
 * them, and a manual request spends them only with `force`.
 */
export const budgetReserve: Check = (f, c) => {
  const remaining = c.rotationBudget - f.onDemandRotationsUsed;
  const mayUseReserve = c.source === 'manual' && c.force;
  return !mayUseReserve && remaining <= c.automaticReserve
    ? {
        reason: 'BUDGET_RESERVE',
        detail: `Only ${remaining} of ${c.rotationBudget} on-demand rotations are left and ${c.automaticReserve} are kept in reserve for a manual request with force.`,
      }
    : undefined;
};

/** Rules on the key itself, in the order they are reported. */
export const KEY_CHECKS: readonly Check[] = [
  foreignAccount,
  awsManaged,
  unsupportedKeySpec,
  customKeyStore,
  keyNotEnabled,
  importedMaterialNotStaged,
  optedOut,
];

/** Rules on the rotation history, applied only when no rotation is running (joining spends nothing). */
export const BUDGET_CHECKS: readonly Check[] = [
  budgetExhausted,
  recentlyRotated,
  breakGlassBounds,
  dailyCapReached,
  budgetReserve,
];

/** First failing check, if any. */
export function firstFailure(checks: readonly Check[], facts: KeyFacts, ctx: AssessContext) {
  for (const check of checks) {
    const verdict = check(facts, ctx);
    if (verdict) return verdict;
  }
  return undefined;
}

/** Decide what to do with one key. Pure. */
export function assessKey(facts: KeyFacts, ctx: AssessContext): Decision {
  const keyProblem = firstFailure(KEY_CHECKS, facts, ctx);
  if (keyProblem) return { action: 'SKIP', ...keyProblem };

  if (facts.onDemandRotationStartDate) {
    const detail = `An on-demand rotation started at ${facts.onDemandRotationStartDate.toISOString()} is running; joining it spends no rotation.`;
    return ctx.dryRun
      ? { action: 'DRY_RUN', detail: `Dry run: would join the running rotation. ${detail}`, wouldJoin: true }
      : { action: 'JOIN', detail };
  }

  const budgetProblem = firstFailure(BUDGET_CHECKS, facts, ctx);
  if (budgetProblem) return { action: 'SKIP', ...budgetProblem };

  const after = ctx.rotationBudget - facts.onDemandRotationsUsed - 1;
  if (ctx.dryRun) {
    return {
      action: 'DRY_RUN',
      detail: `Dry run: the key is eligible and would be rotated (${after} rotations would be left).`,
      wouldJoin: false,
    };
  }
  if (requiresApproval(facts, ctx)) {
    return {
      action: 'APPROVAL',
      detail: `Eligible; the key is tagged ${ctx.optOutTag}=approval, so an on-call decision is needed before rotating.`,
    };
  }
  return {
    action: 'ROTATE',
    detail: `Eligible; rotating leaves ${after} of ${ctx.rotationBudget} on-demand rotations.`,
  };
}

export function formatAge(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} days`;
}
