import { setTimeout as sleep } from 'node:timers/promises';
import type { RunEvent } from './runner/runner';
import type { KmsCallCounters, StandIn } from './standin';
import type { World } from './world';
import { openSimulation } from './simulate';
import type { SimulationRun } from './simulation-result';

export interface StormOptions {
  world: World;
  /** Triggers (finding events or manual requests), started in this order. */
  inputs: unknown[];
  /** Divides every wait, retry interval, rotation time and request-quota second (default 1). */
  speed?: number;
  /** Simulated milliseconds between two starts (divided by speed, like every other wait). */
  staggerMs?: number;
  /** Each execution's events, with the trigger's index in `inputs`. */
  onEvent?: (index: number, event: RunEvent) => void;
  onStandIn?: (standIn: StandIn) => void;
}

export interface StormRun {
  /** One per trigger, in the order of `inputs`. */
  runs: SimulationRun[];
  /** Every KMS call of the storm per operation and key, served and throttled. */
  counters: KmsCallCounters;
  /** Real time (ms since the epoch) the first execution started and the last one ended. */
  startedAt: number;
  endedAt: number;
}

/**
 * An incident storm offline: many executions at once against ONE stand-in (so one set of KMS
 * request quotas) and ONE ledger, as many findings arriving together meet one account. The
 * executions run concurrently; execution i starts i x staggerMs simulated milliseconds after the
 * first.
 */
export async function simulateStorm(opts: StormOptions): Promise<StormRun> {
  const speed = opts.speed ?? 1;
  const staggerMs = opts.staggerMs ?? 0;
  if (!(staggerMs >= 0) || !Number.isFinite(staggerMs))
    throw new Error(`simulateStorm: staggerMs must be 0 or more (got ${staggerMs})`);
  const simulation = await openSimulation({ world: opts.world, speed, onStandIn: opts.onStandIn });
  try {
    const startedAt = Date.now();
    const stamp = startedAt.toString(36);
    const runs = await Promise.all(
      opts.inputs.map(async (input, i) => {
        // Each start is scheduled from the first one, so a slow start does not delay the others.
        await sleep(Math.max(0, startedAt + (i * staggerMs) / speed - Date.now()));
        return simulation.run(input, {
          executionName: `storm-${stamp}-${String(i + 1).padStart(3, '0')}`,
          onEvent: opts.onEvent && ((event) => opts.onEvent!(i, event)),
        });
      }),
    );
    return { runs, counters: simulation.standIn.counters(), startedAt, endedAt: Date.now() };
  } finally {
    await simulation.close();
  }
}
