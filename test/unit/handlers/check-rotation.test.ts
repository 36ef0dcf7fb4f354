import {
  DescribeKeyCommand,
  GetKeyRotationStatusCommand,
  KMSClient,
  ListKeyRotationsCommand,
  RotateKeyOnDemandCommand,
  UnsupportedOperationException,
  type RotationsListEntry,
} from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { checkRotation } from '../../../lambdas/check-rotation/handler';
import type { KeyTask } from '../../../lambdas/domain/contracts';
import {
  KEY_ARN,
  NOW,
  automatic,
  commandNames,
  config,
  metadata,
  onDemand,
  pollingTask,
  throttling,
  kmsKeys,
} from './fixtures';

const kms = mockClient(KMSClient);

const BEFORE = onDemand('2025-01-10T08:00:00.000Z', 'material-1'); // the task's previousRotationDate
const OURS = onDemand('2025-06-01T11:59:55.000Z', 'material-2');

/** What KMS shows while polling: status, history and the key's current material. */
function givenKms({
  running,
  rotations,
  material,
}: {
  running?: Date;
  rotations: RotationsListEntry[];
  material: string;
}) {
  kms
    .on(GetKeyRotationStatusCommand)
    .resolves({ KeyId: KEY_ARN, KeyRotationEnabled: true, ...(running ? { OnDemandRotationStartDate: running } : {}) });
  kms.on(ListKeyRotationsCommand).resolves({ Rotations: rotations, Truncated: false });
  kms.on(DescribeKeyCommand).resolves({ KeyMetadata: metadata({ CurrentKeyMaterialId: material }) });
}

beforeEach(() => {
  kms.reset();
});

describe('checkRotation: confirmed', () => {
  it('ROTATED with the new counts and material once the new ON_DEMAND rotation is listed', async () => {
    // Given
    givenKms({ rotations: [OURS, BEFORE, automatic('2025-03-01T00:00:00.000Z')], material: 'material-2' });
    const task = pollingTask();

    // When
    const result = await checkRotation(task, config(), kmsKeys, NOW);

    // Then
    expect(result).toEqual({
      ...task,
      next: 'DONE',
      outcome: 'ROTATED',
      reason: null,
      onDemandRotationsUsed: 2,
      onDemandRotationsRemaining: 23,
      currentKeyMaterialId: 'material-2',
      previousKeyMaterialId: 'material-1',
      confirmedAt: NOW.toISOString(),
      detail: 'Rotated on demand; new key material is in use.',
    });
    expect(kms).toHaveReceivedCommandWith(GetKeyRotationStatusCommand, { KeyId: KEY_ARN });
    expect(kms).toHaveReceivedCommandWith(ListKeyRotationsCommand, { KeyId: KEY_ARN });
    expect(kms).toHaveReceivedCommandWith(DescribeKeyCommand, { KeyId: KEY_ARN });
    expect(kms).not.toHaveReceivedCommand(RotateKeyOnDemandCommand);
  });

  it('ROTATED when only the key material changed (the rotation is not listed yet)', async () => {
    // Given
    givenKms({ rotations: [BEFORE], material: 'material-2' });

    // When
    const result = await checkRotation(pollingTask(), config(), kmsKeys, NOW);

    // Then
    expect(result).toMatchObject({ outcome: 'ROTATED', currentKeyMaterialId: 'material-2', onDemandRotationsUsed: 1 });
  });

  it('says so when the rotation was joined', async () => {
    // Given
    givenKms({ rotations: [OURS, BEFORE], material: 'material-2' });

    // When
    const result = await checkRotation(pollingTask({ joined: true }), config(), kmsKeys, NOW);

    // Then
    expect(result).toMatchObject({ outcome: 'ROTATED', joined: true, detail: expect.stringMatching(/^Joined/) });
  });

  it('confirms even after the deadline: a finished rotation is not a timeout', async () => {
    // Given
    givenKms({ rotations: [OURS, BEFORE], material: 'material-2' });

    // When
    const result = await checkRotation(pollingTask({ deadline: '2025-06-01T11:00:00.000Z' }), config(), kmsKeys, NOW);

    // Then
    expect(result).toMatchObject({ next: 'DONE', outcome: 'ROTATED', reason: null });
  });
});

describe('checkRotation: an imported key whose GetKeyRotationStatus is refused', () => {
  beforeEach(() => {
    kms
      .on(GetKeyRotationStatusCommand)
      .rejects(new UnsupportedOperationException({ message: 'imported key material', $metadata: {} }));
  });

  it('confirms from ListKeyRotations (all key material) and DescribeKey instead of failing KMS_ERROR', async () => {
    // Given
    kms.on(ListKeyRotationsCommand).resolves({ Rotations: [OURS, BEFORE], Truncated: false });
    kms
      .on(DescribeKeyCommand)
      .resolves({ KeyMetadata: metadata({ Origin: 'EXTERNAL', CurrentKeyMaterialId: 'material-2' }) });

    // When
    const result = await checkRotation(pollingTask(), config(), kmsKeys, NOW);

    // Then
    expect(result).toMatchObject({ next: 'DONE', outcome: 'ROTATED', currentKeyMaterialId: 'material-2' });
    expect(kms).toHaveReceivedCommandWith(ListKeyRotationsCommand, {
      KeyId: KEY_ARN,
      IncludeKeyMaterial: 'ALL_KEY_MATERIAL',
    });
  });

  it('polls again while neither the list nor the key material shows the rotation', async () => {
    // Given
    kms.on(ListKeyRotationsCommand).resolves({ Rotations: [BEFORE], Truncated: false });
    kms
      .on(DescribeKeyCommand)
      .resolves({ KeyMetadata: metadata({ Origin: 'EXTERNAL', CurrentKeyMaterialId: 'material-1' }) });

    // When
    const result = await checkRotation(pollingTask(), config(), kmsKeys, NOW);

    // Then
    expect(result).toMatchObject({ next: 'POLL', outcome: null, pollAttempt: 1 });
  });

  it('a key that is not imported still fails with the refusal (a real KMS error)', async () => {
    // Given
    kms.on(DescribeKeyCommand).resolves({ KeyMetadata: metadata() });

    // When / Then
    await expect(checkRotation(pollingTask(), config(), kmsKeys, NOW)).rejects.toMatchObject({
      name: 'UnsupportedOperationException',
    });
  });
});

describe('checkRotation: pending', () => {
  it('polls again, waiting 15 % of the time the rotation has run, while the on-demand rotation is in progress', async () => {
    // Given
    givenKms({ running: new Date('2025-06-01T11:58:20.000Z'), rotations: [BEFORE], material: 'material-1' });
    let task: KeyTask = pollingTask({}, 100);
    const waits: number[] = [];
    let now = NOW;

    // When
    for (let i = 0; i < 6; i++) {
      task = await checkRotation(task, config(), kmsKeys, now);
      waits.push(task.waitSeconds);
      now = new Date(now.getTime() + task.waitSeconds * 1000);
    }

    // Then
    expect(task).toMatchObject({
      next: 'POLL',
      outcome: null,
      pollAttempt: 6,
      onDemandRotationsUsed: 1,
      onDemandRotationsRemaining: 24,
    });
    // 15 % of 100, 115, 132, 151, 173 and 198 s, rounded down.
    expect(waits).toEqual([15, 17, 19, 22, 25, 29]);
    // No DescribeKey while the rotation is visibly running; never a rotation.
    expect(kms).not.toHaveReceivedCommand(DescribeKeyCommand);
    expect(kms).not.toHaveReceivedCommand(RotateKeyOnDemandCommand);
  });

  it('polls again when the rotation is no longer running but nothing changed yet', async () => {
    // Given
    givenKms({ rotations: [BEFORE], material: 'material-1' });

    // When
    const result = await checkRotation(pollingTask({ pollAttempt: 2, waitSeconds: 20 }, 200), config(), kmsKeys, NOW);

    // Then
    expect(result).toMatchObject({ next: 'POLL', outcome: null, pollAttempt: 3, waitSeconds: 30, confirmedAt: null });
    expect(commandNames(kms)).toEqual(['GetKeyRotationStatusCommand', 'ListKeyRotationsCommand', 'DescribeKeyCommand']);
  });

  it('does not let the wait run past the deadline', async () => {
    // Given
    givenKms({ running: new Date('2025-06-01T11:59:50.000Z'), rotations: [BEFORE], material: 'material-1' });

    // When
    const result = await checkRotation(
      pollingTask({ deadline: '2025-06-01T12:00:03.000Z', pollAttempt: 5, waitSeconds: 60 }),
      config(),
      kmsKeys,
      NOW,
    );

    // Then
    expect(result).toMatchObject({ next: 'POLL', pollAttempt: 6 });
    expect(result.waitSeconds).toBeLessThanOrEqual(4);
    expect(result.waitSeconds).toBeGreaterThanOrEqual(1);
  });
});

describe('checkRotation: timeout', () => {
  it('FAILED ROTATION_TIMEOUT once the deadline has passed unconfirmed', async () => {
    // Given
    givenKms({ running: new Date('2025-06-01T11:29:00.000Z'), rotations: [BEFORE], material: 'material-1' });
    const task = pollingTask({
      deadline: '2025-06-01T11:59:59.000Z',
      rotationStartedAt: '2025-06-01T11:29:59.000Z',
      pollAttempt: 40,
    });

    // When
    const result = await checkRotation(task, config(), kmsKeys, NOW);

    // Then
    expect(result).toMatchObject({
      next: 'DONE',
      outcome: 'FAILED',
      reason: 'ROTATION_TIMEOUT',
      confirmedAt: null,
      onDemandRotationsUsed: 1,
      detail: expect.stringContaining('2025-06-01T11:29:59.000Z'),
    });
    expect(result.detail).toContain('30 min');
    expect(kms).not.toHaveReceivedCommand(RotateKeyOnDemandCommand);
  });

  it('throws without a key ARN', async () => {
    await expect(checkRotation(pollingTask({ keyArn: null }), config(), kmsKeys, NOW)).rejects.toThrow(/key ARN/);
  });

  it('propagates a throttled read with its name', async () => {
    // Given
    kms.on(GetKeyRotationStatusCommand).rejects(throttling('Rate exceeded'));

    // When / Then
    await expect(checkRotation(pollingTask(), config(), kmsKeys, NOW)).rejects.toMatchObject({
      name: 'ThrottlingException',
    });
  });
});

describe('check-rotation: a task without a key ARN', () => {
  it('fails with a named error before any KMS call', async () => {
    await expect(checkRotation(pollingTask({ keyArn: null }), config(), kmsKeys, NOW)).rejects.toMatchObject({
      name: 'MissingKeyArnError',
    });
    expect(kms.calls()).toHaveLength(0);
  });
});
