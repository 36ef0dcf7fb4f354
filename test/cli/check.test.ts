import {
  CloudFormationClient,
  CloudFormationServiceException,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { encodePublishedSettings, SETTINGS_OUTPUT } from '../../lib/settings/published-settings';
import { parseSettings } from '../../lib/settings/settings';
import { main } from '../../cli/main';
import { startStandIn, type StandIn } from '../../local/standin';
import { parseWorld } from '../../local/world';
import { ACCOUNT, CALLER, captureIo, REGION } from './helpers';
import { TEST_CREDENTIALS } from '../../local/iam';

// KMS is the local stand-in (real SDK calls over HTTP); STS and CloudFormation are mocked (the
// stand-in has neither). Unless a test deploys one, there is no stack: check uses the defaults.
const sts = mockClient(STSClient);
const cfn = mockClient(CloudFormationClient);
const noStack = new CloudFormationServiceException({
  name: 'ValidationError',
  message: 'Stack with id KmsIncidentRotation does not exist',
  $fault: 'client',
  $metadata: {},
});

/** A deployed stack whose Settings output holds `settings` (the rest default). */
function deployStack(settings: Record<string, unknown>, stackName = 'KmsIncidentRotation') {
  cfn.on(DescribeStacksCommand, { StackName: stackName }).resolves({
    Stacks: [
      {
        StackName: stackName,
        CreationTime: new Date(),
        StackStatus: 'UPDATE_COMPLETE',
        Outputs: [
          {
            OutputKey: 'StateMachineArn',
            OutputValue: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:KmsIncidentRotation`,
          },
          { OutputKey: SETTINGS_OUTPUT, OutputValue: encodePublishedSettings(parseSettings(settings)) },
        ],
      },
    ],
  });
}

const id = (n: number) => `${String(n).padStart(8, '0')}-1111-2222-3333-444455556666`;
const arn = (n: number, region = REGION) => `arn:aws:kms:${region}:${ACCOUNT}:key/${id(n)}`;
const MRK = 'mrk-1234abcd12ab34cd56ef1234567890ab';

const world = parseWorld(
  {
    account: ACCOUNT,
    region: REGION,
    keys: [
      {
        id: id(1),
        aliases: ['alias/orders'],
        onDemandRotationsUsed: 2,
        lastOnDemandRotationMinutesAgo: 60 * 24 * 30,
        automaticRotationDueWithinMinutes: 60 * 24 * 90,
      },
      { id: id(2), keyManager: 'AWS', aliases: ['alias/aws/s3'] },
      { id: id(3), keySpec: 'RSA_2048', keyUsage: 'SIGN_VERIFY' },
      { id: id(4), keySpec: 'HMAC_256', keyUsage: 'GENERATE_VERIFY_MAC' },
      { id: id(5), origin: 'AWS_CLOUDHSM' },
      { id: id(6), origin: 'EXTERNAL' },
      { id: id(7), keyState: 'Disabled' },
      { id: id(8), tags: { 'kms-incident-rotation': 'disabled' } },
      { id: MRK, multiRegion: true, multiRegionKeyType: 'PRIMARY' },
      {
        id: MRK,
        region: 'eu-west-1',
        multiRegion: true,
        multiRegionKeyType: 'REPLICA',
        primaryArn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/${MRK}`,
      },
      { id: id(9), onDemandRotationsUsed: 23, lastOnDemandRotationMinutesAgo: 60 * 24 * 300 },
      { id: id(10), rotationInProgress: true, onDemandRotationsUsed: 1, lastOnDemandRotationMinutesAgo: 60 * 24 * 300 },
      { id: id(11), tags: { 'kms-incident-rotation': 'approval' } },
      { id: id(12), tags: { 'team:rotation': 'disabled' } },
      // Two on-demand rotations in the last day (2 h and 4 h ago): under the default daily cap (3).
      {
        id: id(13),
        onDemandRotationsUsed: 2,
        lastOnDemandRotationMinutesAgo: 120,
        onDemandRotationSpacingMinutes: 120,
      },
    ],
  },
  'check test world',
);

let standIn: StandIn;
let env: Record<string, string>;

beforeAll(async () => {
  standIn = await startStandIn(world);
  env = {
    AWS_ENDPOINT_URL: standIn.endpoint,
    AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    AWS_REGION: REGION,
  };
});
afterAll(() => standIn.close());
beforeEach(() => {
  sts.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: CALLER });
  cfn.reset();
  cfn.on(DescribeStacksCommand).rejects(noStack);
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
    [
      'another account',
      `arn:aws:kms:${REGION}:444455556666:key/${id(1)}`,
      'FOREIGN_ACCOUNT',
      /belongs to account 444455556666/,
    ],
  ])('%s: no, with the reason in words, the detail and the next step (exit 0)', async (_kind, key, reason, detail) => {
    const { code, out } = await check('--key', key);

    expect(code).toBe(0);
    expect(out).toMatch(new RegExp(`^Eligible now +no - ${reason}: `, 'm'));
    expect(out).toMatch(detail);
    expect(out).toMatch(/^ +Next step: /m);
  });

  it("a replica: checks its primary in the primary's Region, via the replica", async () => {
    const replica = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/${MRK}`;
    const { code, out } = await check('--key', replica, '--region', 'eu-west-1');

    expect(code).toBe(0);
    expect(out).toMatch(new RegExp(`^Key +arn:aws:kms:${REGION}:${ACCOUNT}:key/${MRK}$`, 'm'));
    expect(out).toMatch(new RegExp(`^Via +${replica} \\(a multi-Region replica`, 'm'));
    expect(out).toMatch(/^Multi-Region +PRIMARY/m);
    expect(out).toMatch(/^Eligible now +yes$/m);
  });

  it("a replica named in another Region: says the primary rotates in its Region and which Region's stack acts", async () => {
    const replica = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/${MRK}`;
    const { code, out } = await check('--key', replica, '--region', 'eu-west-1');

    expect(code).toBe(0);
    expect(out).toMatch(
      new RegExp(
        `^Acting stack +the primary of replica ${replica} rotates in ${REGION}\\. A finding arriving in eu-west-1 .* is run by the stack in eu-west-1, which rotates it in ${REGION}; a finding on the primary itself is run by the stack in ${REGION}\\.`,
        'm',
      ),
    );
    const json = JSON.parse((await check('--key', replica, '--region', 'eu-west-1', '--json')).out);
    expect(json.crossRegion).toMatchObject({ keyRegion: REGION, cliRegion: 'eu-west-1' });
  });

  it('a primary named by its ARN from another Region: the same, without a replica', async () => {
    const { out } = await check('--key', `arn:aws:kms:${REGION}:${ACCOUNT}:key/${MRK}`, '--region', 'eu-west-1');
    expect(out).toMatch(
      new RegExp(`^Acting stack +the key rotates in ${REGION}\\. A finding arriving in eu-west-1`, 'm'),
    );
  });

  it("a key in the CLI's Region: no Acting stack line", async () => {
    const { out } = await check('--key', arn(1));
    expect(out).not.toMatch(/^Acting stack/m);
    expect(JSON.parse((await check('--key', arn(1), '--json')).out).crossRegion).toBeNull();
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
    // One fault: AccessDenied is not retried, and a leftover fault would fail the tests after this one.
    standIn.addFault({ service: 'kms', operation: 'DescribeKey', error: 'AccessDeniedException', times: 1 });
    const { code, err } = await check('--key', arn(1));

    expect(code).toBe(4);
    expect(err).toMatch(
      /AWS denied KMS reads \(DescribeKey.*\) to arn:aws:sts::111122223333:assumed-role\/OnCall\/alice/,
    );
  });

  it('without a stack: the defaults, and says so', async () => {
    const { code, out } = await check('--key', arn(12));

    expect(code).toBe(0);
    expect(out).toMatch(/^Eligible now +yes$/m);
    expect(out).toMatch(
      /^Settings +defaults: no stack KmsIncidentRotation in us-east-1 \(--stack NAME reads another stack\): opt-out tag kms-incident-rotation, cooldown 60 min/m,
    );
  });
});

describe('kms-rotate check with the deployed settings', () => {
  it.each([
    ['a custom opt-out tag', { optOutTag: 'team:rotation' }, arn(12), 'OPTED_OUT', /tagged team:rotation=disabled/],
    // id(1) was rotated on demand 30 days ago: inside a 60-day cooldown.
    ['a long cooldown', { cooldownMinutes: 60 * 24 * 60 }, arn(1), 'RECENTLY_ROTATED', /the cooldown is/],
    [
      'a daily cap of 2',
      { dailyRotationCap: 2 },
      arn(13),
      'RECENTLY_ROTATED',
      /2 on-demand rotations of this key in the last 24 h; every rotation stops at 2 per key per 24 h \(dailyRotationCap\); next rotation allowed from /,
    ],
  ])(
    '%s from the stack output: not eligible where the defaults say eligible',
    async (_what, deployed, key, reason, detail) => {
      // Given
      const withDefaults = await check('--key', key, '--default-settings');
      deployStack(deployed);

      // When
      const { code, out } = await check('--key', key);

      // Then
      expect(withDefaults.out).toMatch(/^Eligible now +yes$/m);
      expect(withDefaults.out).toMatch(/^Settings +defaults \(--default-settings\): /m);
      expect(code).toBe(0);
      expect(out).toMatch(new RegExp(`^Eligible now +no - ${reason}: `, 'm'));
      expect(out).toMatch(detail);
      expect(out).toMatch(/^Settings +from stack KmsIncidentRotation \(us-east-1\): /m);
    },
  );

  it('--json names the stack and Region the settings came from', async () => {
    // Given
    deployStack(
      { optOutTag: 'team:rotation', rotationBudget: 10, automaticReserve: 1, dryRun: true },
      'KmsRotationProd',
    );

    // When
    const { code, out } = await check('--key', arn(12), '--stack', 'KmsRotationProd', '--json');

    // Then
    expect(code).toBe(0);
    const report = JSON.parse(out);
    expect(report).toMatchObject({
      eligible: false,
      reason: 'OPTED_OUT',
      onDemandRotations: { budget: 10, reserve: 1 },
      settings: {
        source: 'stack',
        stack: 'KmsRotationProd',
        region: REGION,
        note: null,
        values: { optOutTag: 'team:rotation', rotationBudget: 10, automaticReserve: 1, dryRun: true },
      },
    });
    expect(cfn.commandCalls(DescribeStacksCommand)[0]!.args[0].input).toEqual({ StackName: 'KmsRotationProd' });
  });

  it("--budget/--reserve still override single values of the stack's settings", async () => {
    // Given
    deployStack({ rotationBudget: 10, automaticReserve: 1 });

    // When
    const { out } = await check('--key', arn(1), '--reserve', '8', '--json');

    // Then: 2 of 10 used leaves 8, all in the reserve.
    const report = JSON.parse(out);
    expect(report).toMatchObject({
      reason: 'BUDGET_RESERVE',
      onDemandRotations: { budget: 10, reserve: 8 },
      settings: { source: 'stack', note: '--reserve override' },
    });
  });

  it('--default-settings reads no stack', async () => {
    // Given
    deployStack({ optOutTag: 'team:rotation' });

    // When
    const { out } = await check('--key', arn(12), '--default-settings', '--json');

    // Then
    expect(JSON.parse(out)).toMatchObject({ eligible: true, settings: { source: 'defaults', stack: null } });
    expect(cfn.commandCalls(DescribeStacksCommand)).toHaveLength(0);
  });

  it('a stack without the Settings output (an older deployment): the defaults, with a note', async () => {
    // Given
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        { StackName: 'KmsIncidentRotation', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: [] },
      ],
    });

    // When
    const { code, out } = await check('--key', arn(12));

    // Then
    expect(code).toBe(0);
    expect(out).toMatch(/^Settings +defaults: the stack KmsIncidentRotation in us-east-1 has no Settings output/m);
  });

  it('rejects a bad Settings output, a bad --stack, and --stack with --default-settings (exit 2)', async () => {
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'KmsIncidentRotation',
          CreationTime: new Date(),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: [{ OutputKey: 'Settings', OutputValue: '{"rotationBudget":"lots"}' }],
        },
      ],
    });
    const bad = await check('--key', arn(1));
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(
      /Settings output of stack KmsIncidentRotation in us-east-1[\s\S]*rotationBudget[\s\S]*--default-settings/,
    );

    expect((await check('--key', arn(1), '--stack', 'no spaces please')).err).toContain(
      '--stack: expected a CloudFormation stack name',
    );
    expect((await check('--key', arn(1), '--stack', 'S', '--default-settings')).code).toBe(2);
  });
});
