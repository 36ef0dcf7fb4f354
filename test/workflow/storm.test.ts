/**
 * An incident storm offline: 60 findings naming 30 keys (each key in a GuardDuty and a Security
 * Hub finding), started 50 ms apart against one stand-in and one ledger, with the KMS request
 * quota on RotateKeyOnDemand biting. Every key is rotated exactly once, throttling is absorbed by
 * Rotate's retries, every execution succeeds and each rotation is mailed once.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { simulateStorm, type StormRun } from '../../local/simulation-storm';
import { parseWorld } from '../../local/world';

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
/** The key the fixtures name, replaced by each storm key. */
const FIXTURE_KEY = '1234abcd-12ab-34cd-56ef-1234567890ab';
const KEYS = Array.from({ length: 30 }, (_, i) => `${String(i).padStart(8, '0')}-57a0-4e5d-9c1b-123456789012`);
const arnOf = (id: string) => `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`;
/**
 * Speed 5: the local run's own CPU time is scaled too (1 real ms is 5 simulated ms), and at this
 * speed 30 rotations reach KMS faster than the quota below allows, so the buckets run dry.
 */
const SPEED = 5;
/** Under the documented 5/s, so the quota bites on any machine; Rotate's throttling retries absorb it. */
const ROTATE_QUOTA = 4;

const fixture = (name: string) => readFileSync(path.join(__dirname, '../fixtures', name), 'utf8');
const guardDutyText = fixture('guardduty/s3-bucket-kms.json');
const securityHubText = fixture('securityhub/kms-key-resource.json');

/** Two findings of different sources per key: a GuardDuty one, then Security Hub's. */
function findings(): unknown[] {
  return KEYS.flatMap((id, i) => {
    const guardDuty = JSON.parse(guardDutyText.replaceAll(FIXTURE_KEY, id));
    guardDuty.detail.id = `storm-guardduty-${i}`;
    // The Security Hub finding id contains the key ARN: unique per key once replaced.
    const securityHub = JSON.parse(securityHubText.replaceAll(FIXTURE_KEY, id));
    return [guardDuty, securityHub];
  });
}

jest.setTimeout(120_000);

describe('incident storm: 60 findings on 30 keys, 50 ms apart', () => {
  let storm: StormRun;
  beforeAll(async () => {
    const world = parseWorld(
      {
        account: ACCOUNT,
        region: REGION,
        keys: KEYS.map((id) => ({ id, rotationSeconds: 20 })),
        quotas: { RotateKeyOnDemand: ROTATE_QUOTA },
      },
      'storm world',
    );
    storm = await simulateStorm({ world, inputs: findings(), speed: SPEED, staggerMs: 50 });
  });

  test('every execution SUCCEEDED; no key FAILED', () => {
    expect(storm.runs).toHaveLength(60);
    expect(storm.runs.map((r) => r.result.executionStatus)).toEqual(Array(60).fill('SUCCEEDED'));
    const failed = storm.runs.flatMap((r) => r.result.keys).filter((k) => k.outcome === 'FAILED');
    expect(failed).toEqual([]);
  });

  test("the stand-in's counters: exactly one RotateKeyOnDemand per key, and the quota throttled some", () => {
    expect(storm.counters.served.RotateKeyOnDemand).toEqual(Object.fromEntries(KEYS.map((id) => [arnOf(id), 1])));
    expect(storm.counters.throttles).toBeGreaterThan(0);
    expect(Object.keys(storm.counters.throttled)).toEqual(['RotateKeyOnDemand']);
  });

  test('each key ROTATED in exactly one execution; in the other it is SKIPPED (already handled) or joined', () => {
    const summaries = storm.runs.flatMap((r) => r.summary?.keys ?? []);
    for (const id of KEYS) {
      const results = summaries.filter((k) => k.keyArn === arnOf(id));
      expect(results).toHaveLength(2);
      const rotatedHere = results.filter((k) => k.outcome === 'ROTATED' && !k.joined);
      expect(rotatedHere).toHaveLength(1);
      expect(rotatedHere[0].previousKeyMaterialId).not.toBe(rotatedHere[0].currentKeyMaterialId);
      const other = results.find((k) => k !== rotatedHere[0])!;
      expect(`${other.outcome} ${other.reason} joined=${other.joined}`).toMatch(
        /^(SKIPPED (DUPLICATE_FINDING|RECENTLY_ROTATED) joined=false|ROTATED null joined=true)$/,
      );
    }
  });

  test('one notification per execution; only those that rotated something reach people (duplicate=false)', () => {
    expect(storm.runs.map((r) => r.result.notifications.length)).toEqual(Array(60).fill(1));
    const mailed = storm.runs.filter((r) => r.result.notifications[0].attributes.duplicate === 'false');
    const rotating = storm.runs.filter((r) =>
      r.summary?.keys.some((k) => (k.outcome === 'ROTATED' && !k.joined) || k.outcome === 'FAILED'),
    );
    expect(mailed.map((r) => r.executionArn).sort()).toEqual(rotating.map((r) => r.executionArn).sort());
    expect(mailed).toHaveLength(30);
  });
});
