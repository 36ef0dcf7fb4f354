import {
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GetKeyRotationStatusCommand,
  ListKeyRotationsCommand,
  RotateKeyOnDemandCommand,
  type KMSClient,
  type RotationsListEntry,
} from '@aws-sdk/client-kms';
import { startStandIn, type StandIn } from '../../local/standin';
import { clients, errorName, KEY_ID, waitFor, world } from './helpers';

let standIn: StandIn | undefined;
afterEach(async () => {
  await standIn?.close();
  standIn = undefined;
});

async function start(raw: Record<string, unknown>, speed = 1000) {
  standIn = await startStandIn(world(raw), { speed });
  return { s: standIn, ...clients(standIn) };
}

async function allRotations(
  kms: KMSClient,
  KeyId: string,
  Limit?: number,
  IncludeKeyMaterial?: 'ALL_KEY_MATERIAL',
): Promise<{ rotations: RotationsListEntry[]; pages: number }> {
  const rotations: RotationsListEntry[] = [];
  let Marker: string | undefined;
  let pages = 0;
  do {
    const out = await kms.send(new ListKeyRotationsCommand({ KeyId, Limit, Marker, IncludeKeyMaterial }));
    pages++;
    rotations.push(...(out.Rotations ?? []));
    expect(out.Truncated).toBe(out.NextMarker !== undefined);
    Marker = out.NextMarker;
  } while (Marker);
  return { rotations, pages };
}

/** Rotate on demand and wait until KMS confirms it (start date gone, material changed). */
async function rotateAndConfirm(kms: KMSClient, KeyId: string): Promise<string> {
  const before = (await kms.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!.CurrentKeyMaterialId!;
  await kms.send(new RotateKeyOnDemandCommand({ KeyId }));
  return waitFor('rotation to complete', async () => {
    const status = await kms.send(new GetKeyRotationStatusCommand({ KeyId }));
    if (status.OnDemandRotationStartDate) return undefined;
    const now = (await kms.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!.CurrentKeyMaterialId!;
    return now !== before ? now : undefined;
  });
}

describe('KMS stand-in: rotations', () => {
  test('old ciphertexts keep decrypting after N rotations; new ones use the newest material', async () => {
    const { kms, s } = await start({ keys: [{ id: KEY_ID, aliases: ['alias/orders'] }] });
    const made: { blob: Uint8Array; text: string; material: string }[] = [];
    for (let i = 0; i < 4; i++) {
      const text = `secret ${i}`;
      const enc = await kms.send(
        new EncryptCommand({
          KeyId: 'alias/orders',
          Plaintext: Buffer.from(text),
          EncryptionContext: { n: String(i) },
        }),
      );
      const current = (await kms.send(new DescribeKeyCommand({ KeyId: KEY_ID }))).KeyMetadata!.CurrentKeyMaterialId!;
      expect(s.inspectCiphertext(enc.CiphertextBlob!).keyMaterialId).toBe(current);
      made.push({ blob: enc.CiphertextBlob!, text, material: current });
      if (i < 3) await rotateAndConfirm(kms, KEY_ID);
    }
    expect(new Set(made.map((m) => m.material)).size).toBe(4);
    for (const [i, m] of made.entries()) {
      const dec = await kms.send(new DecryptCommand({ CiphertextBlob: m.blob, EncryptionContext: { n: String(i) } }));
      expect(Buffer.from(dec.Plaintext!).toString()).toBe(m.text);
      expect(dec.KeyMaterialId).toBe(m.material);
      expect(dec.KeyId).toBe(`arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}`);
    }
    const { rotations } = await allRotations(kms, KEY_ID);
    expect(rotations.map((r) => r.RotationType)).toEqual(['ON_DEMAND', 'ON_DEMAND', 'ON_DEMAND']);
    expect(rotations.map((r) => r.KeyMaterialState)).toEqual(['NON_CURRENT', 'NON_CURRENT', 'CURRENT']);
    expect(rotations[2].KeyMaterialId).toBe(made[3].material);
  });

  test('the budget (settings.rotationBudget) is reached at exactly the limit', async () => {
    const { kms } = await start({ keys: [{ id: KEY_ID }], settings: { rotationBudget: 3 } });
    for (let i = 0; i < 3; i++) await rotateAndConfirm(kms, KEY_ID);
    expect(await errorName(kms.send(new RotateKeyOnDemandCommand({ KeyId: KEY_ID })))).toBe('LimitExceededException');
  });

  test('seeded rotations count toward the default budget of 25', async () => {
    const { kms } = await start({
      keys: [
        { id: KEY_ID, onDemandRotationsUsed: 24, lastOnDemandRotationMinutesAgo: 90 },
        { id: 'full', onDemandRotationsUsed: 25 },
      ],
    });
    const { rotations, pages } = await allRotations(kms, KEY_ID, 10);
    expect(rotations).toHaveLength(24);
    expect(pages).toBe(3);
    const newest = rotations[rotations.length - 1].RotationDate!.getTime();
    expect(Math.abs(Date.now() - 90 * 60_000 - newest)).toBeLessThan(5000);
    expect(newest - rotations[rotations.length - 2].RotationDate!.getTime()).toBe(24 * 3600 * 1000);
    await rotateAndConfirm(kms, KEY_ID);
    expect(await errorName(kms.send(new RotateKeyOnDemandCommand({ KeyId: KEY_ID })))).toBe('LimitExceededException');
    expect(await errorName(kms.send(new RotateKeyOnDemandCommand({ KeyId: 'full' })))).toBe('LimitExceededException');
  });

  test('onDemandRotationSpacingMinutes seeds several rotations within a day', async () => {
    const { kms } = await start({
      keys: [
        {
          id: KEY_ID,
          onDemandRotationsUsed: 3,
          lastOnDemandRotationMinutesAgo: 30,
          onDemandRotationSpacingMinutes: 120,
        },
      ],
    });
    const { rotations } = await allRotations(kms, KEY_ID);
    const minutesAgo = rotations.map((r) => Math.round((Date.now() - r.RotationDate!.getTime()) / 60_000));
    expect(rotations.map((r) => r.RotationType)).toEqual(['ON_DEMAND', 'ON_DEMAND', 'ON_DEMAND']);
    expect(minutesAgo).toEqual([270, 150, 30]);
  });

  test('OnDemandRotationStartDate is present during a rotation and absent after; ListKeyRotations then shows it', async () => {
    // speed 10: rotationSeconds 2 -> 200 ms, long enough to observe the in-progress state.
    const { kms } = await start({ keys: [{ id: KEY_ID, rotationSeconds: 2 }] }, 10);
    const before = await kms.send(new GetKeyRotationStatusCommand({ KeyId: KEY_ID }));
    expect(before.OnDemandRotationStartDate).toBeUndefined();
    expect(before.KeyRotationEnabled).toBe(false);
    const t0 = Date.now();
    await kms.send(new RotateKeyOnDemandCommand({ KeyId: KEY_ID }));
    const during = await kms.send(new GetKeyRotationStatusCommand({ KeyId: KEY_ID }));
    expect(during.OnDemandRotationStartDate).toBeInstanceOf(Date);
    expect(Math.abs(during.OnDemandRotationStartDate!.getTime() - t0)).toBeLessThan(1500);
    expect((await allRotations(kms, KEY_ID)).rotations).toHaveLength(0);
    // A second request while one is running: ConflictException (undocumented AWS behaviour).
    expect(await errorName(kms.send(new RotateKeyOnDemandCommand({ KeyId: KEY_ID })))).toBe('ConflictException');
    await waitFor(
      'start date to disappear',
      async () => !(await kms.send(new GetKeyRotationStatusCommand({ KeyId: KEY_ID }))).OnDemandRotationStartDate,
    );
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(190);
    const { rotations } = await allRotations(kms, KEY_ID);
    expect(rotations).toHaveLength(1);
    expect(rotations[0].RotationType).toBe('ON_DEMAND');
    expect(rotations[0].RotationDate!.getTime()).toBeGreaterThanOrEqual(Math.floor(t0 / 1000) * 1000);
  });

  test('a seeded in-progress rotation completes after rotationSeconds/speed and counts toward the budget', async () => {
    const { kms } = await start(
      {
        keys: [{ id: KEY_ID, rotationInProgress: true, onDemandRotationsUsed: 1, rotationSeconds: 100 }],
        settings: { rotationBudget: 2 },
      },
      1000,
    );
    const status = await kms.send(new GetKeyRotationStatusCommand({ KeyId: KEY_ID }));
    expect(Date.now() - status.OnDemandRotationStartDate!.getTime()).toBeGreaterThan(50_000);
    expect(await errorName(kms.send(new RotateKeyOnDemandCommand({ KeyId: KEY_ID })))).toBe('ConflictException');
    await waitFor('seeded rotation', async () => (await allRotations(kms, KEY_ID)).rotations.length === 2);
    expect(await errorName(kms.send(new RotateKeyOnDemandCommand({ KeyId: KEY_ID })))).toBe('LimitExceededException');
  });

  test('ConflictException while an automatic rotation is due within 20 minutes, success after it happened', async () => {
    // Due in 10 (simulated) minutes = 600 ms at speed 1000; 'later' is due in 60 minutes (3.6 s): outside the window now.
    const { kms } = await start({
      keys: [
        { id: KEY_ID, automaticRotationDueWithinMinutes: 10 },
        { id: 'later', automaticRotationDueWithinMinutes: 60 },
      ],
    });
    const status = await kms.send(new GetKeyRotationStatusCommand({ KeyId: KEY_ID }));
    expect(status.KeyRotationEnabled).toBe(true);
    expect(status.RotationPeriodInDays).toBe(365);
    expect(status.NextRotationDate).toBeInstanceOf(Date);
    expect(await errorName(kms.send(new RotateKeyOnDemandCommand({ KeyId: KEY_ID })))).toBe('ConflictException');
    await kms.send(new RotateKeyOnDemandCommand({ KeyId: 'later' }));
    const auto = await waitFor('automatic rotation', async () =>
      (await allRotations(kms, KEY_ID)).rotations.find((r) => r.RotationType === 'AUTOMATIC'),
    );
    expect(auto.KeyMaterialState).toBe('CURRENT');
    await rotateAndConfirm(kms, KEY_ID);
    const { rotations } = await allRotations(kms, KEY_ID);
    expect(rotations.map((r) => r.RotationType)).toEqual(['AUTOMATIC', 'ON_DEMAND']);
  });

  test('ListKeyRotations paginates with Limit and Marker; bad Limit/Marker are refused', async () => {
    const { kms } = await start({ keys: [{ id: KEY_ID, onDemandRotationsUsed: 5 }] });
    const one = await kms.send(new ListKeyRotationsCommand({ KeyId: KEY_ID, Limit: 2 }));
    expect(one.Rotations).toHaveLength(2);
    expect(one.Truncated).toBe(true);
    const { rotations, pages } = await allRotations(kms, KEY_ID, 2);
    expect(pages).toBe(3);
    expect(new Set(rotations.map((r) => r.KeyMaterialId)).size).toBe(5);
    const dates = rotations.map((r) => r.RotationDate!.getTime());
    expect([...dates].sort((a, b) => a - b)).toEqual(dates);
    const all = await allRotations(kms, KEY_ID, 4, 'ALL_KEY_MATERIAL');
    expect(all.rotations).toHaveLength(6);
    expect(all.rotations[0].RotationType).toBeUndefined();
    expect(await errorName(kms.send(new ListKeyRotationsCommand({ KeyId: KEY_ID, Limit: 0 })))).toBe(
      'ValidationException',
    );
    expect(await errorName(kms.send(new ListKeyRotationsCommand({ KeyId: KEY_ID, Marker: 'garbage' })))).toBe(
      'InvalidMarkerException',
    );
  });

  test('imported key material: refused without PENDING_ROTATION material, rotates into the pending material when staged', async () => {
    const { kms } = await start({
      keys: [
        { id: 'ext-none', origin: 'EXTERNAL' },
        { id: 'ext-staged', origin: 'EXTERNAL', pendingImportedMaterial: true },
      ],
    });
    expect(await errorName(kms.send(new RotateKeyOnDemandCommand({ KeyId: 'ext-none' })))).toBe(
      'KMSInvalidStateException',
    );
    const all = await kms.send(
      new ListKeyRotationsCommand({ KeyId: 'ext-staged', IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }),
    );
    const pending = all.Rotations!.find((r) => r.KeyMaterialState === 'PENDING_ROTATION');
    expect(pending?.ImportState).toBe('IMPORTED');
    expect((await kms.send(new ListKeyRotationsCommand({ KeyId: 'ext-staged' }))).Rotations).toHaveLength(0);
    expect(await rotateAndConfirm(kms, 'ext-staged')).toBe(pending!.KeyMaterialId);
    expect(await errorName(kms.send(new RotateKeyOnDemandCommand({ KeyId: 'ext-staged' })))).toBe(
      'KMSInvalidStateException',
    );
  });
});

describe('KMS stand-in: RotateKeyOnDemand eligibility errors', () => {
  const keys = [
    { id: 'aws-managed', keyManager: 'AWS', aliases: ['alias/aws/s3'] },
    { id: 'rsa', keySpec: 'RSA_2048' },
    { id: 'hmac', keySpec: 'HMAC_256', keyUsage: 'GENERATE_VERIFY_MAC' },
    { id: 'hsm', origin: 'AWS_CLOUDHSM' },
    { id: 'xks', origin: 'EXTERNAL_KEY_STORE' },
    { id: 'mrk-1', multiRegion: true },
    {
      id: 'mrk-1',
      multiRegion: true,
      multiRegionKeyType: 'REPLICA',
      region: 'eu-west-1',
      primaryArn: 'arn:aws:kms:us-east-1:111122223333:key/mrk-1',
    },
    { id: 'disabled', keyState: 'Disabled' },
    { id: 'deleting', keyState: 'PendingDeletion' },
    { id: 'importing', keyState: 'PendingImport', origin: 'EXTERNAL' },
    { id: 'other-account', account: '444455556666' },
  ];

  test.each([
    ['aws-managed', 'UnsupportedOperationException', /AWS managed/],
    ['rsa', 'UnsupportedOperationException', /SYMMETRIC_DEFAULT/],
    ['hmac', 'UnsupportedOperationException', /HMAC/],
    ['hsm', 'UnsupportedOperationException', /custom key store/],
    ['xks', 'UnsupportedOperationException', /custom key store/],
    ['disabled', 'DisabledException', /disabled/],
    ['deleting', 'KMSInvalidStateException', /pending deletion/],
    ['importing', 'KMSInvalidStateException', /pending import/],
    ['no-such-key', 'NotFoundException', /does not exist/],
  ])('%s -> %s', async (id, name, message) => {
    const { kms } = await start({ keys });
    const err = await kms.send(new RotateKeyOnDemandCommand({ KeyId: id })).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.name).toBe(name);
    expect(err?.message).toMatch(message);
  });

  test('a replica is refused in its Region and names its primary; the primary rotates and the replica follows', async () => {
    const { s } = await start({ keys });
    const eu = clients(s, 'eu-west-1').kms;
    const us = clients(s, 'us-east-1').kms;
    const err = await eu.send(new RotateKeyOnDemandCommand({ KeyId: 'mrk-1' })).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.name).toBe('UnsupportedOperationException');
    expect(err?.message).toContain('arn:aws:kms:us-east-1:111122223333:key/mrk-1');
    const replica = (await eu.send(new DescribeKeyCommand({ KeyId: 'mrk-1' }))).KeyMetadata!;
    expect(replica.MultiRegionConfiguration?.MultiRegionKeyType).toBe('REPLICA');
    expect(replica.MultiRegionConfiguration?.PrimaryKey).toEqual({
      Arn: 'arn:aws:kms:us-east-1:111122223333:key/mrk-1',
      Region: 'us-east-1',
    });
    const blob = (await us.send(new EncryptCommand({ KeyId: 'mrk-1', Plaintext: Buffer.from('x') }))).CiphertextBlob!;
    const newMaterial = await rotateAndConfirm(us, 'mrk-1');
    expect((await eu.send(new DescribeKeyCommand({ KeyId: 'mrk-1' }))).KeyMetadata!.CurrentKeyMaterialId).toBe(
      newMaterial,
    );
    expect(Buffer.from((await eu.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString()).toBe('x');
  });

  test('a key in another account is refused with AccessDeniedException (rotation and every other operation)', async () => {
    const { kms, s } = await start({ keys });
    const arn = s.keyArn('other-account');
    expect(arn).toBe('arn:aws:kms:us-east-1:444455556666:key/other-account');
    for (const cmd of [
      new RotateKeyOnDemandCommand({ KeyId: arn }),
      new DescribeKeyCommand({ KeyId: arn }),
      new ListKeyRotationsCommand({ KeyId: arn }),
      new GetKeyRotationStatusCommand({ KeyId: arn }),
    ]) {
      expect(await errorName(kms.send(cmd as never))).toBe('AccessDeniedException');
    }
    // By bare id, a key id resolves in the caller's own account only.
    expect(await errorName(kms.send(new RotateKeyOnDemandCommand({ KeyId: 'other-account' })))).toBe(
      'NotFoundException',
    );
  });

  test('RotateKeyOnDemand takes a key id or key ARN, not an alias; a key ARN of another Region is not found', async () => {
    const { kms } = await start({ keys: [{ id: KEY_ID, aliases: ['alias/orders'] }] });
    expect(await errorName(kms.send(new RotateKeyOnDemandCommand({ KeyId: 'alias/orders' })))).toBe(
      'NotFoundException',
    );
    expect(
      await errorName(
        kms.send(new RotateKeyOnDemandCommand({ KeyId: `arn:aws:kms:eu-west-1:111122223333:key/${KEY_ID}` })),
      ),
    ).toBe('NotFoundException');
    expect(await errorName(kms.send(new RotateKeyOnDemandCommand({ KeyId: 'arn:aws:kms:nonsense' })))).toBe(
      'InvalidArnException',
    );
    const out = await kms.send(
      new RotateKeyOnDemandCommand({ KeyId: `arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}` }),
    );
    expect(out.KeyId).toBe(KEY_ID);
  });
});
