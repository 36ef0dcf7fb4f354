import {
  DescribeKeyCommand,
  GetKeyRotationStatusCommand,
  ListAliasesCommand,
  ListResourceTagsCommand,
  NotFoundException,
  paginateListKeyRotations,
  RotateKeyOnDemandCommand,
  UnsupportedOperationException,
  type KMSClient,
  type KeyMetadata,
  type RotationsListEntry,
} from '@aws-sdk/client-kms';
import { parseKmsArn } from '../domain/arn';

export interface RotationHistory {
  /**
   * False when GetKeyRotationStatus refused an imported-material (EXTERNAL) key, as KMS did before
   * such keys could rotate (today's answer is not documented): a running rotation is then
   * invisible and `onDemandRotationStartDate` is null; ListKeyRotations still answers.
   */
  rotationStatusKnown: boolean;
  onDemandRotationStartDate: Date | null;
  automaticRotationEnabled: boolean;
  nextAutomaticRotation: Date | null;
  onDemandRotationsUsed: number;
  lastOnDemandRotation: Date | null;
  /** EXTERNAL keys: new imported material waiting in PENDING_ROTATION. */
  importedMaterialStaged: boolean;
  /** Newest first. */
  rotations: RotationsListEntry[];
}

/** A KMS client for a Region; the caller decides how clients are built and kept. */
export type KmsClientFor = (region: string) => KMSClient;

/**
 * RotateKeyOnDemand got no answer from KMS (SDK TimeoutError, a reset or closed socket): the
 * rotation may or may not have started. Its name is what the Rotate decisions match on.
 */
export class RotateResponseLostError extends Error {
  override name = 'RotateResponseLost';
}

/** Raised instead of calling RotateKeyOnDemand through a client that would retry it. */
export class RetryingRotateClientError extends Error {
  override name = 'RetryingRotateClientError';
}

/**
 * Every KMS call the product makes, in one adapter: the reads behind Assess, CheckRotation and
 * the CLI's `check`, and the one write, RotateKeyOnDemand. It holds no clients of its own: a
 * Lambda handler passes its per-Region factories (kept across invocations), the CLI passes
 * clients built from its own credentials.
 *
 * `rotateClientFor` serves RotateKeyOnDemand only and must give clients with SDK retries OFF
 * (`maxAttempts: 1`): a retry after a lost response could start a second rotation, and a wasted
 * rotation never comes back. Step Functions retries the whole Rotate task instead, behind its
 * guard. `rotateOnDemand` refuses any other client.
 */
export class KmsKeys {
  constructor(
    private readonly clientFor: KmsClientFor,
    private readonly rotateClientFor?: KmsClientFor,
  ) {}

  /** DescribeKey; null when KMS says there is no such key. */
  async describeKey(keyRef: string, region: string): Promise<KeyMetadata | null> {
    try {
      const out = await this.clientFor(region).send(new DescribeKeyCommand({ KeyId: keyRef }));
      return out.KeyMetadata ?? null;
    } catch (error) {
      if (error instanceof NotFoundException || (error as Error).name === 'NotFoundException') return null;
      throw error;
    }
  }

  /** The key's alias names, sorted. */
  async listAliases(keyArn: string, region: string): Promise<string[]> {
    const keyId = parseKmsArn(keyArn)?.resource ?? keyArn;
    const out = await this.clientFor(region).send(new ListAliasesCommand({ KeyId: keyId }));
    return (out.Aliases ?? [])
      .map((a) => a.AliasName ?? '')
      .filter(Boolean)
      .sort();
  }

  /** The key's tags as a record. */
  async listTags(keyArn: string, region: string): Promise<Record<string, string>> {
    const out = await this.clientFor(region).send(new ListResourceTagsCommand({ KeyId: keyArn }));
    return Object.fromEntries((out.Tags ?? []).map((t) => [t.TagKey ?? '', t.TagValue ?? '']));
  }

  /**
   * GetKeyRotationStatus + ListKeyRotations (all pages; with `imported`, every key material).
   * When GetKeyRotationStatus refuses with UnsupportedOperationException and the key is an
   * imported-material key (known from `imported`, else asked with DescribeKey), the history is
   * read from ListKeyRotations alone (`rotationStatusKnown: false`) instead of failing.
   */
  async rotationHistory(keyArn: string, region: string, imported: boolean): Promise<RotationHistory> {
    const client = this.clientFor(region);
    let status: { OnDemandRotationStartDate?: Date; KeyRotationEnabled?: boolean; NextRotationDate?: Date } | null;
    try {
      status = await client.send(new GetKeyRotationStatusCommand({ KeyId: keyArn }));
    } catch (error) {
      if (!isUnsupported(error)) throw error;
      if (!imported && (await this.describeKey(keyArn, region))?.Origin !== 'EXTERNAL') throw error;
      status = null;
      imported = true;
    }
    const rotations: RotationsListEntry[] = [];
    const pages = paginateListKeyRotations(
      { client, pageSize: 1000 },
      { KeyId: keyArn, ...(imported ? { IncludeKeyMaterial: 'ALL_KEY_MATERIAL' as const } : {}) },
    );
    for await (const page of pages) rotations.push(...(page.Rotations ?? []));
    rotations.sort((a, b) => (b.RotationDate?.getTime() ?? 0) - (a.RotationDate?.getTime() ?? 0));
    const onDemand = rotations.filter((r) => r.RotationType === 'ON_DEMAND');
    return {
      rotationStatusKnown: status !== null,
      onDemandRotationStartDate: status?.OnDemandRotationStartDate ?? null,
      automaticRotationEnabled: status?.KeyRotationEnabled ?? false,
      nextAutomaticRotation: status?.NextRotationDate ?? null,
      onDemandRotationsUsed: onDemand.length,
      lastOnDemandRotation: onDemand[0]?.RotationDate ?? null,
      importedMaterialStaged: rotations.some((r) => r.KeyMaterialState === 'PENDING_ROTATION'),
      rotations,
    };
  }

  /** Rotation history for keys whose kind supports rotation; an empty history for the rest. */
  async rotationHistoryIfSupported(meta: KeyMetadata, region: string): Promise<RotationHistory> {
    const empty = emptyHistory();
    const supportsRotation =
      meta.KeyManager === 'CUSTOMER' &&
      meta.KeySpec === 'SYMMETRIC_DEFAULT' &&
      !meta.CustomKeyStoreId &&
      (meta.Origin === 'AWS_KMS' || meta.Origin === 'EXTERNAL') &&
      (meta.KeyState === 'Enabled' || meta.KeyState === 'Disabled');
    if (!supportsRotation || !meta.Arn) return empty;
    try {
      return await this.rotationHistory(meta.Arn, region, meta.Origin === 'EXTERNAL');
    } catch (error) {
      if (isUnsupported(error) || (error as Error).name === 'KMSInvalidStateException') return empty;
      throw error;
    }
  }

  /**
   * RotateKeyOnDemand, exactly one attempt. KMS's answers (service exceptions) propagate with
   * their SDK name; the caller maps them (rotation.ts decides which ones skip the key). An error
   * that is no answer from KMS (TimeoutError, a socket error) becomes RotateResponseLostError: the
   * rotation may have started.
   */
  async rotateOnDemand(keyArn: string, region: string): Promise<void> {
    if (!this.rotateClientFor)
      throw new RetryingRotateClientError('This KmsKeys adapter was built without a client for RotateKeyOnDemand.');
    const client = this.rotateClientFor(region);
    const attempts = await client.config.maxAttempts();
    if (attempts !== 1) {
      throw new RetryingRotateClientError(
        `RotateKeyOnDemand needs a client with SDK retries off (maxAttempts 1), got maxAttempts ${attempts}.`,
      );
    }
    try {
      await client.send(new RotateKeyOnDemandCommand({ KeyId: keyArn }));
    } catch (error) {
      // Service exceptions carry $fault ('client' | 'server'): KMS answered. Anything else did not reach us.
      if (error instanceof Error && !('$fault' in error)) {
        throw new RotateResponseLostError(
          `No answer to RotateKeyOnDemand (${error.name}: ${error.message}); the rotation may have started.`,
          { cause: error },
        );
      }
      throw error;
    }
  }
}

/** The history of a key that was not (or could not be) read: nothing known to be running or used. */
export function emptyHistory(): RotationHistory {
  return {
    rotationStatusKnown: false,
    onDemandRotationStartDate: null,
    automaticRotationEnabled: false,
    nextAutomaticRotation: null,
    onDemandRotationsUsed: 0,
    lastOnDemandRotation: null,
    importedMaterialStaged: false,
    rotations: [],
  };
}

function isUnsupported(error: unknown): boolean {
  return error instanceof UnsupportedOperationException || (error as Error)?.name === 'UnsupportedOperationException';
}
