import type { KeyMetadata } from '@aws-sdk/client-kms';
import { parseKmsArn } from '../domain/arn';
import { emptyHistory, type KmsKeys, type RotationHistory } from './kms';
import type { KeyFacts } from '../domain/rotation/eligibility';
import { newestMaterialDate } from '../domain/reencryption/reencrypt-only';

/** What we learn about a key reference before deciding. */
export type Inspection =
  | { found: false; keyArn: string | null; detail: string }
  | {
      found: true;
      /** The key to rotate: the primary when the reference named a replica. */
      keyArn: string;
      region: string;
      /** The replica that was named, when `keyArn` is its primary. */
      via: string | null;
      aliases: string[];
      facts: KeyFacts;
      history: RotationHistory;
      metadata: KeyMetadata;
    };

/**
 * Resolve a key reference (id, key ARN, alias name or alias ARN) and gather the facts the
 * eligibility rules need. A multi-Region replica is inspected as its primary, in the
 * primary's Region. Keys of another account are not looked up at all. Every KMS read goes through
 * `kms`, so the caller decides whose credentials are used (a handler's role, the CLI's profile).
 */
export async function inspectKey(
  kms: KmsKeys,
  ref: string,
  home: { accountId: string; region: string },
): Promise<Inspection> {
  const arn = parseKmsArn(ref);
  const region = arn?.region ?? home.region;
  if (arn && arn.account !== home.accountId) {
    return foreign(ref, arn.account, arn.region);
  }

  let meta = await kms.describeKey(ref, region);
  if (!meta?.Arn)
    return {
      found: false,
      keyArn: arn?.resourceType === 'key' ? ref : null,
      detail: `No KMS key ${ref} in ${region}.`,
    };

  let via: string | null = null;
  let keyRegion = region;
  const primary = meta.MultiRegionConfiguration?.PrimaryKey;
  if (meta.MultiRegionConfiguration?.MultiRegionKeyType === 'REPLICA' && primary?.Arn) {
    via = meta.Arn;
    keyRegion = primary.Region ?? parseKmsArn(primary.Arn)?.region ?? region;
    const primaryMeta = await kms.describeKey(primary.Arn, keyRegion);
    if (!primaryMeta?.Arn) {
      return {
        found: false,
        keyArn: primary.Arn,
        detail: `Replica ${via} names primary ${primary.Arn}, which was not found in ${keyRegion}.`,
      };
    }
    meta = primaryMeta;
  }

  const keyArn = meta.Arn!;
  const keyAccount = meta.AWSAccountId ?? parseKmsArn(keyArn)?.account ?? home.accountId;
  if (keyAccount !== home.accountId) return foreign(keyArn, keyAccount, keyRegion);

  const [aliases, tags, history] = await Promise.all([
    kms.listAliases(keyArn, keyRegion),
    meta.KeyManager === 'CUSTOMER' ? kms.listTags(keyArn, keyRegion) : Promise.resolve({}),
    kms.rotationHistoryIfSupported(meta, keyRegion),
  ]);

  const facts: KeyFacts = {
    arn: keyArn,
    account: keyAccount,
    keyManager: meta.KeyManager ?? 'UNKNOWN',
    keySpec: meta.KeySpec ?? 'UNKNOWN',
    keyUsage: meta.KeyUsage ?? 'UNKNOWN',
    origin: meta.Origin ?? 'UNKNOWN',
    keyState: meta.KeyState ?? 'UNKNOWN',
    customKeyStoreId: meta.CustomKeyStoreId ?? null,
    multiRegionKeyType: meta.MultiRegionConfiguration?.MultiRegionKeyType ?? null,
    currentKeyMaterialId: meta.CurrentKeyMaterialId ?? null,
    tags,
    importedMaterialStaged: history.importedMaterialStaged,
    onDemandRotationStartDate: history.onDemandRotationStartDate,
    onDemandRotationsUsed: history.onDemandRotationsUsed,
    lastOnDemandRotation: history.lastOnDemandRotation,
    onDemandRotationDates: history.rotations
      .filter((r) => r.RotationType === 'ON_DEMAND' && r.RotationDate)
      .map((r) => r.RotationDate!),
    newestMaterialDate: newestMaterialDate(history.rotations, meta.CreationDate),
  };
  return { found: true, keyArn, region: keyRegion, via, aliases, facts, history, metadata: meta };
}

function foreign(keyArn: string, account: string, region: string): Inspection {
  // Not looked up: we cannot rotate another account's key, and must not pretend to know it.
  const facts: KeyFacts = {
    arn: keyArn,
    account,
    keyManager: 'UNKNOWN',
    keySpec: 'UNKNOWN',
    keyUsage: 'UNKNOWN',
    origin: 'UNKNOWN',
    keyState: 'UNKNOWN',
    customKeyStoreId: null,
    multiRegionKeyType: null,
    currentKeyMaterialId: null,
    tags: {},
    importedMaterialStaged: false,
    onDemandRotationStartDate: null,
    onDemandRotationsUsed: 0,
    lastOnDemandRotation: null,
  };
  return {
    found: true,
    keyArn,
    region,
    via: null,
    aliases: [],
    facts,
    history: emptyHistory(),
    metadata: {} as KeyMetadata,
  };
}
