import {
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  ListAliasesCommand,
  ListResourceTagsCommand,
  ReEncryptCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { startStandIn, type StandIn } from '../../local/standin';
import { clients, errorName, KEY_ID, world } from './helpers';

const ARN = `arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}`;
let s: StandIn;
let kms: ReturnType<typeof clients>['kms'];

beforeAll(async () => {
  s = await startStandIn(
    world({
      keys: [
        {
          id: KEY_ID,
          aliases: ['alias/orders', 'alias/orders-2'],
          tags: { team: 'payments', 'kms-incident-rotation': 'opt-out' },
        },
        { id: 'dest', aliases: ['alias/dest'] },
        { id: 'hsm', origin: 'AWS_CLOUDHSM' },
        { id: 'mrk-9', multiRegion: true },
        {
          id: 'mrk-9',
          multiRegion: true,
          multiRegionKeyType: 'REPLICA',
          region: 'ap-northeast-1',
          primaryArn: 'arn:aws:kms:us-east-1:111122223333:key/mrk-9',
        },
        { id: 'signing', keySpec: 'ECC_NIST_P256', keyUsage: 'SIGN_VERIFY' },
        { id: 'off', keyState: 'Disabled' },
      ],
    }),
    { speed: 1000 },
  );
  kms = clients(s).kms;
});
afterAll(() => s.close());

describe('KMS stand-in: key operations', () => {
  test('DescribeKey by key id, key ARN, alias name and alias ARN gives full metadata', async () => {
    for (const KeyId of [KEY_ID, ARN, 'alias/orders', 'arn:aws:kms:us-east-1:111122223333:alias/orders']) {
      const md = (await kms.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!;
      expect(md).toMatchObject({
        AWSAccountId: '111122223333',
        KeyId: KEY_ID,
        Arn: ARN,
        Enabled: true,
        KeyState: 'Enabled',
        KeyManager: 'CUSTOMER',
        KeySpec: 'SYMMETRIC_DEFAULT',
        CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
        KeyUsage: 'ENCRYPT_DECRYPT',
        Origin: 'AWS_KMS',
        MultiRegion: false,
        EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
      });
      expect(md.CreationDate).toBeInstanceOf(Date);
      expect(md.CurrentKeyMaterialId).toMatch(/^[0-9a-f]{64}$/);
    }
    const hsm = (await kms.send(new DescribeKeyCommand({ KeyId: 'hsm' }))).KeyMetadata!;
    expect(hsm.CustomKeyStoreId).toMatch(/^cks-/);
    const primary = (await kms.send(new DescribeKeyCommand({ KeyId: 'mrk-9' }))).KeyMetadata!;
    expect(primary.MultiRegionConfiguration).toEqual({
      MultiRegionKeyType: 'PRIMARY',
      PrimaryKey: { Arn: 'arn:aws:kms:us-east-1:111122223333:key/mrk-9', Region: 'us-east-1' },
      ReplicaKeys: [{ Arn: 'arn:aws:kms:ap-northeast-1:111122223333:key/mrk-9', Region: 'ap-northeast-1' }],
    });
    expect(await errorName(kms.send(new DescribeKeyCommand({ KeyId: 'alias/nope' })))).toBe('NotFoundException');
  });

  test('ListAliases (all, filtered by key) and ListResourceTags', async () => {
    const all = await kms.send(new ListAliasesCommand({}));
    expect(all.Aliases!.map((a) => a.AliasName)).toEqual(['alias/dest', 'alias/orders', 'alias/orders-2']);
    const mine = await kms.send(new ListAliasesCommand({ KeyId: KEY_ID, Limit: 1 }));
    expect(mine.Aliases).toEqual([
      expect.objectContaining({
        AliasName: 'alias/orders',
        AliasArn: 'arn:aws:kms:us-east-1:111122223333:alias/orders',
        TargetKeyId: KEY_ID,
      }),
    ]);
    expect(mine.Truncated).toBe(true);
    const next = await kms.send(new ListAliasesCommand({ KeyId: KEY_ID, Marker: mine.NextMarker }));
    expect(next.Aliases!.map((a) => a.AliasName)).toEqual(['alias/orders-2']);
    const tags = await kms.send(new ListResourceTagsCommand({ KeyId: ARN }));
    expect(tags.Tags).toEqual([
      { TagKey: 'team', TagValue: 'payments' },
      { TagKey: 'kms-incident-rotation', TagValue: 'opt-out' },
    ]);
    expect(tags.Truncated).toBe(false);
  });

  test('Encrypt/Decrypt bind the encryption context; wrong context or tampering -> InvalidCiphertextException', async () => {
    const enc = await kms.send(
      new EncryptCommand({
        KeyId: 'alias/orders',
        Plaintext: Buffer.from('top secret'),
        EncryptionContext: { app: 'orders' },
      }),
    );
    expect(enc.KeyId).toBe(ARN);
    const ok = await kms.send(
      new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { app: 'orders' } }),
    );
    expect(Buffer.from(ok.Plaintext!).toString()).toBe('top secret');
    expect(
      await errorName(
        kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { app: 'other' } })),
      ),
    ).toBe('InvalidCiphertextException');
    expect(await errorName(kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob })))).toBe(
      'InvalidCiphertextException',
    );
    const tampered = Buffer.from(enc.CiphertextBlob!);
    tampered[tampered.length - 1] ^= 1;
    expect(
      await errorName(kms.send(new DecryptCommand({ CiphertextBlob: tampered, EncryptionContext: { app: 'orders' } }))),
    ).toBe('InvalidCiphertextException');
    expect(
      await errorName(
        kms.send(
          new DecryptCommand({
            CiphertextBlob: enc.CiphertextBlob,
            KeyId: 'dest',
            EncryptionContext: { app: 'orders' },
          }),
        ),
      ),
    ).toBe('IncorrectKeyException');
    expect(await errorName(kms.send(new EncryptCommand({ KeyId: 'off', Plaintext: Buffer.from('x') })))).toBe(
      'DisabledException',
    );
    expect(await errorName(kms.send(new EncryptCommand({ KeyId: 'signing', Plaintext: Buffer.from('x') })))).toBe(
      'InvalidKeyUsageException',
    );
  });

  test('GenerateDataKey returns a data key under the current material; ReEncrypt moves a ciphertext to the destination key', async () => {
    const dk = await kms.send(new GenerateDataKeyCommand({ KeyId: KEY_ID, KeySpec: 'AES_256' }));
    expect(dk.Plaintext).toHaveLength(32);
    const current = (await kms.send(new DescribeKeyCommand({ KeyId: KEY_ID }))).KeyMetadata!.CurrentKeyMaterialId;
    expect(dk.KeyMaterialId).toBe(current);
    const back = await kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob }));
    expect(Buffer.from(back.Plaintext!)).toEqual(Buffer.from(dk.Plaintext!));
    expect(await errorName(kms.send(new GenerateDataKeyCommand({ KeyId: KEY_ID })))).toBe('ValidationException');

    const re = await kms.send(
      new ReEncryptCommand({
        CiphertextBlob: dk.CiphertextBlob,
        DestinationKeyId: 'alias/dest',
        DestinationEncryptionContext: { to: 'dest' },
      }),
    );
    expect(re.SourceKeyId).toBe(ARN);
    expect(re.KeyId).toBe('arn:aws:kms:us-east-1:111122223333:key/dest');
    expect(re.SourceKeyMaterialId).toBe(current);
    const viaDest = await kms.send(
      new DecryptCommand({ CiphertextBlob: re.CiphertextBlob, EncryptionContext: { to: 'dest' } }),
    );
    expect(Buffer.from(viaDest.Plaintext!)).toEqual(Buffer.from(dk.Plaintext!));
  });

  test('CreateKey with tags, then ScheduleKeyDeletion -> PendingDeletion (7-30 days)', async () => {
    const created = (
      await kms.send(new CreateKeyCommand({ Description: 'drill', Tags: [{ TagKey: 'drill', TagValue: 'yes' }] }))
    ).KeyMetadata!;
    expect(created).toMatchObject({
      KeyState: 'Enabled',
      KeyManager: 'CUSTOMER',
      Description: 'drill',
      Origin: 'AWS_KMS',
    });
    expect(created.Arn).toBe(`arn:aws:kms:us-east-1:111122223333:key/${created.KeyId}`);
    expect((await kms.send(new ListResourceTagsCommand({ KeyId: created.KeyId }))).Tags).toEqual([
      { TagKey: 'drill', TagValue: 'yes' },
    ]);
    const mrk = (await kms.send(new CreateKeyCommand({ MultiRegion: true }))).KeyMetadata!;
    expect(mrk.KeyId).toMatch(/^mrk-[0-9a-f]{32}$/);
    expect(
      await errorName(kms.send(new ScheduleKeyDeletionCommand({ KeyId: created.KeyId, PendingWindowInDays: 6 }))),
    ).toBe('ValidationException');
    const del = await kms.send(new ScheduleKeyDeletionCommand({ KeyId: created.KeyId, PendingWindowInDays: 7 }));
    expect(del.KeyState).toBe('PendingDeletion');
    expect(del.PendingWindowInDays).toBe(7);
    expect(del.DeletionDate!.getTime() - Date.now()).toBeGreaterThan(6.9 * 24 * 3600 * 1000);
    const md = (await kms.send(new DescribeKeyCommand({ KeyId: created.KeyId }))).KeyMetadata!;
    expect(md).toMatchObject({ KeyState: 'PendingDeletion', Enabled: false, PendingDeletionWindowInDays: 7 });
    expect(await errorName(kms.send(new RotateKeyOnDemandCommand({ KeyId: created.KeyId })))).toBe(
      'KMSInvalidStateException',
    );
    expect(await errorName(kms.send(new ScheduleKeyDeletionCommand({ KeyId: created.KeyId })))).toBe(
      'KMSInvalidStateException',
    );
  });
});
