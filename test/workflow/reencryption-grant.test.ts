/**
 * The envelope path's per-run KMS grant end to end: ReencryptObjects' role holds no Decrypt or
 * GenerateDataKey of its own outside S3, so the envelope objects are re-encrypted only through the
 * grant the state machine creates on the rotated key (its token in every batch), and the grant is
 * retired when the map ends, also when the map run fails. The SSE-KMS path still works (via S3).
 */
import { openSimulation, type SimulationRun } from '../../local/simulate';
import type { StandIn } from '../../local/standin';
import type { StandInCall } from '../../local/standin/api';
import { parseWorld } from '../../local/world';

jest.setTimeout(180_000);

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const K1 = '1234abcd-12ab-34cd-56ef-1234567890ab';
const K1_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/${K1}`;

function worldWith(faults: Record<string, unknown>[] = []) {
  return parseWorld(
    {
      account: ACCOUNT,
      region: REGION,
      keys: [{ id: K1, rotationSeconds: 5 }],
      buckets: [
        { name: 'sealed-data', objects: [{ key: 'a.bin', envelopeKeyIds: [K1_ARN], body: 'sealed' }] },
        { name: 'orders-data', objects: [{ key: 'o.json', kmsKeyId: K1, body: '{"order":1}' }] },
      ],
      settings: { reEncryptBuckets: ['sealed-data', 'orders-data'] },
      faults,
    },
    'grant world',
  );
}

interface Seen {
  run: SimulationRun;
  calls: StandInCall[];
  grantsLeft: number;
}

async function runBoth(faults: Record<string, unknown>[] = []): Promise<Seen> {
  let standIn!: StandIn;
  const sim = await openSimulation({ world: worldWith(faults), speed: 20, onStandIn: (s) => (standIn = s) });
  try {
    const run = await sim.run({
      keyId: K1,
      reason: 'exposed data keys',
      reEncrypt: {
        targets: [
          { type: 'envelope', bucket: 'sealed-data' },
          { type: 's3-sse-kms', bucket: 'orders-data' },
        ],
      },
    });
    return { run, calls: [...standIn.calls], grantsLeft: standIn.grants(K1).length };
  } finally {
    await sim.close();
  }
}

const kmsCalls = (calls: StandInCall[], op: string) => calls.filter((c) => c.service === 'kms' && c.operation === op);
const target = (run: SimulationRun, type: string) => run.result.reencryption!.targets.find((t) => t.type === type)!;

describe('a run with an envelope and an SSE-KMS target', () => {
  let seen: Seen;
  beforeAll(async () => {
    seen = await runBoth();
  });

  test('both paths re-encrypt their objects with the narrowed role', () => {
    expect(target(seen.run, 'envelope')).toMatchObject({ status: 'COMPLETED', objectsReencrypted: 1 });
    expect(target(seen.run, 's3-sse-kms')).toMatchObject({ status: 'COMPLETED', objectsReencrypted: 1 });
  });

  test("the state machine created one grant, for ReencryptObjects' role, on the rotated key only", () => {
    const created = kmsCalls(seen.calls, 'CreateGrant');
    expect(created).toHaveLength(1);
    expect(created[0]!.error).toBeUndefined();
    expect(created[0]!.caller).toMatch(/:assumed-role\/ManualWorkflowStateMachineRole/);
    expect(created[0]!.input).toMatchObject({
      KeyId: K1_ARN,
      GranteePrincipal: expect.stringMatching(/:role\/TasksReencryptObjectsRole/),
      Operations: ['Decrypt', 'GenerateDataKey'],
    });
  });

  test("the envelope path's KMS calls carry the grant token", () => {
    const direct = [...kmsCalls(seen.calls, 'Decrypt'), ...kmsCalls(seen.calls, 'GenerateDataKey')].filter((c) =>
      /ReencryptObjects/.test(c.caller ?? ''),
    );
    expect(direct.length).toBeGreaterThan(0);
    for (const c of direct) {
      expect(c.error).toBeUndefined();
      expect((c.input as { GrantTokens?: string[] }).GrantTokens).toHaveLength(1);
    }
  });

  test('after the run the grant is retired: ListGrants is empty', () => {
    expect(kmsCalls(seen.calls, 'RetireGrant').map((c) => c.error)).toEqual([undefined]);
    expect(seen.grantsLeft).toBe(0);
  });
});

test('a failed map run still retires the grant', async () => {
  // The map's ItemReader cannot list the envelope bucket: the map run fails.
  const seen = await runBoth([{ service: 's3', operation: 'ListObjectsV2', error: 'InternalError', times: 20 }]);
  // The listing fault also reaches the summary's own listing: the branch is reported as failed.
  expect(seen.run.result.executionStatus).toBe('FAILED');
  expect(seen.run.result.reencryption).toMatchObject({ actionRequired: true, objectsReencrypted: 0 });
  expect(kmsCalls(seen.calls, 'CreateGrant').map((c) => c.error)).toEqual([undefined]);
  expect(kmsCalls(seen.calls, 'RetireGrant').map((c) => c.error)).toEqual([undefined]);
  expect(seen.grantsLeft).toBe(0);
});
