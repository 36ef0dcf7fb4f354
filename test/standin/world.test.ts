import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadWorldFile, parseWorld, WorldError } from '../../local/world';
import { startStandIn } from '../../local/standin';
import { DEFAULT_ROTATION_BUDGET } from '../../local/standin/kms-keys';
import { KEY_ID } from './helpers';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'standin-world-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

function problem(fn: () => unknown): WorldError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(WorldError);
    return e as WorldError;
  }
  throw new Error('expected a WorldError');
}

describe('world files', () => {
  test('defaults are applied everywhere', () => {
    const w = parseWorld(
      { keys: [{ id: KEY_ID }], buckets: [{ name: 'my-bucket', objects: [{ key: 'a' }] }] },
      'w.json',
    );
    expect(w.account).toBe('111122223333');
    expect(w.region).toBe('us-east-1');
    expect(w.keys[0]).toEqual({
      id: KEY_ID,
      account: '111122223333',
      aliases: [],
      keySpec: 'SYMMETRIC_DEFAULT',
      keyUsage: 'ENCRYPT_DECRYPT',
      keyManager: 'CUSTOMER',
      origin: 'AWS_KMS',
      keyState: 'Enabled',
      region: 'us-east-1',
      multiRegion: false,
      multiRegionKeyType: 'PRIMARY',
      primaryArn: null,
      onDemandRotationsUsed: 0,
      lastOnDemandRotationMinutesAgo: null,
      onDemandRotationSpacingMinutes: 1440,
      rotationInProgress: false,
      automaticRotationDueWithinMinutes: null,
      pendingImportedMaterial: false,
      rotationSeconds: 20,
      stagedMaterialLostBeforeRotate: false,
      tags: {},
    });
    expect(w.buckets[0]).toEqual({
      name: 'my-bucket',
      region: 'us-east-1',
      bucketKeyEnabled: false,
      versioning: false,
      objectOwnership: 'BucketOwnerEnforced',
      objects: [{ key: 'a' }],
    });
    expect(w.faults).toEqual([]);
    expect(w.kmsBehaviour).toEqual({
      getKeyRotationStatusOnImported: 'answers',
      rotateWhileOnDemandRunning: 'ConflictException',
      readAfterRotateDelaySeconds: 0,
      stagedMaterialGoneError: 'KMSInvalidStateException',
    });
    expect(w.settings).toEqual({});
    expect(w.approvals).toEqual({});
    expect(DEFAULT_ROTATION_BUDGET).toBe(25);
    // A key's region and account default to the world's.
    const eu = parseWorld({ account: '999988887777', region: 'eu-west-1', keys: [{ id: 'k' }] }, 'w.json');
    expect(eu.keys[0]).toMatchObject({ account: '999988887777', region: 'eu-west-1' });
  });

  test('settings keep only the names given (no defaults filled in), approvals are validated', () => {
    const w = parseWorld(
      { settings: { dryRun: true, rotationBudget: 3 }, approvals: { [KEY_ID]: 'approve' } },
      'w.json',
    );
    expect(w.settings).toEqual({ dryRun: true, rotationBudget: 3 });
    const e = problem(() =>
      parseWorld({ settings: { rotationBudget: 'ten', bogus: 1 }, approvals: { k: 'maybe' } }, 'w.json'),
    );
    expect(e.message).toContain('settings.rotationBudget');
    expect(e.message).toContain('settings.bogus: unknown field');
    expect(e.message).toContain('approvals.k');
  });

  test('an unknown field is named with its JSON path and the file', () => {
    const e = problem(() => parseWorld({ keys: [{ id: 'a' }, { id: 'b', rotationSecs: 5 }] }, 'worlds/incident.json'));
    expect(e.where).toBe('worlds/incident.json');
    expect(e.message).toContain('worlds/incident.json');
    expect(e.problems).toEqual(['keys[1].rotationSecs: unknown field']);
    expect(problem(() => parseWorld({ planet: 'earth' }, 'x.json')).problems).toEqual(['planet: unknown field']);
  });

  test('a wrong type or value names the field and what was expected', () => {
    const e = problem(() =>
      parseWorld(
        {
          keys: [{ id: 'a', keySpec: 'AES_512', onDemandRotationsUsed: '3' }],
          buckets: [{ name: 'ok-bucket', objects: [{ key: 'k', sizeBytes: -1 }] }],
        },
        'w.json',
      ),
    );
    expect(e.problems).toHaveLength(3);
    expect(e.problems[0]).toMatch(/^keys\[0\]\.keySpec: .*SYMMETRIC_DEFAULT/);
    expect(e.problems[1]).toMatch(/^keys\[0\]\.onDemandRotationsUsed: .*expected number, received string/);
    expect(e.problems[2]).toMatch(/^buckets\[0\]\.objects\[0\]\.sizeBytes: /);
    expect(problem(() => parseWorld({ keys: [{ aliases: [] }] }, 'w.json')).problems[0]).toMatch(
      /^keys\[0\]\.id: .*expected string/,
    );
  });

  test('onDemandRotationSpacingMinutes spaces two or more seeded rotations only', () => {
    expect(
      problem(() =>
        parseWorld(
          {
            keys: [
              {
                id: 'a',
                onDemandRotationsUsed: 1,
                lastOnDemandRotationMinutesAgo: 30,
                onDemandRotationSpacingMinutes: 60,
              },
            ],
          },
          'w.json',
        ),
      ).problems,
    ).toEqual([
      'keys[0].onDemandRotationSpacingMinutes: spaces two or more seeded rotations (onDemandRotationsUsed >= 2)',
    ]);
    expect(
      parseWorld({ keys: [{ id: 'a', onDemandRotationsUsed: 2, onDemandRotationSpacingMinutes: 60 }] }, 'w.json')
        .keys[0]!.onDemandRotationSpacingMinutes,
    ).toBe(60);
  });

  test('cross-field checks: replicas, duplicates, imported material', () => {
    const e = problem(() =>
      parseWorld(
        {
          keys: [
            { id: 'a', aliases: ['alias/x'] },
            { id: 'a' },
            { id: 'b', aliases: ['alias/x'] },
            { id: 'mrk-1', multiRegionKeyType: 'REPLICA', region: 'eu-west-1' },
            { id: 'c', pendingImportedMaterial: true },
          ],
        },
        'w.json',
      ),
    );
    expect(e.problems).toEqual([
      'keys[1].id: duplicate key arn:aws:kms:us-east-1:111122223333:key/a (same as keys[0])',
      'keys[2].aliases[0]: alias alias/x already used in us-east-1 by keys[0]',
      'keys[3].multiRegion: expected true for a REPLICA key',
      "keys[3].primaryArn: expected the primary key's ARN for a REPLICA key",
      'keys[4].pendingImportedMaterial: only keys with origin EXTERNAL have imported key material',
    ]);
    // Same id in two Regions is fine (a multi-Region primary and its replica).
    const w = parseWorld(
      {
        keys: [
          { id: 'mrk-1', multiRegion: true },
          {
            id: 'mrk-1',
            multiRegion: true,
            multiRegionKeyType: 'REPLICA',
            region: 'eu-west-1',
            primaryArn: 'arn:aws:kms:us-east-1:111122223333:key/mrk-1',
          },
        ],
      },
      'w.json',
    );
    expect(w.keys).toHaveLength(2);
  });

  test('loadWorldFile: missing file and invalid JSON are WorldErrors naming the path; a good file loads', () => {
    const missing = join(dir, 'nope.json');
    const e1 = problem(() => loadWorldFile(missing));
    expect(e1.where).toBe(missing);
    expect(e1.message).toContain(missing);
    const bad = file('bad.json', '{ "keys": [ }');
    const e2 = problem(() => loadWorldFile(bad));
    expect(e2.message).toContain(bad);
    expect(e2.problems[0]).toMatch(/^invalid JSON/);
    const wrong = file('wrong.json', JSON.stringify({ keys: [{ id: 'k', keyState: 'Sleeping' }] }));
    expect(problem(() => loadWorldFile(wrong)).message).toMatch(new RegExp(`${wrong}[\\s\\S]*keys\\[0\\]\\.keyState`));
    const good = file(
      'good.json',
      JSON.stringify({
        keys: [{ id: KEY_ID, aliases: ['alias/orders'] }],
        faults: [{ service: 'kms', operation: 'RotateKeyOnDemand', error: 'ThrottlingException', times: 2 }],
      }),
    );
    const w = loadWorldFile(good);
    expect(w.keys[0].aliases).toEqual(['alias/orders']);
    expect(w.faults[0].times).toBe(2);
  });

  test('a world object naming an unknown key fails at start with its path', async () => {
    const w = parseWorld(
      { buckets: [{ name: 'my-bucket', objects: [{ key: 'a', kmsKeyId: 'alias/missing' }] }] },
      'w.json',
    );
    await expect(startStandIn(w)).rejects.toThrow(/buckets\[0\]\.objects\[0\].*alias\/missing/);
  });

  test('people: a source identity and a role path only on role sessions, in the shapes STS and IAM allow', () => {
    const person = (arn: string, extra: Record<string, unknown>) => ({
      arn,
      accessKeyId: 'AKIAWORLDTEST0000001',
      secretAccessKey: 'world-test-secret-000',
      ...extra,
    });
    const shapes = problem(() =>
      parseWorld(
        {
          people: {
            spaces: person('arn:aws:sts::111122223333:assumed-role/OnCall/carol', { sourceIdentity: 'carol smith' }),
            path: person('arn:aws:sts::111122223333:assumed-role/OnCall/dave', { rolePath: 'teams' }),
          },
        },
        'w.json',
      ),
    );
    expect(shapes.problems).toEqual([
      expect.stringMatching(/^people\.spaces\.sourceIdentity: a source identity/),
      expect.stringMatching(/^people\.path\.rolePath: an IAM path/),
    ]);
    const kinds = problem(() =>
      parseWorld(
        {
          people: {
            user: person('arn:aws:iam::111122223333:user/alice', { sourceIdentity: 'alice' }),
            fed: person('arn:aws:sts::111122223333:federated-user/bob', { rolePath: '/' }),
          },
        },
        'w.json',
      ),
    );
    expect(kinds.problems).toEqual([
      expect.stringMatching(/^people\.user\.sourceIdentity: only a role session/),
      expect.stringMatching(/^people\.fed\.rolePath: only a role session has a role path/),
    ]);
    const ok = parseWorld(
      {
        people: {
          erin: person('arn:aws:sts::111122223333:assumed-role/OnCall/erin', {
            sourceIdentity: 'erin',
            rolePath: '/teams/sec/',
          }),
        },
      },
      'w.json',
    );
    expect(ok.people.erin).toMatchObject({ sourceIdentity: 'erin', rolePath: '/teams/sec/' });
  });
});
