import { assessKey, type Decision } from '../../lambdas/domain/eligibility';
import { inspectKey, type Inspection } from '../../lambdas/adapters/inspect';
import { classifyKeyRef } from '../../lambdas/domain/intake/intake';
import type { Reason } from '../../lambdas/domain/contracts';
import { NEXT_STEP, REASON_TEXT } from '../../lambdas/domain/reasons';
import { parseSettings, SettingsError, type Settings } from '../../lib/settings';
import { Aws, type AwsFlags } from '../aws';
import { usageError } from '../errors';
import { EXIT, type ExitCode } from '../exit-codes';
import { colourFor, nowOf, type Io } from '../io';

export interface CheckOptions extends AwsFlags {
  key: string;
  json?: boolean;
  budget?: number;
  reserve?: number;
  force?: boolean;
}

/** What `check --json` prints. */
export interface CheckReport {
  keyRef: string;
  found: boolean;
  keyArn: string | null;
  /** The multi-Region replica named, when keyArn is its primary. */
  via: string | null;
  region: string;
  aliases: string[];
  keySpec: string | null;
  keyUsage: string | null;
  origin: string | null;
  keyState: string | null;
  keyManager: string | null;
  multiRegionKeyType: string | null;
  eligible: boolean;
  /** ROTATE, JOIN (a rotation is running), APPROVAL (rotates once approved) or SKIP. */
  action: Exclude<Decision['action'], 'DRY_RUN'>;
  reason: Reason | null;
  reasonText: string | null;
  detail: string;
  nextStep: string | null;
  onDemandRotations: { used: number | null; remaining: number | null; budget: number; reserve: number };
  automaticRotation: { enabled: boolean; nextRotationDate: string | null };
  onDemandRotationInProgressSince: string | null;
  rotations: { date: string | null; type: string | null; keyMaterialId: string | null; keyMaterialState: string | null }[];
}

const KEY_EXPECTED = 'expected a KMS key id, key ARN, alias name or alias ARN';

function settingsFor(opts: CheckOptions): Settings {
  try {
    return parseSettings(
      { ...(opts.budget !== undefined ? { rotationBudget: opts.budget } : {}), ...(opts.reserve !== undefined ? { automaticReserve: opts.reserve } : {}) },
      '--budget/--reserve',
    );
  } catch (error) {
    if (error instanceof SettingsError) {
      const names: Record<string, string> = { rotationBudget: '--budget', automaticReserve: '--reserve' };
      throw usageError(error.problems.map((p) => p.replace(/^(rotationBudget|automaticReserve)/, (f) => names[f]!)).join('; '));
    }
    throw error;
  }
}

/**
 * Read-only: what the workflow's Assess step would decide for this key right now, and why, with
 * the rotation history. Uses the workflow's own inspectKey/assessKey with the default settings.
 */
export async function check(io: Io, opts: CheckOptions): Promise<ExitCode> {
  const ref = opts.key.trim();
  if (!classifyKeyRef(ref)) throw usageError(`--key: ${KEY_EXPECTED}, got ${JSON.stringify(opts.key.slice(0, 80))}`);
  const settings = settingsFor(opts);
  const aws = new Aws(opts, io.env);
  const identity = await aws.callerIdentity();
  const region = await aws.region();
  const inspection = await aws.call('KMS reads (DescribeKey, ListAliases, ListResourceTags, GetKeyRotationStatus, ListKeyRotations)', () => inspectKey(aws.kmsKeys(), ref, { accountId: identity.account, region }));
  const report = buildReport(ref, region, inspection, settings, identity.account, opts.force === true, nowOf(io)());
  if (opts.json) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else io.stdout.write(formatCheck(report, io));
  return EXIT.OK;
}

export function buildReport(ref: string, region: string, inspection: Inspection, settings: Settings, accountId: string, force: boolean, now: Date): CheckReport {
  const budget = settings.rotationBudget;
  const reserve = settings.automaticReserve;
  if (!inspection.found) {
    return {
      keyRef: ref,
      found: false,
      keyArn: inspection.keyArn,
      via: null,
      region,
      aliases: [],
      keySpec: null,
      keyUsage: null,
      origin: null,
      keyState: null,
      keyManager: null,
      multiRegionKeyType: null,
      eligible: false,
      action: 'SKIP',
      reason: 'NOT_FOUND',
      reasonText: REASON_TEXT.NOT_FOUND,
      detail: inspection.detail,
      nextStep: NEXT_STEP.NOT_FOUND,
      onDemandRotations: { used: null, remaining: null, budget, reserve },
      automaticRotation: { enabled: false, nextRotationDate: null },
      onDemandRotationInProgressSince: null,
      rotations: [],
    };
  }
  const { facts, history } = inspection;
  const decision: Decision = assessKey(facts, {
    accountId,
    source: 'manual',
    dryRun: false,
    force,
    rotationBudget: budget,
    automaticReserve: reserve,
    cooldownSeconds: settings.cooldownMinutes * 60,
    optOutTag: settings.optOutTag,
    now,
  });
  const foreign = facts.account !== accountId;
  const reason = decision.action === 'SKIP' ? decision.reason : null;
  return {
    keyRef: ref,
    found: true,
    keyArn: inspection.keyArn,
    via: inspection.via,
    region: inspection.region,
    aliases: inspection.aliases,
    keySpec: foreign ? null : facts.keySpec,
    keyUsage: foreign ? null : facts.keyUsage,
    origin: foreign ? null : facts.origin,
    keyState: foreign ? null : facts.keyState,
    keyManager: foreign ? null : facts.keyManager,
    multiRegionKeyType: facts.multiRegionKeyType,
    eligible: decision.action !== 'SKIP',
    action: decision.action === 'DRY_RUN' ? 'ROTATE' : decision.action,
    reason,
    reasonText: reason ? REASON_TEXT[reason] : null,
    detail: decision.detail,
    nextStep: reason ? NEXT_STEP[reason].replaceAll('<key ARN>', inspection.keyArn) : null,
    onDemandRotations: {
      used: foreign ? null : facts.onDemandRotationsUsed,
      remaining: foreign ? null : Math.max(0, budget - facts.onDemandRotationsUsed),
      budget,
      reserve,
    },
    automaticRotation: { enabled: history.automaticRotationEnabled, nextRotationDate: history.nextAutomaticRotation?.toISOString() ?? null },
    onDemandRotationInProgressSince: history.onDemandRotationStartDate?.toISOString() ?? null,
    rotations: history.rotations.map((r) => ({
      date: r.RotationDate?.toISOString() ?? null,
      type: r.RotationType ?? null,
      keyMaterialId: r.KeyMaterialId ?? null,
      keyMaterialState: r.KeyMaterialState ?? null,
    })),
  };
}

const MAX_ROTATIONS_SHOWN = 10;

function when(iso: string | null): string {
  return iso ? `${iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '')} UTC` : 'unknown date';
}

export function formatCheck(r: CheckReport, io: Io): string {
  const p = colourFor(io, 'stdout');
  const out: string[] = [];
  const row = (label: string, value: string) => out.push(`${p.bold(label.padEnd(14))}${value}`);
  const more = (value: string) => out.push(`${''.padEnd(14)}${value}`);

  row('Key', r.keyArn ?? r.keyRef);
  if (r.keyArn && r.keyRef !== r.keyArn && !r.via) row('Named as', r.keyRef);
  if (r.via) row('Via', `${r.via} (a multi-Region replica: its primary, above, is the key that rotates)`);
  if (r.found) {
    row('Aliases', r.aliases.length ? r.aliases.join(', ') : '(none)');
    if (r.keySpec === null) {
      row('Details', 'not looked up: the key belongs to another account');
    } else {
      row('Key spec', `${r.keySpec} / ${r.keyUsage}`);
      row('Origin', r.origin ?? '-');
      row('State', r.keyState ?? '-');
      row('Manager', r.keyManager ?? '-');
      if (r.multiRegionKeyType) row('Multi-Region', `${r.multiRegionKeyType}${r.via ? ' (the primary of the replica named)' : ''}`);
    }
  }

  if (r.eligible) {
    const note =
      r.action === 'JOIN'
        ? ' (a rotation is already running: start would join it, spending nothing)'
        : r.action === 'APPROVAL'
          ? ' (after approval: the workflow waits for `kms-rotate approve <token>`)'
          : '';
    row('Eligible now', `${p.green('yes')}${note}`);
    more(r.detail);
  } else {
    row('Eligible now', `${p.red('no')} - ${p.yellow(r.reason ?? 'SKIPPED')}: ${r.reasonText ?? ''}`);
    more(`Detail: ${r.detail}`);
    if (r.nextStep) more(`Next step: ${r.nextStep}`);
  }

  if (r.found && r.keySpec !== null) {
    const { used, remaining, budget, reserve } = r.onDemandRotations;
    row('On demand', `${used ?? '?'} of ${budget} lifetime rotations used, ${remaining ?? '?'} left (the last ${reserve} are kept for \`start --force\`)`);
    row('Automatic', r.automaticRotation.enabled ? `enabled, next ${when(r.automaticRotation.nextRotationDate)}` : 'disabled');
    row('In progress', r.onDemandRotationInProgressSince ? p.cyan(`an on-demand rotation is running, started ${when(r.onDemandRotationInProgressSince)}`) : 'no on-demand rotation is running');
    if (r.rotations.length === 0) {
      row('Rotations', 'none yet');
    } else {
      const shown = r.rotations.slice(0, MAX_ROTATIONS_SHOWN);
      shown.forEach((rot, i) => {
        // ALL_KEY_MATERIAL (imported keys) also lists material that no rotation made: the initial one, staged ones.
        const what = rot.type ? `${when(rot.date)}  ${rot.type.padEnd(9)}` : rot.date ? `${when(rot.date)}  ${'imported'.padEnd(9)}` : 'initial or staged key material';
        const text = `${what}${rot.keyMaterialId ? `  material ${rot.keyMaterialId.slice(0, 16)}…` : ''}${rot.keyMaterialState && rot.keyMaterialState !== 'NON_CURRENT' ? ` (${rot.keyMaterialState})` : ''}`;
        if (i === 0) row('Rotations', text);
        else more(text);
      });
      if (r.rotations.length > shown.length) more(`... ${r.rotations.length - shown.length} older`);
    }
  }
  return `${out.join('\n')}\n`;
}
