/**
 * KMS behaviours AWS does not document, each run both ways (the stand-in's world `kmsBehaviour`
 * switches) through the synthesized state machine with the real handlers: the outcome is right
 * and no rotation is ever spent twice. Rotations are counted in the stand-in twice over: the
 * RotateKeyOnDemand calls that took effect (answered or not), and KMS's own rotation list once
 * every rotation has completed.
 */
import { KMSClient, ListKeyRotationsCommand } from '@aws-sdk/client-kms';
import { openSimulation, type Simulation } from '../../local/simulate';
import { parseWorld } from '../../local/world';
import { TEST_CREDENTIALS } from '../../local/iam';

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/${KEY_ID}`;
/** 20 s rotations take 0.2 s; the 60 s consistency delay 0.6 s. */
const SPEED = 100;
const ROTATION_SECONDS = 20;

const manual = { keyId: KEY_ARN, reason: 'kms-behaviours test' };
const importedKey = { origin: 'EXTERNAL', pendingImportedMaterial: true };

let sim: Simulation | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function run(
  key: Record<string, unknown>,
  kmsBehaviour: Record<string, unknown>,
  faults: Record<string, unknown>[] = [],
) {
  const world = parseWorld(
    {
      account: ACCOUNT,
      region: REGION,
      keys: [{ id: KEY_ID, rotationSeconds: ROTATION_SECONDS, ...key }],
      kmsBehaviour,
      faults,
    },
    'kms-behaviours test world',
  );
  sim = await openSimulation({ world, speed: SPEED });
  const result = await sim.run(manual);
  return { ...result, started: await rotationsSpent(sim) };
}

/** RotateKeyOnDemand calls that took effect, and the ON_DEMAND rotations KMS lists once all completed. */
async function rotationsSpent(s: Simulation): Promise<{ calls: number; listed: number }> {
  const calls = s.standIn.calls.filter((c) => c.operation === 'RotateKeyOnDemand' && (!c.error || c.performed)).length;
  // Long enough for any rotation started last (and the reads' lag) to show.
  await new Promise((r) => setTimeout(r, ((ROTATION_SECONDS + 60) * 1000) / SPEED + 200));
  const kms = new KMSClient({ endpoint: s.standIn.endpoint, region: REGION, credentials: TEST_CREDENTIALS });
  const out = await kms.send(new ListKeyRotationsCommand({ KeyId: KEY_ARN }));
  return { calls, listed: (out.Rotations ?? []).filter((r) => r.RotationType === 'ON_DEMAND').length };
}

describe('GetKeyRotationStatus on an imported-material key', () => {
  test.each(['answers', 'UnsupportedOperationException'])(
    '%s: a staged imported key is ROTATED, once, never KMS_ERROR',
    async (answer) => {
      // When
      const { result, started } = await run(importedKey, { getKeyRotationStatusOnImported: answer });

      // Then
      expect(result.executionStatus).toBe('SUCCEEDED');
      expect(result.keys).toEqual([expect.objectContaining({ keyArn: KEY_ARN, outcome: 'ROTATED', reason: null })]);
      expect(result.keys[0].currentKeyMaterialId).not.toBe(result.keys[0].previousKeyMaterialId);
      expect(started).toEqual({ calls: 1, listed: 1 });
    },
  );
});

describe('RotateKeyOnDemand whose answer is lost, while KMS reads lag behind', () => {
  /** Each way the answer can be lost, as a stand-in fault on the (performed) RotateKeyOnDemand. */
  const LOST_ANSWERS = [
    ['KMS performs it, then answers 500 KMSInternalException', 'KMSInternalException'],
    ['KMS performs it, then the connection closes unanswered (socket error in the SDK)', 'NoResponse'],
    // The Rotate function's own timeout, as Step Functions names it: the handler rethrows the
    // injected error by name, which is what the workflow sees when the function timed out.
    ['KMS performs it, then the Rotate function times out (Lambda.Unknown)', 'Lambda.Unknown'],
  ] as const;
  const WAYS = ['ConflictException', 'accepted'] as const;
  const cases = WAYS.flatMap((way) => LOST_ANSWERS.map(([what, error]) => [way, what, error] as const));

  test.each(cases)(
    'second RotateKeyOnDemand %s; %s: ROTATED with exactly one rotation spent',
    async (way, _what, error) => {
      // When: reads show the rotation only 30 s after the call (the product waits 60 s before looking again)
      const { result, started, calls } = await run(
        {},
        { rotateWhileOnDemandRunning: way, readAfterRotateDelaySeconds: 30 },
        [{ service: 'kms', operation: 'RotateKeyOnDemand', error, times: 1, afterPerforming: true }],
      );

      // Then
      expect(result.executionStatus).toBe('SUCCEEDED');
      expect(result.keys).toEqual([expect.objectContaining({ outcome: 'ROTATED', reason: null })]);
      expect(started).toEqual({ calls: 1, listed: 1 });
      // The lost call was never repeated: the retried Rotate confirmed and joined.
      expect(calls.filter((c) => c.operation === 'RotateKeyOnDemand')).toHaveLength(1);
    },
  );

  test('imported key, GetKeyRotationStatus refused, second call accepted: the lost rotation is joined, not repeated', async () => {
    // When
    const { result, started } = await run(
      importedKey,
      {
        getKeyRotationStatusOnImported: 'UnsupportedOperationException',
        rotateWhileOnDemandRunning: 'accepted',
        readAfterRotateDelaySeconds: 30,
      },
      [{ service: 'kms', operation: 'RotateKeyOnDemand', error: 'NoResponse', times: 1, afterPerforming: true }],
    );

    // Then
    expect(result.keys).toEqual([expect.objectContaining({ outcome: 'ROTATED' })]);
    expect(started).toEqual({ calls: 1, listed: 1 });
  });

  test('a lost answer of a call that did NOT take effect: after the delay the key is rotated, once', async () => {
    // Given: the answer is lost before KMS performs anything (a plain 500)
    const { result, started, calls } = await run(
      {},
      { rotateWhileOnDemandRunning: 'accepted', readAfterRotateDelaySeconds: 30 },
      [{ service: 'kms', operation: 'RotateKeyOnDemand', error: 'KMSInternalException', times: 1 }],
    );

    // Then
    expect(result.keys).toEqual([expect.objectContaining({ outcome: 'ROTATED' })]);
    expect(started).toEqual({ calls: 1, listed: 1 });
    expect(calls.filter((c) => c.operation === 'RotateKeyOnDemand')).toHaveLength(2);
  });
});

describe('staged imported material that disappears between Assess and Rotate', () => {
  test.each(['KMSInvalidStateException', 'UnsupportedOperationException'])(
    'KMS answers %s: SKIPPED IMPORTED_MATERIAL_NOT_STAGED, nothing spent',
    async (error) => {
      // When
      const { result, started } = await run(
        { ...importedKey, stagedMaterialLostBeforeRotate: true },
        { stagedMaterialGoneError: error },
      );

      // Then
      expect(result.executionStatus).toBe('SUCCEEDED');
      expect(result.keys).toEqual([
        expect.objectContaining({ outcome: 'SKIPPED', reason: 'IMPORTED_MATERIAL_NOT_STAGED' }),
      ]);
      expect(result.keys[0].detail).toContain(error);
      expect(started).toEqual({ calls: 0, listed: 0 });
    },
  );
});
