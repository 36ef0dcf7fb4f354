import {
  DescribeKeyCommand,
  GetKeyRotationStatusCommand,
  ListAliasesCommand,
  ListResourceTagsCommand,
  NotFoundException,
  paginateListKeyRotations,
  UnsupportedOperationException,
  type KeyMetadata,
  type RotationsListEntry,
} from '@aws-sdk/client-kms';
import { kmsClient } from './clients';
import { parseKmsArn } from '../domain/arn';

/**
 * Every KMS read the product makes, in one adapter. Handlers and the CLI's `check` depend on
 * these functions, never on the SDK directly.
 */

export async function describeKey(keyRef: string, region: string): Promise<KeyMetadata | null> {
  try {
    const out = await kmsClient(region).send(new DescribeKeyCommand({ KeyId: keyRef }));
    return out.KeyMetadata ?? null;
  } catch (error) {
    if (error instanceof NotFoundException || (error as Error).name === 'NotFoundException') return null;
    throw error;
  }
}

export async function listAliases(keyArn: string, region: string): Promise<string[]> {
  const keyId = parseKmsArn(keyArn)?.resource ?? keyArn;
  const out = await kmsClient(region).send(new ListAliasesCommand({ KeyId: keyId }));
  return (out.Aliases ?? []).map((a) => a.AliasName ?? '').filter(Boolean).sort();
}

export async function listTags(keyArn: string, region: string): Promise<Record<string, string>> {
  const out = await kmsClient(region).send(new ListResourceTagsCommand({ KeyId: keyArn }));
  return Object.fromEntries((out.Tags ?? []).map((t) => [t.TagKey ?? '', t.TagValue ?? '']));
}

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

/** GetKeyRotationStatus + ListKeyRotations (all pages). */
export async function rotationHistory(keyArn: string, region: string, imported: boolean): Promise<RotationHistory> {
  const client = kmsClient(region);
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

/** Rotation history for keys whose kind supports rotation; an empty history for the rest. */
export async function rotationHistoryIfSupported(meta: KeyMetadata, region: string): Promise<RotationHistory> {
  const empty = emptyHistory();
  const supportsRotation =
    meta.KeyManager === 'CUSTOMER' &&
    meta.KeySpec === 'SYMMETRIC_DEFAULT' &&
    !meta.CustomKeyStoreId &&
    (meta.Origin === 'AWS_KMS' || meta.Origin === 'EXTERNAL') &&
    (meta.KeyState === 'Enabled' || meta.KeyState === 'Disabled');
  if (!supportsRotation || !meta.Arn) return empty;
  try {
    return await rotationHistory(meta.Arn, region, meta.Origin === 'EXTERNAL');
  } catch (error) {
    const name = (error as Error).name;
    if (error instanceof UnsupportedOperationException || name === 'UnsupportedOperationException' || name === 'KMSInvalidStateException') return empty;
    throw error;
  }
}
