/**
 * A key whose iteration fails early, end to end offline: the synthesized state machine's
 * ClassifyFailure decides the reason (from the failure table), and the result and the audit
 * entry carry the key's ARN whenever the finding named the key by its ARN.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { openSimulation, type Simulation } from '../../local/simulate';
import { parseWorld } from '../../local/world';
import { auditTrailOf } from './helpers';

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/${KEY_ID}`;
const SPEED = 100;

const guardDuty = (id: string) => {
  const event = JSON.parse(readFileSync(path.join(__dirname, '../fixtures/guardduty/s3-bucket-kms.json'), 'utf8'));
  event.detail.id = id;
  return event;
};

/** One key; DescribeKey fails with `error` (more times than the SDK and the state machine retry). */
function worldWithDescribeKeyFailing(error: string) {
  return parseWorld(
    {
      account: ACCOUNT,
      region: REGION,
      keys: [{ id: KEY_ID, aliases: ['alias/orders'], rotationSeconds: 20 }],
      faults: [{ service: 'kms', operation: 'DescribeKey', error, times: 20 }],
    },
    'test world',
  );
}

describe('a key whose Assess step fails', () => {
  let sim: Simulation;
  afterEach(() => sim?.close());

  test('KeyUnavailableException on DescribeKey: FAILED KMS_ERROR, with the ARN from the finding, audited', async () => {
    // Given
    sim = await openSimulation({ world: worldWithDescribeKeyFailing('KeyUnavailableException'), speed: SPEED });

    // When
    const run = await sim.run(guardDuty('key-unavailable-1'));

    // Then
    expect(run.result.executionStatus).toBe('FAILED');
    expect(run.result.keys).toEqual([expect.objectContaining({ keyArn: KEY, outcome: 'FAILED', reason: 'KMS_ERROR' })]);
    expect(run.result.keys[0].detail).toMatch(/KeyUnavailableException/);
    expect(sim.standIn.calls.filter((c) => c.operation === 'RotateKeyOnDemand')).toHaveLength(0);
    const entries = await auditTrailOf(sim, KEY);
    expect(entries).toEqual([
      expect.objectContaining({
        keyArn: KEY,
        outcome: 'FAILED',
        reason: 'KMS_ERROR',
        executionArn: run.executionArn,
        findingId: 'key-unavailable-1',
      }),
    ]);
  });

  test('a reference that is not a key ARN (an alias) gives no key ARN and no audit entry', async () => {
    // Given
    sim = await openSimulation({ world: worldWithDescribeKeyFailing('KeyUnavailableException'), speed: SPEED });

    // When
    const run = await sim.run({ keyId: 'alias/orders', reason: 'suspected leak' });

    // Then
    expect(run.result.keys).toEqual([
      expect.objectContaining({ keyArn: null, outcome: 'FAILED', reason: 'KMS_ERROR' }),
    ]);
    expect(await auditTrailOf(sim, KEY)).toEqual([]);
  });
});
