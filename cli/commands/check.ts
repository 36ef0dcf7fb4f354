import { assessKey, type Decision } from '../../lambdas/domain/rotation/eligibility';
import { inspectKey, type Inspection } from '../../lambdas/adapters/inspect';
import { classifyKeyRef } from '../../lambdas/domain/intake/intake';
import type { Reason } from '../../lambdas/domain/contracts';
import { NEXT_STEP, REASON_TEXT } from '../../lambdas/domain/notification/reasons';
import { parseSettings, SettingsError, type Settings } from '../../lib/settings/settings';
import {
  decodePublishedSettings,
  PUBLISHED_SETTINGS,
  SETTINGS_OUTPUT,
  type PublishedSettings,
} from '../../lib/settings/published-settings';
import { Aws, STACK_NAME, type AwsFlags } from '../aws';
import { usageError } from '../errors';
import { EXIT, type ExitCode } from '../exit-codes';
import { colourFor, nowOf, type Io } from '../io';

export interface CheckOptions extends AwsFlags {
  key: string;
  json?: boolean;
  budget?: number;
  reserve?: number;
  force?: boolean;
  /** The stack whose `Settings` output to read (default KmsIncidentRotation). */
  stack?: string;
  /** Assess with the default settings, reading no stack. */
  defaultSettings?: boolean;
}

/** Where the settings `check` assessed with came from. */
export interface SettingsOrigin {
  /** `stack`: the stack's Settings output; `defaults`: the built-in defaults. */
  source: 'stack' | 'defaults';
  /** The stack read (or looked for), and its Region; null with --default-settings. */
  stack: string | null;
  region: string | null;
  /** Why the defaults were used, or which values the flags overrode; null when nothing to say. */
  note: string | null;
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
  rotations: {
    date: string | null;
    type: string | null;
    keyMaterialId: string | null;
    keyMaterialState: string | null;
  }[];
  /** The settings assessed with (as the deployed workflow has them), and where they came from. */
  settings: SettingsOrigin & { values: PublishedSettings };
  /**
   * When the key that rotates is in another Region than the CLI's (a replica named, or a primary
   * elsewhere): where it rotates and which Region's stack acts on what. Null otherwise.
   */
  crossRegion: CrossRegion | null;
}

/** A key rotated outside the CLI's Region (see crossRegionOf). */
export interface CrossRegion {
  /** The Region of the key that rotates (a multi-Region key's primary). */
  keyRegion: string;
  /** The CLI's Region: its stack's runs (findings arriving here, `kms-rotate start` here) rotate the key in keyRegion. */
  cliRegion: string;
  /** The same in words. */
  note: string;
}

/**
 * What holds for a key outside the CLI's Region. GuardDuty and Security Hub findings are Regional
 * events: the stack of the Region where a finding arrives runs it, and its Assess, Rotate and
 * CheckRotation follow a replica to its primary and call KMS in the primary's Region (RotateKeyOnDemand
 * works on the primary only). So the stack in the CLI's Region rotates the primary cross-Region, and
 * a finding on the primary itself is run by the stack in the primary's Region. Locks and claims
 * are per stack (each Region has its own ledger).
 */
export function crossRegionOf(keyRegion: string, cliRegion: string, viaReplica: string | null): CrossRegion | null {
  if (keyRegion === cliRegion && !viaReplica) return null;
  const what = viaReplica ? `the primary of replica ${viaReplica}` : 'the key';
  const note =
    keyRegion === cliRegion
      ? `${what} is in this Region: the stack in ${cliRegion} rotates it.`
      : `${what} rotates in ${keyRegion}. A finding arriving in ${cliRegion} (and \`kms-rotate start\` here) is run by the stack in ${cliRegion}, which rotates it in ${keyRegion}; a finding on the primary itself is run by the stack in ${keyRegion}. Each stack locks the key in its own ledger only, so runs from the two Regions are not locked against each other.`;
  return { keyRegion, cliRegion, note };
}

const KEY_EXPECTED = 'expected a KMS key id, key ARN, alias name or alias ARN';

/** CloudFormation stack names: a letter, then letters, digits and hyphens, 128 at most. */
const STACK_NAME_RE = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;

/** The --budget/--reserve overrides, given or not. */
function overridesOf(opts: CheckOptions): Partial<Settings> {
  return {
    ...(opts.budget !== undefined ? { rotationBudget: opts.budget } : {}),
    ...(opts.reserve !== undefined ? { automaticReserve: opts.reserve } : {}),
  };
}

/** Settings with the --budget/--reserve overrides applied; a bad combination is exit 2 naming the flags. */
function withOverrides(base: Partial<Settings>, opts: CheckOptions, where: string): Settings {
  try {
    return parseSettings({ ...base, ...overridesOf(opts) }, where);
  } catch (error) {
    if (error instanceof SettingsError) {
      const names: Record<string, string> = { rotationBudget: '--budget', automaticReserve: '--reserve' };
      throw usageError(
        error.problems.map((p) => p.replace(/^(rotationBudget|automaticReserve)/, (f) => names[f]!)).join('; '),
      );
    }
    throw error;
  }
}

/** Checks the settings flags before any AWS call. */
function checkSettingsFlags(opts: CheckOptions): void {
  if (opts.stack !== undefined && opts.defaultSettings)
    throw usageError('--stack and --default-settings: give one or the other');
  if (opts.stack !== undefined && !STACK_NAME_RE.test(opts.stack)) {
    throw usageError(
      `--stack: expected a CloudFormation stack name (a letter, then letters, digits and -, at most 128), got ${JSON.stringify(opts.stack.slice(0, 80))}`,
    );
  }
  // The flags on their own must make sense whatever the stack says (exit 2 before any AWS call).
  withOverrides({}, opts, '--budget/--reserve');
}

/**
 * The settings to assess with: the `Settings` output of the deployed stack in this Region (as
 * the workflow has them), or the defaults when the stack is absent, predates the output, or
 * --default-settings says so; --budget/--reserve override single values on top.
 */
export async function resolveCheckSettings(
  aws: Aws,
  opts: CheckOptions,
  region: string,
): Promise<{ settings: Settings; origin: SettingsOrigin }> {
  const overridden = Object.keys(overridesOf(opts)).length
    ? `; ${[opts.budget !== undefined ? '--budget' : '', opts.reserve !== undefined ? '--reserve' : ''].filter(Boolean).join(' and ')} override`
    : '';
  if (opts.defaultSettings) {
    return {
      settings: withOverrides({}, opts, '--budget/--reserve'),
      origin: { source: 'defaults', stack: null, region: null, note: `defaults (--default-settings)${overridden}` },
    };
  }
  const stack = opts.stack ?? STACK_NAME;
  const outputs = await aws.stackOutputs(stack);
  const published = outputs?.[SETTINGS_OUTPUT];
  if (published === undefined) {
    const why = outputs
      ? `the stack ${stack} in ${region} has no ${SETTINGS_OUTPUT} output (deployed by an older version)`
      : `no stack ${stack} in ${region}`;
    const hint = opts.stack === undefined ? ' (--stack NAME reads another stack)' : '';
    return {
      settings: withOverrides({}, opts, '--budget/--reserve'),
      origin: { source: 'defaults', stack, region, note: `defaults: ${why}${hint}${overridden}` },
    };
  }
  let deployed: Settings;
  try {
    deployed = decodePublishedSettings(published, `the ${SETTINGS_OUTPUT} output of stack ${stack} in ${region}`);
  } catch (error) {
    if (error instanceof SettingsError)
      throw usageError(`${error.message}\nUse --default-settings to assess with the defaults.`);
    throw error;
  }
  const values = Object.fromEntries(PUBLISHED_SETTINGS.map((name) => [name, deployed[name]]));
  return {
    settings: withOverrides(values, opts, '--budget/--reserve'),
    origin: { source: 'stack', stack, region, note: overridden ? overridden.slice(2) : null },
  };
}

/**
 * Read-only: what the workflow's Assess step would decide for this key right now, and why, with
 * the rotation history. Uses the workflow's own inspectKey/assessKey with the deployed stack's
 * settings (its `Settings` output), or the defaults when there is no stack.
 */
export async function check(io: Io, opts: CheckOptions): Promise<ExitCode> {
  const ref = opts.key.trim();
  if (!classifyKeyRef(ref)) throw usageError(`--key: ${KEY_EXPECTED}, got ${JSON.stringify(opts.key.slice(0, 80))}`);
  checkSettingsFlags(opts);
  const aws = new Aws(opts, io.env);
  const identity = await aws.callerIdentity();
  const region = await aws.region();
  const { settings, origin } = await resolveCheckSettings(aws, opts, region);
  const inspection = await aws.call(
    'KMS reads (DescribeKey, ListAliases, ListResourceTags, GetKeyRotationStatus, ListKeyRotations)',
    () => inspectKey(aws.kmsKeys(), ref, { accountId: identity.account, region }),
  );
  const report = buildReport(
    ref,
    region,
    inspection,
    settings,
    identity.account,
    opts.force === true,
    nowOf(io)(),
    origin,
  );
  if (opts.json) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else io.stdout.write(formatCheck(report, io));
  return EXIT.OK;
}

export function buildReport(
  ref: string,
  region: string,
  inspection: Inspection,
  settings: Settings,
  accountId: string,
  force: boolean,
  now: Date,
  origin: SettingsOrigin = { source: 'defaults', stack: null, region: null, note: null },
): CheckReport {
  const budget = settings.rotationBudget;
  const reserve = settings.automaticReserve;
  const settingsUsed = {
    ...origin,
    values: Object.fromEntries(PUBLISHED_SETTINGS.map((name) => [name, settings[name]])) as PublishedSettings,
  };
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
      settings: settingsUsed,
      crossRegion: null,
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
    forceMinIntervalSeconds: settings.forceMinIntervalMinutes * 60,
    forceDailyCap: settings.forceDailyCap,
    dailyRotationCap: settings.dailyRotationCap,
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
    automaticRotation: {
      enabled: history.automaticRotationEnabled,
      nextRotationDate: history.nextAutomaticRotation?.toISOString() ?? null,
    },
    onDemandRotationInProgressSince: history.onDemandRotationStartDate?.toISOString() ?? null,
    rotations: history.rotations.map((r) => ({
      date: r.RotationDate?.toISOString() ?? null,
      type: r.RotationType ?? null,
      keyMaterialId: r.KeyMaterialId ?? null,
      keyMaterialState: r.KeyMaterialState ?? null,
    })),
    settings: settingsUsed,
    // Another account's key is never rotated: nothing to say about Regions.
    crossRegion: foreign ? null : crossRegionOf(inspection.region, region, inspection.via),
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
      if (r.multiRegionKeyType)
        row('Multi-Region', `${r.multiRegionKeyType}${r.via ? ' (the primary of the replica named)' : ''}`);
    }
    if (r.crossRegion) row('Acting stack', r.crossRegion.note);
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
    row(
      'On demand',
      `${used ?? '?'} of ${budget} lifetime rotations used, ${remaining ?? '?'} left (the last ${reserve} are kept for \`start --force\`)`,
    );
    row(
      'Automatic',
      r.automaticRotation.enabled ? `enabled, next ${when(r.automaticRotation.nextRotationDate)}` : 'disabled',
    );
    row(
      'In progress',
      r.onDemandRotationInProgressSince
        ? p.cyan(`an on-demand rotation is running, started ${when(r.onDemandRotationInProgressSince)}`)
        : 'no on-demand rotation is running',
    );
    if (r.rotations.length === 0) {
      row('Rotations', 'none yet');
    } else {
      const shown = r.rotations.slice(0, MAX_ROTATIONS_SHOWN);
      shown.forEach((rot, i) => {
        // ALL_KEY_MATERIAL (imported keys) also lists material that no rotation made: the initial one, staged ones.
        const what = rot.type
          ? `${when(rot.date)}  ${rot.type.padEnd(9)}`
          : rot.date
            ? `${when(rot.date)}  ${'imported'.padEnd(9)}`
            : 'initial or staged key material';
        const text = `${what}${rot.keyMaterialId ? `  material ${rot.keyMaterialId.slice(0, 16)}…` : ''}${rot.keyMaterialState && rot.keyMaterialState !== 'NON_CURRENT' ? ` (${rot.keyMaterialState})` : ''}`;
        if (i === 0) row('Rotations', text);
        else more(text);
      });
      if (r.rotations.length > shown.length) more(`... ${r.rotations.length - shown.length} older`);
    }
  }
  row('Settings', settingsLine(r.settings));
  return `${out.join('\n')}\n`;
}

/** Which settings the answer rests on: `from stack X (Region): ...` or `defaults (why): ...`. */
function settingsLine(s: CheckReport['settings']): string {
  const v = s.values;
  const from =
    s.source === 'stack'
      ? `from stack ${s.stack} (${s.region})${s.note ? `, ${s.note}` : ''}`
      : `${s.note ?? 'defaults'}`;
  return `${from}: opt-out tag ${v.optOutTag}, cooldown ${v.cooldownMinutes} min, budget ${v.rotationBudget}, reserve ${v.automaticReserve}${v.dryRun ? ', dry run' : ''}`;
}
