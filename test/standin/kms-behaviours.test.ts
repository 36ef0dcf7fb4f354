/**
 * The stand-in's switches for KMS behaviours AWS does not document (world `kmsBehaviour`), the
 * `afterPerforming` faults (a lost answer), the list limits of each operation and the current
 * SNS subject rule.
 */
import {
  DescribeKeyCommand,
  GetKeyRotationStatusCommand,
  ListAliasesCommand,
  ListKeyRotationsCommand,
  ListResourceTagsCommand,
  RotateKeyOnDemandCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { PublishCommand } from '@aws-sdk/client-sns';
import { startStandIn, type StandIn } from '../../local/standin';
import { WorldError } from '../../local/world';
import { clients, errorName, KEY_ID, waitFor, world } from './helpers';

let standIn: StandIn | undefined;
afterEach(async () => {
  await standIn?.close();
  standIn = undefined;
});

async function start(raw: Record<string, unknown>, speed = 1000) {
  standIn = await startStandIn(world(raw), { speed });
  return { s: standIn, ...clients(standIn) };
}

const imported = { id: KEY_ID, origin: 'EXTERNAL', pendingImportedMaterial: true, rotationSeconds: 20 };

async function onDemandCount(kms: KMSClient): Promise<number> {
  const out = await kms.send(new ListKeyRotationsCommand({ KeyId: KEY_ID }));
  return (out.Rotations ?? []).filter((r) => r.RotationType === 'ON_DEMAND').length;
}

async function rotationDone(kms: KMSClient): Promise<boolean> {
  return !(await kms.send(new GetKeyRotationStatusCommand({ KeyId: KEY_ID }))).OnDemandRotationStartDate;
}

describe('kmsBehaviour.getKeyRotationStatusOnImported', () => {
  test('"answers" (default): an EXTERNAL key gets a rotation status', async () => {
    // Given
    const { kms } = await start({ keys: [imported] });

    // When
    const out = await kms.send(new GetKeyRotationStatusCommand({ KeyId: KEY_ID }));

    // Then
    expect(out.KeyRotationEnabled).toBe(false);
  });

  test('"UnsupportedOperationException": refused for an EXTERNAL key only; ListKeyRotations still answers', async () => {
    // Given
    const { kms } = await start({
      keys: [imported, { id: 'native' }],
      kmsBehaviour: { getKeyRotationStatusOnImported: 'UnsupportedOperationException' },
    });

    // When / Then
    expect(await errorName(kms.send(new GetKeyRotationStatusCommand({ KeyId: KEY_ID })))).toBe(
      'UnsupportedOperationException',
    );
    expect((await kms.send(new GetKeyRotationStatusCommand({ KeyId: 'native' }))).KeyRotationEnabled).toBe(false);
    const listed = await kms.send(
      new ListKeyRotationsCommand({ KeyId: KEY_ID, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }),
    );
    expect(listed.Rotations?.map((r) => r.KeyMaterialState)).toEqual(['CURRENT', 'PENDING_ROTATION']);
  });
});

describe('kmsBehaviour.rotateWhileOnDemandRunning', () => {
  test('"ConflictException" (default): the second request is refused and one rotation is spent', async () => {
    // Given
    const { kms } = await start({ keys: [{ id: KEY_ID, rotationSeconds: 20 }] });
    await kms.send(new RotateKeyOnDemandCommand({ KeyId: KEY_ID }));

    // When
    const second = await errorName(kms.send(new RotateKeyOnDemandCommand({ KeyId: KEY_ID })));

    // Then
    expect(second).toBe('ConflictException');
    await waitFor('the rotation to complete', () => rotationDone(kms));
    expect(await onDemandCount(kms)).toBe(1);
  });

  test('"accepted": the second request succeeds and a second rotation is spent', async () => {
    // Given
    const { kms } = await start({
      keys: [{ id: KEY_ID, rotationSeconds: 20 }],
      kmsBehaviour: { rotateWhileOnDemandRunning: 'accepted' },
    });
    await kms.send(new RotateKeyOnDemandCommand({ KeyId: KEY_ID }));

    // When
    await kms.send(new RotateKeyOnDemandCommand({ KeyId: KEY_ID }));

    // Then
    await waitFor('the rotations to complete', () => rotationDone(kms));
    expect(await onDemandCount(kms)).toBe(2);
  });

  test('"accepted" on an imported key: the staged material is taken by the running rotation, so the second is refused', async () => {
    // Given
    const { kms } = await start({ keys: [imported], kmsBehaviour: { rotateWhileOnDemandRunning: 'accepted' } });
    await kms.send(new RotateKeyOnDemandCommand({ KeyId: KEY_ID }));

    // When / Then
    expect(await errorName(kms.send(new RotateKeyOnDemandCommand({ KeyId: KEY_ID })))).toBe('KMSInvalidStateException');
  });
});

describe('kmsBehaviour.readAfterRotateDelaySeconds', () => {
  test('for the delay after RotateKeyOnDemand, reads show the key as before; then the rotation', async () => {
    // Given: 2 s rotation, reads lag 40 s (speed 100: 20 ms and 400 ms)
    const { kms } = await start(
      { keys: [{ id: KEY_ID, rotationSeconds: 2 }], kmsBehaviour: { readAfterRotateDelaySeconds: 40 } },
      100,
    );
    const before = (await kms.send(new DescribeKeyCommand({ KeyId: KEY_ID }))).KeyMetadata?.CurrentKeyMaterialId;
    await kms.send(new RotateKeyOnDemandCommand({ KeyId: KEY_ID }));

    // When: the rotation itself has completed after 100 ms, the reads still lag
    await new Promise((r) => setTimeout(r, 100));
    const stale = {
      status: await kms.send(new GetKeyRotationStatusCommand({ KeyId: KEY_ID })),
      rotations: await onDemandCount(kms),
      material: (await kms.send(new DescribeKeyCommand({ KeyId: KEY_ID }))).KeyMetadata?.CurrentKeyMaterialId,
    };

    // Then
    expect(stale).toEqual({
      status: expect.not.objectContaining({ OnDemandRotationStartDate: expect.anything() }),
      rotations: 0,
      material: before,
    });
    await waitFor('the reads to catch up', async () => (await onDemandCount(kms)) === 1, 3000);
    expect((await kms.send(new DescribeKeyCommand({ KeyId: KEY_ID }))).KeyMetadata?.CurrentKeyMaterialId).not.toBe(
      before,
    );
  });

  test('a running rotation is hidden too: GetKeyRotationStatus shows no start date during the delay', async () => {
    // Given
    const { kms } = await start(
      { keys: [{ id: KEY_ID, rotationSeconds: 600 }], kmsBehaviour: { readAfterRotateDelaySeconds: 30 } },
      100,
    );
    await kms.send(new RotateKeyOnDemandCommand({ KeyId: KEY_ID }));

    // When
    const during = await kms.send(new GetKeyRotationStatusCommand({ KeyId: KEY_ID }));
    const after = await waitFor(
      'the start date to show',
      async () => (await kms.send(new GetKeyRotationStatusCommand({ KeyId: KEY_ID }))).OnDemandRotationStartDate,
      3000,
    );

    // Then
    expect(during.OnDemandRotationStartDate).toBeUndefined();
    expect(after).toBeInstanceOf(Date);
  });
});

describe('kmsBehaviour.stagedMaterialGoneError and stagedMaterialLostBeforeRotate', () => {
  test.each(['KMSInvalidStateException', 'UnsupportedOperationException'])(
    'the staged material is lost before the first RotateKeyOnDemand: %s, and nothing is rotated',
    async (error) => {
      // Given
      const { kms } = await start({
        keys: [{ ...imported, stagedMaterialLostBeforeRotate: true }],
        kmsBehaviour: { stagedMaterialGoneError: error },
      });
      const listed = await kms.send(
        new ListKeyRotationsCommand({ KeyId: KEY_ID, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }),
      );
      expect(listed.Rotations?.some((r) => r.KeyMaterialState === 'PENDING_ROTATION')).toBe(true);

      // When
      const answer = await errorName(kms.send(new RotateKeyOnDemandCommand({ KeyId: KEY_ID })));

      // Then
      expect(answer).toBe(error);
      const after = await kms.send(
        new ListKeyRotationsCommand({ KeyId: KEY_ID, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }),
      );
      expect(after.Rotations?.map((r) => r.KeyMaterialState)).toEqual(['CURRENT']);
    },
  );

  test('the world refuses stagedMaterialLostBeforeRotate without staged material', () => {
    expect(() => world({ keys: [{ id: KEY_ID, origin: 'EXTERNAL', stagedMaterialLostBeforeRotate: true }] })).toThrow(
      /stagedMaterialLostBeforeRotate/,
    );
  });

  test('unknown kmsBehaviour switches and values are named', () => {
    const problems = (raw: Record<string, unknown>) => {
      try {
        world(raw);
      } catch (e) {
        return (e as WorldError).problems;
      }
      return [];
    };
    expect(problems({ kmsBehaviour: { rotateWhileRunning: 'accepted' } })).toEqual([
      'kmsBehaviour.rotateWhileRunning: unknown field',
    ]);
    expect(problems({ kmsBehaviour: { rotateWhileOnDemandRunning: 'twice' } })).toEqual([
      expect.stringMatching(/^kmsBehaviour\.rotateWhileOnDemandRunning: /),
    ]);
    expect(problems({ kmsBehaviour: { readAfterRotateDelaySeconds: -1 } })).toEqual([
      expect.stringMatching(/^kmsBehaviour\.readAfterRotateDelaySeconds: /),
    ]);
  });
});

describe('faults that answer after performing (a lost answer)', () => {
  test('afterPerforming with an error: the rotation happened although the caller got the error', async () => {
    // Given
    const { s, kms } = await start({
      keys: [{ id: KEY_ID, rotationSeconds: 1 }],
      faults: [
        {
          service: 'kms',
          operation: 'RotateKeyOnDemand',
          error: 'KMSInternalException',
          times: 1,
          afterPerforming: true,
        },
      ],
    });

    // When
    const answer = await errorName(kms.send(new RotateKeyOnDemandCommand({ KeyId: KEY_ID })));

    // Then
    expect(answer).toBe('KMSInternalException');
    expect(s.calls.at(-1)).toMatchObject({
      operation: 'RotateKeyOnDemand',
      error: 'KMSInternalException',
      performed: true,
    });
    await waitFor('the rotation to complete', () => rotationDone(kms));
    expect(await onDemandCount(kms)).toBe(1);
  });

  test('NoResponse closes the connection unanswered: the SDK sees a network error, the rotation happened', async () => {
    // Given
    const { s, kms } = await start({ keys: [{ id: KEY_ID, rotationSeconds: 1 }] });
    s.addFault({
      service: 'kms',
      operation: 'RotateKeyOnDemand',
      error: 'NoResponse',
      times: 1,
      afterPerforming: true,
    });

    // When
    const error = await kms.send(new RotateKeyOnDemandCommand({ KeyId: KEY_ID })).then(
      () => undefined,
      (e: Error & { $fault?: string }) => e,
    );

    // Then: no AWS error (no $fault), but the call took effect
    expect(error).toBeInstanceOf(Error);
    expect(error?.$fault).toBeUndefined();
    expect(s.calls.at(-1)).toMatchObject({ operation: 'RotateKeyOnDemand', error: 'NoResponse', performed: true });
    await waitFor('the rotation to complete', () => rotationDone(kms));
    expect(await onDemandCount(kms)).toBe(1);
  });

  test('afterPerforming is refused for SNS and S3 faults', () => {
    expect(() =>
      world({
        faults: [{ service: 'sns', operation: 'Publish', error: 'InternalError', times: 1, afterPerforming: true }],
      }),
    ).toThrow(/faults\[0\]\.afterPerforming/);
  });
});

describe("list limits follow each operation's documented range", () => {
  const many = { id: KEY_ID, aliases: Array.from({ length: 3 }, (_, i) => `alias/a${i}`), tags: { a: '1', b: '2' } };

  test.each([
    // Over the maximum: the operation's documented range (ListAliases, ListResourceTags), or the
    // published model's @range (ListKeyRotations: 1..1000), which KMS reports in its constraint form.
    [
      'ListAliases',
      100,
      (kms: KMSClient, Limit: number) => kms.send(new ListAliasesCommand({ KeyId: KEY_ID, Limit })),
      'between 1 and 100',
    ],
    [
      'ListResourceTags',
      50,
      (kms: KMSClient, Limit: number) => kms.send(new ListResourceTagsCommand({ KeyId: KEY_ID, Limit })),
      'between 1 and 50',
    ],
    [
      'ListKeyRotations',
      1000,
      (kms: KMSClient, Limit: number) => kms.send(new ListKeyRotationsCommand({ KeyId: KEY_ID, Limit })),
      "Value '1001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 1000",
    ],
  ] as const)(
    '%s: Limit 1..%i accepted, 0 and max+1 refused with ValidationException',
    async (_op, max, list, overMessage) => {
      // Given
      const { kms } = await start({ keys: [many] });

      // When / Then
      await expect(list(kms, 1)).resolves.toBeDefined();
      await expect(list(kms, max)).resolves.toBeDefined();
      expect(await errorName(list(kms, 0))).toBe('ValidationException');
      const over = await list(kms, max + 1).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(over?.name).toBe('ValidationException');
      expect(over?.message).toContain(overMessage);
    },
  );

  test('ListAliases and ListResourceTags default to 50 entries a page', async () => {
    // Given
    const aliases = Array.from({ length: 51 }, (_, i) => `alias/k${String(i).padStart(2, '0')}`);
    const tags = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`t${i}`, 'v']));
    const { kms } = await start({ keys: [{ id: KEY_ID, aliases, tags }] });

    // When
    const aliasPage = await kms.send(new ListAliasesCommand({ KeyId: KEY_ID }));
    const tagPage = await kms.send(new ListResourceTagsCommand({ KeyId: KEY_ID }));

    // Then
    expect([aliasPage.Aliases?.length, aliasPage.Truncated]).toEqual([50, true]);
    expect([tagPage.Tags?.length, tagPage.Truncated]).toEqual([50, true]);
  });
});

describe('SNS Publish subject: the current rule (UTF-8, no line breaks or control characters, under 100 characters)', () => {
  test.each([
    ['non-ASCII text', 'Clé KMS tournée — 3 clés ✔'],
    ['starts with a space', ' leading space'],
    ['99 characters of which some are multi-byte', 'é'.repeat(99)],
  ])('accepted: %s', async (_what, Subject) => {
    // Given
    const { s, sns } = await start({});

    // When
    await sns.send(new PublishCommand({ TopicArn: s.topicArn, Subject, Message: 'm' }));

    // Then
    expect(s.published.at(-1)?.subject).toBe(Subject);
  });

  test.each([
    ['100 characters', 'é'.repeat(100)],
    ['a line break', 'a\r\nb'],
    ['a Unicode line separator', 'a\u2028b'],
    ['a C1 control character', 'a\u0085b'],
    ['a DEL', 'a\u007fb'],
  ])('refused: %s', async (_what, Subject) => {
    // Given
    const { s, sns } = await start({});

    // When
    const error = await sns.send(new PublishCommand({ TopicArn: s.topicArn, Subject, Message: 'm' })).then(
      () => undefined,
      (e: Error) => e,
    );

    // Then
    expect(error?.name).toBe('InvalidParameterException'); // the SDK's name for SNS InvalidParameter
    expect(s.published).toHaveLength(0);
  });
});
