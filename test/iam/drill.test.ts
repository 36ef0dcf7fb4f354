import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateKeyCommand,
  DescribeKeyCommand,
  KMSClient,
  ListKeysCommand,
  ListResourceTagsCommand,
  ScheduleKeyDeletionCommand,
  TagResourceCommand,
} from '@aws-sdk/client-kms';
import { Ledger } from '../../lambdas/adapters/ledger';
import { DrillKeys, handleDrill, SWEEPER } from '../../lambdas/drill/handler';
import { DEFAULT_ACCESS_ROLES } from '../../lambdas/domain/approvals/people';
import { SFNClient } from '@aws-sdk/client-sfn';
import { signedPost } from '../../local/front-door-client';
import { StepFunctionsControl } from '../../lambdas/adapters/workflow';
import { startLocalFrontDoor, type LocalFrontDoor } from '../../local/front-door';
import { MemoryApprovals } from '../memory-approvals';
import { DRILL_MAX_AGE_HOURS, DRILL_TAG_KEY } from '../../lambdas/domain/drill';
import type { FrontDoorEvent } from '../../lambdas/domain/approvals/front-door';
import { accessRoles, parseSettings } from '../../lib/settings/settings';
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
const ALICE = { arn: `arn:aws:sts::${ACCOUNT}:assumed-role/OnCall/alice`, person: 'alice' };
const BOB = { arn: `arn:aws:sts::${ACCOUNT}:assumed-role/OnCall/bob`, person: 'bob' };
const CAROL = { arn: `arn:aws:sts::${ACCOUNT}:assumed-role/OnCall/carol`, person: 'carol' };
/** A world person: a session ARN with its own access key (local/world.ts), signing its front-door requests. */
function person(n: number, arn: string, extra: Record<string, unknown> = {}) {
  return {
    arn,
    accessKeyId: `AKIADRILLTEST${String(n).padStart(7, '0')}`,
    secretAccessKey: `drill-test-secret-${n}-not-a-real-key`,
    ...extra,
  };
}
/** Erin, one person through three sessions of two kinds and two roles, and Frank, another person. */
const PEOPLE = {
  erin: person(1, `arn:aws:sts::${ACCOUNT}:assumed-role/OnCall/erin`, { sourceIdentity: 'erin' }),
  'erin-sso': person(2, `arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_KmsRotateOnCall_0123456789abcdef/erin`),
  'erin-breakglass': person(3, `arn:aws:sts::${ACCOUNT}:assumed-role/BreakGlass/erin`, {
    sourceIdentity: 'erin',
    breakGlass: true,
  }),
  // Erin's plain session, without a source identity: its name is the caller's choice.
  'erin-plain': person(4, `arn:aws:sts::${ACCOUNT}:assumed-role/OnCall/erin-plain`),
  // Erin's IAM user: long-term keys are no person.
  'erin-user': person(5, `arn:aws:iam::${ACCOUNT}:user/erin`),
  frank: person(6, `arn:aws:sts::${ACCOUNT}:assumed-role/OnCall/frank`, { sourceIdentity: 'frank' }),
};
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
    people: PEOPLE,
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
const ledgerClient = () =>
  new DynamoDBClient({ endpoint: ledger.endpoint, region: REGION, credentials: credentials(), maxAttempts: 1 });
const drills = (dailyCap = 2, drillLedger: Ledger = new Ledger(LOCAL_LEDGER_TABLE, ledgerClient())) =>
  new DrillKeys(kms(), drillLedger, {
    partition: 'aws',
    region: REGION,
    account: ACCOUNT,
    roleArn: role.principalArn,
    dailyCap,
  });
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
    expect((await admin().send(new DescribeKeyCommand({ KeyId: keyArn }))).KeyMetadata?.Description).toMatch(
      /^kms-incident-rotation drill [0-9a-f-]{36} \d{4}-\d{2}-\d{2} for alice /,
    );
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
        requestContext: { identity: { userArn: ALICE.arn, accountId: ACCOUNT } },
      }) as unknown as FrontDoorEvent;
    const answer = await handleDrill(event(TAGGED_KEY), drills(), ACCOUNT, DEFAULT_ACCESS_ROLES);
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
      requestContext: { identity: { userArn: BOB.arn, accountId: ACCOUNT } },
    } as unknown as FrontDoorEvent;
    expect(
      (
        await handleDrill(
          event,
          { create: (caller) => drills().create(caller, day), cleanup: () => Promise.reject(new Error('unused')) },
          ACCOUNT,
          DEFAULT_ACCESS_ROLES,
        )
      ).statusCode,
    ).toBe(429);
    await drills().create(CAROL, day);
    // The next UTC day counts afresh.
    await drills().create(BOB, new Date(day.getTime() + 24 * 3600_000));
  });
});

describe('the sweep: drill keys nobody cleaned up are deleted after a day', () => {
  it('schedules deletion of keys older than a day only, once', async () => {
    const now = new Date();
    const old = await drills(10).create(CAROL, new Date(now.getTime() - (DRILL_MAX_AGE_HOURS + 1) * 3600_000));
    const fresh = await drills(10).create(CAROL, new Date(now.getTime() - 3600_000));
    const swept = await drills().sweep(now);
    expect(swept.scheduled).toContain(old.keyArn);
    expect(swept.scheduled).not.toContain(fresh.keyArn);
    expect(await stateOf(old.keyArn)).toBe('PendingDeletion');
    expect(await stateOf(fresh.keyArn)).toBe('Enabled');
    expect((await drills().sweep(now)).scheduled).not.toContain(old.keyArn);
    expect(SWEEPER).toMatch(/24 h/);
  });
});

describe('the cap counts people, as the front door verifies them (signed requests, the API resource policy)', () => {
  let door: LocalFrontDoor;
  beforeAll(async () => {
    const settings = parseSettings({ drillDailyCapPerPerson: 3 }, 'test');
    door = await startLocalFrontDoor({
      region: REGION,
      account: ACCOUNT,
      people: world.people,
      iam,
      deps: {
        accountId: ACCOUNT,
        workflow: new StepFunctionsControl(
          new SFNClient({ region: REGION, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
          'arn:aws:states:us-east-1:111122223333:stateMachine:unused',
        ),
        approvals: new MemoryApprovals(),
        roles: accessRoles(settings),
      },
      drills: drills(settings.drillDailyCapPerPerson),
    });
  });
  afterAll(() => door.close());
  const drillAs = (who: keyof typeof PEOPLE) =>
    signedPost(door.url, 'drill', {}, {}, PEOPLE[who], REGION).then((a) => ({ status: a.status, error: a.body.error }));

  it('one person through an on-call session, an Identity Center session and a break-glass role gets 3 drills in all', async () => {
    expect(await drillAs('erin')).toEqual({ status: 200, error: undefined });
    expect(await drillAs('erin-sso')).toEqual({ status: 200, error: undefined });
    expect(await drillAs('erin')).toEqual({ status: 200, error: undefined });
    expect(await drillAs('erin-breakglass')).toEqual({ status: 429, error: 'DrillCapReached' });
    expect(await drillAs('erin-sso')).toEqual({ status: 429, error: 'DrillCapReached' });
    // Another person has a cap of their own.
    expect(await drillAs('frank')).toEqual({ status: 200, error: undefined });
  });

  it('a session without a stable identity, and an IAM user, cannot start a drill: refused by the API, no key created', async () => {
    const before = standIn.calls.filter((c) => c.operation === 'CreateKey').length;
    expect(await drillAs('erin-plain')).toEqual({ status: 403, error: 'AccessDenied' });
    expect(await drillAs('erin-user')).toEqual({ status: 403, error: 'AccessDenied' });
    expect(standIn.calls.filter((c) => c.operation === 'CreateKey').length).toBe(before);
  });

  it('behind the API too, the handler refuses whoever is no person, naming why and what to configure', async () => {
    const event = (userArn: string) =>
      ({
        resource: '/drills',
        httpMethod: 'POST',
        requestContext: { identity: { userArn, accountId: ACCOUNT } },
      }) as unknown as FrontDoorEvent;
    for (const who of ['erin-user', 'bob-federated'] as const) {
      const arn = who === 'erin-user' ? PEOPLE[who].arn : `arn:aws:sts::${ACCOUNT}:federated-user/bob`;
      const answer = await handleDrill(event(arn), drills(), ACCOUNT, DEFAULT_ACCESS_ROLES);
      expect(answer.statusCode).toBe(403);
      expect(JSON.parse(answer.body)).toEqual({
        error: 'NotAPerson',
        message: expect.stringContaining('IAM Identity Center'),
      });
    }
    const otherRole = await handleDrill(
      event(`arn:aws:sts::${ACCOUNT}:assumed-role/Admin/erin`),
      drills(),
      ACCOUNT,
      DEFAULT_ACCESS_ROLES,
    );
    expect(JSON.parse(otherRole.body)).toMatchObject({ error: 'RoleNotAllowed' });
  });
});

/** A ledger whose drill record write fails: the drill dies after CreateKey, before it recorded the key. */
class CrashingLedger extends Ledger {
  override async completeDrill(): Promise<void> {
    throw new Error('crash: the drill died after CreateKey');
  }
}

const listKeyArns = async (): Promise<string[]> =>
  ((await admin().send(new ListKeysCommand({ Limit: 1000 }))).Keys ?? []).map((k) => k.KeyArn!);

describe('a drill that dies between CreateKey and its record still leaves no key behind', () => {
  it('the sweep finds the unrecorded key by its description a day later and schedules its deletion', async () => {
    const before = new Set(await listKeyArns());
    const crashing = drills(10, new CrashingLedger(LOCAL_LEDGER_TABLE, ledgerClient()));
    await expect(crashing.create(CAROL)).rejects.toThrow(/crash/);
    const [orphan, ...others] = (await listKeyArns()).filter((arn) => !before.has(arn));
    expect(others).toEqual([]);
    // Died before tagging too: only its description says what it is.
    expect((await admin().send(new ListResourceTagsCommand({ KeyId: orphan }))).Tags).toEqual([]);

    const soon = await drills().sweep(new Date(Date.now() + 3600_000));
    expect(soon.scheduled).not.toContain(orphan);
    expect(await stateOf(orphan!)).toBe('Enabled');

    const dayLater = new Date(Date.now() + (DRILL_MAX_AGE_HOURS + 1) * 3600_000);
    const swept = await drills().sweep(dayLater);
    expect(swept.scheduled).toContain(orphan);
    expect(swept.abandoned).toEqual([]);
    expect(await stateOf(orphan!)).toBe('PendingDeletion');
    // Its open entry is closed: the next sweep has nothing left of it.
    const again = await drills().sweep(dayLater);
    expect(again.scheduled).not.toContain(orphan);
  });

  it('a key tagged as a drill by hand is not deletable by the sweep: reported, left Enabled, the sweep does not fail', async () => {
    const swept = await drills().sweep(new Date(Date.now() + (DRILL_MAX_AGE_HOURS + 1) * 3600_000));
    expect(swept.refused).toContainEqual({ keyArn: arnOf(TAGGED_KEY), reason: expect.stringMatching(/key policy/) });
    expect(swept.scheduled).not.toContain(arnOf(TAGGED_KEY));
    expect(swept.scheduled).not.toContain(arnOf(PRODUCTION_KEY));
    expect(await stateOf(TAGGED_KEY)).toBe('Enabled');
    expect(await stateOf(PRODUCTION_KEY)).toBe('Enabled');
  });

  it('a drill whose CreateKey failed leaves an open entry the sweep closes as abandoned a day later', async () => {
    standIn.addFault({ service: 'kms', operation: 'CreateKey', error: 'KMSInternalException', times: 1 });
    await expect(drills(10).create(CAROL)).rejects.toMatchObject({ name: 'KMSInternalException' });
    const swept = await drills().sweep(new Date(Date.now() + (DRILL_MAX_AGE_HOURS + 1) * 3600_000));
    expect(swept.abandoned).toHaveLength(1);
    expect((await drills().sweep(new Date(Date.now() + (DRILL_MAX_AGE_HOURS + 1) * 3600_000))).abandoned).toEqual([]);
  });
});
