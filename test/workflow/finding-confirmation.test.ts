/**
 * Each finding is confirmed with its source service before any key is touched (offline: the
 * stand-in's GuardDuty, Security Hub and Access Analyzer). A hand-made finding that no source holds
 * rotates nothing and says why; a filed finding is read from the source's copy, not the event.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { openSimulation, simulate, type SimulationRun } from '../../local/simulate';
import { parseWorld } from '../../local/world';

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const K1_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const K2_ID = '0987dcba-09fe-87dc-65ba-ab0987654321';
const K1 = `arn:aws:kms:${REGION}:${ACCOUNT}:key/${K1_ID}`;
const K2 = `arn:aws:kms:${REGION}:${ACCOUNT}:key/${K2_ID}`;
const SPEED = 100;

const fixture = (name: string) => JSON.parse(readFileSync(path.join(__dirname, '../fixtures', name), 'utf8'));
const world = (extra: Record<string, unknown> = {}) =>
  parseWorld(
    {
      account: ACCOUNT,
      region: REGION,
      keys: [
        { id: K1_ID, rotationSeconds: 20 },
        { id: K2_ID, rotationSeconds: 20 },
      ],
      ...extra,
    },
    'test world',
  );
const kmsCalls = (run: SimulationRun) => run.calls.filter((c) => c.service === 'kms');
const rotations = (run: SimulationRun) => run.calls.filter((c) => c.operation === 'RotateKeyOnDemand' && !c.error);

describe('findings confirmed with their source service', () => {
  test.each([
    ['GuardDuty', 'guardduty/s3-bucket-kms.json', 'guardduty', 'GetFindings'],
    ['Security Hub', 'securityhub/kms-key-resource.json', 'securityhub', 'GetFindings'],
    ['Access Analyzer', 'access-analyzer/kms-key-active.json', 'accessanalyzer', 'GetFinding'],
  ])(
    'a %s finding its source does not hold (unconfirmedFindings) rotates nothing, touches no key, and says why',
    async (_name, file, service, operation) => {
      // When
      const run = await simulate({ world: world({ unconfirmedFindings: true }), input: fixture(file), speed: SPEED });

      // Then
      expect(run.result.executionStatus).toBe('SUCCEEDED');
      expect(run.result.keys).toEqual([
        expect.objectContaining({ keyArn: K1, outcome: 'SKIPPED', reason: 'FINDING_NOT_CONFIRMED' }),
      ]);
      expect(run.result.keys[0].detail).toMatch(/does not confirm finding/);
      expect(run.calls.filter((c) => c.service === service && c.operation === operation)).toHaveLength(1);
      // Not even looked up: no KMS call at all.
      expect(kmsCalls(run)).toEqual([]);
      const summary = run.result.notifications.at(-1)!;
      expect(summary.message).toContain('FINDING_NOT_CONFIRMED');
      expect(summary.attributes.actionRequired).toBe('true');
    },
  );

  test('the filed finding is confirmed and rotated (simulate files each event with its source first)', async () => {
    const run = await simulate({ world: world(), input: fixture('guardduty/s3-bucket-kms.json'), speed: SPEED });
    expect(run.result.keys).toEqual([expect.objectContaining({ keyArn: K1, outcome: 'ROTATED' })]);
    const getFindings = run.calls.find((c) => c.service === 'guardduty');
    expect(getFindings).toMatchObject({
      operation: 'GetFindings',
      input: { DetectorId: '12abc34d567e8fa901bc2d34e56789f0', FindingIds: ['5ec4b7b1a8d3f0e2c6a9b4d1e7f3a2c8'] },
    });
    expect(getFindings?.caller).toMatch(/IntakeRole/);
  });

  test('an event that rewrites a real finding acts on the source copy: the key the event adds is never touched', async () => {
    // Given: GuardDuty holds the finding naming K1; the event delivered names K2 under the same id.
    const sim = await openSimulation({ world: world({ unconfirmedFindings: true }), speed: SPEED });
    try {
      const real = fixture('guardduty/s3-bucket-kms.json');
      sim.standIn.fileFinding(real);
      const forged = structuredClone(real);
      forged.detail.resource.s3BucketDetails[0].defaultServerSideEncryption.kmsMasterKeyArn = K2;

      // When
      const run = await sim.run(forged);

      // Then
      expect(run.result.keys).toEqual([expect.objectContaining({ keyArn: K1, outcome: 'ROTATED' })]);
      expect(rotations(run).map((c) => (c.input as { KeyId: string }).KeyId)).toEqual([K1]);
      expect(kmsCalls(run).some((c) => JSON.stringify(c.input).includes(K2_ID))).toBe(false);
    } finally {
      await sim.close();
    }
  });

  test('a forged copy of a real finding id does not claim the real finding', async () => {
    // Given: the forged event runs first (GuardDuty does not hold its detector's finding yet).
    const sim = await openSimulation({ world: world({ unconfirmedFindings: true }), speed: SPEED });
    try {
      const real = fixture('guardduty/s3-bucket-kms.json');
      const first = await sim.run(real);
      expect(first.result.keys[0]).toMatchObject({ outcome: 'SKIPPED', reason: 'FINDING_NOT_CONFIRMED' });

      // When: now the real finding exists and is delivered.
      sim.standIn.fileFinding(real);
      const second = await sim.run(real);

      // Then: not a DUPLICATE_FINDING of the forged run.
      expect(second.result.keys[0]).toMatchObject({ keyArn: K1, outcome: 'ROTATED' });
    } finally {
      await sim.close();
    }
  });
});
