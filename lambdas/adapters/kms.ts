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
    return (out.Aliases ?? []).map((a) => a.AliasName ?? '').filter(Boolean).sort();
  }

  /** The key's tags as a record. */
  async listTags(keyArn: string, region: string): Promise<Record<string, string>> {
    const out = await this.clientFor(region).send(new ListResourceTagsCommand({ KeyId: keyArn }));
    return Object.fromEntries((out.Tags ?? []).map((t) => [t.TagKey ?? '', t.TagValue ?? '']));
  }

  /** GetKeyRotationStatus + ListKeyRotations (all pages). */
  async rotationHistory(keyArn: string, region: string, imported: boolean): Promise<RotationHistory> {
    const client = this.clientFor(region);
    const status = await client.send(new GetKeyRotationStatusCommand({ KeyId: keyArn }));
    const rotations: RotationsListEntry[] = [];
    const pages = paginateListKeyRotations(
      { client, pageSize: 1000 },
      { KeyId: keyArn, ...(imported ? { IncludeKeyMaterial: 'ALL_KEY_MATERIAL' as const } : {}) },
    );
    for await (const page of pages) rotations.push(...(page.Rotations ?? []));
    rotations.sort((a, b) => (b.RotationDate?.getTime() ?? 0) - (a.RotationDate?.getTime() ?? 0));
    const onDemand = rotations.filter((r) => r.RotationType === 'ON_DEMAND');
    return {
      onDemandRotationStartDate: status.OnDemandRotationStartDate ?? null,
      automaticRotationEnabled: status.KeyRotationEnabled ?? false,
      nextAutomaticRotation: status.NextRotationDate ?? null,
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
      const name = (error as Error).name;
      if (error instanceof UnsupportedOperationException || name === 'UnsupportedOperationException' || name === 'KMSInvalidStateException') return empty;
      throw error;
    }
  }

  /**
   * RotateKeyOnDemand, exactly one attempt. Errors propagate with their SDK name; the caller
   * maps them (rotation.ts decides which ones skip the key).
   */
  async rotateOnDemand(keyArn: string, region: string): Promise<void> {
    if (!this.rotateClientFor) throw new RetryingRotateClientError('This KmsKeys adapter was built without a client for RotateKeyOnDemand.');
    const client = this.rotateClientFor(region);
    const attempts = await client.config.maxAttempts();
    if (attempts !== 1) {
      throw new RetryingRotateClientError(`RotateKeyOnDemand needs a client with SDK retries off (maxAttempts 1), got maxAttempts ${attempts}.`);
    }
    await client.send(new RotateKeyOnDemandCommand({ KeyId: keyArn }));
  }
}

/** The history of a key that was not (or could not be) read: nothing known to be running or used. */
export function emptyHistory(): RotationHistory {
  return {
    onDemandRotationStartDate: null,
    automaticRotationEnabled: false,
    nextAutomaticRotation: null,
    onDemandRotationsUsed: 0,
    lastOnDemandRotation: null,
    importedMaterialStaged: false,
    rotations: [],
  };
}
