import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateKeyCommand,
  DescribeKeyCommand,
  KMSClient,
  ListResourceTagsCommand,
  ScheduleKeyDeletionCommand,
  TagResourceCommand,
} from '@aws-sdk/client-kms';
import { Ledger } from '../../lambdas/adapters/ledger';
import { DrillKeys, handleDrill, SWEEPER } from '../../lambdas/drill/handler';
import { DRILL_MAX_AGE_HOURS, DRILL_TAG_KEY } from '../../lambdas/domain/drill';
import type { FrontDoorEvent } from '../../lambdas/domain/front-door';
import { parseSettings } from '../../lib/settings';
import { createAccountIam, TEST_CREDENTIALS, type AccountIam, type Principal } from '../../local/iam';
import { LOCAL_LEDGER_TABLE, ledgerLogicalId, startLocalLedger, type LocalLedger } from '../../local/ledger-local';
import { startStandIn, type StandIn } from '../../local/standin';
import { synthTemplate } from '../../local/template';
import { parseWorld } from '../../local/world';

/**
 * The drill role against the stand-in and the local ledger, with its policies from the template:
 * it deletes and tags only keys whose own policy lets it (the drill keys), never another key of
 * the account, even one carrying the drill tag; drills are capped per person per day; keys nobody
 * cleaned up are swept after a day.
 */
const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const PRODUCTION_KEY = '1234abcd-12ab-34cd-56ef-1234567890ab';
const TAGGED_KEY = '2234abcd-12ab-34cd-56ef-1234567890ab';
const arnOf = (id: string) => `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`;
const ALICE = `arn:aws:sts::${ACCOUNT}:assumed-role/OnCall/alice`;
const BOB = `arn:aws:sts::${ACCOUNT}:assumed-role/OnCall/bob`;
const template = synthTemplate(parseSettings({ drillDailyCapPerPerson: 2 }, 'test'), {
  account: ACCOUNT,
  region: REGION,
});
const world = parseWorld(
  {
    account: ACCOUNT,
    region: REGION,
    // A production key with KMS's default key policy, and one someone tagged as a drill by hand.
    keys: [{ id: PRODUCTION_KEY }, { id: TAGGED_KEY, tags: { [DRILL_TAG_KEY]: 'true' } }],
    // These tests create keys back to back with SDK retries off; KMS's CreateKey, TagResource and ScheduleKeyDeletion quotas (5 per
    // second) would throttle them as it would in AWS. They are about who may do what, not pacing.
    quotas: { CreateKey: 100, TagResource: 100, ScheduleKeyDeletion: 100 },
  },
  'drill test',
);

let iam: AccountIam;
let standIn: StandIn;
let ledger: LocalLedger;
let role: Principal;
beforeAll(async () => {
  iam = createAccountIam({
    template,
    world,
    account: ACCOUNT,
    region: REGION,
    resources: { [ledgerLogicalId(template)]: LOCAL_LEDGER_TABLE },
  });
  standIn = await startStandIn(world, { iam });
  ledger = await startLocalLedger(template, REGION, { iam });
  role = iam.principals.functionRole('drill');
});
afterAll(async () => {
  await standIn.close();
  await ledger.close();
});

const credentials = () => ({ accessKeyId: role.accessKeyId, secretAccessKey: role.secretAccessKey });
const kms = () =>
  new KMSClient({ endpoint: standIn.endpoint, region: REGION, credentials: credentials(), maxAttempts: 1 });
const drills = (dailyCap = 2) =>
  new DrillKeys(
    kms(),
    new Ledger(
      LOCAL_LEDGER_TABLE,
      new DynamoDBClient({ endpoint: ledger.endpoint, region: REGION, credentials: credentials(), maxAttempts: 1 }),
    ),
    {
      partition: 'aws',
      region: REGION,
      account: ACCOUNT,
      roleArn: role.principalArn,
      dailyCap,
    },
  );
async function errorOf(promise: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await promise;
  } catch (e) {
    return { name: (e as Error).name, message: (e as Error).message };
  }
  return { name: 'none', message: '' };
}
/** The stand-in's administrator, to look at keys the drill role may not read. */
const admin = () => new KMSClient({ endpoint: standIn.endpoint, region: REGION, credentials: TEST_CREDENTIALS });
const stateOf = async (id: string) => (await admin().send(new DescribeKeyCommand({ KeyId: id }))).KeyMetadata?.KeyState;

describe('drill keys: the key policy is the only grant to tag and delete them', () => {
  it('creates, tags (through the key policy) and deletes its own key', async () => {
    const { keyArn } = await drills().create(ALICE);
    expect((await admin().send(new ListResourceTagsCommand({ KeyId: keyArn }))).Tags).toEqual([
      { TagKey: DRILL_TAG_KEY, TagValue: 'true' },
    ]);
    const out = await drills().cleanup(keyArn.split('/')[1]!, ALICE);
    expect(out.deletionDate).not.toBeNull();
    expect(await stateOf(keyArn)).toBe('PendingDeletion');
  });

  it('the drill role cannot delete or tag a production key, nor one tagged as a drill by hand (AccessDeniedException)', async () => {
    for (const id of [PRODUCTION_KEY, TAGGED_KEY]) {
      const denied = await errorOf(
        kms().send(new ScheduleKeyDeletionCommand({ KeyId: arnOf(id), PendingWindowInDays: 7 })),
      );
      expect(denied).toEqual({
        name: 'AccessDeniedException',
        message: expect.stringContaining(
          `is not authorized to perform: kms:ScheduleKeyDeletion on resource: ${arnOf(id)}`,
        ),
      });
      const tagDenied = await errorOf(
        kms().send(new TagResourceCommand({ KeyId: arnOf(id), Tags: [{ TagKey: DRILL_TAG_KEY, TagValue: 'true' }] })),
      );
      expect(tagDenied.name).toBe('AccessDeniedException');
      expect(await stateOf(id)).toBe('Enabled');
    }
  });

  it('the drill role cannot tag at creation (kms:TagResource on every key is granted to no one) nor make other kinds of keys', async () => {
    const tagged = await errorOf(
      kms().send(
        new CreateKeyCommand({
          KeySpec: 'SYMMETRIC_DEFAULT',
          KeyUsage: 'ENCRYPT_DECRYPT',
          Origin: 'AWS_KMS',
          MultiRegion: false,
          Tags: [{ TagKey: DRILL_TAG_KEY, TagValue: 'true' }],
        }),
      ),
    );
    expect(tagged.name).toBe('AccessDeniedException');
    const multiRegion = await errorOf(
      kms().send(
        new CreateKeyCommand({
          KeySpec: 'SYMMETRIC_DEFAULT',
          KeyUsage: 'ENCRYPT_DECRYPT',
          Origin: 'AWS_KMS',
          MultiRegion: true,
        }),
      ),
    );
    expect(multiRegion.name).toBe('AccessDeniedException');
    const bypass = await errorOf(
      kms().send(
        new CreateKeyCommand({
          KeySpec: 'SYMMETRIC_DEFAULT',
          KeyUsage: 'ENCRYPT_DECRYPT',
          Origin: 'AWS_KMS',
          MultiRegion: false,
          BypassPolicyLockoutSafetyCheck: true,
        }),
      ),
    );
    expect(bypass.message).toContain('with an explicit deny');
  });

  it('the cleanup route refuses a key the drill did not create (403) and leaves it alone', async () => {
    const event = (keyId: string): FrontDoorEvent =>
      ({
        resource: '/drills/{keyId}/cleanup',
        httpMethod: 'POST',
        pathParameters: { keyId },
        requestContext: { identity: { userArn: ALICE, accountId: ACCOUNT } },
      }) as unknown as FrontDoorEvent;
    const answer = await handleDrill(event(TAGGED_KEY), drills(), ACCOUNT);
    expect(answer.statusCode).toBe(403);
    expect(await stateOf(TAGGED_KEY)).toBe('Enabled');
  });
});

describe('drills per person per day (drillDailyCapPerPerson)', () => {
  it('the third drill of one caller in a UTC day is refused (429, no key created); another caller is not affected', async () => {
    const day = new Date('2026-03-02T08:00:00Z');
    await drills().create(BOB, day);
    await drills().create(BOB, new Date(day.getTime() + 3600_000));
    const keysBefore = standIn.calls.filter((c) => c.operation === 'CreateKey' && !c.error).length;
    await expect(drills().create(BOB, new Date(day.getTime() + 7200_000))).rejects.toMatchObject({
      name: 'DrillCapReached',
    });
    expect(standIn.calls.filter((c) => c.operation === 'CreateKey' && !c.error).length).toBe(keysBefore);
    const event = {
      resource: '/drills',
      httpMethod: 'POST',
      requestContext: { identity: { userArn: BOB, accountId: ACCOUNT } },
    } as unknown as FrontDoorEvent;
    expect(
      (
        await handleDrill(
          event,
          { create: (caller) => drills().create(caller, day), cleanup: () => Promise.reject(new Error('unused')) },
          ACCOUNT,
        )
      ).statusCode,
    ).toBe(429);
    await drills().create(`${BOB}-other-person`, day);
    // The next UTC day counts afresh.
    await drills().create(BOB, new Date(day.getTime() + 24 * 3600_000));
  });
});

describe('the sweep: drill keys nobody cleaned up are deleted after a day', () => {
  it('schedules deletion of keys older than a day only, once', async () => {
    const now = new Date();
    const old = await drills(10).create(
      'arn:aws:sts::111122223333:assumed-role/OnCall/carol',
      new Date(now.getTime() - (DRILL_MAX_AGE_HOURS + 1) * 3600_000),
    );
    const fresh = await drills(10).create(
      'arn:aws:sts::111122223333:assumed-role/OnCall/carol',
      new Date(now.getTime() - 3600_000),
    );
    const swept = await drills().sweep(now);
    expect(swept.scheduled).toContain(old.keyArn);
    expect(swept.scheduled).not.toContain(fresh.keyArn);
    expect(await stateOf(old.keyArn)).toBe('PendingDeletion');
    expect(await stateOf(fresh.keyArn)).toBe('Enabled');
    expect((await drills().sweep(now)).scheduled).not.toContain(old.keyArn);
    expect(SWEEPER).toMatch(/24 h/);
  });
});
