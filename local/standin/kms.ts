import { randomBytes, randomUUID } from 'node:crypto';
import { defaultWorldKey, type WorldKey } from '../world';
import { KEY_SPECS } from '../world-schema';
import { ServiceError } from './errors';
import {
  AUTOMATIC_ROTATION_CONFLICT_MINUTES,
  AUTOMATIC_ROTATION_PERIOD_DAYS,
  CUSTOM_KEY_STORE_ORIGINS,
  DAY_MS,
  type KeyRec,
  type KmsKeys,
  stateWords,
} from './kms-keys';
import * as crypto from './kms-crypto';
import { KmsGrants } from './kms-grants';
import { listAliases, listKeys, listResourceTags } from './kms-lists';
import { LIST_LIMITS, lower, num, paginate, secs, str, type Input } from './kms-input';

/**
 * The KMS stand-in's wire operations (JSON 1.1, `TrentService.<Op>`): each validates its input as
 * KMS does and acts on the key model in kms-keys.ts.
 */

export const KMS_OPERATIONS = [
  'CreateKey',
  'DescribeKey',
  'ListAliases',
  'ListKeys',
  'ListResourceTags',
  'GetKeyRotationStatus',
  'RotateKeyOnDemand',
  'ListKeyRotations',
  'Encrypt',
  'Decrypt',
  'GenerateDataKey',
  'ReEncrypt',
  'ScheduleKeyDeletion',
  'TagResource',
  'CreateGrant',
  'RetireGrant',
  'RevokeGrant',
  'ListGrants',
] as const;

/** CreateKey's `Policy` (a JSON string): its document, or undefined for KMS's default key policy. */
function keyPolicyOf(policy: unknown): Record<string, unknown> | undefined {
  if (policy === undefined) return undefined;
  try {
    const doc: unknown = JSON.parse(String(policy));
    if (doc && typeof doc === 'object' && !Array.isArray(doc)) return doc as Record<string, unknown>;
  } catch {
    /* refused below */
  }
  throw new ServiceError('MalformedPolicyDocumentException', 'The policy is not a valid JSON policy document.');
}

/** Answers KMS requests (see KMS_OPERATIONS) against the key model. */
export class Kms {
  constructor(
    readonly keys: KmsKeys,
    readonly grants: KmsGrants = new KmsGrants(keys),
  ) {}

  /** One wire operation: its JSON output, or a ServiceError as KMS would answer. */
  handle(op: string, input: Input, region: string): unknown {
    this.keys.settle();
    switch (op) {
      case 'CreateKey':
        return this.createKey(input, region);
      case 'DescribeKey':
        return { KeyMetadata: this.metadata(this.keys.resolve(str(input, 'KeyId', true), region, true, op)) };
      case 'ListAliases':
        return listAliases(this.keys, input, region);
      case 'ListKeys':
        return listKeys(this.keys, input, region);
      case 'ListResourceTags':
        return listResourceTags(this.keys, input, region);
      case 'GetKeyRotationStatus':
        return this.getKeyRotationStatus(input, region);
      case 'RotateKeyOnDemand':
        return this.rotateKeyOnDemand(input, region);
      case 'ListKeyRotations':
        return this.listKeyRotations(input, region);
      case 'Encrypt':
        return crypto.encrypt(this.keys, input, region);
      case 'Decrypt':
        return crypto.decryptOp(this.keys, input, region);
      case 'GenerateDataKey':
        return crypto.generateDataKeyOp(this.keys, input, region);
      case 'ReEncrypt':
        return crypto.reEncrypt(this.keys, input, region);
      case 'ScheduleKeyDeletion':
        return this.scheduleKeyDeletion(input, region);
      case 'TagResource':
        return this.tagResource(input, region);
      case 'CreateGrant':
        return this.grants.create(input, region);
      case 'RetireGrant':
      case 'RevokeGrant':
        // Who may retire is checked by authorization (authz.ts), before the handler.
        this.grants.remove(this.grants.find(input, region, op));
        return {};
      case 'ListGrants':
        return this.grants.list(input, region);
      default:
        throw new Error(`unrouted KMS operation ${op}`);
    }
  }

  private metadata(rec: KeyRec): Record<string, unknown> {
    const w = rec.w;
    const md: Record<string, unknown> = {
      AWSAccountId: w.account,
      KeyId: w.id,
      Arn: rec.arn,
      CreationDate: secs(rec.creationDate),
      Enabled: rec.state === 'Enabled',
      Description: rec.description,
      KeyUsage: w.keyUsage,
      KeyState: rec.state,
      Origin: w.origin,
      KeyManager: w.keyManager,
      CustomerMasterKeySpec:
        w.keySpec.startsWith('ML_') || w.keySpec === 'ECC_NIST_EDWARDS25519' ? undefined : w.keySpec,
      KeySpec: w.keySpec,
      MultiRegion: w.multiRegion,
    };
    if (w.keyUsage === 'ENCRYPT_DECRYPT')
      md.EncryptionAlgorithms =
        w.keySpec === 'SYMMETRIC_DEFAULT' ? ['SYMMETRIC_DEFAULT'] : ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'];
    if (rec.customKeyStoreId) md.CustomKeyStoreId = rec.customKeyStoreId;
    if (w.origin === 'EXTERNAL') md.ExpirationModel = 'KEY_MATERIAL_DOES_NOT_EXPIRE';
    if (rec.deletionDate !== undefined) {
      md.DeletionDate = secs(rec.deletionDate);
      md.PendingDeletionWindowInDays = rec.pendingWindowInDays;
    }
    if (w.multiRegion) {
      const primaryArn = w.multiRegionKeyType === 'PRIMARY' ? rec.arn : w.primaryArn!;
      md.MultiRegionConfiguration = {
        MultiRegionKeyType: w.multiRegionKeyType,
        PrimaryKey: { Arn: primaryArn, Region: primaryArn.split(':')[3] },
        ReplicaKeys: this.keys.all
          .filter((k) => k.w.multiRegionKeyType === 'REPLICA' && k.w.primaryArn === primaryArn)
          .map((k) => ({ Arn: k.arn, Region: k.w.region })),
      };
    }
    const current = [...this.keys.view(rec.lineage).materialStates].find(([, state]) => state === 'CURRENT')?.[0];
    if (w.keySpec === 'SYMMETRIC_DEFAULT' && current && rec.state !== 'PendingImport')
      md.CurrentKeyMaterialId = current;
    return md;
  }

  private createKey(input: Input, region: string): unknown {
    const keySpec = str(input, 'KeySpec') ?? str(input, 'CustomerMasterKeySpec') ?? 'SYMMETRIC_DEFAULT';
    const keyUsage = str(input, 'KeyUsage') ?? (keySpec.startsWith('HMAC') ? 'GENERATE_VERIFY_MAC' : 'ENCRYPT_DECRYPT');
    const origin = str(input, 'Origin') ?? 'AWS_KMS';
    const multiRegion = input.MultiRegion === true;
    const base = defaultWorldKey(
      multiRegion ? `mrk-${randomBytes(16).toString('hex')}` : randomUUID(),
      this.keys.account,
      region,
    );
    const check = <T extends string>(name: string, value: string, allowed: readonly T[]): T => {
      if (!allowed.includes(value as T))
        throw new ServiceError(
          'ValidationException',
          `1 validation error detected: Value '${value}' at '${lower(name)}' failed to satisfy constraint: Member must satisfy enum value set: [${allowed.join(', ')}]`,
        );
      return value as T;
    };
    const w: WorldKey = {
      ...base,
      keySpec: check('KeySpec', keySpec, KEY_SPECS),
      keyUsage: check('KeyUsage', keyUsage, [
        'ENCRYPT_DECRYPT',
        'SIGN_VERIFY',
        'GENERATE_VERIFY_MAC',
        'KEY_AGREEMENT',
        'ENCAPSULATE_DECAPSULATE',
      ] as const),
      origin: check('Origin', origin, ['AWS_KMS', 'EXTERNAL', 'AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE'] as const),
      keyState: origin === 'EXTERNAL' ? 'PendingImport' : 'Enabled',
      multiRegion,
      // The key policy authorization evaluates (local/iam); without one KMS sets the default policy.
      policy: keyPolicyOf(input.Policy),
    };
    if (keySpec === 'SYMMETRIC_DEFAULT' && keyUsage !== 'ENCRYPT_DECRYPT') {
      throw new ServiceError(
        'ValidationException',
        `KeyUsage ${keyUsage} is not compatible with KeySpec SYMMETRIC_DEFAULT`,
      );
    }
    const tags = input.Tags ?? [];
    if (!Array.isArray(tags)) throw new ServiceError('SerializationException', 'Tags must be a list');
    for (const t of tags as Input[]) {
      const k = str(t, 'TagKey', true);
      const v = str(t, 'TagValue', true);
      if (k in w.tags) throw new ServiceError('TagException', `Duplicate tag key ${k}`);
      w.tags = { ...w.tags, [k]: v };
    }
    const now = Date.now();
    const rec = this.keys.addKey(w, now, str(input, 'Description') ?? '', now);
    const customId = str(input, 'CustomKeyStoreId');
    if (customId && rec.customKeyStoreId) rec.customKeyStoreId = customId;
    return { KeyMetadata: this.metadata(rec) };
  }

  private checkRotatable(rec: KeyRec, op: string): void {
    if (rec.w.keySpec !== 'SYMMETRIC_DEFAULT') {
      throw new ServiceError(
        'UnsupportedOperationException',
        `${rec.arn} has KeySpec ${rec.w.keySpec}; ${op} supports only symmetric encryption keys (SYMMETRIC_DEFAULT).`,
      );
    }
  }

  private getKeyRotationStatus(input: Input, region: string): unknown {
    const rec = this.keys.resolve(str(input, 'KeyId', true), region, false, 'GetKeyRotationStatus');
    this.checkRotatable(rec, 'GetKeyRotationStatus');
    if (
      rec.w.origin === 'EXTERNAL' &&
      this.keys.behaviour.getKeyRotationStatusOnImported === 'UnsupportedOperationException'
    ) {
      // kmsBehaviour: the answer KMS gave before imported key material could be rotated.
      throw new ServiceError(
        'UnsupportedOperationException',
        `${rec.arn} has imported key material (Origin EXTERNAL): GetKeyRotationStatus does not support it.`,
      );
    }
    const l = rec.lineage;
    const seen = this.keys.view(l);
    const out: Record<string, unknown> = { KeyId: rec.arn, KeyRotationEnabled: l.automaticEnabled };
    if (l.automaticEnabled) {
      out.RotationPeriodInDays = AUTOMATIC_ROTATION_PERIOD_DAYS;
      if (l.nextAutomaticAt !== undefined) out.NextRotationDate = secs(l.nextAutomaticAt);
    }
    // Present ONLY while an on-demand rotation is in progress.
    if (seen.onDemand) out.OnDemandRotationStartDate = secs(seen.onDemand.start);
    return out;
  }

  private rotateKeyOnDemand(input: Input, region: string): unknown {
    const rec = this.keys.resolve(str(input, 'KeyId', true), region, false, 'RotateKeyOnDemand');
    const w = rec.w;
    if (w.keyManager === 'AWS') {
      throw new ServiceError(
        'UnsupportedOperationException',
        `${rec.arn} is an AWS managed key: AWS rotates it every year and it cannot be rotated on demand.`,
      );
    }
    if (w.keySpec !== 'SYMMETRIC_DEFAULT') {
      throw new ServiceError(
        'UnsupportedOperationException',
        `${rec.arn} has KeySpec ${w.keySpec}: on-demand rotation supports only symmetric encryption keys (SYMMETRIC_DEFAULT), not asymmetric or HMAC keys.`,
      );
    }
    if (CUSTOM_KEY_STORE_ORIGINS.has(w.origin)) {
      throw new ServiceError(
        'UnsupportedOperationException',
        `${rec.arn} is in a custom key store (Origin ${w.origin}, ${rec.customKeyStoreId}): on-demand rotation is not supported.`,
      );
    }
    if (w.multiRegionKeyType === 'REPLICA') {
      throw new ServiceError(
        'UnsupportedOperationException',
        `${rec.arn} is a multi-Region replica key: call RotateKeyOnDemand on its primary key ${w.primaryArn} in ${w.primaryArn!.split(':')[3]}.`,
      );
    }
    this.keys.checkUsable(rec);
    const l = rec.lineage;
    const behaviour = this.keys.behaviour;
    if (w.stagedMaterialLostBeforeRotate && !rec.stagedMaterialLost) {
      // World hook: the staged material disappears between Assess and Rotate.
      rec.stagedMaterialLost = true;
      l.materials = l.materials.filter((m) => m.state !== 'PENDING_ROTATION');
    }
    // Staged material already taken by a running rotation (and those accepted while it ran) is not available.
    const inUse = l.onDemand && behaviour.rotateWhileOnDemandRunning === 'accepted' ? 1 + l.onDemand.extra : 0;
    if (w.origin === 'EXTERNAL' && l.materials.filter((m) => m.state === 'PENDING_ROTATION').length <= inUse) {
      // Undocumented in AWS (kmsBehaviour.stagedMaterialGoneError). KMSInvalidStateException by
      // default: the API reference says the imported key material "should be in PENDING_ROTATION"
      // state before on-demand rotation; the key type itself IS supported, its material state is not.
      throw new ServiceError(
        behaviour.stagedMaterialGoneError,
        `${rec.arn} has imported key material (Origin EXTERNAL) and no new key material in PENDING_ROTATION state: import new key material with ImportType NEW_KEY_MATERIAL before rotating on demand.`,
      );
    }
    const now = Date.now();
    if (l.onDemand && behaviour.rotateWhileOnDemandRunning === 'ConflictException') {
      // Undocumented in AWS (kmsBehaviour.rotateWhileOnDemandRunning): what KMS does while an
      // on-demand rotation is already running. Default: ConflictException.
      throw new ServiceError(
        'ConflictException',
        `An on-demand rotation of ${rec.arn} is already in progress (started ${new Date(l.onDemand.start).toISOString()}).`,
      );
    }
    const window = (AUTOMATIC_ROTATION_CONFLICT_MINUTES * 60_000) / this.keys.speed;
    if (l.automaticDueAt !== undefined && now >= l.automaticDueAt - window) {
      throw new ServiceError(
        'ConflictException',
        `An automatic rotation of ${rec.arn} is in progress or scheduled to begin within the next ${AUTOMATIC_ROTATION_CONFLICT_MINUTES} minutes.`,
      );
    }
    const used = l.rotations.filter((r) => r.type === 'ON_DEMAND').length;
    if (used >= this.keys.budget) {
      throw new ServiceError(
        'LimitExceededException',
        `${rec.arn} has used all ${this.keys.budget} on-demand rotations allowed for the life of the key.`,
      );
    }
    this.keys.hideChangesFor(l, behaviour.readAfterRotateDelaySeconds, now);
    if (l.onDemand) {
      // kmsBehaviour "accepted": the dangerous guess, a second rotation is spent.
      l.onDemand.extra += 1;
    } else {
      this.keys.startOnDemand(l, now, now + l.rotationMs);
    }
    return { KeyId: w.id };
  }

  private listKeyRotations(input: Input, region: string): unknown {
    const rec = this.keys.resolve(str(input, 'KeyId', true), region, false, 'ListKeyRotations');
    this.checkRotatable(rec, 'ListKeyRotations');
    if (CUSTOM_KEY_STORE_ORIGINS.has(rec.w.origin)) {
      throw new ServiceError(
        'UnsupportedOperationException',
        `${rec.arn} is in a custom key store; it has no key rotations.`,
      );
    }
    const include = str(input, 'IncludeKeyMaterial') ?? 'ROTATIONS_ONLY';
    if (include !== 'ROTATIONS_ONLY' && include !== 'ALL_KEY_MATERIAL') {
      throw new ServiceError(
        'ValidationException',
        `Value '${include}' at 'includeKeyMaterial' failed to satisfy constraint: Member must satisfy enum value set: [ALL_KEY_MATERIAL, ROTATIONS_ONLY]`,
      );
    }
    const l = rec.lineage;
    const seen = this.keys.view(l);
    const stateOf = (id: string) => seen.materialStates.get(id)!;
    const imported =
      rec.w.origin === 'EXTERNAL' ? { ImportState: 'IMPORTED', ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' } : {};
    // Order: oldest first (initial material, rotations by date, then pending material).
    const entries: Record<string, unknown>[] = [];
    if (include === 'ALL_KEY_MATERIAL')
      entries.push({
        KeyId: rec.w.id,
        KeyMaterialId: l.materials[0].id,
        KeyMaterialState: stateOf(l.materials[0].id),
        ...imported,
      });
    for (const r of seen.rotations) {
      entries.push({
        KeyId: rec.w.id,
        KeyMaterialId: r.materialId,
        KeyMaterialState: stateOf(r.materialId),
        ...imported,
        RotationDate: secs(r.date),
        RotationType: r.type,
      });
    }
    if (include === 'ALL_KEY_MATERIAL') {
      for (const m of l.materials.filter((x) => seen.materialStates.get(x.id) === 'PENDING_ROTATION'))
        entries.push({ KeyId: rec.w.id, KeyMaterialId: m.id, KeyMaterialState: m.state, ...imported });
    }
    const { page, ...rest } = paginate(entries, input, `rotations:${rec.arn}:${include}`, LIST_LIMITS.ListKeyRotations);
    return { Rotations: page, ...rest };
  }

  private scheduleKeyDeletion(input: Input, region: string): unknown {
    const rec = this.keys.resolve(str(input, 'KeyId', true), region, false, 'ScheduleKeyDeletion');
    const days = num(input, 'PendingWindowInDays') ?? 30;
    if (days < 7 || days > 30) {
      throw new ServiceError(
        'ValidationException',
        `1 validation error detected: Value '${days}' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value between 7 and 30`,
      );
    }
    if (rec.w.keyManager === 'AWS')
      throw new ServiceError(
        'UnsupportedOperationException',
        `${rec.arn} is an AWS managed key and cannot be deleted.`,
      );
    if (!['Enabled', 'Disabled', 'PendingImport', 'Unavailable'].includes(rec.state)) {
      throw new ServiceError('KMSInvalidStateException', `${rec.arn} is ${stateWords(rec.state)}.`);
    }
    const liveReplicas = this.keys.all.filter(
      (k) => k.w.multiRegionKeyType === 'REPLICA' && k.w.primaryArn === rec.arn && k.state !== 'PendingDeletion',
    );
    rec.state =
      rec.w.multiRegionKeyType === 'PRIMARY' && rec.w.multiRegion && liveReplicas.length
        ? 'PendingReplicaDeletion'
        : 'PendingDeletion';
    rec.deletionDate = Date.now() + days * DAY_MS;
    rec.pendingWindowInDays = days;
    return { KeyId: rec.arn, DeletionDate: secs(rec.deletionDate), KeyState: rec.state, PendingWindowInDays: days };
  }

  /**
   * TagResource: customer managed keys only (AWS managed keys cannot be tagged). Key states: the
   * API reference's key-state table is not in the stand-in's sources, so only Enabled, Disabled
   * and PendingImport keys are tagged (the strict side); others get KMSInvalidStateException.
   */
  private tagResource(input: Input, region: string): unknown {
    const rec = this.keys.resolve(str(input, 'KeyId', true), region, false, 'TagResource');
    if (rec.w.keyManager === 'AWS')
      throw new ServiceError('UnsupportedOperationException', `${rec.arn} is an AWS managed key and cannot be tagged.`);
    if (!['Enabled', 'Disabled', 'PendingImport'].includes(rec.state))
      throw new ServiceError('KMSInvalidStateException', `${rec.arn} is ${stateWords(rec.state)}.`);
    const tags = input.Tags;
    if (!Array.isArray(tags)) throw new ServiceError('SerializationException', 'Tags must be a list');
    for (const t of tags as Input[]) rec.tags.set(str(t, 'TagKey', true), str(t, 'TagValue', true));
    return {};
  }
}
