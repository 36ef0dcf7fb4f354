import type { KmsKeys } from './kms-keys';
import { LIST_LIMITS, paginate, secs, str, type Input } from './kms-input';

// The KMS stand-in's list operations: each answers one page as KMS does (Limit bounds and default
// from the model, opaque markers), over the key model in kms-keys.ts.

/** ListAliases: the Region's aliases, or one key's (KeyId), sorted by name. */
export function listAliases(keys: KmsKeys, input: Input, region: string): unknown {
  const keyId = str(input, 'KeyId');
  const target = keyId === undefined ? undefined : keys.resolve(keyId, region, false, 'ListAliases');
  const entries = keys.all
    .filter((k) => k.w.region === region && k.w.account === keys.account && (!target || k === target))
    .flatMap((k) =>
      k.w.aliases.map((a) => ({
        AliasName: a,
        AliasArn: `arn:aws:kms:${region}:${keys.account}:${a}`,
        TargetKeyId: k.w.id,
        CreationDate: secs(k.creationDate),
        LastUpdatedDate: secs(k.creationDate),
      })),
    )
    .sort((a, b) => a.AliasName.localeCompare(b.AliasName));
  const { page, ...rest } = paginate(entries, input, `aliases:${region}:${target?.arn ?? ''}`, LIST_LIMITS.ListAliases);
  return { Aliases: page, ...rest };
}

/** ListKeys: every key of the account in the Region, whatever its state (KMS lists pending-deletion keys too). */
export function listKeys(keys: KmsKeys, input: Input, region: string): unknown {
  const entries = keys.all
    .filter((k) => k.w.region === region && k.w.account === keys.account)
    .map((k) => ({ KeyId: k.w.id, KeyArn: k.arn }));
  const { page, ...rest } = paginate(entries, input, `keys:${region}`, LIST_LIMITS.ListKeys);
  return { Keys: page, ...rest };
}

export function listResourceTags(keys: KmsKeys, input: Input, region: string): unknown {
  const rec = keys.resolve(str(input, 'KeyId', true), region, false, 'ListResourceTags');
  const tags = [...rec.tags].map(([TagKey, TagValue]) => ({ TagKey, TagValue }));
  const { page, ...rest } = paginate(tags, input, `tags:${rec.arn}`, LIST_LIMITS.ListResourceTags);
  return { Tags: page, ...rest };
}
