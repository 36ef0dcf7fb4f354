import { createAccountIam, defaultKeyPolicy } from '../../local/iam';
import { evaluate } from '../../local/iam/engine';
import { startStandIn } from '../../local/standin';
import { synthTemplate } from '../../local/template';
import { parseSettings } from '../../lib/settings/settings';
import { parseWorld } from '../../local/world';

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const template = synthTemplate(parseSettings({}, 'test'), { account: ACCOUNT, region: REGION });
const world = parseWorld({ account: ACCOUNT, region: REGION }, 'iam test');
const iam = createAccountIam({ template, world, account: ACCOUNT, region: REGION });

describe('IAM evaluation (iam-simulate) with the synthesized roles', () => {
  it('allows the Rotate role kms:RotateKeyOnDemand on an account key under the default key policy', async () => {
    const rotate = iam.principals.functionRole('rotate');
    expect(rotate.arn).toMatch(
      new RegExp(`^arn:aws:sts::${ACCOUNT}:assumed-role/TasksRotateRole[0-9A-F]{8}/TasksRotate[0-9A-F]{8}$`),
    );
    expect(rotate.principalArn).toMatch(/:role\/TasksRotateRole/);
    expect(iam.authorize(rotate, 'kms:RotateKeyOnDemand', KEY, {}, defaultKeyPolicy(ACCOUNT))).toEqual({
      allowed: true,
    });
  });

  it('denies an action no policy of the role grants, in AWS message form', async () => {
    const assess = iam.principals.functionRole('assess');
    const d = iam.authorize(assess, 'kms:RotateKeyOnDemand', KEY, {}, defaultKeyPolicy(ACCOUNT));
    expect(d).toMatchObject({ allowed: false });
    expect(!d.allowed && d.message).toBe(
      `User: ${assess.arn} is not authorized to perform: kms:RotateKeyOnDemand on resource: ${KEY} because no identity-based policy allows the kms:RotateKeyOnDemand action`,
    );
  });

  it('a key policy without the account delegation makes identity policies count for nothing (KMS)', async () => {
    const assess = iam.principals.functionRole('assess');
    const keyPolicy = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/SomeoneElse` },
          Action: 'kms:*',
          Resource: '*',
        },
      ],
    };
    const d = iam.authorize(assess, 'kms:DescribeKey', KEY, {}, keyPolicy);
    expect(d.allowed).toBe(false);
    expect(!d.allowed && d.message).toContain('because no resource-based policy allows the kms:DescribeKey action');
  });

  it('explicit deny wins: the Rotate role never rotates a key tagged opted out', async () => {
    const rotate = iam.principals.functionRole('rotate');
    const d = iam.authorize(
      rotate,
      'kms:RotateKeyOnDemand',
      KEY,
      { 'aws:ResourceTag/kms-incident-rotation': 'Disabled' },
      defaultKeyPolicy(ACCOUNT),
    );
    expect(!d.allowed && d.message).toContain('with an explicit deny in an identity-based policy');
  });

  it('kms:ViaService must match: Record may use the product key only through DynamoDB', async () => {
    const record = iam.principals.functionRole('record');
    const productKey =
      iam.resources[`${Object.keys(template.Resources).find((id) => id.startsWith('ProductKey'))}.Arn`];
    const keyPolicy = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
      ],
    };
    expect(
      iam.authorize(
        record,
        'kms:Decrypt',
        productKey,
        { 'kms:ViaService': `dynamodb.${REGION}.amazonaws.com` },
        keyPolicy,
      ),
    ).toEqual({ allowed: true });
    expect(
      iam.authorize(record, 'kms:Decrypt', productKey, { 'kms:ViaService': `s3.${REGION}.amazonaws.com` }, keyPolicy)
        .allowed,
    ).toBe(false);
    expect(iam.authorize(record, 'kms:Decrypt', productKey, {}, keyPolicy).allowed).toBe(false);
  });

  it('people: on call may not ScheduleKeyDeletion; break-glass adds only its route', async () => {
    const alice = iam.principals.person('alice');
    expect(alice.principalArn).toBe(`arn:aws:iam::${ACCOUNT}:role/OnCall`);
    const d = iam.authorize(alice, 'kms:ScheduleKeyDeletion', KEY, {}, defaultKeyPolicy(ACCOUNT));
    expect(!d.allowed && d.message).toContain(
      'because no identity-based policy allows the kms:ScheduleKeyDeletion action',
    );
    expect(iam.authorize(alice, 'kms:DescribeKey', KEY, {}, defaultKeyPolicy(ACCOUNT))).toEqual({ allowed: true });
  });

  it("kms:EncryptionContext:<key> conditions see the request's encryption context, keys with colons too (S3's aws:s3:arn)", () => {
    const p = {
      ...iam.principals.test(),
      policies: [
        {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: 'kms:Decrypt',
              Resource: '*',
              Condition: { StringEquals: { 'kms:EncryptionContext:aws:s3:arn': 'arn:aws:s3:::orders/a' } },
            },
          ],
        },
      ],
    };
    const context = (arn: string) => ({
      'kms:EncryptionContext:aws:s3:arn': arn,
      'kms:EncryptionContextKeys': ['aws:s3:arn'],
    });
    expect(iam.authorize(p, 'kms:Decrypt', KEY, context('arn:aws:s3:::orders/a'), defaultKeyPolicy(ACCOUNT))).toEqual({
      allowed: true,
    });
    expect(
      iam.authorize(p, 'kms:Decrypt', KEY, context('arn:aws:s3:::orders/b'), defaultKeyPolicy(ACCOUNT)).allowed,
    ).toBe(false);
  });

  it("people carry the on-call policy, break-glass when attached, and the world's own policies by managed-policy name", () => {
    const people = {
      alice: {
        arn: `arn:aws:sts::${ACCOUNT}:assumed-role/OnCall/alice`,
        accessKeyId: 'AKIATESTALICE0000001',
        secretAccessKey: 'secret-of-alice-000',
        breakGlass: false,
      },
      dave: {
        arn: `arn:aws:sts::${ACCOUNT}:assumed-role/OnCall/dave`,
        accessKeyId: 'AKIATESTDAVE00000001',
        secretAccessKey: 'secret-of-dave-0000',
        breakGlass: false,
        policies: ['OnCallBreakGlassPolicy'],
      },
    };
    const withPeople = createAccountIam({ template, world: { ...world, people }, account: ACCOUNT, region: REGION });
    const route = (path: string) => `arn:aws:execute-api:${REGION}:${ACCOUNT}:${withPeople.restApiId}/v1/POST${path}`;
    expect(
      withPeople.authorize(withPeople.principals.person('alice'), 'execute-api:Invoke', route('/requests')),
    ).toEqual({ allowed: true });
    expect(
      withPeople.authorize(withPeople.principals.person('alice'), 'execute-api:Invoke', route('/break-glass')).allowed,
    ).toBe(false);
    expect(
      withPeople.authorize(withPeople.principals.person('dave'), 'execute-api:Invoke', route('/break-glass')),
    ).toEqual({ allowed: true });
  });

  it('an action IAM does not know is an evaluation error, never an allow', async () => {
    await expect(
      evaluate({
        principalArn: 'arn:aws:iam::111122223333:user/x',
        principalAccount: ACCOUNT,
        policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }],
        action: 'kms:NoSuchAction',
        resource: KEY,
      }),
    ).rejects.toThrow(/cannot evaluate/);
  });
});

describe('policy validation before anything is evaluated', () => {
  it('every policy of the synthesized template is valid IAM (iam-simulate validates what authorize() skips)', async () => {
    await expect(iam.validate()).resolves.toBeUndefined();
  });

  it('a malformed key policy in the world stops the stand-in from starting', async () => {
    const policy = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Permit', Principal: '*', Action: 'kms:*', Resource: '*' }],
    };
    const bad = parseWorld({ account: ACCOUNT, region: REGION, keys: [{ id: 'k1', policy }] }, 'bad key policy');
    await expect(startStandIn(bad)).rejects.toThrow(/cannot evaluate/);
  });

  it("synchronous and validated evaluation agree on the template's roles", async () => {
    const cases: [string, string, string][] = [
      ['rotate', 'kms:RotateKeyOnDemand', KEY],
      ['assess', 'kms:RotateKeyOnDemand', KEY],
      ['assess', 'kms:ListAliases', '*'],
      ['notify', 'kms:DescribeKey', KEY],
    ];
    for (const [name, action, resource] of cases) {
      const p = iam.principals.functionRole(name);
      const now = iam.authorize(p, action, resource, {}, defaultKeyPolicy(ACCOUNT));
      const checked = await evaluate({
        principalArn: p.arn,
        principalAccount: p.account,
        policies: p.policies,
        action,
        resource,
        resourcePolicy: defaultKeyPolicy(ACCOUNT),
        context: { 'aws:PrincipalArn': p.principalArn },
      });
      expect([name, action, now.allowed]).toEqual([name, action, checked.allowed]);
    }
  });
});
