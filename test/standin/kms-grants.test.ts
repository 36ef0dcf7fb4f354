import {
  CreateGrantCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  KMSClient,
  ListGrantsCommand,
  RetireGrantCommand,
  RevokeGrantCommand,
} from '@aws-sdk/client-kms';
import { startStandIn, type StandIn } from '../../local/standin';
import { GRANTS_PER_KEY, KmsGrants } from '../../local/standin/kms-grants';
import { KmsKeys } from '../../local/standin/kms-keys';
import { Scheduler } from '../../local/standin/scheduler';
import { clients, KEY_ID, world } from './helpers';

/**
 * KMS grants in the stand-in: the grantee may use the grant's operations on its key (with the
 * token at once, without it only after the eventual-consistency delay), constraints bind the
 * encryption context, only the grant's principals retire it, and CreateGrant is authorized with
 * the grant's condition keys.
 */

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/${KEY_ID}`;
const WORKER_ROLE = `arn:aws:iam::${ACCOUNT}:role/Worker`;
const GRANTER_ROLE = `arn:aws:iam::${ACCOUNT}:role/Granter`;
const ENVELOPE_OPS = ['Decrypt', 'Encrypt', 'GenerateDataKey'];

/** May create grants on the key only for the worker role and only the envelope operations. */
const granterPolicy = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Action: 'kms:CreateGrant',
      Resource: KEY_ARN,
      Condition: {
        StringEquals: { 'kms:GranteePrincipal': WORKER_ROLE },
        'ForAllValues:StringEquals': { 'kms:GrantOperations': ENVELOPE_OPS },
      },
    },
    { Effect: 'Allow', Action: 'kms:ListGrants', Resource: KEY_ARN },
  ],
};

const person = (role: string, name: string, policies: unknown[]) => ({
  arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${role}/${name}`,
  accessKeyId: `AKIATEST${name.toUpperCase().padEnd(12, 'X')}`,
  secretAccessKey: `secret-of-${name}-for-tests`,
  policies,
});
const people = {
  granter: person('Granter', 'granter', [granterPolicy]),
  // No KMS right of its own: everything it may do on the key comes from grants.
  worker: person('Worker', 'worker', [
    { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 'sns:*', Resource: '*' }] },
  ]),
};
const testWorld = () => world({ account: ACCOUNT, region: REGION, keys: [{ id: KEY_ID }], people });

let s: StandIn | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});
const as = (p: { accessKeyId: string; secretAccessKey: string }) =>
  new KMSClient({
    endpoint: s!.endpoint,
    region: REGION,
    credentials: { accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey },
    maxAttempts: 1,
  });
async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).name;
  }
  throw new Error('expected the request to fail');
}
const encrypt = (tokens?: string[], ctx?: Record<string, string>) =>
  new EncryptCommand({
    KeyId: KEY_ID,
    Plaintext: Buffer.from('x'),
    EncryptionContext: ctx,
    ...(tokens ? { GrantTokens: tokens } : {}),
  });
const grantForWorker = (extra: Partial<ConstructorParameters<typeof CreateGrantCommand>[0]> = {}) =>
  new CreateGrantCommand({
    KeyId: KEY_ARN,
    GranteePrincipal: WORKER_ROLE,
    RetiringPrincipal: GRANTER_ROLE,
    Operations: ENVELOPE_OPS as never,
    ...extra,
  });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('KMS grants in the stand-in', () => {
  test('a grant works at once with its token, without it only after the delay', async () => {
    s = await startStandIn(testWorld(), { grantDelaySeconds: 0.3 });
    expect(await failure(as(people.worker).send(encrypt()))).toBe('AccessDeniedException');
    const { GrantToken, GrantId } = await as(people.granter).send(grantForWorker());
    expect(GrantId).toMatch(/^[0-9a-f]{64}$/);
    await as(people.worker).send(encrypt([GrantToken!]));
    expect(await failure(as(people.worker).send(encrypt()))).toBe('AccessDeniedException');
    await sleep(400);
    await as(people.worker).send(encrypt());
  });

  test('CreateGrant is authorized with kms:GranteePrincipal and kms:GrantOperations', async () => {
    s = await startStandIn(testWorld());
    const granter = as(people.granter);
    expect(await failure(granter.send(grantForWorker({ GranteePrincipal: GRANTER_ROLE })))).toBe(
      'AccessDeniedException',
    );
    expect(await failure(granter.send(grantForWorker({ Operations: ['Decrypt', 'CreateGrant'] })))).toBe(
      'AccessDeniedException',
    );
    await granter.send(grantForWorker({ Operations: ['Decrypt'] }));
  });

  test('an EncryptionContextSubset constraint binds the request context', async () => {
    s = await startStandIn(testWorld());
    const { GrantToken } = await as(people.granter).send(
      grantForWorker({ Constraints: { EncryptionContextSubset: { run: 'r1' } } }),
    );
    const worker = as(people.worker);
    await worker.send(
      new GenerateDataKeyCommand({
        KeyId: KEY_ID,
        KeySpec: 'AES_256',
        EncryptionContext: { run: 'r1', object: 'a' },
        GrantTokens: [GrantToken!],
      }),
    );
    expect(await failure(worker.send(encrypt([GrantToken!], { run: 'r2' })))).toBe('AccessDeniedException');
    expect(await failure(worker.send(encrypt([GrantToken!])))).toBe('AccessDeniedException');
  });

  test('only the retiring principal retires; afterwards the grant allows nothing and ListGrants is empty', async () => {
    s = await startStandIn(testWorld(), { grantDelaySeconds: 0 });
    const { GrantToken, GrantId } = await as(people.granter).send(grantForWorker());
    expect(await failure(as(people.worker).send(new RetireGrantCommand({ GrantToken })))).toBe('AccessDeniedException');
    const listed = await as(people.granter).send(new ListGrantsCommand({ KeyId: KEY_ARN }));
    expect(listed.Grants).toEqual([
      expect.objectContaining({ GrantId, GranteePrincipal: WORKER_ROLE, RetiringPrincipal: GRANTER_ROLE }),
    ]);
    await as(people.granter).send(new RetireGrantCommand({ KeyId: KEY_ARN, GrantId }));
    expect((await as(people.granter).send(new ListGrantsCommand({ KeyId: KEY_ARN }))).Grants).toEqual([]);
    expect(await failure(as(people.worker).send(encrypt()))).toBe('AccessDeniedException');
    expect(await failure(as(people.worker).send(encrypt([GrantToken!])))).toBe('InvalidGrantTokenException');
  });

  test('the grantee retires when RetireGrant is in the grant; RevokeGrant needs kms:RevokeGrant', async () => {
    s = await startStandIn(testWorld());
    const admin = clients(s).kms;
    const { GrantToken, GrantId } = await admin.send(
      grantForWorker({ RetiringPrincipal: undefined, Operations: ['Encrypt', 'RetireGrant'] }),
    );
    await as(people.worker).send(new RetireGrantCommand({ GrantToken }));
    expect(s.grants(KEY_ID)).toEqual([]);
    const second = await admin.send(grantForWorker());
    expect(second.GrantId).not.toBe(GrantId);
    expect(
      await failure(as(people.granter).send(new RevokeGrantCommand({ KeyId: KEY_ARN, GrantId: second.GrantId }))),
    ).toBe('AccessDeniedException');
    await admin.send(new RevokeGrantCommand({ KeyId: KEY_ARN, GrantId: second.GrantId }));
    expect(s.grants(KEY_ID)).toEqual([]);
  });

  test('a named grant retried with identical parameters is the same grant, with a new token', async () => {
    s = await startStandIn(testWorld());
    const granter = as(people.granter);
    const a = await granter.send(grantForWorker({ Name: 'run-1' }));
    const b = await granter.send(grantForWorker({ Name: 'run-1' }));
    expect(b.GrantId).toBe(a.GrantId);
    expect(b.GrantToken).not.toBe(a.GrantToken);
    expect(s.grants(KEY_ID)).toHaveLength(1);
  });

  test(`the ${GRANTS_PER_KEY} grants per key quota: LimitExceededException beyond`, () => {
    const scheduler = new Scheduler();
    try {
      const keys = new KmsKeys(testWorld(), 1, scheduler);
      const grants = new KmsGrants(keys);
      const input = { KeyId: KEY_ARN, GranteePrincipal: WORKER_ROLE, Operations: ['Encrypt'] };
      for (let i = 0; i < GRANTS_PER_KEY; i++) grants.create(input, REGION);
      expect(() => grants.create(input, REGION)).toThrow(expect.objectContaining({ code: 'LimitExceededException' }));
    } finally {
      scheduler.clear();
    }
  });
});
