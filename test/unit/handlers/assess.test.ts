import {
  DescribeKeyCommand,
  GetKeyRotationStatusCommand,
  KMSClient,
  ListAliasesCommand,
  ListKeyRotationsCommand,
  ListResourceTagsCommand,
  NotFoundException,
  RotateKeyOnDemandCommand,
  UnsupportedOperationException,
  type KeyMetadata,
  type ListKeyRotationsCommandOutput,
  type RotationsListEntry,
} from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { assess } from '../../../lambdas/assess/handler';
import { newKeyTask } from '../../../lambdas/domain/rotation/key-task';
import type { IncidentRequest } from '../../../lambdas/domain/contracts';
import {
  ACCOUNT,
  KEY_ARN,
  KEY_ID,
  NOW,
  OTHER_ACCOUNT,
  automatic,
  clientSetting,
  commandNames,
  config,
  metadata,
  onDemand,
  request,
  throttling,
  kmsKeys,
} from './fixtures';

const kms = mockClient(KMSClient);

interface KeySetup {
  meta?: KeyMetadata;
  onDemandRotationStartDate?: Date;
  rotations?: RotationsListEntry[];
  tags?: Record<string, string>;
  aliases?: string[];
}

/** A key that KMS describes, with its rotation status, history, tags and aliases. */
function givenKey({
  meta = metadata(),
  onDemandRotationStartDate,
  rotations = [],
  tags = {},
  aliases = [],
}: KeySetup = {}) {
  kms.on(DescribeKeyCommand).resolves({ KeyMetadata: meta });
  kms.on(GetKeyRotationStatusCommand).resolves({
    KeyId: meta.Arn,
    KeyRotationEnabled: true,
    RotationPeriodInDays: 365,
    ...(onDemandRotationStartDate ? { OnDemandRotationStartDate: onDemandRotationStartDate } : {}),
  });
  kms.on(ListKeyRotationsCommand).resolves({ Rotations: rotations, Truncated: false });
  kms
    .on(ListResourceTagsCommand)
    .resolves({ Tags: Object.entries(tags).map(([TagKey, TagValue]) => ({ TagKey, TagValue })), Truncated: false });
  kms
    .on(ListAliasesCommand)
    .resolves({ Aliases: aliases.map((AliasName) => ({ AliasName, TargetKeyId: meta.KeyId })), Truncated: false });
}

/** `n` ON_DEMAND rotations, a day apart, the newest `daysAgo` days before NOW. */
function onDemandRotations(n: number, daysAgo = 30): RotationsListEntry[] {
  return Array.from({ length: n }, (_, i) =>
    onDemand(new Date(NOW.getTime() - (daysAgo + i) * 86_400_000).toISOString(), `material-old-${i}`),
  );
}

const item = (ref = KEY_ARN, req: Partial<IncidentRequest> = {}) => ({ ref, request: request(req) });

beforeEach(() => {
  kms.reset();
});

describe('assess: an eligible key', () => {
  it('decides ROTATE and records what the guard and the poll loop need', async () => {
    // Given
    givenKey({
      rotations: [automatic('2024-12-01T00:00:00.000Z'), onDemand('2025-01-10T08:00:00.000Z', 'material-0')],
      aliases: ['alias/payments', 'alias/app'],
    });

    // When
    const task = await assess(item(), config(), kmsKeys, NOW);

    // Then
    expect(task).toEqual({
      ...newKeyTask(item()),
      next: 'ROTATE',
      keyArn: KEY_ARN,
      aliases: ['alias/app', 'alias/payments'],
      detail: expect.stringContaining('23 of 25'),
      onDemandRotationsUsed: 1,
      onDemandRotationsRemaining: 24,
      previousRotationDate: '2025-01-10T08:00:00.000Z',
      previousKeyMaterialId: 'material-1',
      currentKeyMaterialId: 'material-1',
    });
    expect(kms).toHaveReceivedCommandWith(DescribeKeyCommand, { KeyId: KEY_ARN });
    expect(kms).toHaveReceivedCommandWith(GetKeyRotationStatusCommand, { KeyId: KEY_ARN });
    expect(kms).toHaveReceivedCommandWith(ListKeyRotationsCommand, { KeyId: KEY_ARN });
    expect(kms).toHaveReceivedCommandWith(ListResourceTagsCommand, { KeyId: KEY_ARN });
    expect(kms).toHaveReceivedCommandWith(ListAliasesCommand, { KeyId: KEY_ID });
    expect(kms).toHaveReceivedCommandTimes(DescribeKeyCommand, 1);
    expect(kms).not.toHaveReceivedCommand(RotateKeyOnDemandCommand);
  });

  it('lists rotations only (not all key material) for an AWS_KMS key', async () => {
    // Given
    givenKey();

    // When
    await assess(item(), config(), kmsKeys, NOW);

    // Then
    const input = kms.commandCalls(ListKeyRotationsCommand)[0].args[0].input;
    expect(input.IncludeKeyMaterial).toBeUndefined();
  });

  it('resolves an alias name in the home Region', async () => {
    // Given
    givenKey({ aliases: ['alias/payments'] });

    // When
    const task = await assess(item('alias/payments'), config(), kmsKeys, NOW);

    // Then
    expect(task).toMatchObject({ ref: 'alias/payments', keyArn: KEY_ARN, next: 'ROTATE' });
    expect(kms).toHaveReceivedCommandWith(DescribeKeyCommand, { KeyId: 'alias/payments' });
    expect(await clientSetting(kms.commandCalls(DescribeKeyCommand)[0], 'region')).toBe('us-east-1');
  });

  it('reads a key ARN of another Region of this account in that Region', async () => {
    // Given
    const arn = `arn:aws:kms:ap-southeast-2:${ACCOUNT}:key/${KEY_ID}`;
    givenKey({ meta: metadata({ Arn: arn }) });

    // When
    const task = await assess(item(arn), config(), kmsKeys, NOW);

    // Then
    expect(task.keyArn).toBe(arn);
    for (const call of kms.calls()) expect(await clientSetting(call, 'region')).toBe('ap-southeast-2');
  });

  it('lets a manual request with force spend the reserve', async () => {
    // Given
    givenKey({ rotations: onDemandRotations(24) });

    // When
    const automaticTask = await assess(item(), config(), kmsKeys, NOW);
    const manualTask = await assess(
      item(KEY_ARN, { source: 'manual', findingId: null, force: true }),
      config(),
      kmsKeys,
      NOW,
    );

    // Then
    expect(automaticTask).toMatchObject({
      next: 'DONE',
      outcome: 'SKIPPED',
      reason: 'BUDGET_RESERVE',
      onDemandRotationsRemaining: 1,
    });
    expect(manualTask).toMatchObject({
      next: 'ROTATE',
      outcome: null,
      reason: null,
      onDemandRotationsUsed: 24,
      onDemandRotationsRemaining: 1,
    });
  });
});

describe('assess: NOT_FOUND', () => {
  it('skips a key ARN that DescribeKey does not find, after that one call', async () => {
    // Given
    kms
      .on(DescribeKeyCommand)
      .rejects(new NotFoundException({ message: `Key '${KEY_ARN}' does not exist`, $metadata: {} }));

    // When
    const task = await assess(item(), config(), kmsKeys, NOW);

    // Then
    expect(task).toMatchObject({
      next: 'DONE',
      outcome: 'SKIPPED',
      reason: 'NOT_FOUND',
      keyArn: KEY_ARN,
      detail: expect.stringContaining(KEY_ARN),
    });
    expect(kms).toHaveReceivedCommandWith(DescribeKeyCommand, { KeyId: KEY_ARN });
    expect(commandNames(kms)).toEqual(['DescribeKeyCommand']);
  });

  it('reports no key ARN for an alias that does not resolve', async () => {
    // Given
    kms.on(DescribeKeyCommand).rejects(new NotFoundException({ message: 'Alias not found', $metadata: {} }));

    // When
    const task = await assess(item('alias/gone'), config(), kmsKeys, NOW);

    // Then
    expect(task).toMatchObject({ outcome: 'SKIPPED', reason: 'NOT_FOUND', keyArn: null });
  });

  it('propagates other DescribeKey errors with their name (Step Functions retries them)', async () => {
    // Given
    kms.on(DescribeKeyCommand).rejects(throttling('Rate exceeded'));

    // When / Then
    await expect(assess(item(), config(), kmsKeys, NOW)).rejects.toMatchObject({ name: 'ThrottlingException' });
  });
});

describe('assess: FOREIGN_ACCOUNT', () => {
  it.each([
    ['key ARN', `arn:aws:kms:us-east-1:${OTHER_ACCOUNT}:key/${KEY_ID}`],
    ['alias ARN', `arn:aws:kms:eu-west-1:${OTHER_ACCOUNT}:alias/shared`],
    ['key ARN in the European Sovereign Cloud', `arn:aws-eusc:kms:eusc-de-east-1:${OTHER_ACCOUNT}:key/${KEY_ID}`],
  ])('skips a %s of another account without any KMS call', async (_name, ref) => {
    // When
    const task = await assess(item(ref), config(), kmsKeys, NOW);

    // Then
    expect(task).toMatchObject({
      ref,
      keyArn: ref,
      next: 'DONE',
      outcome: 'SKIPPED',
      reason: 'FOREIGN_ACCOUNT',
      detail: expect.stringContaining(OTHER_ACCOUNT),
    });
    expect(kms.calls()).toHaveLength(0);
  });

  it('does not claim to know the rotation counts of a key it never looked up', async () => {
    // When
    const task = await assess(item(`arn:aws:kms:us-east-1:${OTHER_ACCOUNT}:key/${KEY_ID}`), config(), kmsKeys, NOW);

    // Then
    expect(task).toMatchObject({
      onDemandRotationsUsed: null,
      onDemandRotationsRemaining: null,
      previousRotationDate: null,
      previousKeyMaterialId: null,
    });
  });

  it('skips a key that DescribeKey places in another account (an alias name pointing elsewhere)', async () => {
    // Given
    const arn = `arn:aws:kms:us-east-1:${OTHER_ACCOUNT}:key/${KEY_ID}`;
    givenKey({ meta: metadata({ Arn: arn, AWSAccountId: OTHER_ACCOUNT }) });

    // When
    const task = await assess(item(KEY_ID), config(), kmsKeys, NOW);

    // Then
    expect(task).toMatchObject({ keyArn: arn, outcome: 'SKIPPED', reason: 'FOREIGN_ACCOUNT' });
    expect(commandNames(kms)).toEqual(['DescribeKeyCommand']);
  });
});

describe('assess: multi-Region replica', () => {
  const MRK = 'mrk-1234abcd12ab34cd56ef1234567890ab';
  const REPLICA_ARN = `arn:aws:kms:us-east-1:${ACCOUNT}:key/${MRK}`;
  const PRIMARY_ARN = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/${MRK}`;

  function givenReplicaOf(primary: KeyMetadata | null) {
    givenKey({
      meta: metadata({ KeyId: MRK, Arn: PRIMARY_ARN, MultiRegion: true }),
      rotations: [onDemand('2025-02-01T00:00:00.000Z')],
    });
    kms.on(DescribeKeyCommand, { KeyId: REPLICA_ARN }).resolves({
      KeyMetadata: metadata({
        KeyId: MRK,
        Arn: REPLICA_ARN,
        MultiRegion: true,
        CurrentKeyMaterialId: 'replica-material',
        MultiRegionConfiguration: {
          MultiRegionKeyType: 'REPLICA',
          PrimaryKey: { Arn: PRIMARY_ARN, Region: 'eu-west-1' },
          ReplicaKeys: [{ Arn: REPLICA_ARN, Region: 'us-east-1' }],
        },
      }),
    });
    if (primary) {
      kms.on(DescribeKeyCommand, { KeyId: PRIMARY_ARN }).resolves({ KeyMetadata: primary });
    } else {
      kms
        .on(DescribeKeyCommand, { KeyId: PRIMARY_ARN })
        .rejects(new NotFoundException({ message: 'gone', $metadata: {} }));
    }
  }

  it('assesses and rotates the primary, in the primary Region, via the replica', async () => {
    // Given
    givenReplicaOf(
      metadata({
        KeyId: MRK,
        Arn: PRIMARY_ARN,
        MultiRegion: true,
        CurrentKeyMaterialId: 'primary-material',
        MultiRegionConfiguration: {
          MultiRegionKeyType: 'PRIMARY',
          PrimaryKey: { Arn: PRIMARY_ARN, Region: 'eu-west-1' },
          ReplicaKeys: [{ Arn: REPLICA_ARN, Region: 'us-east-1' }],
        },
      }),
    );

    // When
    const task = await assess(item(REPLICA_ARN), config(), kmsKeys, NOW);

    // Then
    expect(task).toMatchObject({
      ref: REPLICA_ARN,
      keyArn: PRIMARY_ARN,
      via: REPLICA_ARN,
      next: 'ROTATE',
      previousKeyMaterialId: 'primary-material',
      previousRotationDate: '2025-02-01T00:00:00.000Z',
    });
    const describes = kms.commandCalls(DescribeKeyCommand);
    expect(describes.map((c) => c.args[0].input.KeyId)).toEqual([REPLICA_ARN, PRIMARY_ARN]);
    expect(await clientSetting(describes[0], 'region')).toBe('us-east-1');
    expect(await clientSetting(describes[1], 'region')).toBe('eu-west-1');
    expect(kms).toHaveReceivedCommandWith(GetKeyRotationStatusCommand, { KeyId: PRIMARY_ARN });
    expect(kms).toHaveReceivedCommandWith(ListKeyRotationsCommand, { KeyId: PRIMARY_ARN });
    expect(await clientSetting(kms.commandCalls(GetKeyRotationStatusCommand)[0], 'region')).toBe('eu-west-1');
    expect(kms).not.toHaveReceivedCommandWith(GetKeyRotationStatusCommand, { KeyId: REPLICA_ARN });
    expect(kms).not.toHaveReceivedCommand(RotateKeyOnDemandCommand);
  });

  it('reports NOT_FOUND with the primary ARN when the primary is gone', async () => {
    // Given
    givenReplicaOf(null);

    // When
    const task = await assess(item(REPLICA_ARN), config(), kmsKeys, NOW);

    // Then
    expect(task).toMatchObject({
      outcome: 'SKIPPED',
      reason: 'NOT_FOUND',
      keyArn: PRIMARY_ARN,
      detail: expect.stringContaining(REPLICA_ARN),
    });
    expect(kms).not.toHaveReceivedCommand(GetKeyRotationStatusCommand);
  });
});

describe('assess: rotation history', () => {
  it('reads every ListKeyRotations page and counts ON_DEMAND rotations only', async () => {
    // Given
    givenKey();
    const pages: Record<string, ListKeyRotationsCommandOutput> = {
      first: {
        $metadata: {},
        Rotations: [
          onDemand('2025-03-01T00:00:00.000Z'),
          automatic('2025-03-15T00:00:00.000Z'),
          onDemand('2024-11-01T00:00:00.000Z'),
        ],
        NextMarker: 'page-2',
        Truncated: true,
      },
      'page-2': {
        $metadata: {},
        // The newest on-demand rotation comes last: the handler must not trust page order.
        Rotations: [automatic('2025-04-01T00:00:00.000Z'), onDemand('2025-05-20T09:30:00.000Z')],
        Truncated: false,
      },
    };
    const markers: (string | undefined)[] = [];
    kms.on(ListKeyRotationsCommand).callsFake((input: { Marker?: string }) => {
      markers.push(input.Marker);
      if (markers.length > 5) return { Rotations: [], Truncated: false }; // a broken paginator must not hang the test
      return pages[input.Marker ?? 'first'];
    });

    // When
    const task = await assess(item(), config(), kmsKeys, NOW);

    // Then
    expect(markers).toEqual([undefined, 'page-2']);
    expect(kms).toHaveReceivedCommandTimes(ListKeyRotationsCommand, 2);
    expect(task).toMatchObject({
      onDemandRotationsUsed: 3,
      onDemandRotationsRemaining: 22,
      previousRotationDate: '2025-05-20T09:30:00.000Z',
      next: 'ROTATE',
    });
  });

  it('counts the rotations of the second page against the budget', async () => {
    // Given: 20 on the first page, 5 on the second: exhausted only if both pages count
    givenKey();
    const all = onDemandRotations(25);
    const markers: (string | undefined)[] = [];
    kms.on(ListKeyRotationsCommand).callsFake((input: { Marker?: string }) => {
      markers.push(input.Marker);
      if (markers.length > 5) return { Rotations: [], Truncated: false };
      return input.Marker
        ? { Rotations: all.slice(20), Truncated: false }
        : { Rotations: all.slice(0, 20), NextMarker: 'm2', Truncated: true };
    });

    // When
    const task = await assess(item(), config(), kmsKeys, NOW);

    // Then
    expect(task).toMatchObject({
      outcome: 'SKIPPED',
      reason: 'BUDGET_EXHAUSTED',
      onDemandRotationsUsed: 25,
      onDemandRotationsRemaining: 0,
    });
  });

  it('asks for all key material of an imported key and rotates it when new material is staged', async () => {
    // Given
    givenKey({
      meta: metadata({ Origin: 'EXTERNAL' }),
      rotations: [
        { KeyId: KEY_ID, KeyMaterialId: 'imported-2', KeyMaterialState: 'PENDING_ROTATION', ImportState: 'IMPORTED' },
        { KeyId: KEY_ID, KeyMaterialId: 'imported-1', KeyMaterialState: 'CURRENT', ImportState: 'IMPORTED' },
      ],
    });

    // When
    const task = await assess(item(), config(), kmsKeys, NOW);

    // Then
    expect(kms).toHaveReceivedCommandWith(ListKeyRotationsCommand, {
      KeyId: KEY_ARN,
      IncludeKeyMaterial: 'ALL_KEY_MATERIAL',
    });
    // Key material entries without a rotation are not rotations.
    expect(task).toMatchObject({ next: 'ROTATE', onDemandRotationsUsed: 0, previousRotationDate: null });
  });

  it('an imported key whose GetKeyRotationStatus is refused (UnsupportedOperationException) is still decided from ListKeyRotations', async () => {
    // Given
    givenKey({
      meta: metadata({ Origin: 'EXTERNAL' }),
      rotations: [
        { KeyId: KEY_ID, KeyMaterialId: 'imported-2', KeyMaterialState: 'PENDING_ROTATION', ImportState: 'IMPORTED' },
        { KeyId: KEY_ID, KeyMaterialId: 'imported-1', KeyMaterialState: 'CURRENT', ImportState: 'IMPORTED' },
      ],
    });
    kms
      .on(GetKeyRotationStatusCommand)
      .rejects(new UnsupportedOperationException({ message: 'imported key material', $metadata: {} }));

    // When
    const task = await assess(item(), config(), kmsKeys, NOW);

    // Then
    expect(kms).toHaveReceivedCommandWith(ListKeyRotationsCommand, {
      KeyId: KEY_ARN,
      IncludeKeyMaterial: 'ALL_KEY_MATERIAL',
    });
    expect(task).toMatchObject({ next: 'ROTATE', outcome: null, onDemandRotationsUsed: 0 });
  });
});

describe('assess: JOIN', () => {
  it('joins a running on-demand rotation: next POLL with a deadline, even with the budget exhausted', async () => {
    // Given
    const started = new Date('2025-06-01T11:58:30.000Z');
    givenKey({ onDemandRotationStartDate: started, rotations: onDemandRotations(25) });

    // When
    const task = await assess(item(), config(), kmsKeys, NOW);

    // Then
    expect(task).toMatchObject({
      next: 'POLL',
      joined: true,
      outcome: null,
      reason: null,
      rotationStartedAt: started.toISOString(),
      deadline: '2025-06-01T12:30:00.000Z',
      pollAttempt: 0,
      waitSeconds: 5,
      onDemandRotationsUsed: 25,
      onDemandRotationsRemaining: 0,
    });
    expect(kms).not.toHaveReceivedCommand(RotateKeyOnDemandCommand);
  });

  it('only says it would join in a dry run', async () => {
    // Given
    givenKey({ onDemandRotationStartDate: new Date('2025-06-01T11:58:30.000Z') });

    // When
    const task = await assess(item(KEY_ARN, { dryRun: true }), config(), kmsKeys, NOW);

    // Then
    expect(task).toMatchObject({
      next: 'DONE',
      outcome: 'DRY_RUN',
      joined: false,
      deadline: null,
      detail: expect.stringContaining('would join'),
    });
  });
});

describe('assess: DRY_RUN', () => {
  it.each([
    ['the request', { dryRun: true }, {}],
    ['the deployment setting', {}, { dryRun: true }],
  ])('an eligible key is not rotated when %s says dry run', async (_name, req, conf) => {
    // Given
    givenKey();

    // When
    const task = await assess(item(KEY_ARN, req), config(conf), kmsKeys, NOW);

    // Then
    expect(task).toMatchObject({
      next: 'DONE',
      outcome: 'DRY_RUN',
      reason: null,
      keyArn: KEY_ARN,
      onDemandRotationsRemaining: 25,
    });
  });
});

describe('assess: SKIPPED keys never reach Rotate', () => {
  it.each<[string, KeySetup, string, string[]]>([
    [
      'AWS managed key',
      { meta: metadata({ KeyManager: 'AWS' }) },
      'AWS_MANAGED',
      ['DescribeKeyCommand', 'ListAliasesCommand'],
    ],
    [
      'HMAC key',
      { meta: metadata({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }) },
      'UNSUPPORTED_KEY_SPEC',
      ['DescribeKeyCommand', 'ListAliasesCommand', 'ListResourceTagsCommand'],
    ],
    [
      'CloudHSM key',
      { meta: metadata({ Origin: 'AWS_CLOUDHSM', CustomKeyStoreId: 'cks-1234567890abcdef0' }) },
      'CUSTOM_KEY_STORE',
      ['DescribeKeyCommand', 'ListAliasesCommand', 'ListResourceTagsCommand'],
    ],
    [
      'pending deletion',
      { meta: metadata({ KeyState: 'PendingDeletion', Enabled: false }) },
      'KEY_NOT_ENABLED',
      ['DescribeKeyCommand', 'ListAliasesCommand', 'ListResourceTagsCommand'],
    ],
    ['disabled key', { meta: metadata({ KeyState: 'Disabled', Enabled: false }) }, 'KEY_NOT_ENABLED', []],
    [
      'imported key, nothing staged',
      {
        meta: metadata({ Origin: 'EXTERNAL' }),
        rotations: [{ KeyId: KEY_ID, KeyMaterialId: 'imported-1', KeyMaterialState: 'CURRENT' }],
      },
      'IMPORTED_MATERIAL_NOT_STAGED',
      [],
    ],
    ['opted out by tag', { tags: { 'kms-incident-rotation': 'Disabled', owner: 'payments' } }, 'OPTED_OUT', []],
    [
      'rotated 10 minutes ago',
      { rotations: [onDemand(new Date(NOW.getTime() - 600_000).toISOString())] },
      'RECENTLY_ROTATED',
      [],
    ],
    ['budget exhausted', { rotations: onDemandRotations(25) }, 'BUDGET_EXHAUSTED', []],
    ['inside the reserve', { rotations: onDemandRotations(23) }, 'BUDGET_RESERVE', []],
  ])('%s -> SKIPPED %s', async (_name, setup, reason, onlyCommands) => {
    // Given
    givenKey(setup);

    // When
    const task = await assess(item(), config(), kmsKeys, NOW);

    // Then
    expect(task).toMatchObject({ next: 'DONE', outcome: 'SKIPPED', reason, joined: false, deadline: null });
    expect(kms).not.toHaveReceivedCommand(RotateKeyOnDemandCommand);
    if (onlyCommands.length > 0) expect(commandNames(kms).sort()).toEqual(onlyCommands);
  });
});
