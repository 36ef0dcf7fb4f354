import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { main } from '../../cli/main';
import { startStandIn, type StandIn } from '../../local/standin';
import { parseWorld } from '../../local/world';
import { ACCOUNT, CALLER, captureIo, REGION } from './helpers';


// KMS is the local stand-in (real SDK calls over HTTP); only STS is mocked (the stand-in has none).
const sts = mockClient(STSClient);

const id = (n: number) => `${String(n).padStart(8, '0')}-1111-2222-3333-444455556666`;
const arn = (n: number, region = REGION) => `arn:aws:kms:${region}:${ACCOUNT}:key/${id(n)}`;
const MRK = 'mrk-1234abcd12ab34cd56ef1234567890ab';

const world = parseWorld(
  {
    account: ACCOUNT,
    region: REGION,
    keys: [
      { id: id(1), aliases: ['alias/orders'], onDemandRotationsUsed: 2, lastOnDemandRotationMinutesAgo: 60 * 24 * 30, automaticRotationDueWithinMinutes: 60 * 24 * 90 },
      { id: id(2), keyManager: 'AWS', aliases: ['alias/aws/s3'] },
      { id: id(3), keySpec: 'RSA_2048', keyUsage: 'SIGN_VERIFY' },
      { id: id(4), keySpec: 'HMAC_256', keyUsage: 'GENERATE_VERIFY_MAC' },
      { id: id(5), origin: 'AWS_CLOUDHSM' },
      { id: id(6), origin: 'EXTERNAL' },
      { id: id(7), keyState: 'Disabled' },
      { id: id(8), tags: { 'kms-incident-rotation': 'disabled' } },
      { id: MRK, multiRegion: true, multiRegionKeyType: 'PRIMARY' },
      { id: MRK, region: 'eu-west-1', multiRegion: true, multiRegionKeyType: 'REPLICA', primaryArn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/${MRK}` },
      { id: id(9), onDemandRotationsUsed: 23, lastOnDemandRotationMinutesAgo: 60 * 24 * 300 },
      { id: id(10), rotationInProgress: true, onDemandRotationsUsed: 1, lastOnDemandRotationMinutesAgo: 60 * 24 * 300 },
      { id: id(11), tags: { 'kms-incident-rotation': 'approval' } },
    ],
  },
  'check test world',
);

let standIn: StandIn;
let env: Record<string, string>;

beforeAll(async () => {
  standIn = await startStandIn(world);
  env = { AWS_ENDPOINT_URL: standIn.endpoint, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: REGION };
});
afterAll(() => standIn.close());
beforeEach(() => {
  sts.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: CALLER });
});

async function check(...args: string[]) {
  const { io, stdout, stderr } = captureIo(env);
  const code = await main(['check', ...args], io);
  return { code, out: stdout(), err: stderr() };
}

describe('kms-rotate check (against the local stand-in)', () => {
  it('an eligible key: yes, with its budget, automatic rotation and history', async () => {
    const { code, out } = await check('--key', 'alias/orders');

    expect(code).toBe(0);
    expect(out).toMatch(new RegExp(`^Key +${arn(1)}$`, 'm'));
    expect(out).toMatch(/^Named as +alias\/orders$/m);
    expect(out).toMatch(/^Aliases +alias\/orders$/m);
    expect(out).toMatch(/^Key spec +SYMMETRIC_DEFAULT \/ ENCRYPT_DECRYPT$/m);
    expect(out).toMatch(/^Origin +AWS_KMS$/m);
    expect(out).toMatch(/^State +Enabled$/m);
    expect(out).toMatch(/^Manager +CUSTOMER$/m);
    expect(out).toMatch(/^Eligible now +yes$/m);
    expect(out).toContain('Eligible; rotating leaves 22 of 25 on-demand rotations.');
    expect(out).toMatch(/^On demand +2 of 25 lifetime rotations used, 23 left/m);
    expect(out).toMatch(/^Automatic +enabled, next \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/m);
    expect(out).toMatch(/^In progress +no on-demand rotation is running$/m);
    expect(out).toMatch(/^Rotations +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC {2}ON_DEMAND/m);
    expect(out.match(/ON_DEMAND/g)).toHaveLength(2);
  });

  it.each([
    ['AWS managed', arn(2), 'AWS_MANAGED', /AWS managed key/],
    ['asymmetric RSA_2048', arn(3), 'UNSUPPORTED_KEY_SPEC', /RSA_2048\/SIGN_VERIFY/],
    ['HMAC', arn(4), 'UNSUPPORTED_KEY_SPEC', /HMAC_256\/GENERATE_VERIFY_MAC/],
    ['custom key store', arn(5), 'CUSTOM_KEY_STORE', /custom key store \(AWS_CLOUDHSM/],
    ['imported material not staged', arn(6), 'IMPORTED_MATERIAL_NOT_STAGED', /no new material is in PENDING_ROTATION/],
    ['disabled', arn(7), 'KEY_NOT_ENABLED', /The key is Disabled/],
    ['opted out', arn(8), 'OPTED_OUT', /tagged kms-incident-rotation=disabled/],
    ['in the reserve', arn(9), 'BUDGET_RESERVE', /Only 2 of 25 on-demand rotations are left/],
    ['not found', arn(99), 'NOT_FOUND', /No KMS key/],
    ['another account', `arn:aws:kms:${REGION}:444455556666:key/${id(1)}`, 'FOREIGN_ACCOUNT', /belongs to account 444455556666/],
  ])('%s: no, with the reason in words, the detail and the next step (exit 0)', async (_kind, key, reason, detail) => {
    const { code, out } = await check('--key', key);

    expect(code).toBe(0);
    expect(out).toMatch(new RegExp(`^Eligible now +no - ${reason}: `, 'm'));
    expect(out).toMatch(detail);
    expect(out).toMatch(/^ +Next step: /m);
  });

  it('a replica: checks its primary in the primary\'s Region, via the replica', async () => {
    const replica = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/${MRK}`;
    const { code, out } = await check('--key', replica, '--region', 'eu-west-1');

    expect(code).toBe(0);
    expect(out).toMatch(new RegExp(`^Key +arn:aws:kms:${REGION}:${ACCOUNT}:key/${MRK}$`, 'm'));
    expect(out).toMatch(new RegExp(`^Via +${replica} \\(a multi-Region replica`, 'm'));
    expect(out).toMatch(/^Multi-Region +PRIMARY/m);
    expect(out).toMatch(/^Eligible now +yes$/m);
  });

  it('a rotation in progress: eligible to join, and shown as running', async () => {
    const { code, out } = await check('--key', arn(10));

    expect(code).toBe(0);
    expect(out).toMatch(/^Eligible now +yes \(a rotation is already running/m);
    expect(out).toMatch(/^In progress +an on-demand rotation is running, started \d{4}-/m);
  });

  it('a key that needs approval: eligible, after approval', async () => {
    const { code, out } = await check('--key', arn(11));

    expect(code).toBe(0);
    expect(out).toMatch(/^Eligible now +yes \(after approval/m);
  });

  it('--force lifts the reserve; --budget changes the budget; --json is machine-readable', async () => {
    expect((await check('--key', arn(9), '--force')).out).toMatch(/^Eligible now +yes$/m);

    const { code, out } = await check('--key', arn(1), '--budget', '4', '--reserve', '2', '--json');
    expect(code).toBe(0);
    const report = JSON.parse(out);
    expect(report).toMatchObject({
      keyArn: arn(1),
      aliases: ['alias/orders'],
      eligible: false,
      action: 'SKIP',
      reason: 'BUDGET_RESERVE',
      onDemandRotations: { used: 2, remaining: 2, budget: 4, reserve: 2 },
      automaticRotation: { enabled: true },
    });
  });

  it('rejects a bad key reference or setting without calling AWS (exit 2)', async () => {
    const bad = await check('--key', 'not a key');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--key: expected a KMS key id, key ARN, alias name or alias ARN, got "not a key"');

    const budget = await check('--key', arn(1), '--budget', '3', '--reserve', '5');
    expect(budget.code).toBe(2);
    expect(budget.err).toContain('--reserve: automaticReserve must be smaller than rotationBudget');
    expect(sts.calls()).toHaveLength(0);
  });

  it('AWS errors exit 4 with the action named', async () => {
    standIn.addFault({ service: 'kms', operation: 'DescribeKey', error: 'AccessDeniedException', times: 5 });
    const { code, err } = await check('--key', arn(1));

    expect(code).toBe(4);
    expect(err).toMatch(/AWS denied KMS reads \(DescribeKey.*\) to arn:aws:sts::111122223333:assumed-role\/OnCall\/alice/);
  });
});
