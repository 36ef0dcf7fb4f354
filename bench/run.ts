/**
 * Benchmarks: `npm run bench`. Speed and memory targets live here, not in unit tests. Each line
 * prints the measurement, its target and PASS/FAIL; the exit code is 1 if any target is missed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseIncident } from '../lambdas/domain/intake/intake';
import { assessKey, type KeyFacts } from '../lambdas/domain/eligibility';
import { formatNotification } from '../lambdas/domain/message';
import type { KeyResult, RunSummary } from '../lambdas/domain/contracts';
import { simulate } from '../local/simulate';
import { parseWorld } from '../local/world';

interface Result {
  name: string;
  value: number;
  unit: string;
  target: number;
  /** 'max': value must be <= target. */
  kind: 'max';
}
const results: Result[] = [];
const record = (name: string, value: number, unit: string, target: number) => results.push({ name, value, unit, target, kind: 'max' });

function timePerOp(iterations: number, fn: () => void): number {
  for (let i = 0; i < Math.min(200, iterations); i++) fn(); // warm-up
  const start = performance.now();
  for (let i = 0; i < iterations; i++) fn();
  return ((performance.now() - start) * 1000) / iterations; // microseconds
}

const ctx = { account: '111122223333', region: 'us-east-1', newRequestId: () => 'bench' };
const fixturesDir = path.join(__dirname, '..', 'test', 'fixtures');
const events = ['guardduty', 'securityhub', 'access-analyzer'].flatMap((dir) =>
  readdirSync(path.join(fixturesDir, dir)).map((f) => JSON.parse(readFileSync(path.join(fixturesDir, dir, f), 'utf8'))),
);

// 1. Intake on real-shaped findings.
record('intake: parse one documented finding', timePerOp(5000, () => events.forEach((e) => parseIncident(e, ctx))) / events.length, 'µs', 200);

// 2. Intake on a hostile finding at EventBridge's 256 KB event limit: 4,000 buckets, junk ARNs.
const hostile = structuredClone(events[0]);
hostile.detail.resource.s3BucketDetails = Array.from({ length: 4000 }, (_, i) => ({
  name: `b${i}`,
  defaultServerSideEncryption: { encryptionType: 'aws:kms', kmsMasterKeyArn: i % 2 ? `arn:aws:kms:us-east-1:111122223333:key/${String(i).padStart(8, '0')}-1111-2222-3333-444455556666` : `not-an-arn-${'x'.repeat(20)}` },
}));
const hostileBytes = Buffer.byteLength(JSON.stringify(hostile));
record(`intake: parse a hostile ${Math.round(hostileBytes / 1024)} KB finding (4,000 buckets; EventBridge caps events at 256 KB)`, timePerOp(50, () => parseIncident(hostile, ctx)) / 1000, 'ms', 50);

// 3. The eligibility decision.
const facts: KeyFacts = {
  arn: 'arn:aws:kms:us-east-1:111122223333:key/k',
  account: '111122223333',
  keyManager: 'CUSTOMER',
  keySpec: 'SYMMETRIC_DEFAULT',
  keyUsage: 'ENCRYPT_DECRYPT',
  origin: 'AWS_KMS',
  keyState: 'Enabled',
  customKeyStoreId: null,
  multiRegionKeyType: null,
  currentKeyMaterialId: 'm',
  tags: {},
  importedMaterialStaged: false,
  onDemandRotationStartDate: null,
  onDemandRotationsUsed: 3,
  lastOnDemandRotation: new Date(Date.now() - 86400_000),
};
const assessCtx = { accountId: '111122223333', source: 'guardduty' as const, dryRun: false, force: false, rotationBudget: 25, automaticReserve: 3, cooldownSeconds: 3600, optOutTag: 'kms-incident-rotation', forceMinIntervalSeconds: 600, forceDailyCap: 2, now: new Date() };
record('assess: one eligibility decision', timePerOp(100_000, () => assessKey(facts, assessCtx)), 'µs', 20);

// 4. The notification for the largest request (50 keys, long values).
const key = (i: number): KeyResult => ({
  ref: `arn:aws:kms:us-east-1:111122223333:key/${i}`,
  keyArn: `arn:aws:kms:us-east-1:111122223333:key/${i}`,
  via: null,
  aliases: [`alias/${'a'.repeat(200)}`],
  outcome: i % 2 ? 'ROTATED' : 'SKIPPED',
  reason: i % 2 ? null : 'BUDGET_RESERVE',
  detail: 'd'.repeat(300),
  onDemandRotationsUsed: 3,
  onDemandRotationsRemaining: 22,
  previousKeyMaterialId: 'm'.repeat(64),
  currentKeyMaterialId: 'n'.repeat(64),
  joined: false,
  rotationStartedAt: new Date().toISOString(),
  confirmedAt: new Date().toISOString(),
});
const summary: RunSummary = {
  requestId: 'r', source: 'guardduty', findingId: 'f', findingType: 'Exfiltration:S3/AnomalousBehavior', severity: 8, severityLabel: 'HIGH',
  reason: 'x', dryRun: false, executionArn: 'arn:aws:states:us-east-1:111122223333:execution:x:y', startedAt: new Date().toISOString(),
  outcome: 'ROTATED', anyFailed: false, keys: Array.from({ length: 50 }, (_, i) => key(i)),
};
let bytes = 0;
record('notify: format 50 keys', timePerOp(500, () => (bytes = Buffer.byteLength(formatNotification(summary, { region: 'us-east-1', rotationBudget: 25 }).message))) / 1000, 'ms', 20);
record('notify: message size for 50 keys', bytes / 1024, 'KiB', 256);

async function main() {
  // 5. The whole workflow offline (synth + stand-in + ledger + state machine), 1 and 10 keys.
  const ids = Array.from({ length: 10 }, (_, i) => `${String(i).padStart(8, '0')}-1234-1234-1234-123456789012`);
  const world = parseWorld({ keys: ids.map((id) => ({ id, rotationSeconds: 20 })) }, 'bench');
  const finding = (n: number) => {
    const e = structuredClone(events[0]);
    e.detail.resource.s3BucketDetails = ids.slice(0, n).map((id, i) => ({ name: `b${i}`, defaultServerSideEncryption: { encryptionType: 'aws:kms', kmsMasterKeyArn: `arn:aws:kms:us-east-1:111122223333:key/${id}` } }));
    return e;
  };
  await simulate({ world, input: finding(1), speed: 100 }); // warm: synth and module loading
  for (const n of [1, 10]) {
    const start = performance.now();
    const run = await simulate({ world, input: finding(n), speed: 100 });
    const ms = performance.now() - start;
    if (run.result.keys.filter((k) => k.outcome === 'ROTATED').length !== n) throw new Error(`bench run with ${n} keys did not rotate them all`);
    record(`workflow: ${n} key(s) end to end at speed 100 (simulated waits ~${Math.round(35 / 100 * 1000)} ms)`, ms, 'ms', n === 1 ? 2000 : 6000);
  }
  record('memory: peak resident set after the runs', process.memoryUsage().rss / 1024 / 1024, 'MiB', 512);

  let failed = 0;
  for (const r of results) {
    const ok = r.value <= r.target;
    if (!ok) failed++;
    console.log(`${ok ? 'PASS' : 'FAIL'}  ${r.name}: ${r.value.toFixed(r.value < 10 ? 2 : 0)} ${r.unit} (target <= ${r.target} ${r.unit})`);
  }
  console.log(`${results.length - failed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

void main();
