import {
  ConflictException,
  DescribeKeyCommand,
  DependencyTimeoutException,
  DisabledException,
  GetKeyRotationStatusCommand,
  KMSClient,
  KMSInvalidStateException,
  KMSInternalException,
  LimitExceededException,
  ListKeyRotationsCommand,
  NotFoundException,
  RotateKeyOnDemandCommand,
  UnsupportedOperationException,
  type RotationsListEntry,
} from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { rotate } from '../../../lambdas/rotate/handler';
import { KmsKeys } from '../../../lambdas/adapters/kms';
import { classifyError } from '../../../lambdas/domain/failures';
import { logger } from '../../../lambdas/adapters/lambda-handler';
import { ROTATE_CONSISTENCY_DELAY_SECONDS } from '../../../lambdas/domain/rotation/rotation';
import {
  ACCOUNT,
  KEY_ARN,
  KEY_ID,
  NOW,
  assessedTask,
  automatic,
  clientSetting,
  commandNames,
  config,
  metadata,
  onDemand,
  throttling,
  kmsKeys,
} from './fixtures';

const kms = mockClient(KMSClient);

/** The rotation status and history the guard reads before rotating. */
function givenHistory({
  running,
  rotations = [onDemand('2025-01-10T08:00:00.000Z', 'material-1')],
}: { running?: Date; rotations?: RotationsListEntry[] } = {}) {
  kms.on(GetKeyRotationStatusCommand).resolves({
    KeyId: KEY_ARN,
    KeyRotationEnabled: false,
    ...(running ? { OnDemandRotationStartDate: running } : {}),
  });
  kms.on(ListKeyRotationsCommand).resolves({ Rotations: rotations, Truncated: false });
}

const DEADLINE = '2025-06-01T12:30:00.000Z'; // NOW + rotationTimeoutSeconds

beforeAll(() => {
  logger.setLogLevel('SILENT');
});

beforeEach(() => {
  kms.reset();
});

describe('rotate: success', () => {
  it('calls RotateKeyOnDemand once, on the key ARN, and hands over to the poll loop', async () => {
    // Given
    givenHistory();
    kms.on(RotateKeyOnDemandCommand).resolves({ KeyId: KEY_ID });
    const task = assessedTask();

    // When
    const result = await rotate(task, config(), kmsKeys, NOW);

    // Then
    expect(result).toEqual({
      ...task,
      next: 'POLL',
      deadline: DEADLINE,
      rotationStartedAt: NOW.toISOString(),
      detail: 'Rotation started.',
      pollAttempt: 0,
      waitSeconds: 5,
    });
    expect(kms).toHaveReceivedCommandTimes(RotateKeyOnDemandCommand, 1);
    expect(kms).toHaveReceivedCommandWith(RotateKeyOnDemandCommand, { KeyId: KEY_ARN });
    // The guard looked first.
    expect(commandNames(kms)).toEqual([
      'GetKeyRotationStatusCommand',
      'ListKeyRotationsCommand',
      'RotateKeyOnDemandCommand',
    ]);
    expect(kms).toHaveReceivedCommandWith(GetKeyRotationStatusCommand, { KeyId: KEY_ARN });
  });

  it('sends RotateKeyOnDemand through a client with SDK retries off (a retry could spend a second rotation)', async () => {
    // Given
    givenHistory();
    kms.on(RotateKeyOnDemandCommand).resolves({ KeyId: KEY_ID });

    // When
    await rotate(assessedTask(), config(), kmsKeys, NOW);

    // Then
    const [call] = kms.commandCalls(RotateKeyOnDemandCommand);
    expect(await clientSetting(call, 'maxAttempts')).toBe(1);
  });

  it("rotates a key in the Region of its ARN (a replica's primary), not the home Region", async () => {
    // Given
    const primary = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/mrk-1234abcd12ab34cd56ef1234567890ab`;
    givenHistory();
    kms.on(RotateKeyOnDemandCommand).resolves({ KeyId: primary });

    // When
    await rotate(assessedTask({ keyArn: primary, via: KEY_ARN }), config(), kmsKeys, NOW);

    // Then
    expect(kms).toHaveReceivedCommandWith(RotateKeyOnDemandCommand, { KeyId: primary });
    for (const call of kms.calls()) expect(await clientSetting(call, 'region')).toBe('eu-west-1');
  });

  it('keeps the deadline set by an earlier attempt, resets the attempt count, and waits by the rotation clock that attempt started', async () => {
    // Given
    givenHistory();
    kms.on(RotateKeyOnDemandCommand).resolves({ KeyId: KEY_ID });
    const deadline = '2025-06-01T12:01:00.000Z';

    // When
    const result = await rotate(
      assessedTask({ next: 'WAIT_THEN_ROTATE', deadline, pollAttempt: 3, waitSeconds: 40 }),
      config(),
      kmsKeys,
      NOW,
    );

    // Then
    // The clock started one timeout (1800 s) before the deadline: 1740 s ago, so the longest wait (60 s).
    expect(result).toMatchObject({ next: 'POLL', deadline, pollAttempt: 0, waitSeconds: 60 });
  });

  it('rotates when the newest ON_DEMAND rotation is the one Assess saw (the guard does not over-trigger)', async () => {
    // Given: same date as task.previousRotationDate, plus a newer AUTOMATIC one
    givenHistory({ rotations: [onDemand('2025-01-10T08:00:00.000Z'), automatic('2025-05-01T00:00:00.000Z')] });
    kms.on(RotateKeyOnDemandCommand).resolves({ KeyId: KEY_ID });

    // When
    const result = await rotate(assessedTask(), config(), kmsKeys, NOW);

    // Then
    expect(kms).toHaveReceivedCommandTimes(RotateKeyOnDemandCommand, 1);
    expect(result).toMatchObject({ next: 'POLL', joined: false });
  });

  it('throws without a key ARN, before any call', async () => {
    // When / Then
    await expect(rotate(assessedTask({ keyArn: null }), config(), kmsKeys, NOW)).rejects.toThrow(/key ARN/);
    expect(kms.calls()).toHaveLength(0);
  });
});

describe('rotate: the guard never spends a second rotation', () => {
  it('joins an on-demand rotation that is already running', async () => {
    // Given
    const running = new Date('2025-06-01T11:59:58.000Z');
    givenHistory({ running });

    // When
    const result = await rotate(assessedTask(), config(), kmsKeys, NOW);

    // Then
    expect(kms).not.toHaveReceivedCommand(RotateKeyOnDemandCommand);
    expect(result).toMatchObject({
      next: 'POLL',
      joined: true,
      rotationStartedAt: running.toISOString(),
      deadline: DEADLINE,
      pollAttempt: 0,
      outcome: null,
    });
    expect(result.waitSeconds).toBeGreaterThanOrEqual(1);
  });

  it('joins when a newer ON_DEMAND rotation completed since Assess (e.g. ours, with the response lost)', async () => {
    // Given
    const newer = '2025-06-01T11:59:00.000Z';
    givenHistory({ rotations: [onDemand('2025-01-10T08:00:00.000Z'), onDemand(newer, 'material-2')] });

    // When
    const result = await rotate(assessedTask(), config(), kmsKeys, NOW);

    // Then
    expect(kms).not.toHaveReceivedCommand(RotateKeyOnDemandCommand);
    expect(result).toMatchObject({
      next: 'POLL',
      joined: true,
      rotationStartedAt: newer,
      previousRotationDate: '2025-01-10T08:00:00.000Z',
    });
  });

  it('joins the first ON_DEMAND rotation of a key that had none at Assess', async () => {
    // Given
    givenHistory({ rotations: [onDemand('2025-06-01T11:59:30.000Z')] });

    // When
    const result = await rotate(
      assessedTask({ previousRotationDate: null, onDemandRotationsUsed: 0 }),
      config(),
      kmsKeys,
      NOW,
    );

    // Then
    expect(kms).not.toHaveReceivedCommand(RotateKeyOnDemandCommand);
    expect(result).toMatchObject({ next: 'POLL', joined: true });
  });

  it('joins a running rotation even past the deadline (it may still complete)', async () => {
    // Given
    givenHistory({ running: new Date('2025-06-01T11:59:00.000Z') });

    // When
    const result = await rotate(assessedTask({ deadline: '2025-06-01T11:00:00.000Z' }), config(), kmsKeys, NOW);

    // Then
    expect(kms).not.toHaveReceivedCommand(RotateKeyOnDemandCommand);
    expect(result).toMatchObject({ next: 'POLL', joined: true });
  });
});

describe('rotate: ConflictException (an automatic rotation running or due)', () => {
  it("waits and tries again: WAIT_THEN_ROTATE with the poll schedule's wait, deadline kept", async () => {
    // Given
    givenHistory();
    kms
      .on(RotateKeyOnDemandCommand)
      .rejects(new ConflictException({ message: 'automatic rotation in progress', $metadata: {} }));

    // When
    const first = await rotate(assessedTask(), config(), kmsKeys, NOW);
    const second = await rotate(first, config(), kmsKeys, new Date(NOW.getTime() + first.waitSeconds * 1000));

    // Then
    expect(first).toMatchObject({
      next: 'WAIT_THEN_ROTATE',
      deadline: DEADLINE,
      pollAttempt: 1,
      waitSeconds: 5,
      outcome: null,
      detail: expect.stringContaining('automatic rotation in progress'),
    });
    expect(second).toMatchObject({ next: 'WAIT_THEN_ROTATE', deadline: DEADLINE, pollAttempt: 2, waitSeconds: 5 });
    // Later in the back-off the wait has grown with the clock: 600 s in, 15 % is 90 s, capped at 60 s.
    const later = await rotate(first, config(), kmsKeys, new Date(NOW.getTime() + 600 * 1000));
    expect(later.waitSeconds).toBe(60);
    expect(kms).toHaveReceivedCommandTimes(RotateKeyOnDemandCommand, 3);
  });

  it('never waits past the deadline', async () => {
    // Given
    givenHistory();
    kms.on(RotateKeyOnDemandCommand).rejects(new ConflictException({ message: 'conflict', $metadata: {} }));

    // When
    const result = await rotate(
      assessedTask({ deadline: '2025-06-01T12:00:07.000Z', pollAttempt: 6 }),
      config(),
      kmsKeys,
      NOW,
    );

    // Then
    expect(result).toMatchObject({ next: 'WAIT_THEN_ROTATE', pollAttempt: 7 });
    expect(result.waitSeconds).toBeLessThanOrEqual(8);
  });

  it('gives up at the deadline: FAILED ROTATION_TIMEOUT without calling RotateKeyOnDemand', async () => {
    // Given
    givenHistory();

    // When
    const result = await rotate(
      assessedTask({ next: 'WAIT_THEN_ROTATE', deadline: '2025-06-01T11:59:59.000Z', pollAttempt: 9 }),
      config(),
      kmsKeys,
      NOW,
    );

    // Then
    expect(result).toMatchObject({
      next: 'DONE',
      outcome: 'FAILED',
      reason: 'ROTATION_TIMEOUT',
      deadline: '2025-06-01T11:59:59.000Z',
      detail: expect.stringContaining('no rotation was started'),
    });
    expect(kms).not.toHaveReceivedCommand(RotateKeyOnDemandCommand);
    // It still looked (a rotation running now would be joined, not failed).
    expect(kms).toHaveReceivedCommandTimes(GetKeyRotationStatusCommand, 1);
  });

  it('gives up exactly at the deadline too', async () => {
    // Given
    givenHistory();

    // When
    const result = await rotate(assessedTask({ deadline: NOW.toISOString() }), config(), kmsKeys, NOW);

    // Then
    expect(result).toMatchObject({ outcome: 'FAILED', reason: 'ROTATION_TIMEOUT' });
    expect(kms).not.toHaveReceivedCommand(RotateKeyOnDemandCommand);
  });
});

describe('rotate: KMS refusals', () => {
  it.each([
    [
      'LimitExceededException',
      new LimitExceededException({ message: 'on-demand rotation limit', $metadata: {} }),
      'BUDGET_EXHAUSTED',
    ],
    ['DisabledException', new DisabledException({ message: 'key is disabled', $metadata: {} }), 'KEY_NOT_ENABLED'],
    ['NotFoundException', new NotFoundException({ message: 'no such key', $metadata: {} }), 'NOT_FOUND'],
    [
      'KMSInvalidStateException',
      new KMSInvalidStateException({ message: 'pending deletion', $metadata: {} }),
      'KEY_NOT_ENABLED',
    ],
  ])('%s -> SKIPPED %s', async (_name, error, reason) => {
    // Given
    givenHistory();
    kms.on(RotateKeyOnDemandCommand).rejects(error);
    kms.on(DescribeKeyCommand).resolves({ KeyMetadata: metadata({ KeyState: 'PendingDeletion', Enabled: false }) });

    // When
    const result = await rotate(assessedTask(), config(), kmsKeys, NOW);

    // Then
    expect(result).toMatchObject({ next: 'DONE', outcome: 'SKIPPED', reason, deadline: DEADLINE });
    expect(kms).toHaveReceivedCommandTimes(RotateKeyOnDemandCommand, 1);
  });

  it.each([
    ['ThrottlingException', throttling('Rate exceeded')],
    [
      'UnsupportedOperationException on a key that is not imported',
      new UnsupportedOperationException({ message: 'not supported', $metadata: {} }),
    ],
  ])(
    '%s propagates with its name, after exactly one attempt (Step Functions retries or catches it)',
    async (_what, error) => {
      // Given
      givenHistory();
      kms.on(RotateKeyOnDemandCommand).rejects(error);

      // When / Then
      kms.on(DescribeKeyCommand).resolves({ KeyMetadata: metadata() });
      await expect(rotate(assessedTask(), config(), kmsKeys, NOW)).rejects.toMatchObject({ name: error.name });
      expect(kms).toHaveReceivedCommandTimes(RotateKeyOnDemandCommand, 1);
    },
  );

  it('a throttled guard read propagates before any rotation', async () => {
    // Given
    kms.on(GetKeyRotationStatusCommand).rejects(throttling('Rate exceeded'));

    // When / Then
    await expect(rotate(assessedTask(), config(), kmsKeys, NOW)).rejects.toMatchObject({ name: 'ThrottlingException' });
    expect(kms).not.toHaveReceivedCommand(RotateKeyOnDemandCommand);
  });
});

describe('rotate: wiring that must never spend a second rotation', () => {
  it('refuses to send RotateKeyOnDemand through a client with SDK retries on', async () => {
    // Given
    givenHistory();
    kms.on(RotateKeyOnDemandCommand).resolves({ KeyId: KEY_ID });
    const retrying = new KmsKeys(
      (region) => new KMSClient({ region }),
      (region) => new KMSClient({ region, maxAttempts: 3 }),
    );

    // When / Then
    await expect(rotate(assessedTask(), config(), retrying, NOW)).rejects.toMatchObject({
      name: 'RetryingRotateClientError',
    });
    expect(kms).not.toHaveReceivedCommand(RotateKeyOnDemandCommand);
  });

  it('a task without a key ARN fails with a named error (INTERNAL) before any KMS call', async () => {
    await expect(rotate(assessedTask({ keyArn: null }), config(), kmsKeys, NOW)).rejects.toMatchObject({
      name: 'MissingKeyArnError',
      message: 'Rotate called without a key ARN',
    });
    expect(kms.calls()).toHaveLength(0);
    expect(classifyError('MissingKeyArnError')).toBe('INTERNAL');
  });
});

/** A network error as Node raises it: no answer from KMS at all (no $fault). */
function socketError(message: string, name = 'Error'): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

describe('rotate: the answer to RotateKeyOnDemand was lost', () => {
  it.each([
    ['a socket error', socketError('socket hang up'), 'RotateResponseLost'],
    ['an SDK TimeoutError', socketError('Connection timed out after 10000 ms', 'TimeoutError'), 'RotateResponseLost'],
    [
      'KMSInternalException (5xx: it may have started)',
      new KMSInternalException({ message: 'internal', $metadata: {} }),
      'KMSInternalException',
    ],
    [
      'DependencyTimeoutException',
      new DependencyTimeoutException({ message: 'timeout', $metadata: {} }),
      'DependencyTimeoutException',
    ],
  ])(
    '%s: records the attempt and waits the consistency delay through the workflow, never calling again',
    async (_what, error, name) => {
      // Given
      givenHistory();
      kms.on(RotateKeyOnDemandCommand).rejects(error);

      // When
      const result = await rotate(assessedTask(), config(), kmsKeys, NOW);

      // Then
      expect(result).toMatchObject({
        next: 'WAIT_THEN_ROTATE',
        rotateAttemptedAt: NOW.toISOString(),
        waitSeconds: ROTATE_CONSISTENCY_DELAY_SECONDS,
        deadline: DEADLINE,
        outcome: null,
        detail: expect.stringContaining(name),
      });
      expect(kms).toHaveReceivedCommandTimes(RotateKeyOnDemandCommand, 1);
    },
  );

  const attempted = {
    rotateAttemptedAt: '2025-06-01T11:59:00.000Z',
    next: 'WAIT_THEN_ROTATE' as const,
    deadline: DEADLINE,
  };

  it('the next Rotate joins when only DescribeKey shows the rotation (new key material)', async () => {
    // Given: status and list still show nothing new
    givenHistory();
    kms.on(DescribeKeyCommand).resolves({ KeyMetadata: metadata({ CurrentKeyMaterialId: 'material-2' }) });

    // When
    const result = await rotate(assessedTask(attempted), config(), kmsKeys, NOW);

    // Then
    expect(kms).not.toHaveReceivedCommand(RotateKeyOnDemandCommand);
    expect(result).toMatchObject({
      next: 'POLL',
      joined: true,
      rotationStartedAt: attempted.rotateAttemptedAt,
      detail: expect.stringContaining('answer to RotateKeyOnDemand was lost'),
    });
  });

  it('the next Rotate joins a rotation the status shows as running', async () => {
    // Given
    givenHistory({ running: new Date('2025-06-01T11:59:01.000Z') });
    kms.on(DescribeKeyCommand).resolves({ KeyMetadata: metadata() });

    // When
    const result = await rotate(assessedTask(attempted), config(), kmsKeys, NOW);

    // Then
    expect(kms).not.toHaveReceivedCommand(RotateKeyOnDemandCommand);
    expect(result).toMatchObject({ next: 'POLL', joined: true, rotationStartedAt: '2025-06-01T11:59:01.000Z' });
  });

  it('the next Rotate calls KMS again when every read confirms no rotation started, and forgets the attempt', async () => {
    // Given
    givenHistory();
    kms.on(DescribeKeyCommand).resolves({ KeyMetadata: metadata() });
    kms.on(RotateKeyOnDemandCommand).resolves({ KeyId: KEY_ID });

    // When
    const result = await rotate(assessedTask(attempted), config(), kmsKeys, NOW);

    // Then
    expect(commandNames(kms)).toEqual([
      'GetKeyRotationStatusCommand',
      'ListKeyRotationsCommand',
      'DescribeKeyCommand',
      'RotateKeyOnDemandCommand',
    ]);
    expect(result).toMatchObject({
      next: 'POLL',
      joined: false,
      rotateAttemptedAt: null,
      rotateTimedOut: null,
      rotationStartedAt: NOW.toISOString(),
    });
  });

  it('after the Rotate function timed out (the workflow set rotateTimedOut), the key material is read too', async () => {
    // Given
    givenHistory();
    kms.on(DescribeKeyCommand).resolves({ KeyMetadata: metadata({ CurrentKeyMaterialId: 'material-2' }) });

    // When
    const result = await rotate(assessedTask({ rotateTimedOut: { Error: 'Lambda.Unknown' } }), config(), kmsKeys, NOW);

    // Then
    expect(kms).not.toHaveReceivedCommand(RotateKeyOnDemandCommand);
    expect(result).toMatchObject({ next: 'POLL', joined: true });
  });

  it('past the deadline with nothing seen: FAILED ROTATION_TIMEOUT, saying the answer was lost', async () => {
    // Given
    givenHistory();
    kms.on(DescribeKeyCommand).resolves({ KeyMetadata: metadata() });

    // When
    const result = await rotate(
      assessedTask({ ...attempted, deadline: '2025-06-01T11:59:30.000Z' }),
      config(),
      kmsKeys,
      NOW,
    );

    // Then
    expect(kms).not.toHaveReceivedCommand(RotateKeyOnDemandCommand);
    expect(result).toMatchObject({
      outcome: 'FAILED',
      reason: 'ROTATION_TIMEOUT',
      detail: expect.stringContaining('answer to RotateKeyOnDemand was lost'),
    });
  });

  it('a first Rotate (no attempt recorded) does not read DescribeKey', async () => {
    // Given
    givenHistory();
    kms.on(RotateKeyOnDemandCommand).resolves({ KeyId: KEY_ID });

    // When
    await rotate(assessedTask(), config(), kmsKeys, NOW);

    // Then
    expect(kms).not.toHaveReceivedCommand(DescribeKeyCommand);
  });
});

describe('rotate: imported key material (EXTERNAL)', () => {
  const importedKey = metadata({ Origin: 'EXTERNAL' });

  it('GetKeyRotationStatus refused (UnsupportedOperationException): the guard uses ListKeyRotations and DescribeKey, then rotates', async () => {
    // Given
    kms
      .on(GetKeyRotationStatusCommand)
      .rejects(new UnsupportedOperationException({ message: 'imported key material', $metadata: {} }));
    kms
      .on(ListKeyRotationsCommand)
      .resolves({ Rotations: [onDemand('2025-01-10T08:00:00.000Z', 'material-1')], Truncated: false });
    kms.on(DescribeKeyCommand).resolves({ KeyMetadata: importedKey });
    kms.on(RotateKeyOnDemandCommand).resolves({ KeyId: KEY_ID });

    // When
    const result = await rotate(assessedTask(), config(), kmsKeys, NOW);

    // Then
    expect(result).toMatchObject({ next: 'POLL', joined: false });
    expect(kms).toHaveReceivedCommandTimes(RotateKeyOnDemandCommand, 1);
    expect(kms).toHaveReceivedCommandWith(ListKeyRotationsCommand, {
      KeyId: KEY_ARN,
      IncludeKeyMaterial: 'ALL_KEY_MATERIAL',
    });
  });

  it('GetKeyRotationStatus refused: a changed key material is joined, not rotated again', async () => {
    // Given
    kms
      .on(GetKeyRotationStatusCommand)
      .rejects(new UnsupportedOperationException({ message: 'imported key material', $metadata: {} }));
    kms.on(ListKeyRotationsCommand).resolves({ Rotations: [], Truncated: false });
    kms.on(DescribeKeyCommand).resolves({ KeyMetadata: { ...importedKey, CurrentKeyMaterialId: 'material-2' } });

    // When
    const result = await rotate(assessedTask(), config(), kmsKeys, NOW);

    // Then
    expect(kms).not.toHaveReceivedCommand(RotateKeyOnDemandCommand);
    expect(result).toMatchObject({ next: 'POLL', joined: true });
  });

  it.each([
    [
      'KMSInvalidStateException',
      new KMSInvalidStateException({ message: 'no PENDING_ROTATION material', $metadata: {} }),
    ],
    [
      'UnsupportedOperationException',
      new UnsupportedOperationException({ message: 'no PENDING_ROTATION material', $metadata: {} }),
    ],
  ])('staged material gone, KMS answers %s: SKIPPED IMPORTED_MATERIAL_NOT_STAGED', async (_name, error) => {
    // Given
    givenHistory();
    kms.on(RotateKeyOnDemandCommand).rejects(error);
    kms.on(DescribeKeyCommand).resolves({ KeyMetadata: importedKey });

    // When
    const result = await rotate(assessedTask(), config(), kmsKeys, NOW);

    // Then
    expect(result).toMatchObject({
      next: 'DONE',
      outcome: 'SKIPPED',
      reason: 'IMPORTED_MATERIAL_NOT_STAGED',
      detail: expect.stringContaining(error.name),
    });
  });

  it('staged material gone after a lost answer: joined (the lost call may have taken it), CheckRotation decides', async () => {
    // Given
    givenHistory();
    kms
      .on(RotateKeyOnDemandCommand)
      .rejects(new KMSInvalidStateException({ message: 'no PENDING_ROTATION material', $metadata: {} }));
    kms.on(DescribeKeyCommand).resolves({ KeyMetadata: importedKey });

    // When
    const result = await rotate(
      assessedTask({ rotateAttemptedAt: '2025-06-01T11:59:00.000Z' }),
      config(),
      kmsKeys,
      NOW,
    );

    // Then
    expect(result).toMatchObject({
      next: 'POLL',
      joined: true,
      outcome: null,
      rotationStartedAt: '2025-06-01T11:59:00.000Z',
    });
  });
});
