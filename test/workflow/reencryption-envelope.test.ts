/**
 * The envelope path end to end on the stand-in: the synthesized state machine with the real
 * ReencryptObjects handler, its role's IAM and the Distributed Map's BatchInput. A message wrapped
 * for the rotated key and a DR key keeps both when `reEncryptEnvelopeWrappingKeys` lists the DR
 * key, and is left untouched (WRAPPING_KEY_UNUSABLE, action required) when it does not; a message
 * another account's key also wraps is left untouched with its reason; a legacy (non-committing)
 * message keeps its suite unless the setting `reEncryptUpgradeEnvelopeSuite` is on.
 */
import { buildClient, CommitmentPolicy, KmsKeyringNode, NodeAlgorithmSuite } from '@aws-crypto/client-node';
import { deserializeFactory } from '@aws-crypto/serialize';
import { KMS } from '@aws-sdk/client-kms';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { openSimulation, type SimulationRun } from '../../local/simulate';
import type { StandIn } from '../../local/standin';
import { parseWorld } from '../../local/world';
import type { TargetReport } from '../../lambdas/domain/reencryption';
import { TEST_CREDENTIALS } from '../../local/iam';

jest.setTimeout(180_000);

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const K1 = '1234abcd-12ab-34cd-56ef-1234567890ab';
const K1_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/${K1}`;
const DR = '0987dcba-09fe-87dc-65ba-ab0987654321';
const DR_ARN = `arn:aws:kms:us-west-2:${ACCOUNT}:key/${DR}`;
const PARTNER = 'aaaabbbb-cccc-dddd-eeee-ffff00001111';
const FOREIGN_ARN = `arn:aws:kms:${REGION}:444455556666:key/${PARTNER}`;
/**
 * The setting that lets the rewrite wrap for the DR key, and names the partner's key too: IAM then
 * allows Encrypt on it, but its key policy (the default: its own account only) does not.
 */
const DR_LISTED = { reEncryptEnvelopeWrappingKeys: [DR_ARN, FOREIGN_ARN] };
const LEGACY_SUITE = 0x0378;
const COMMITTING_SUITE = 0x0578;
const credentials = { ...TEST_CREDENTIALS };
const header = deserializeFactory((b) => Buffer.from(b).toString('utf8'), NodeAlgorithmSuite);

function worldWith(settings: Record<string, unknown>) {
  return parseWorld(
    {
      account: ACCOUNT,
      region: REGION,
      keys: [
        { id: K1, rotationSeconds: 5 },
        { id: DR, region: 'us-west-2' },
        { id: PARTNER, account: '444455556666' },
      ],
      buckets: [
        {
          name: 'sealed-data',
          objects: [
            { key: 'multi.bin', envelopeKeyIds: [K1_ARN, DR_ARN], body: 'read by the DR site too' },
            { key: 'partner.bin', envelopeKeyIds: [K1_ARN, FOREIGN_ARN], body: 'read by a partner account' },
            { key: 'legacy.bin', envelopeKeyId: K1, envelopeSuite: LEGACY_SUITE, body: 'written by the 1.x SDK' },
          ],
        },
      ],
      settings: { reEncryptBuckets: ['sealed-data'], ...settings },
    },
    'envelope world',
  );
}

interface Seen {
  report: TargetReport;
  /** The run's re-encryption summary: whether (and why) someone must act. */
  actionRequired: boolean;
  actionRequiredByReason: Record<string, number> | undefined;
  fingerprints: Record<string, [string | undefined, string | undefined]>;
  stored: Record<string, Buffer>;
  plaintextBy: Record<string, string>;
  /** Per object: the stored object is exactly what the world seeded. */
  unchanged: Record<string, boolean>;
}

const KEYS = ['multi.bin', 'partner.bin', 'legacy.bin'];

/** Run a manual request re-encrypting the bucket; read everything needed before the stand-in closes. */
async function runEnvelopeTarget(settings: Record<string, unknown>): Promise<Seen> {
  let standIn!: StandIn;
  const sim = await openSimulation({ world: worldWith(settings), speed: 20, onStandIn: (s) => (standIn = s) });
  try {
    const before = Object.fromEntries(KEYS.map((k) => [k, standIn.s3Object('sealed-data', k)]));
    const run: SimulationRun = await sim.run({
      keyId: K1,
      reason: 'exposed data keys',
      reEncrypt: { targets: [{ type: 'envelope', bucket: 'sealed-data' }] },
    });
    const report = run.result.reencryption?.targets.find((t) => t.type === 'envelope' && t.bucket === 'sealed-data');
    if (!report) throw new Error(`no envelope report: ${JSON.stringify(run.result.reencryption)}`);
    const s3 = new S3Client({ endpoint: standIn.endpoint, region: REGION, credentials, forcePathStyle: true });
    const stored: Record<string, Buffer> = {};
    for (const k of KEYS)
      stored[k] = Buffer.from(
        await (await s3.send(new GetObjectCommand({ Bucket: 'sealed-data', Key: k }))).Body!.transformToByteArray(),
      );
    // Each key alone, as a reader holding only that key.
    const plaintextBy: Record<string, string> = {};
    for (const keyArn of [K1_ARN, DR_ARN]) {
      const keyring = new KmsKeyringNode({
        generatorKeyId: keyArn,
        clientProvider: ((region: string) => new KMS({ endpoint: standIn.endpoint, region, credentials })) as never,
      });
      plaintextBy[keyArn] = Buffer.from(
        (await buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT).decrypt(keyring, stored['multi.bin']))
          .plaintext,
      ).toString();
    }
    const fingerprints = Object.fromEntries(
      KEYS.map((k) => [
        k,
        [before[k]?.envelope?.dataKeyFingerprint, standIn.s3Object('sealed-data', k)?.envelope?.dataKeyFingerprint],
      ]),
    ) as Seen['fingerprints'];
    return {
      report,
      actionRequired: run.result.reencryption!.actionRequired,
      actionRequiredByReason: run.result.reencryption!.actionRequiredByReason,
      fingerprints,
      stored,
      plaintextBy,
      unchanged: Object.fromEntries(
        KEYS.map((k) => [k, JSON.stringify(standIn.s3Object('sealed-data', k)) === JSON.stringify(before[k])]),
      ),
    };
  } finally {
    await sim.close();
  }
}

const suiteOf = (message: Buffer) => {
  const h = header.deserializeMessageHeader(message);
  if (!h) throw new Error('not a message');
  return h.messageHeader;
};

describe('envelope re-encryption through the workflow (the DR key listed in reEncryptEnvelopeWrappingKeys)', () => {
  let seen!: Seen;
  beforeAll(async () => {
    seen = await runEnvelopeTarget(DR_LISTED);
  });

  test('a multi-key message keeps every wrapping key: the rotated key and the DR key each still decrypt it alone', () => {
    expect(seen.fingerprints['multi.bin'][1]).not.toBe(seen.fingerprints['multi.bin'][0]);
    expect(suiteOf(seen.stored['multi.bin']).encryptedDataKeys.map((k) => k.providerInfo)).toEqual([K1_ARN, DR_ARN]);
    expect(seen.plaintextBy[K1_ARN]).toBe('read by the DR site too');
    expect(seen.plaintextBy[DR_ARN]).toBe('read by the DR site too');
  });

  test("a message another account's key also wraps (listed, but its key policy does not allow the role) is left untouched: WRAPPING_KEY_UNUSABLE", () => {
    expect(seen.report.skippedByReason).toMatchObject({ WRAPPING_KEY_UNUSABLE: 1 });
    expect(seen.unchanged['partner.bin']).toBe(true);
  });

  test('a legacy 0x0378 message is rewritten in 0x0378 with a new data key', () => {
    expect(seen.report).toMatchObject({ objectsReencrypted: 2, objectsFailed: 0 });
    expect(seen.fingerprints['legacy.bin'][1]).not.toBe(seen.fingerprints['legacy.bin'][0]);
    expect(suiteOf(seen.stored['legacy.bin']).suiteId).toBe(LEGACY_SUITE);
  });
});

test('with reEncryptUpgradeEnvelopeSuite on, the legacy message is rewritten in the committing suite', async () => {
  const seen = await runEnvelopeTarget({ ...DR_LISTED, reEncryptUpgradeEnvelopeSuite: true });
  expect(seen.report).toMatchObject({ objectsReencrypted: 2, objectsFailed: 0 });
  expect(suiteOf(seen.stored['legacy.bin']).suiteId).toBe(COMMITTING_SUITE);
});

test('with the DR key NOT listed in reEncryptEnvelopeWrappingKeys (the default), the multi-key message is left untouched: WRAPPING_KEY_UNUSABLE, action required', async () => {
  const seen = await runEnvelopeTarget({});
  // The role may not Encrypt with the DR key, so a rewrite would drop the DR reader: nothing is written.
  expect(seen.unchanged['multi.bin']).toBe(true);
  expect(seen.fingerprints['multi.bin'][1]).toBe(seen.fingerprints['multi.bin'][0]);
  expect(seen.plaintextBy[DR_ARN]).toBe('read by the DR site too');
  expect(seen.report).toMatchObject({
    status: 'COMPLETED',
    objectsReencrypted: 1,
    objectsFailed: 0,
    skippedByReason: { WRAPPING_KEY_UNUSABLE: 2 },
  });
  expect(seen.actionRequiredByReason).toMatchObject({ WRAPPING_KEY_UNUSABLE: 2 });
  expect(seen.actionRequired).toBe(true);
});
