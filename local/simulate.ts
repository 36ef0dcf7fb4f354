import type { Settings } from '../lib/settings';
import { parseSettings } from '../lib/settings';
import type { KeyResult, RunSummary } from '../lambdas/shared/contracts';
import { runLocally, lastOutputOf, type RunEvent } from './runner';
import { startStandIn, type StandIn } from './standin';
import { synthTemplate, type CfnTemplate } from './template';
import type { World } from './world';

/** One key in the simulation's summary (`kms-rotate simulate --json`). */
export interface SimulatedKey {
  keyArn: string | null;
  via: string | null;
  outcome: KeyResult['outcome'];
  reason: KeyResult['reason'];
  detail: string | null;
  aliases: string[];
  onDemandRotationsUsed: number | null;
  onDemandRotationsRemaining: number | null;
  previousKeyMaterialId: string | null;
  currentKeyMaterialId: string | null;
}

export interface SimulationResult {
  executionStatus: 'SUCCEEDED' | 'FAILED';
  error: string | null;
  cause: string | null;
  keys: SimulatedKey[];
  notifications: { subject: string | null; message: string; attributes: Record<string, string> }[];
  reencryption: null;
}

export interface SimulationRun {
  result: SimulationResult;
  summary: RunSummary | null;
  events: RunEvent[];
  /** Every call the stand-in served, in order (tests count RotateKeyOnDemand here). */
  calls: StandIn['calls'];
  settings: Settings;
}

export interface SimulateOptions {
  world: World;
  /** A finding event (EventBridge envelope) or a manual request. */
  input: unknown;
  /** Divides every wait, retry interval, rotation time and the rotation timeout (default 1). */
  speed?: number;
  onEvent?: (event: RunEvent) => void;
  /** Called once the stand-in is up (e.g. to add faults mid-run in tests). */
  onStandIn?: (standIn: StandIn) => void;
}

const templates = new Map<string, CfnTemplate>();

/** The stack's settings for a world: defaults, overridden by the world's `settings`. */
export function worldSettings(world: World): Settings {
  return parseSettings({ ...(world.settings ?? {}) }, 'the world file\'s "settings"');
}

/**
 * Run the real workflow offline: synthesize the stack with the world's settings, start the
 * stand-in seeded with the world, and execute the synthesized state machine with the real
 * handlers talking to it.
 */
export async function simulate(opts: SimulateOptions): Promise<SimulationRun> {
  const { world } = opts;
  const settings = worldSettings(world);
  const env = { account: world.account, region: world.region };
  const cacheKey = JSON.stringify([settings, env]);
  let template = templates.get(cacheKey);
  if (!template) {
    template = synthTemplate(settings, env);
    templates.set(cacheKey, template);
  }
  const topicLogicalId = Object.entries(template.Resources).find(([, r]) => r.Type === 'AWS::SNS::Topic')?.[0];

  const standIn = await startStandIn(world, { speed: opts.speed ?? 1 });
  try {
    opts.onStandIn?.(standIn);
    const run = await runLocally({
      template,
      input: opts.input,
      account: world.account,
      region: world.region,
      endpoint: standIn.endpoint,
      resources: topicLogicalId ? { [topicLogicalId]: standIn.topicArn } : {},
      speed: opts.speed ?? 1,
      onEvent: opts.onEvent,
    });
    const notify = lastOutputOf(run.events, 'Notify') as { notification?: { summary?: RunSummary } } | undefined;
    const summary = notify?.notification?.summary ?? null;
    return {
      result: {
        executionStatus: run.status,
        error: run.error,
        cause: run.cause,
        keys: (summary?.keys ?? []).map(toSimulatedKey),
        notifications: standIn.published.map((p) => ({
          subject: p.subject ?? null,
          message: p.message,
          attributes: Object.fromEntries(Object.entries(p.attributes).map(([k, v]) => [k, v.StringValue ?? ''])),
        })),
        reencryption: null,
      },
      summary,
      events: run.events,
      calls: standIn.calls,
      settings,
    };
  } finally {
    await standIn.close();
  }
}

function toSimulatedKey(k: KeyResult): SimulatedKey {
  return {
    keyArn: k.keyArn,
    via: k.via,
    outcome: k.outcome,
    reason: k.reason,
    detail: k.detail,
    aliases: k.aliases,
    onDemandRotationsUsed: k.onDemandRotationsUsed,
    onDemandRotationsRemaining: k.onDemandRotationsRemaining,
    previousKeyMaterialId: k.previousKeyMaterialId,
    currentKeyMaterialId: k.currentKeyMaterialId,
  };
}
