import {
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GetKeyRotationStatusCommand,
  RotateKeyOnDemandCommand,
} from '@aws-sdk/client-kms';
import { CopyObjectCommand } from '@aws-sdk/client-s3';
import { startStandIn, type StandIn } from '../../local/standin';
import { KMS_OPERATIONS } from '../../local/standin/kms';
import { defaultSymmetricQuota, KMS_REQUEST_QUOTAS, QUOTA_OPERATIONS, RequestQuotas } from '../../local/standin/quotas';
import { WorldError } from '../../local/world';
import { clients, errorName, signed, world } from './helpers';

let s: StandIn | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

const ids = (n: number) =>
  Array.from({ length: n }, (_, i) => `${String(i).padStart(8, '0')}-1234-1234-1234-123456789012`);
const arnOf = (id: string, region = 'us-east-1') => `arn:aws:kms:${region}:111122223333:key/${id}`;

/** A KMS request as the SDK sends it, to see the status and body KMS answers with. */
async function rawKms(
  endpoint: string,
  op: string,
  body: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const text = JSON.stringify(body);
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: await signed(
      endpoint,
      'kms',
      { 'x-amz-target': `TrentService.${op}`, 'content-type': 'application/x-amz-json-1.1' },
      text,
    ),
    body: text,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('request quotas (token buckets, per simulated second)', () => {
  test("a burst of one second's requests passes, the next is refused; tokens come back at rate x speed per real second", () => {
    let now = 0;
    const quotas = new RequestQuotas({}, 1, () => now);
    const burst = Array.from({ length: 6 }, () => quotas.admit('111122223333', 'us-east-1', 'RotateKeyOnDemand'));
    expect(burst).toEqual([true, true, true, true, true, false]);
    now = 199; // 0.995 of a token
    expect(quotas.admit('111122223333', 'us-east-1', 'RotateKeyOnDemand')).toBe(false);
    now = 400;
    expect(quotas.admit('111122223333', 'us-east-1', 'RotateKeyOnDemand')).toBe(true);

    // At speed 100 one simulated second is 10 real ms: 5 tokens.
    now = 0;
    const fast = new RequestQuotas({}, 100, () => now);
    for (let i = 0; i < 5; i++) expect(fast.admit('111122223333', 'us-east-1', 'RotateKeyOnDemand')).toBe(true);
    expect(fast.admit('111122223333', 'us-east-1', 'RotateKeyOnDemand')).toBe(false);
    now = 10;
    expect(
      Array.from({ length: 6 }, () => fast.admit('111122223333', 'us-east-1', 'RotateKeyOnDemand')).filter(Boolean),
    ).toHaveLength(5);
  });

  test('each operation, account and Region has its own bucket; overrides replace the documented rate', () => {
    const now = 0;
    const quotas = new RequestQuotas({ RotateKeyOnDemand: 2, CryptographicOperationsSymmetric: 1 }, 1, () => now);
    expect([1, 2, 3].map(() => quotas.admit('111122223333', 'us-east-1', 'RotateKeyOnDemand'))).toEqual([
      true,
      true,
      false,
    ]);
    expect(quotas.admit('111122223333', 'eu-west-1', 'RotateKeyOnDemand')).toBe(true);
    expect(quotas.admit('444455556666', 'us-east-1', 'RotateKeyOnDemand')).toBe(true);
    expect(quotas.admit('111122223333', 'us-east-1', 'ListKeyRotations')).toBe(true);
    // The symmetric cryptographic operations share one bucket: Encrypt takes the only token, Decrypt finds none.
    expect([1, 2].map(() => quotas.admit('111122223333', 'us-east-1', 'Encrypt'))).toEqual([true, false]);
    expect(quotas.admit('111122223333', 'us-east-1', 'Decrypt')).toBe(false);
  });

  test('the symmetric cryptographic operations share ONE quota (Decrypt, Encrypt, GenerateDataKey, ReEncrypt), per account and Region', () => {
    let now = 0;
    const quotas = new RequestQuotas({ CryptographicOperationsSymmetric: 4 }, 1, () => now);
    const ops = ['Decrypt', 'GenerateDataKey', 'Encrypt', 'ReEncrypt', 'Decrypt', 'GenerateDataKey'];
    // Each operation alone is far under 4/s; together they are over it.
    expect(ops.map((op) => quotas.admit('111122223333', 'us-east-1', op))).toEqual([
      true,
      true,
      true,
      true,
      false,
      false,
    ]);
    expect(quotas.admit('111122223333', 'eu-west-1', 'Decrypt')).toBe(true);
    // RotateKeyOnDemand keeps its own quota.
    expect(quotas.admit('111122223333', 'us-east-1', 'RotateKeyOnDemand')).toBe(true);
    now = 500;
    expect([1, 2, 3].map(() => quotas.admit('111122223333', 'us-east-1', 'GenerateDataKey'))).toEqual([
      true,
      true,
      false,
    ]);
  });

  test("the shared quota's default is the documented per-Region rate (the lower figure where copies of the page differ)", () => {
    expect([
      defaultSymmetricQuota('ap-south-1'),
      defaultSymmetricQuota('eu-central-1'),
      defaultSymmetricQuota('us-east-1'),
    ]).toEqual([5_500, 10_000, 30_000]);
    const now = 0;
    const quotas = new RequestQuotas({}, 1, () => now);
    const admitted = Array.from({ length: 5_501 }, (_, i) =>
      quotas.admit('a', 'ap-south-1', i % 2 ? 'Decrypt' : 'GenerateDataKey'),
    );
    expect(admitted.filter(Boolean)).toHaveLength(5_500);
  });

  test('a fractional rate still lets one request through, then one per 1/rate seconds', () => {
    let now = 0;
    const quotas = new RequestQuotas({ RotateKeyOnDemand: 0.5 }, 1, () => now);
    expect([1, 2].map(() => quotas.admit('a', 'r', 'RotateKeyOnDemand'))).toEqual([true, false]);
    now = 1500;
    expect(quotas.admit('a', 'r', 'RotateKeyOnDemand')).toBe(false);
    now = 2000;
    expect(quotas.admit('a', 'r', 'RotateKeyOnDemand')).toBe(true);
  });

  test('the quota table names every KMS operation the stand-in serves, with the documented rates', () => {
    expect([...QUOTA_OPERATIONS].sort()).toEqual([...KMS_OPERATIONS].sort());
    expect(KMS_REQUEST_QUOTAS).toMatchObject({
      RotateKeyOnDemand: 5,
      ListKeyRotations: 100,
      GetKeyRotationStatus: 1000,
      DescribeKey: 2000,
    });
  });
});

describe('the stand-in throttles as KMS does', () => {
  test('the sixth RotateKeyOnDemand within a second: ThrottlingException (HTTP 400); counters per operation and key', async () => {
    const keyIds = ids(7);
    // Slow simulated time: no token comes back while the test runs, however busy the machine.
    s = await startStandIn(world({ keys: keyIds.map((id) => ({ id })) }), { speed: 0.01 });
    const { kms } = clients(s);
    for (const KeyId of keyIds.slice(0, 5)) await kms.send(new RotateKeyOnDemandCommand({ KeyId }));
    const refused = await rawKms(s.endpoint, 'RotateKeyOnDemand', { KeyId: keyIds[5] });
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({
      __type: 'ThrottlingException',
      message: expect.stringMatching(/exceeded the rate at which you may call KMS/),
    });
    expect(await errorName(kms.send(new RotateKeyOnDemandCommand({ KeyId: keyIds[6] })))).toBe('ThrottlingException');

    const counters = s.counters();
    expect(counters.served.RotateKeyOnDemand).toEqual(
      Object.fromEntries(keyIds.slice(0, 5).map((id) => [arnOf(id), 1])),
    );
    expect(counters.throttled.RotateKeyOnDemand).toEqual({ [arnOf(keyIds[5])]: 1, [arnOf(keyIds[6])]: 1 });
    expect(counters.throttles).toBe(2);
    expect(s.calls.filter((c) => c.error === 'ThrottlingException')).toHaveLength(2);
    // A throttled request reaches no key: the sixth key is not rotating, the fifth is.
    const rotating = async (KeyId: string) =>
      (await kms.send(new GetKeyRotationStatusCommand({ KeyId }))).OnDemandRotationStartDate !== undefined;
    expect(await rotating(keyIds[5])).toBe(false);
    expect(await rotating(keyIds[4])).toBe(true);
  });

  test("mixed operations, S3's own KMS requests included, draw on the one shared symmetric quota; RotateKeyOnDemand does not", async () => {
    const [id] = ids(1);
    s = await startStandIn(
      world({
        keys: [{ id }],
        quotas: { CryptographicOperationsSymmetric: 4 },
        buckets: [{ name: 'orders', objects: [{ key: 'a', body: 'a', kmsKeyId: id }] }],
      }),
      // Slow simulated time: no token comes back while the test runs, however slow the machine.
      { speed: 0.001 },
    );
    const { kms, s3 } = clients(s);
    const blob = (await kms.send(new EncryptCommand({ KeyId: id, Plaintext: Buffer.from('x') }))).CiphertextBlob;
    // S3 decrypts the source's data key and generates the new one: 2 requests on the account's behalf.
    await s3.send(
      new CopyObjectCommand({
        Bucket: 'orders',
        Key: 'a',
        CopySource: 'orders/a',
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: arnOf(id),
        MetadataDirective: 'REPLACE',
      }),
    );
    await kms.send(new GenerateDataKeyCommand({ KeyId: id, KeySpec: 'AES_256' }));
    // Four requests of three different operations within the second: the fifth is throttled, whichever it is.
    expect(await errorName(kms.send(new DecryptCommand({ CiphertextBlob: blob })))).toBe('ThrottlingException');
    await expect(kms.send(new RotateKeyOnDemandCommand({ KeyId: id }))).resolves.toBeDefined();
    const { served, throttled } = s.counters();
    expect(served).toMatchObject({
      Encrypt: { [arnOf(id)]: 1 },
      Decrypt: { [arnOf(id)]: 1 },
      GenerateDataKey: { [arnOf(id)]: 2 },
      RotateKeyOnDemand: { [arnOf(id)]: 1 },
    });
    expect(throttled).toEqual({ Decrypt: { '-': 1 } }); // a Decrypt names no KeyId: counted under '-'
  });

  test('a world quota replaces the documented one; aliases and unknown keys are counted under what they name', async () => {
    const [id] = ids(1);
    s = await startStandIn(world({ keys: [{ id, aliases: ['alias/orders'] }], quotas: { DescribeKey: 2 } }));
    const { kms } = clients(s);
    await kms.send(new DescribeKeyCommand({ KeyId: 'alias/orders' }));
    expect(await errorName(kms.send(new DescribeKeyCommand({ KeyId: 'no-such-key' })))).toBe('NotFoundException');
    expect(await errorName(kms.send(new DescribeKeyCommand({ KeyId: id })))).toBe('ThrottlingException');
    expect(s.counters()).toEqual({
      served: { DescribeKey: { [arnOf(id)]: 1, 'no-such-key': 1 } },
      throttled: { DescribeKey: { [arnOf(id)]: 1 } },
      throttles: 1,
    });
  });

  test('a world file names only known operations and positive rates', () => {
    expect(() => world({ quotas: { RotateKeyOnDemand: 1, UntagResource: 5 } })).toThrow(WorldError);
    expect(() => world({ quotas: { UntagResource: 5 } })).toThrow(/quotas\.UntagResource: unknown field/);
    expect(() => world({ quotas: { RotateKeyOnDemand: 0 } })).toThrow(/quotas\.RotateKeyOnDemand: /);
    expect(world({ quotas: { RotateKeyOnDemand: 0.5 } }).quotas).toEqual({ RotateKeyOnDemand: 0.5 });
    expect(world({}).quotas).toEqual({});
    // KMS has no Decrypt or GenerateDataKey quota of its own: the world must name the shared one.
    expect(() => world({ quotas: { GenerateDataKey: 5 } })).toThrow(
      /quotas\.GenerateDataKey: KMS has no quota of its own for GenerateDataKey: it shares "CryptographicOperationsSymmetric"/,
    );
    expect(world({ quotas: { CryptographicOperationsSymmetric: 50 } }).quotas).toEqual({
      CryptographicOperationsSymmetric: 50,
    });
  });
});
