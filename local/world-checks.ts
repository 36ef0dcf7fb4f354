import type { z } from 'zod';
import { keyArnOf } from './world-defaults';
import { ENVELOPE_SUITES, keyArnPattern, type objectSchema, type WorldBucket, type WorldKey } from './world-schema';

/** Rules of a world that span fields: unique keys and aliases, objects naming keys that exist, envelopes. */

/** Problems between keys and buckets, each naming the JSON path of the field at fault. */
export function crossChecks(keys: WorldKey[], buckets: WorldBucket[]): string[] {
  const problems: string[] = [];
  const arns = new Map<string, number>();
  const aliases = new Map<string, number>();
  keys.forEach((k, i) => {
    const at = `keys[${i}]`;
    const arn = keyArnOf(k);
    if (arns.has(arn)) problems.push(`${at}.id: duplicate key ${arn} (same as keys[${arns.get(arn)}])`);
    arns.set(arn, i);
    k.aliases.forEach((a, j) => {
      const scoped = `${k.account}/${k.region}/${a}`;
      if (aliases.has(scoped))
        problems.push(`${at}.aliases[${j}]: alias ${a} already used in ${k.region} by keys[${aliases.get(scoped)}]`);
      aliases.set(scoped, i);
      if (a.startsWith('alias/aws/') && k.keyManager !== 'AWS')
        problems.push(`${at}.aliases[${j}]: alias/aws/ is reserved for AWS managed keys`);
    });
    if (k.multiRegionKeyType === 'REPLICA') {
      if (!k.multiRegion) problems.push(`${at}.multiRegion: expected true for a REPLICA key`);
      const m = k.primaryArn ? keyArnPattern.exec(k.primaryArn) : null;
      if (!m) problems.push(`${at}.primaryArn: expected the primary key's ARN for a REPLICA key`);
      else {
        if (m[3] !== k.id)
          problems.push(`${at}.primaryArn: a replica has the same key id as its primary (expected key/${k.id})`);
        if (m[2] !== k.account)
          problems.push(`${at}.primaryArn: a replica is in the same account as its primary (${k.account})`);
        if (m[1] === k.region) problems.push(`${at}.primaryArn: a replica is in a different Region from its primary`);
      }
    } else if (k.primaryArn !== null) {
      problems.push(`${at}.primaryArn: only a REPLICA key has primaryArn (expected null)`);
    }
    if (k.onDemandRotationsUsed === 0 && k.lastOnDemandRotationMinutesAgo !== null) {
      problems.push(`${at}.lastOnDemandRotationMinutesAgo: expected null when onDemandRotationsUsed is 0`);
    }
    if (k.onDemandRotationsUsed < 2 && k.onDemandRotationSpacingMinutes !== 24 * 60) {
      problems.push(
        `${at}.onDemandRotationSpacingMinutes: spaces two or more seeded rotations (onDemandRotationsUsed >= 2)`,
      );
    }
    if (k.pendingImportedMaterial && k.origin !== 'EXTERNAL') {
      problems.push(`${at}.pendingImportedMaterial: only keys with origin EXTERNAL have imported key material`);
    }
    if (k.stagedMaterialLostBeforeRotate && !k.pendingImportedMaterial) {
      problems.push(
        `${at}.stagedMaterialLostBeforeRotate: only a key with pendingImportedMaterial has staged material to lose`,
      );
    }
    if (k.automaticRotationDueWithinMinutes !== null && (k.origin !== 'AWS_KMS' || k.keySpec !== 'SYMMETRIC_DEFAULT')) {
      problems.push(
        `${at}.automaticRotationDueWithinMinutes: automatic rotation exists only for SYMMETRIC_DEFAULT keys with origin AWS_KMS`,
      );
    }
  });
  // A replica whose primary is in the world shares the primary's rotation history.
  keys.forEach((k, i) => {
    if (k.multiRegionKeyType !== 'REPLICA' || !k.primaryArn || !arns.has(k.primaryArn)) return;
    const primary = keys[arns.get(k.primaryArn)!];
    if (!primary.multiRegion)
      problems.push(`keys[${i}].primaryArn: keys[${arns.get(k.primaryArn)}] is not a multi-Region key`);
    for (const f of [
      'onDemandRotationsUsed',
      'lastOnDemandRotationMinutesAgo',
      'onDemandRotationSpacingMinutes',
      'rotationInProgress',
      'automaticRotationDueWithinMinutes',
      'pendingImportedMaterial',
    ] as const) {
      const dflt = {
        onDemandRotationsUsed: 0,
        lastOnDemandRotationMinutesAgo: null,
        onDemandRotationSpacingMinutes: 24 * 60,
        rotationInProgress: false,
        automaticRotationDueWithinMinutes: null,
        pendingImportedMaterial: false,
      }[f];
      if (k[f] !== dflt)
        problems.push(
          `keys[${i}].${f}: a replica shares its primary's key material and rotations; set it on the primary (${k.primaryArn})`,
        );
    }
  });
  const names = new Map<string, number>();
  buckets.forEach((b, i) => {
    if (names.has(b.name))
      problems.push(`buckets[${i}].name: duplicate bucket ${b.name} (same as buckets[${names.get(b.name)}])`);
    names.set(b.name, i);
    const seen = new Set<string>();
    b.objects.forEach((o, j) => {
      if (seen.has(o.key)) problems.push(`buckets[${i}].objects[${j}].key: duplicate object key ${o.key}`);
      seen.add(o.key);
      if (o.body !== undefined && o.sizeBytes !== undefined)
        problems.push(`buckets[${i}].objects[${j}].sizeBytes: give either body or sizeBytes, not both`);
      if (o.envelopeKeyId !== undefined && o.sizeBytes !== undefined)
        problems.push(`buckets[${i}].objects[${j}].envelopeKeyId: an envelope object needs a body, not sizeBytes`);
      if (o.sseC && (o.kmsKeyId !== undefined || o.envelopeKeyId !== undefined))
        problems.push(
          `buckets[${i}].objects[${j}].sseC: an SSE-C object has no KMS key (drop kmsKeyId / envelopeKeyId)`,
        );
      if (o.dsse && o.kmsKeyId === undefined)
        problems.push(
          `buckets[${i}].objects[${j}].dsse: a DSSE-KMS object needs kmsKeyId (the KMS key of its data key)`,
        );
      if (o.previousVersions?.length && !b.versioning) {
        problems.push(
          `buckets[${i}].objects[${j}].previousVersions: only a versioned bucket keeps older versions (set buckets[${i}].versioning to true)`,
        );
      }
      problems.push(...envelopeProblems(o, `buckets[${i}].objects[${j}]`));
      problems.push(...lockAndOwnershipProblems(b, o, `buckets[${i}]`, `buckets[${i}].objects[${j}]`));
    });
    if (b.objectLock?.enabled && !b.versioning)
      problems.push(
        `buckets[${i}].objectLock: Object Lock needs a versioned bucket (set buckets[${i}].versioning to true)`,
      );
  });
  return problems;
}

/** Problems of an object's envelope fields (envelopeKeyIds, envelopeSuite), each naming its field. */
function envelopeProblems(o: z.infer<typeof objectSchema>, where: string): string[] {
  const problems: string[] = [];
  if (o.envelopeKeyIds !== undefined) {
    if (o.envelopeKeyId !== undefined)
      problems.push(`${where}.envelopeKeyIds: give envelopeKeyId (one key) or envelopeKeyIds (several), not both`);
    if (o.sizeBytes !== undefined)
      problems.push(`${where}.envelopeKeyIds: an envelope object needs a body, not sizeBytes`);
    if (new Set(o.envelopeKeyIds).size !== o.envelopeKeyIds.length)
      problems.push(`${where}.envelopeKeyIds: a key is listed twice`);
  }
  if (o.envelopeSuite !== undefined) {
    if (o.envelopeKeyId === undefined && o.envelopeKeyIds === undefined)
      problems.push(`${where}.envelopeSuite: only an envelope object (envelopeKeyId or envelopeKeyIds) has a suite`);
    if (!ENVELOPE_SUITES.includes(o.envelopeSuite))
      problems.push(
        `${where}.envelopeSuite: ${o.envelopeSuite} is not an Encryption SDK algorithm suite id (one of ${ENVELOPE_SUITES.join(', ')})`,
      );
  }
  return problems;
}

/**
 * Problems of an object's SSE-KMS context, Object Lock and ACL fields against its bucket: S3
 * refuses Object Lock fields on a bucket without Object Lock (400 InvalidRequest) and ACL grants
 * on a BucketOwnerEnforced bucket (400 AccessControlListNotSupported), so a world cannot hold them.
 */
function lockAndOwnershipProblems(
  b: WorldBucket,
  o: z.infer<typeof objectSchema>,
  bucketAt: string,
  where: string,
): string[] {
  const problems: string[] = [];
  const kms = o.kmsKeyId !== undefined || (b.defaultKmsKeyId !== undefined && !o.sseC);
  if (o.encryptionContext !== undefined && !kms)
    problems.push(`${where}.encryptionContext: only an SSE-KMS object has an encryption context (give kmsKeyId)`);
  const locked = b.objectLock?.enabled === true;
  if (o.retention !== undefined && !locked)
    problems.push(`${where}.retention: the bucket has no Object Lock (set ${bucketAt}.objectLock.enabled)`);
  if (o.legalHold !== undefined && !locked)
    problems.push(`${where}.legalHold: the bucket has no Object Lock (set ${bucketAt}.objectLock.enabled)`);
  if (o.grants !== undefined && b.objectOwnership === 'BucketOwnerEnforced')
    problems.push(
      `${where}.grants: ACLs are disabled on a BucketOwnerEnforced bucket (set ${bucketAt}.objectOwnership to ObjectWriter or BucketOwnerPreferred)`,
    );
  return problems;
}
