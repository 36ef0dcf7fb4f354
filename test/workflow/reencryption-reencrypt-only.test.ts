/**
 * Re-encrypt only, without a rotation, end to end on the stand-in: the synthesized state machine
 * with the real handlers. It spends nothing (RotateKeyOnDemand is never called, the key's rotation
 * count is unchanged) and re-encrypts under the CURRENT material only when that material was
 * created after `exposedAt`; otherwise every key is SKIPPED MATERIAL_PREDATES_EXPOSURE and nothing
 * is written.
 */
import { ListKeyRotationsCommand } from '@aws-sdk/client-kms';
import { openSimulation, type SimulationRun } from '../../local/simulate';
import { parseWorld } from '../../local/world';
import { clients } from '../standin/helpers';

jest.setTimeout(120_000);

const K1 = '1234abcd-12ab-34cd-56ef-1234567890ab';
const K2 = '2234abcd-12ab-34cd-56ef-1234567890ab';
const OBJECTS = ['a.json', 'b.json'];

/** K1 was rotated on demand 30 minutes ago; K2 was never rotated (created a year ago). */
const world = parseWorld(
  {
    keys: [{ id: K1, onDemandRotationsUsed: 1, lastOnDemandRotationMinutesAgo: 30 }, { id: K2 }],
    buckets: [
      { name: 'orders-data', objects: OBJECTS.map((key) => ({ key, body: `body of ${key}`, kmsKeyId: K1 })) },
      { name: 'k2-data', objects: [{ key: 'c.json', body: 'c', kmsKeyId: K2 }] },
    ],
    settings: { reEncryptBuckets: ['orders-data', 'k2-data'] },
  },
  'reencrypt-only world',
);
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();
const request = (keyId: string, bucket: string, exposedAt: string) => ({
  keyId,
  reason: 'INC-18 data keys exposed',
  reEncryptOnly: true,
  exposedAt,
  reEncrypt: { targets: [{ type: 's3-sse-kms', bucket }] },
});
const served = (run: SimulationRun, service: string, ops: string[]) =>
  run.calls.filter((c) => c.service === service && ops.includes(c.operation) && !c.error).length;
const S3_WRITES = ['CopyObject', 'PutObject', 'CreateMultipartUpload', 'UploadPartCopy', 'CompleteMultipartUpload'];

async function rotationsOf(sim: Awaited<ReturnType<typeof openSimulation>>, keyId: string) {
  return (await clients(sim.standIn).kms.send(new ListKeyRotationsCommand({ KeyId: keyId }))).Rotations ?? [];
}

test('material newer than the exposure: re-encrypts under new data keys, never calls RotateKeyOnDemand, spends no rotation', async () => {
  const sim = await openSimulation({ world, speed: 20 });
  try {
    const before = OBJECTS.map((k) => sim.standIn.s3Object('orders-data', k)!);
    const rotationsBefore = await rotationsOf(sim, K1);

    const run = await sim.run(request(K1, 'orders-data', minutesAgo(120)));

    expect(run.result.executionStatus).toBe('SUCCEEDED');
    expect(run.result.keys.map((k) => [k.outcome, k.reason])).toEqual([['REENCRYPT_ONLY', null]]);
    expect(served(run, 'kms', ['RotateKeyOnDemand'])).toBe(0);
    expect(await rotationsOf(sim, K1)).toEqual(rotationsBefore);
    expect(run.result.reencryption).toMatchObject({
      mode: 'RUN',
      objectsReencrypted: 2,
      objectsFailed: 0,
      actionRequired: false,
    });
    OBJECTS.forEach((k, i) => {
      const now = sim.standIn.s3Object('orders-data', k)!;
      expect(now.dataKeyFingerprint).not.toBe(before[i]!.dataKeyFingerprint);
      expect(now.keyMaterialId).toBe(before[i]!.keyMaterialId); // the current material: no rotation
    });
  } finally {
    await sim.close();
  }
});

test.each([
  ['rotated before the exposure', K1, 'orders-data', 10],
  ['never rotated (created before the exposure)', K2, 'k2-data', 60],
])(
  'material older than the exposure (%s): refused MATERIAL_PREDATES_EXPOSURE, nothing written',
  async (_what, keyId, bucket, exposedMinutesAgo) => {
    const sim = await openSimulation({ world, speed: 20 });
    try {
      const run = await sim.run(request(keyId, bucket, minutesAgo(exposedMinutesAgo)));

      expect(run.result.keys.map((k) => [k.outcome, k.reason])).toEqual([['SKIPPED', 'MATERIAL_PREDATES_EXPOSURE']]);
      expect(served(run, 'kms', ['RotateKeyOnDemand'])).toBe(0);
      expect(served(run, 's3', S3_WRITES)).toBe(0);
      expect(run.result.reencryption).toMatchObject({
        mode: 'NONE',
        actionRequired: true,
        actionRequiredByReason: { MATERIAL_PREDATES_EXPOSURE: 1 },
      });
      expect(run.result.reencryption!.refused.map((r) => r.reason)).toEqual(['MATERIAL_PREDATES_EXPOSURE']);
      const summary = run.result.notifications.at(-1)!.message;
      expect(summary).toContain('Rotate the key first');
    } finally {
      await sim.close();
    }
  },
);
