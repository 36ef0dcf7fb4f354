import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { KMSClient, ListKeyRotationsCommand } from '@aws-sdk/client-kms';
import { confirmation, confirmationBoundSeconds } from '../lambdas/domain/rotation/backoff';
import { parseSettings } from '../lib/settings/settings';
import { openSimulation, simulate } from '../local/simulate';
import { simulateStorm } from '../local/simulation-storm';
import { KMS_REQUEST_QUOTAS } from '../local/standin/quotas';
import { parseWorld } from '../local/world';
import { TEST_CREDENTIALS } from '../local/iam';
import { FIXTURES_DIR, fixtureEvents } from './domain';
import { notes, record } from './record';

// The whole workflow offline (synth, stand-in, ledger, state machine): single incidents, storms,
// and how soon a rotation is confirmed.

/** One and ten keys end to end, then the storms, with the resident set after each. */
export async function benchWorkflow(): Promise<void> {
  const events = fixtureEvents();
  const ids = Array.from({ length: 10 }, (_, i) => `${String(i).padStart(8, '0')}-1234-1234-1234-123456789012`);
  const world = parseWorld({ keys: ids.map((id) => ({ id, rotationSeconds: 20 })) }, 'bench');
  const finding = (n: number) => {
    const e = structuredClone(events[0]);
    e.detail.resource.s3BucketDetails = ids.slice(0, n).map((id, i) => ({
      name: `b${i}`,
      defaultServerSideEncryption: {
        encryptionType: 'aws:kms',
        kmsMasterKeyArn: `arn:aws:kms:us-east-1:111122223333:key/${id}`,
      },
    }));
    return e;
  };
  await simulate({ world, input: finding(1), speed: 100 }); // warm: synth and module loading
  for (const n of [1, 10]) {
    const start = performance.now();
    const run = await simulate({ world, input: finding(n), speed: 100 });
    const ms = performance.now() - start;
    if (run.result.keys.filter((k) => k.outcome === 'ROTATED').length !== n)
      throw new Error(`bench run with ${n} keys did not rotate them all`);
    record(
      `workflow: ${n} key(s) end to end at speed 100 (simulated waits ~${Math.round((35 / 100) * 1000)} ms)`,
      ms,
      'ms',
      n === 1 ? 2000 : 6000,
    );
  }
  record('memory: peak resident set after the runs', process.memoryUsage().rss / 1024 / 1024, 'MiB', 512);
  await storm(100);
  await storm(5);
  // 200 executions in one process (each Lambda would have its own): a bound, not a product figure.
  record('memory: peak resident set after the storm', process.memoryUsage().rss / 1024 / 1024, 'MiB', 1024);
}

/**
 * An incident storm: 200 findings on 100 keys (a GuardDuty and a Security Hub finding per key,
 * 50 ms apart) at the documented KMS quotas, next to what the same storm takes against real KMS.
 * At speed 100 the local CPU time is scaled too, so KMS's 5/s quota hardly bites; at speed 5 it
 * does, and Rotate's throttling retrier must absorb it.
 */
async function storm(SPEED: number) {
  const STORM_KEYS = 100;
  const ROTATION_SECONDS = 20;
  const fixtureKey = '1234abcd-12ab-34cd-56ef-1234567890ab';
  const guardDuty = readFileSync(path.join(FIXTURES_DIR, 'guardduty', 's3-bucket-kms.json'), 'utf8');
  const securityHub = readFileSync(path.join(FIXTURES_DIR, 'securityhub', 'kms-key-resource.json'), 'utf8');
  const ids = Array.from({ length: STORM_KEYS }, (_, i) => `${String(i).padStart(8, '0')}-5707-4e5d-9c1b-123456789012`);
  const inputs = ids.flatMap((id, i) => {
    const g = JSON.parse(guardDuty.replaceAll(fixtureKey, id));
    g.detail.id = `bench-storm-${i}`;
    return [g, JSON.parse(securityHub.replaceAll(fixtureKey, id))];
  });
  const world = parseWorld({ keys: ids.map((id) => ({ id, rotationSeconds: ROTATION_SECONDS })) }, 'bench storm');
  const wallStart = performance.now();
  const run = await simulateStorm({ world, inputs, speed: SPEED, staggerMs: 50 });
  const wallMs = performance.now() - wallStart;

  const rotateCalls = Object.values(run.counters.served.RotateKeyOnDemand ?? {}).reduce((a, b) => a + b, 0);
  const keys = run.runs.flatMap((r) => r.summary?.keys ?? []);
  const failed = keys.filter((k) => k.outcome === 'FAILED');
  const notSucceeded = run.runs.filter((r) => r.result.executionStatus !== 'SUCCEEDED').length;
  if (failed.length || notSucceeded)
    throw new Error(
      `bench storm: ${failed.length} key results FAILED (${[...new Set(failed.map((k) => k.reason))].join(', ')}), ${notSucceeded} executions did not succeed`,
    );
  if (rotateCalls !== STORM_KEYS)
    throw new Error(`bench storm: ${rotateCalls} RotateKeyOnDemand calls for ${STORM_KEYS} keys`);
  const lastConfirmed = Math.max(...keys.map((k) => (k.confirmedAt ? Date.parse(k.confirmedAt) : 0)));
  const simulatedSeconds = ((lastConfirmed - run.startedAt) / 1000) * SPEED;
  const notifications = run.runs.flatMap((r) => r.result.notifications);
  const mailed = notifications.filter((n) => n.attributes.duplicate === 'false').length;
  // Real KMS: the first second's burst, then the quota's rate; the last rotation then takes its time.
  const rate = KMS_REQUEST_QUOTAS.RotateKeyOnDemand;
  const realKmsSeconds = Math.max(0, STORM_KEYS - rate) / rate + ROTATION_SECONDS;

  record(`storm: 200 findings on ${STORM_KEYS} keys, wall time offline at speed ${SPEED}`, wallMs / 1000, 's', 180);
  record(`storm (speed ${SPEED}): RotateKeyOnDemand calls (one per key)`, rotateCalls, 'calls', STORM_KEYS);
  record(
    `storm (speed ${SPEED}): notifications past the e-mail filter (one per rotating execution)`,
    mailed,
    'messages',
    STORM_KEYS,
  );
  if (SPEED !== 100) {
    notes.push(
      `storm (speed ${SPEED}): throttles absorbed: ${run.counters.throttles}, keys FAILED: ${failed.length}, executions SUCCEEDED: ${run.runs.length - notSucceeded} of ${run.runs.length}; simulated time from the first finding to the last confirmed rotation: ${simulatedSeconds.toFixed(0)} s (local CPU time counts x${SPEED})`,
    );
    return;
  }
  notes.push(
    `storm: simulated time from the first finding to the last confirmed rotation: ${simulatedSeconds.toFixed(0)} s (local CPU time counts x${SPEED} too)`,
  );
  notes.push(
    `storm: the same against real KMS: ${STORM_KEYS} rotations at ${rate}/s (${rate} at once, then ${rate} per second) + ${ROTATION_SECONDS} s rotation = ${realKmsSeconds.toFixed(0)} s, plus polling`,
  );
  notes.push(
    `storm: throttles absorbed: ${run.counters.throttles} (${JSON.stringify(Object.fromEntries(Object.entries(run.counters.throttled).map(([op, perKey]) => [op, Object.values(perKey).reduce((a, b) => a + b, 0)])))})`,
  );
  notes.push(
    `storm: notifications published: ${notifications.length}; mailed (duplicate=false): ${mailed}; executions: ${run.runs.length}, keys ROTATED: ${keys.filter((k) => k.outcome === 'ROTATED' && !k.joined).length}`,
  );
}

/**
 * The poll schedule at the default settings: for rotations of 5 s to 10 min, the delay between
 * the rotation's end and the look that confirms it (target: max(10 s, 15 % of the duration)).
 * Then one-key incidents offline against the stand-in: the delay between the stand-in's own
 * completion time (ListKeyRotations RotationDate) and CheckRotation's confirmation, and the state
 * transitions of the whole execution for a 60 s rotation (target <= 40).
 */
export async function benchConfirmation(): Promise<void> {
  const defaults = parseSettings({});
  const poll = { shortestSeconds: defaults.pollInitialSeconds, maxSeconds: defaults.pollMaxSeconds };
  for (const duration of [5, 20, 60, 120, 300, 600]) {
    const c = confirmation(duration, poll);
    record(
      `poll schedule: a ${duration} s rotation confirmed after ${c.polls} look(s)`,
      c.delaySeconds,
      's late',
      confirmationBoundSeconds(duration),
    );
  }
  const speed = 20;
  for (const duration of [20, 60]) {
    const id = '0f0f0f0f-1234-1234-1234-123456789012';
    const world = parseWorld(
      {
        keys: [{ id, rotationSeconds: duration }],
        settings: { pollInitialSeconds: defaults.pollInitialSeconds, pollMaxSeconds: defaults.pollMaxSeconds },
      },
      'bench',
    );
    const sim = await openSimulation({ world, speed });
    try {
      const run = await sim.run({ keyId: id, reason: 'bench' });
      const key = run.summary?.keys[0];
      if (key?.outcome !== 'ROTATED' || !key.confirmedAt)
        throw new Error(`bench: the ${duration} s rotation was not confirmed`);
      const kms = new KMSClient({
        endpoint: sim.standIn.endpoint,
        region: world.region,
        credentials: TEST_CREDENTIALS,
      });
      const rotations = await kms.send(new ListKeyRotationsCommand({ KeyId: key.keyArn! }));
      const ended = Math.max(...(rotations.Rotations ?? []).map((r) => r.RotationDate?.getTime() ?? 0));
      const lateSimulated = ((Date.parse(key.confirmedAt) - ended) / 1000) * speed;
      record(
        `offline: a ${duration} s rotation confirmed after the stand-in completed it (simulated)`,
        lateSimulated,
        's late',
        confirmationBoundSeconds(duration),
      );
      if (duration === 60)
        record(
          'offline: state transitions of a one-key incident with a 60 s rotation',
          run.result.stateTransitions,
          'transitions',
          40,
        );
    } finally {
      await sim.close();
    }
  }
}
