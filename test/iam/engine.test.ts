import { createAccountIam, defaultKeyPolicy, evaluate } from '../../local/iam';
import { synthTemplate } from '../../local/template';
import { parseSettings } from '../../lib/settings';
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
    expect(rotate.arn).toMatch(new RegExp(`^arn:aws:sts::${ACCOUNT}:assumed-role/TasksRotateRole[0-9A-F]{8}/TasksRotate[0-9A-F]{8}$`));
    expect(rotate.principalArn).toMatch(/:role\/TasksRotateRole/);
    expect(iam.authorize(rotate, 'kms:RotateKeyOnDemand', KEY, {}, defaultKeyPolicy(ACCOUNT))).toEqual({ allowed: true });
  });

  it('denies an action no policy of the role grants, in AWS message form', async () => {
    const assess = iam.principals.functionRole('assess');
    const d = iam.authorize(assess, 'kms:RotateKeyOnDemand', KEY, {}, defaultKeyPolicy(ACCOUNT));
    expect(d).toMatchObject({ allowed: false });
    expect(!d.allowed && d.message).toBe(`User: ${assess.arn} is not authorized to perform: kms:RotateKeyOnDemand on resource: ${KEY} because no identity-based policy allows the kms:RotateKeyOnDemand action`);
  });

  it('a key policy without the account delegation makes identity policies count for nothing (KMS)', async () => {
    const assess = iam.principals.functionRole('assess');
    const keyPolicy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/SomeoneElse` }, Action: 'kms:*', Resource: '*' }] };
    const d = iam.authorize(assess, 'kms:DescribeKey', KEY, {}, keyPolicy);
    expect(d.allowed).toBe(false);
    expect(!d.allowed && d.message).toContain('because no resource-based policy allows the kms:DescribeKey action');
  });

  it('explicit deny wins: the Rotate role never rotates a key tagged opted out', async () => {
    const rotate = iam.principals.functionRole('rotate');
    const d = iam.authorize(rotate, 'kms:RotateKeyOnDemand', KEY, { 'aws:ResourceTag/kms-incident-rotation': 'Disabled' }, defaultKeyPolicy(ACCOUNT));
    expect(!d.allowed && d.message).toContain('with an explicit deny in an identity-based policy');
  });

  it('kms:ViaService must match: Record may use the product key only through DynamoDB', async () => {
    const record = iam.principals.functionRole('record');
    const productKey = iam.resources[`${Object.keys(template.Resources).find((id) => id.startsWith('ProductKey'))}.Arn`];
    const keyPolicy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }] };
    expect(iam.authorize(record, 'kms:Decrypt', productKey, { 'kms:ViaService': `dynamodb.${REGION}.amazonaws.com` }, keyPolicy)).toEqual({ allowed: true });
    expect(iam.authorize(record, 'kms:Decrypt', productKey, { 'kms:ViaService': `s3.${REGION}.amazonaws.com` }, keyPolicy).allowed).toBe(false);
    expect(iam.authorize(record, 'kms:Decrypt', productKey, {}, keyPolicy).allowed).toBe(false);
  });

  it('people: on call may not ScheduleKeyDeletion; break-glass adds only its route', async () => {
    const alice = iam.principals.person('alice');
    expect(alice.principalArn).toBe(`arn:aws:iam::${ACCOUNT}:role/OnCall`);
    const d = iam.authorize(alice, 'kms:ScheduleKeyDeletion', KEY, {}, defaultKeyPolicy(ACCOUNT));
    expect(!d.allowed && d.message).toContain('because no identity-based policy allows the kms:ScheduleKeyDeletion action');
    expect(iam.authorize(alice, 'kms:DescribeKey', KEY, {}, defaultKeyPolicy(ACCOUNT))).toEqual({ allowed: true });
  });

  it('an action IAM does not know is an evaluation error, never an allow', async () => {
    await expect(evaluate({ principalArn: 'arn:aws:iam::111122223333:user/x', principalAccount: ACCOUNT, policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }], action: 'kms:NoSuchAction', resource: KEY })).rejects.toThrow(/cannot evaluate/);
  });
});
