/**
 * The re-encryption branch end to end on the stand-in: the synthesized state machine
 * (PlanReencryption -> Distributed Map per target -> SummarizeReencryption -> Notify) runs with the
 * real handlers; the stand-in tells whether an object got a NEW data key (its fingerprint) and
 * what it decrypts to.
 */
import { buildClient, CommitmentPolicy, KmsKeyringNode } from '@aws-crypto/client-node';
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { KMS } from '@aws-sdk/client-kms';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { LOCAL_LEDGER_TABLE } from '../../local/ledger-local';
import { openSimulation, type Simulation, type SimulationRun } from '../../local/simulate';
import type { StandIn } from '../../local/standin';
import { parseWorld } from '../../local/world';
import type { ReencryptionSummary, TargetReport } from '../../lambdas/domain/reencryption';
import { guardDutyFinding, ledgerClientOf } from './helpers';
import { TEST_CREDENTIALS } from '../../local/iam';
import { DEFAULT_RETRY } from '../../lambdas/adapters/reencryption/pacing';

jest.setTimeout(120_000);

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const K1 = '1234abcd-12ab-34cd-56ef-1234567890ab';
const K2 = '2234abcd-12ab-34cd-56ef-1234567890ab';
const arn = (id: string) => `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`;
/** The stand-in's test administrator: these tests inspect the stand-in's buckets and keys directly. */
const credentials = { ...TEST_CREDENTIALS };
const SPEED = 20;

/** The objects of the main bucket, with their original bodies. */
const ORDERS = {
  'a.json': { body: '{"order":1}', kmsKeyId: K1 },
  'b.json': { body: '{"order":2}', kmsKeyId: K1 },
  'other.json': { body: 'under another key', kmsKeyId: K2 },
  'plain.txt': { body: 'SSE-S3 only' },
  'cold.bin': { body: 'archived', kmsKeyId: K1, storageClass: 'GLACIER' },
  'env/m1.bin': { body: 'envelope secret one', envelopeKeyId: K1 },
  'env/m2.bin': { body: 'envelope under another key', envelopeKeyId: K2 },
  'env/m3.bin': { body: 'envelope secret three', envelopeKeyId: K1 },
} as const;

function worldWith(settings: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return parseWorld(
    {
      account: ACCOUNT,
      region: REGION,
      keys: [{ id: K1, rotationSeconds: 5, aliases: ['alias/orders'] }, { id: K2 }],
      buckets: [
        { name: 'orders-data', objects: Object.entries(ORDERS).map(([key, o]) => ({ key, ...o })) },
        { name: 'versioned-data', versioning: true, objects: [{ key: 'v.json', body: 'versioned', kmsKeyId: K1 }] },
        {
          name: 'keyed-data',
          defaultKmsKeyId: K1,
          bucketKeyEnabled: true,
          objects: [{ key: 'bk.json', body: 'bucket key' }],
        },
        { name: 'bucket-0', defaultKmsKeyId: K1, objects: [{ key: 'f.json', body: 'named by the finding' }] },
      ],
      settings: { reEncryptBuckets: ['orders-data', 'versioned-data', 'keyed-data', 'bucket-0'], ...settings },
      ...extra,
    },
    'reencryption world',
  );
}

const manual = (targets: { type: string; bucket: string; prefix?: string }[]) => ({
  keyId: K1,
  reason: 'exposed data keys',
  reEncrypt: { targets },
});

/** Everything a test needs to look at after a run, read before the simulation closes. */
interface Looked {
  run: SimulationRun;
  before: Map<string, string | undefined>;
  after: Map<string, string | undefined>;
  standIn: StandIn;
  sim: Simulation;
}

/** A stored object's data-key fingerprint: the SSE-KMS one, or the envelope's own data key. */
function fingerprint(s: StandIn, bucket: string, key: string): string | undefined {
  const o = s.s3Object(bucket, key);
  return o?.envelope?.dataKeyFingerprint ?? o?.dataKeyFingerprint;
}

const ALL_OBJECTS: [string, string][] = [
  ...Object.keys(ORDERS).map((k): [string, string] => ['orders-data', k]),
  ['versioned-data', 'v.json'],
  ['keyed-data', 'bk.json'],
  ['bucket-0', 'f.json'],
];

async function runAndLook(
  world: ReturnType<typeof worldWith>,
  input: unknown,
  before?: (s: StandIn) => void,
  check?: (l: Looked) => Promise<void>,
): Promise<SimulationRun> {
  let standIn!: StandIn;
  const sim = await openSimulation({ world, speed: SPEED, onStandIn: (s) => (standIn = s) });
  try {
    const fp = () => new Map(ALL_OBJECTS.map(([b, k]) => [`${b}/${k}`, fingerprint(standIn, b, k)]));
    const beforeFp = fp();
    before?.(standIn);
    const run = await sim.run(input);
    await check?.({ run, before: beforeFp, after: fp(), standIn, sim });
    return run;
  } finally {
    await sim.close();
  }
}

const s3Of = (s: StandIn) => new S3Client({ endpoint: s.endpoint, region: REGION, credentials, forcePathStyle: true });
const bodyOf = async (s: StandIn, bucket: string, key: string) =>
  Buffer.from(
    await (await s3Of(s).send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray(),
  );
async function envelopePlaintext(s: StandIn, bucket: string, key: string, keyId: string): Promise<string> {
  const keyring = new KmsKeyringNode({
    generatorKeyId: arn(keyId),
    clientProvider: () => new KMS({ endpoint: s.endpoint, region: REGION, credentials }) as never,
  });
  const { plaintext } = await buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT).decrypt(
    keyring,
    await bodyOf(s, bucket, key),
  );
  return Buffer.from(plaintext).toString('utf8');
}
const target = (r: ReencryptionSummary | null, type: string, bucket: string): TargetReport => {
  const t = r?.targets.find((x) => x.type === type && x.bucket === bucket);
  if (!t) throw new Error(`no ${type} report for ${bucket} in ${JSON.stringify(r)}`);
  return t;
};
const rotateCalls = (run: SimulationRun) =>
  run.calls.filter((c) => c.service === 'kms' && c.operation === 'RotateKeyOnDemand' && !c.error).length;

describe('a manual request with targets: rotate, then re-encrypt under new data keys', () => {
  let run!: SimulationRun;
  let looked!: Looked;
  let ledgerItems: Record<string, unknown>[] = [];
  const bodies: Record<string, string> = {};
  beforeAll(async () => {
    run = await runAndLook(
      worldWith({}),
      manual([
        { type: 's3-sse-kms', bucket: 'orders-data' },
        { type: 'envelope', bucket: 'orders-data', prefix: 'env/' },
        { type: 's3-sse-kms', bucket: 'versioned-data' },
        { type: 's3-sse-kms', bucket: 'keyed-data' },
        { type: 's3-sse-kms', bucket: 'not-listed-bucket' },
      ]),
      undefined,
      async (l) => {
        looked = l;
        // Read now: the stand-in and the ledger stop with the simulation.
        for (const k of ['a.json', 'b.json', 'other.json', 'plain.txt'])
          bodies[k] = (await bodyOf(l.standIn, 'orders-data', k)).toString('utf8');
        for (const [k, id] of [
          ['env/m1.bin', K1],
          ['env/m3.bin', K1],
          ['env/m2.bin', K2],
        ] as const)
          bodies[k] = await envelopePlaintext(l.standIn, 'orders-data', k, id);
        const q = await ledgerClientOf(l.sim).send(
          new QueryCommand({
            TableName: LOCAL_LEDGER_TABLE,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': { S: `KEY#${arn(K1)}` } },
          }),
        );
        ledgerItems = (q.Items ?? []).filter((i) => i.kind?.S === 'REENCRYPTION');
      },
    );
  });

  test('the key is rotated once and the execution SUCCEEDS; a target outside reEncryptBuckets is refused, the rest runs', () => {
    expect(run.result.executionStatus).toBe('SUCCEEDED');
    expect(run.result.keys.map((k) => k.outcome)).toEqual(['ROTATED']);
    expect(rotateCalls(run)).toBe(1);
    expect(run.result.reencryption?.mode).toBe('RUN');
    expect(run.result.reencryption?.refused).toEqual([
      expect.objectContaining({ bucket: 'not-listed-bucket', reason: 'BUCKET_NOT_ALLOWED' }),
    ]);
    // Nothing was asked of the refused bucket.
    expect(
      run.calls.filter((c) => c.service === 's3' && (c.input as { Bucket?: string }).Bucket === 'not-listed-bucket'),
    ).toEqual([]);
  });

  test('every targeted object has a NEW data key and decrypts to its original bytes', () => {
    for (const k of ['a.json', 'b.json']) {
      expect(looked.after.get(`orders-data/${k}`)).not.toEqual(looked.before.get(`orders-data/${k}`));
      expect(bodies[k]).toBe(ORDERS[k as 'a.json'].body);
      expect(looked.standIn.s3Object('orders-data', k)!.kmsKeyArn).toBe(arn(K1));
    }
    for (const k of ['env/m1.bin', 'env/m3.bin'] as const) {
      expect(looked.after.get(`orders-data/${k}`)).not.toEqual(looked.before.get(`orders-data/${k}`));
      expect(bodies[k]).toBe(ORDERS[k].body);
    }
    expect(looked.after.get('versioned-data/v.json')).not.toEqual(looked.before.get('versioned-data/v.json'));
    expect(looked.after.get('keyed-data/bk.json')).not.toEqual(looked.before.get('keyed-data/bk.json'));
  });

  test('objects under other keys, plain and archived objects are untouched and counted as skipped with their reason', () => {
    for (const k of ['other.json', 'plain.txt', 'cold.bin', 'env/m2.bin'])
      expect(looked.after.get(`orders-data/${k}`)).toEqual(looked.before.get(`orders-data/${k}`));
    expect(bodies['other.json']).toBe(ORDERS['other.json'].body);
    expect(bodies['env/m2.bin']).toBe(ORDERS['env/m2.bin'].body);
    const sse = target(run.result.reencryption, 's3-sse-kms', 'orders-data');
    // The whole bucket: 8 objects; the envelope ones are stored with SSE-S3, so not SSE-KMS here.
    expect(sse).toMatchObject({
      status: 'COMPLETED',
      objectsScanned: 8,
      objectsReencrypted: 2,
      objectsSkipped: 6,
      objectsFailed: 0,
      skippedByReason: { OTHER_KEY: 1, NOT_SSE_KMS: 4, ARCHIVED_NEEDS_RESTORE: 1 },
    });
    const env = target(run.result.reencryption, 'envelope', 'orders-data');
    expect(env).toMatchObject({
      prefix: 'env/',
      objectsScanned: 3,
      objectsReencrypted: 2,
      objectsSkipped: 1,
      skippedByReason: { OTHER_KEY: 1 },
      objectsFailed: 0,
    });
  });

  test('a versioned bucket: the old version keeps its old data key, counted and never deleted; Bucket Keys are reported', () => {
    const v = looked.standIn.s3Object('versioned-data', 'v.json')!;
    expect(v.versions).toBe(2);
    expect(v.previousDataKeyFingerprints).toEqual([looked.before.get('versioned-data/v.json')]);
    expect(target(run.result.reencryption, 's3-sse-kms', 'versioned-data')).toMatchObject({
      objectsReencrypted: 1,
      oldVersionsLeft: 1,
    });
    // The copy leaves the Bucket Key off for the object (README "Bucket Keys"): it has its own data key.
    expect(target(run.result.reencryption, 's3-sse-kms', 'keyed-data')).toMatchObject({
      objectsReencrypted: 1,
      bucketKeys: false,
    });
  });

  test('the totals, the notification and the ledger tell the same story', () => {
    const r = run.result.reencryption!;
    const sum = (f: 'objectsScanned' | 'objectsReencrypted' | 'objectsSkipped' | 'objectsFailed') =>
      r.targets.reduce((n, t) => n + t[f], 0);
    expect([r.objectsScanned, r.objectsReencrypted, r.objectsSkipped, r.objectsFailed]).toEqual([
      sum('objectsScanned'),
      sum('objectsReencrypted'),
      sum('objectsSkipped'),
      sum('objectsFailed'),
    ]);
    expect(r.objectsReencrypted).toBe(6);
    const message = run.result.notifications.at(-1)!.message;
    expect(message).toMatch(/Re-encryption \(ran\)/);
    expect(message).toMatch(/s3-sse-kms s3:\/\/orders-data\//);
    expect(message).toMatch(/not-listed-bucket/);
    // One audit entry per target run, under the key's own partition.
    expect(ledgerItems).toHaveLength(4);
    expect(ledgerItems.map((i) => i.bucket && (i.bucket as { S: string }).S).sort()).toEqual([
      'keyed-data',
      'orders-data',
      'orders-data',
      'versioned-data',
    ]);
  });
});

/** InternalError is transient (retried): both objects fail only when all their attempts meet it. */
const EVERY_ATTEMPT_OF_BOTH = 2 * DEFAULT_RETRY.maxAttempts;

describe('failures are reported, never swallowed; the rotation stands', () => {
  test('an injected S3 failure: the object is listed as failed, the key stays ROTATED, the execution FAILS (ReencryptionFailed) and the notification says action required', async () => {
    const run = await runAndLook(
      worldWith(
        {},
        { faults: [{ service: 's3', operation: 'CopyObject', error: 'InternalError', times: EVERY_ATTEMPT_OF_BOTH }] },
      ),
      manual([{ type: 's3-sse-kms', bucket: 'orders-data' }]),
    );
    expect(run.result.keys.map((k) => k.outcome)).toEqual(['ROTATED']);
    expect(run.result.executionStatus).toBe('FAILED');
    expect(run.result.error).toBe('ReencryptionFailed');
    const t = target(run.result.reencryption, 's3-sse-kms', 'orders-data');
    expect(t).toMatchObject({ objectsReencrypted: 0, objectsFailed: 2 });
    expect(t.failures.map((f) => f.key).sort()).toEqual(['a.json', 'b.json']);
    for (const f of t.failures) expect(f.error).toMatch(/InternalError/);
    expect(run.result.reencryption?.actionRequired).toBe(true);
    expect(run.result.notifications.at(-1)!.attributes.actionRequired).toBe('true');
  });

  test('on-call re-runs the failed re-encryption inside the cooldown: no second rotation, every object done', async () => {
    const sim = await openSimulation({
      world: worldWith(
        {},
        { faults: [{ service: 's3', operation: 'CopyObject', error: 'InternalError', times: EVERY_ATTEMPT_OF_BOTH }] },
      ),
      speed: SPEED,
    });
    try {
      const request = manual([{ type: 's3-sse-kms', bucket: 'orders-data' }]);
      const first = await sim.run(request);
      expect(first.result.error).toBe('ReencryptionFailed');
      const again = await sim.run(request);
      expect(again.result.keys.map((k) => [k.outcome, k.reason])).toEqual([['SKIPPED', 'RECENTLY_ROTATED']]);
      expect(rotateCalls(again)).toBe(0);
      expect(again.result.executionStatus).toBe('SUCCEEDED');
      expect(target(again.result.reencryption, 's3-sse-kms', 'orders-data')).toMatchObject({
        objectsReencrypted: 2,
        objectsFailed: 0,
      });
    } finally {
      await sim.close();
    }
  });

  test('SummarizeReencryption failing (results unreadable) still notifies: the key stays ROTATED, the error is reported, the execution FAILS', async () => {
    // The s3-sse-kms path reads objects with HeadObject/CopyObject; only Summarize uses GetObject.
    const run = await runAndLook(
      worldWith({}, { faults: [{ service: 's3', operation: 'GetObject', error: 'AccessDenied', times: 20 }] }),
      manual([{ type: 's3-sse-kms', bucket: 'orders-data' }]),
    );
    expect(run.result.keys.map((k) => k.outcome)).toEqual(['ROTATED']);
    expect(run.result.executionStatus).toBe('FAILED');
    expect(run.result.error).toBe('ReencryptionFailed');
    expect(run.result.reencryption).toMatchObject({
      actionRequired: true,
      error: expect.stringMatching(/AccessDenied/),
    });
    expect(run.result.notifications).toHaveLength(1);
    expect(run.result.notifications[0].message).toMatch(/the re-encryption stopped: AccessDenied/);
  });

  test('an injected KMS failure on the envelope path is reported the same way', async () => {
    const run = await runAndLook(
      worldWith({}, { faults: [{ service: 'kms', operation: 'Decrypt', error: 'KMSInternalException', times: 1 }] }),
      manual([{ type: 'envelope', bucket: 'orders-data', prefix: 'env/' }]),
    );
    expect(run.result.keys.map((k) => k.outcome)).toEqual(['ROTATED']);
    expect(run.result.error).toBe('ReencryptionFailed');
    const t = target(run.result.reencryption, 'envelope', 'orders-data');
    expect(t.objectsFailed).toBe(1);
    expect(t.failures[0].error).toMatch(/KMSInternalException|Decrypt/);
  });

  test('throttling from S3 is retried with back-off and counted; every object is still re-encrypted', async () => {
    const run = await runAndLook(
      worldWith({}, { faults: [{ service: 's3', operation: 'CopyObject', error: 'SlowDown', times: 3 }] }),
      manual([{ type: 's3-sse-kms', bucket: 'orders-data' }]),
    );
    expect(run.result.executionStatus).toBe('SUCCEEDED');
    expect(target(run.result.reencryption, 's3-sse-kms', 'orders-data')).toMatchObject({
      objectsReencrypted: 2,
      objectsFailed: 0,
      throttlesRetried: 3,
    });
  });

  test("an object changed during the run is not overwritten: counted as changed, the other writer's data kept", async () => {
    let changedBody = '';
    const run = await runAndLook(
      worldWith({}),
      manual([{ type: 'envelope', bucket: 'orders-data', prefix: 'env/' }]),
      (s) => {
        // Someone else writes env/m3.bin right after the workflow has read it.
        s.onceAfterS3('GetObject', 'orders-data', 'env/m3.bin', () =>
          s.putS3Object('orders-data', 'env/m3.bin', 'written by someone else'),
        );
      },
      async (l) => {
        changedBody = (await bodyOf(l.standIn, 'orders-data', 'env/m3.bin')).toString('utf8');
      },
    );
    expect(changedBody).toBe('written by someone else');
    const t = target(run.result.reencryption, 'envelope', 'orders-data');
    expect(t).toMatchObject({ objectsReencrypted: 1, objectsChangedDuringRun: 1, objectsFailed: 1 });
    expect(t.failures).toEqual([{ key: 'env/m3.bin', error: expect.stringMatching(/changed during the run/) }]);
    expect(run.result.keys.map((k) => k.outcome)).toEqual(['ROTATED']);
    expect(run.result.error).toBe('ReencryptionFailed');
  });
});

describe('finding-triggered runs', () => {
  const finding = () => guardDutyFinding([arn(K1)]); // names bucket-0, whose default encryption is K1

  test('autoReEncrypt off (default): only reports what it would do; nothing is touched', async () => {
    let fpBefore: string | undefined;
    let fpAfter: string | undefined;
    const run = await runAndLook(
      worldWith({}),
      finding(),
      (s) => (fpBefore = fingerprint(s, 'bucket-0', 'f.json')),
      async (l) => {
        fpAfter = fingerprint(l.standIn, 'bucket-0', 'f.json');
      },
    );
    expect(run.result.executionStatus).toBe('SUCCEEDED');
    expect(run.result.keys.map((k) => k.outcome)).toEqual(['ROTATED']);
    expect(run.result.reencryption).toMatchObject({
      mode: 'REPORT_ONLY',
      objectsScanned: 0,
      planned: [expect.objectContaining({ bucket: 'bucket-0', origin: 'finding', keyArn: arn(K1) })],
    });
    expect(fpAfter).toBe(fpBefore);
    expect(run.calls.filter((c) => c.service === 's3')).toEqual([]);
    expect(run.result.notifications.at(-1)!.message).toMatch(
      /kms-rotate reencrypt .*--exposed-at \S+ --target s3-sse-kms:bucket-0/,
    );
  });

  test("autoReEncrypt on: the finding's bucket and the key's reEncryptTargets (by alias) are re-encrypted", async () => {
    const run = await runAndLook(
      worldWith({
        autoReEncrypt: true,
        reEncryptTargets: { 'alias/orders': [{ type: 's3-sse-kms', bucket: 'orders-data', prefix: 'a' }] },
      }),
      finding(),
    );
    expect(run.result.executionStatus).toBe('SUCCEEDED');
    const r = run.result.reencryption!;
    expect(r.mode).toBe('RUN');
    expect(target(r, 's3-sse-kms', 'bucket-0')).toMatchObject({ origin: 'finding', objectsReencrypted: 1 });
    expect(target(r, 's3-sse-kms', 'orders-data')).toMatchObject({
      origin: 'setting',
      prefix: 'a',
      objectsScanned: 1,
      objectsReencrypted: 1,
    });
  });

  test("without reEncryptBuckets the stack has no branch: the finding's bucket is refused, the rotation still happens, S3 is never called", async () => {
    const run = await runAndLook(worldWith({ reEncryptBuckets: [] }), finding());
    expect(run.result.executionStatus).toBe('SUCCEEDED');
    expect(rotateCalls(run)).toBe(1);
    expect(run.result.reencryption).toMatchObject({
      mode: 'NONE',
      refused: [expect.objectContaining({ bucket: 'bucket-0', reason: 'BUCKET_NOT_ALLOWED' })],
      actionRequired: false,
    });
    expect(run.calls.filter((c) => c.service === 's3')).toEqual([]);
  });
});

describe('a 5,000-object bucket offline', () => {
  const N = 5000;
  test('completes in batches (five listing pages) with the counts exact', async () => {
    const objects = Array.from({ length: N }, (_, i) => ({
      key: `o/${String(i).padStart(5, '0')}.json`,
      body: `{"i":${i}}`,
      kmsKeyId: i % 10 === 9 ? K2 : K1,
    }));
    const world = parseWorld(
      // 1,000 KMS requests/s: 100 children of 10/s each, so all 25 batches (of 200) run at once.
      // A child's handler work counts 1:1 in its simulated time (local/runner/sim-clock.ts), so a
      // batch must finish within an Express child's 5 simulated minutes whatever the speed.
      {
        account: ACCOUNT,
        region: REGION,
        keys: [{ id: K1, rotationSeconds: 5 }, { id: K2 }],
        buckets: [{ name: 'big-data', objects }],
        settings: { reEncryptBuckets: ['big-data'], reEncryptKmsRequestsPerSecond: 1000 },
      },
      'big bucket',
    );
    let changed: number;
    const sim = await openSimulation({ world, speed: 10 });
    try {
      const before = new Map(objects.map((o) => [o.key, sim.standIn.s3Object('big-data', o.key)!.dataKeyFingerprint]));
      const run = await sim.run(manual([{ type: 's3-sse-kms', bucket: 'big-data' }]));
      changed = objects.filter(
        (o) => sim.standIn.s3Object('big-data', o.key)!.dataKeyFingerprint !== before.get(o.key),
      ).length;
      expect(run.result.executionStatus).toBe('SUCCEEDED');
      const t = target(run.result.reencryption, 's3-sse-kms', 'big-data');
      const maxItemsPerBatch = 200; // at 1,000 KMS requests/s: 100 children of 10/s, 200 objects each (6 KMS requests an object at most)
      expect(t).toMatchObject({
        objectsScanned: N,
        objectsReencrypted: N * 0.9,
        objectsSkipped: N * 0.1,
        skippedByReason: { OTHER_KEY: N * 0.1 },
        objectsFailed: 0,
        batches: Math.ceil(N / maxItemsPerBatch),
        batchesFailed: 0,
      });
      // The listing went page by page, as ItemReader does (1,000 keys a page).
      expect(
        run.calls.filter(
          (c) =>
            c.service === 's3' &&
            c.operation === 'ListObjectsV2' &&
            (c.input as { Bucket: string }).Bucket === 'big-data',
        ),
      ).toHaveLength(5);
    } finally {
      await sim.close();
    }
    expect(changed).toBe(N * 0.9);
  });
});
