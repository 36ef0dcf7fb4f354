import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { settingsObject } from '../../lib/settings';
import { defaultWorldKey, keyArnOf, type World, type WorldKey } from '../world';
import { ServiceError } from './errors';
import { Scheduler } from './scheduler';

/**
 * KMS stand-in: keys, key material, rotations and real AES-256-GCM crypto.
 * Rules follow /work/shared/docs/aws-facts.md and the @aws-sdk/client-kms doc comments.
 */

/** The AWS lifetime on-demand rotation budget, taken from the project's setting default (25). */
export const DEFAULT_ROTATION_BUDGET: number = settingsObject.shape.rotationBudget.parse(undefined);
/** KMS refuses an on-demand rotation when an automatic one starts within this window (scaled by speed). */
export const AUTOMATIC_ROTATION_CONFLICT_MINUTES = 20;
const AUTOMATIC_ROTATION_PERIOD_DAYS = 365;
const DAY_MS = 24 * 3600 * 1000;
const CUSTOM_KEY_STORE_ORIGINS = new Set(['AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE']);

export const KMS_OPERATIONS = [
  'CreateKey', 'DescribeKey', 'ListAliases', 'ListResourceTags', 'GetKeyRotationStatus', 'RotateKeyOnDemand',
  'ListKeyRotations', 'Encrypt', 'Decrypt', 'GenerateDataKey', 'ReEncrypt', 'ScheduleKeyDeletion',
] as const;

type MaterialState = 'CURRENT' | 'NON_CURRENT' | 'PENDING_ROTATION';
interface Material {
  id: string; // 64 hex chars, like real KeyMaterialIds
  bytes: Buffer; // 32 random bytes (AES-256)
  state: MaterialState;
}
interface Rotation {
  materialId: string;
  date: number; // ms epoch
  type: 'AUTOMATIC' | 'ON_DEMAND';
}
/** Key material and rotation history; shared by a multi-Region primary and its replicas. */
interface Lineage {
  materials: Material[]; // creation order; exactly one CURRENT once the key has material
  rotations: Rotation[];
  onDemand?: { start: number; completeAt: number };
  automaticDueAt?: number;
  nextAutomaticAt?: number;
  automaticEnabled: boolean;
  rotationMs: number;
}
interface KeyRec {
  w: WorldKey;
  arn: string;
  state: string;
  creationDate: number;
  description: string;
  tags: Map<string, string>;
  lineage: Lineage;
  customKeyStoreId?: string;
  deletionDate?: number;
  pendingWindowInDays?: number;
}

export interface DataKey {
  plaintext: Buffer;
  blob: Buffer;
  keyArn: string;
  keyMaterialId: string;
}

type Input = Record<string, unknown>;

// ---------- ciphertext blob: our own layout ----------
// "SKC1" | account (12 ASCII digits) | keyId length (1 byte) | keyId (utf8) | material id (32 bytes)
// | iv (12) | tag (16) | ciphertext. AAD = everything before the iv + canonical encryption context.
const MAGIC = Buffer.from('SKC1');

function canonicalContext(ctx: Record<string, string>): Buffer {
  return Buffer.from(JSON.stringify(Object.keys(ctx).sort().map((k) => [k, ctx[k]])));
}

function seal(account: string, keyId: string, m: Material, plaintext: Buffer, ctx: Record<string, string>): Buffer {
  const id = Buffer.from(keyId, 'utf8');
  const header = Buffer.concat([MAGIC, Buffer.from(account, 'ascii'), Buffer.from([id.length]), id, Buffer.from(m.id, 'hex')]);
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', m.bytes, iv);
  c.setAAD(Buffer.concat([header, canonicalContext(ctx)]));
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([header, iv, c.getAuthTag(), ct]);
}

interface ParsedBlob {
  account: string;
  keyId: string;
  materialId: string;
  header: Buffer;
  iv: Buffer;
  tag: Buffer;
  ct: Buffer;
}

export function parseCiphertext(blob: Buffer): ParsedBlob {
  const bad = () => new ServiceError('InvalidCiphertextException', 'The ciphertext is not a ciphertext blob made by this KMS.');
  if (blob.length < 4 + 12 + 1 || !blob.subarray(0, 4).equals(MAGIC)) throw bad();
  const account = blob.subarray(4, 16).toString('ascii');
  const idLen = blob[16];
  const idEnd = 17 + idLen;
  const headerEnd = idEnd + 32;
  if (blob.length < headerEnd + 28) throw bad();
  return {
    account,
    keyId: blob.subarray(17, idEnd).toString('utf8'),
    materialId: blob.subarray(idEnd, headerEnd).toString('hex'),
    header: blob.subarray(0, headerEnd),
    iv: blob.subarray(headerEnd, headerEnd + 12),
    tag: blob.subarray(headerEnd + 12, headerEnd + 28),
    ct: blob.subarray(headerEnd + 28),
  };
}

// ---------- input helpers ----------
function str(input: Input, name: string): string | undefined;
function str(input: Input, name: string, required: true): string;
function str(input: Input, name: string, required = false): string | undefined {
  const v = input[name];
  if (v === undefined || v === null) {
    if (required) throw new ServiceError('ValidationException', `1 validation error detected: Value null at '${lower(name)}' failed to satisfy constraint: Member must not be null`);
    return undefined;
  }
  if (typeof v !== 'string') throw new ServiceError('SerializationException', `${name} must be a string`);
  return v;
}
function num(input: Input, name: string): number | undefined {
  const v = input[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ServiceError('SerializationException', `${name} must be an integer`);
  return v;
}
function blob(input: Input, name: string, required = true): Buffer | undefined {
  const s = required ? str(input, name, true) : str(input, name);
  return s === undefined ? undefined : Buffer.from(s, 'base64');
}
function context(input: Input, name: string): Record<string, string> {
  const v = input[name];
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    throw new ServiceError('SerializationException', `${name} must be a map of strings`);
  }
  return v as Record<string, string>;
}
function lower(name: string): string {
  return name[0].toLowerCase() + name.slice(1);
}
const secs = (ms: number) => ms / 1000;
const b64 = (b: Buffer) => b.toString('base64');

function newMaterial(state: MaterialState): Material {
  const bytes = randomBytes(32);
  return { id: randomBytes(32).toString('hex'), bytes, state };
}

export class Kms {
  private readonly keys: KeyRec[] = [];
  private readonly account: string;
  readonly budget: number;

  constructor(
    world: World,
    private readonly speed: number,
    private readonly scheduler: Scheduler,
  ) {
    this.account = world.account;
    this.budget = world.settings.rotationBudget ?? DEFAULT_ROTATION_BUDGET;
    const now = Date.now();
    // Primaries (and non-replicas) first, so replicas can share their primary's lineage.
    const order = [...world.keys].sort((a, b) => Number(a.multiRegionKeyType === 'REPLICA') - Number(b.multiRegionKeyType === 'REPLICA'));
    for (const k of order) this.addKey(k, now, '');
  }

  // ---------- world seeding ----------
  private addKey(w: WorldKey, now: number, description: string, creationDate?: number): KeyRec {
    const arn = keyArnOf(w);
    const primary = w.multiRegionKeyType === 'REPLICA' ? this.keys.find((k) => k.arn === w.primaryArn) : undefined;
    const lineage = primary ? primary.lineage : this.seedLineage(w, now);
    const oldest = lineage.rotations.length ? lineage.rotations[0].date : now;
    const rec: KeyRec = {
      w,
      arn,
      state: w.keyState,
      creationDate: creationDate ?? Math.min(now - 365 * DAY_MS, oldest - DAY_MS),
      description,
      tags: new Map(Object.entries(w.tags)),
      lineage,
      customKeyStoreId: CUSTOM_KEY_STORE_ORIGINS.has(w.origin) ? `cks-${w.id.replace(/[^0-9a-f]/gi, '').slice(0, 17).padEnd(17, '0')}` : undefined,
    };
    this.keys.push(rec);
    return rec;
  }

  private seedLineage(w: WorldKey, now: number): Lineage {
    const materials: Material[] = [newMaterial('NON_CURRENT')];
    const rotations: Rotation[] = [];
    const newest = now - (w.lastOnDemandRotationMinutesAgo ?? 30 * 24 * 60) * 60_000;
    for (let i = w.onDemandRotationsUsed - 1; i >= 0; i--) {
      const m = newMaterial('NON_CURRENT');
      materials.push(m);
      rotations.push({ materialId: m.id, date: newest - i * DAY_MS, type: 'ON_DEMAND' });
    }
    materials[materials.length - 1].state = 'CURRENT';
    if (w.pendingImportedMaterial) materials.push(newMaterial('PENDING_ROTATION'));
    const lineage: Lineage = {
      materials,
      rotations,
      automaticEnabled: w.automaticRotationDueWithinMinutes !== null || w.keyManager === 'AWS',
      rotationMs: (w.rotationSeconds * 1000) / this.speed,
    };
    if (w.rotationInProgress) this.startOnDemand(lineage, now - 60_000, now + lineage.rotationMs);
    if (w.automaticRotationDueWithinMinutes !== null) {
      lineage.automaticDueAt = now + (w.automaticRotationDueWithinMinutes * 60_000) / this.speed;
      lineage.nextAutomaticAt = lineage.automaticDueAt;
      this.scheduler.at(lineage.automaticDueAt, () => this.settle());
    }
    return lineage;
  }

  private startOnDemand(l: Lineage, start: number, completeAt: number): void {
    l.onDemand = { start, completeAt };
    this.scheduler.at(completeAt, () => this.settle());
  }

  /** Apply every rotation that is due by now, in time order. */
  settle(now = Date.now()): void {
    for (const l of new Set(this.keys.map((k) => k.lineage))) {
      for (;;) {
        const auto = l.automaticDueAt ?? Infinity;
        const onDemand = l.onDemand?.completeAt ?? Infinity;
        const next = Math.min(auto, onDemand);
        if (next > now) break;
        if (auto <= onDemand) {
          this.rotate(l, 'AUTOMATIC', auto);
          l.automaticDueAt = undefined;
          l.nextAutomaticAt = auto + AUTOMATIC_ROTATION_PERIOD_DAYS * DAY_MS;
        } else {
          this.rotate(l, 'ON_DEMAND', onDemand);
          l.onDemand = undefined;
        }
      }
    }
  }

  /** New material becomes CURRENT (imported PENDING_ROTATION material if there is one, else random). */
  private rotate(l: Lineage, type: Rotation['type'], date: number): void {
    const pending = type === 'ON_DEMAND' ? l.materials.find((m) => m.state === 'PENDING_ROTATION') : undefined;
    for (const m of l.materials) if (m.state === 'CURRENT') m.state = 'NON_CURRENT';
    const next = pending ?? newMaterial('CURRENT');
    next.state = 'CURRENT';
    if (!pending) l.materials.push(next);
    l.rotations.push({ materialId: next.id, date, type });
  }

  // ---------- key resolution ----------
  private notFound(arn: string): ServiceError {
    return new ServiceError('NotFoundException', `Key '${arn}' does not exist`);
  }

  /**
   * Resolve a KeyId parameter in `region`. Keys of another account are refused with
   * AccessDeniedException for every operation: real KMS allows some operations across accounts
   * only when the key policy allows it, and the stand-in's caller never has such a grant (this
   * includes DescribeKey by full key ARN).
   */
  private resolve(keyId: string, region: string, allowAlias: boolean, op: string): KeyRec {
    let rec: KeyRec | undefined;
    if (keyId.startsWith('arn:')) {
      const m = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):(key|alias)\/(.+)$/.exec(keyId);
      if (!m) throw new ServiceError('InvalidArnException', `Invalid arn ${keyId}`);
      const [, r, account, type, rest] = m;
      if (account !== this.account) {
        throw new ServiceError('AccessDeniedException', `User: arn:aws:iam::${this.account}:root is not authorized to perform: kms:${op} on resource: ${keyId} because no resource-based policy allows the kms:${op} action`);
      }
      if (r !== region) throw new ServiceError('NotFoundException', `Invalid arn ${r}`);
      if (type === 'alias') {
        if (!allowAlias) throw this.aliasRefused(keyId, op);
        rec = this.byAlias(`alias/${rest}`, region);
        if (!rec) throw new ServiceError('NotFoundException', `Alias ${keyId} is not found.`);
      } else {
        rec = this.keys.find((k) => k.arn === keyId);
        if (!rec) throw this.notFound(keyId);
      }
    } else if (keyId.startsWith('alias/')) {
      if (!allowAlias) throw this.aliasRefused(keyId, op);
      rec = this.byAlias(keyId, region);
      if (!rec) throw new ServiceError('NotFoundException', `Alias arn:aws:kms:${region}:${this.account}:${keyId} is not found.`);
    } else {
      rec = this.keys.find((k) => k.w.id === keyId && k.w.region === region && k.w.account === this.account);
      if (!rec) throw this.notFound(`arn:aws:kms:${region}:${this.account}:key/${keyId}`);
    }
    return rec;
  }

  /** Operations whose KeyId must be a key id or key ARN (RotateKeyOnDemand, ListKeyRotations, ...). */
  private aliasRefused(keyId: string, op: string): ServiceError {
    return new ServiceError('NotFoundException', `${op} does not accept an alias (${keyId}); specify the key ID or key ARN`);
  }

  private byAlias(alias: string, region: string): KeyRec | undefined {
    return this.keys.find((k) => k.w.region === region && k.w.account === this.account && k.w.aliases.includes(alias));
  }

  /** Test helper: the ARN of a key by id, alias or ARN (caller account first, then any account). */
  keyArn(idOrAlias: string, region: string): string {
    const found =
      this.keys.find((k) => k.arn === idOrAlias) ??
      this.keys.find((k) => k.w.region === region && k.w.account === this.account && (k.w.id === idOrAlias || k.w.aliases.includes(idOrAlias))) ??
      this.keys.find((k) => k.w.region === region && (k.w.id === idOrAlias || k.w.aliases.includes(idOrAlias)));
    if (!found) throw new Error(`stand-in: no key ${idOrAlias} in ${region}`);
    return found.arn;
  }

  // ---------- shared checks ----------
  private current(rec: KeyRec): Material {
    const m = rec.lineage.materials.find((x) => x.state === 'CURRENT');
    if (!m) throw new ServiceError('KMSInvalidStateException', `${rec.arn} has no key material`);
    return m;
  }

  private checkUsable(rec: KeyRec): void {
    if (rec.state === 'Disabled') throw new ServiceError('DisabledException', `${rec.arn} is disabled.`);
    if (rec.state !== 'Enabled') throw new ServiceError('KMSInvalidStateException', `${rec.arn} is ${stateWords(rec.state)}.`);
  }

  private checkSymmetricEncrypt(rec: KeyRec, op: string): void {
    if (rec.w.keyUsage !== 'ENCRYPT_DECRYPT') {
      throw new ServiceError('InvalidKeyUsageException', `${rec.arn} key usage is ${rec.w.keyUsage} which is not valid for ${op}.`);
    }
    if (rec.w.keySpec !== 'SYMMETRIC_DEFAULT') {
      // Stand-in limitation: asymmetric ENCRYPT_DECRYPT keys are not simulated.
      throw new ServiceError('InvalidKeyUsageException', `${rec.arn} has KeySpec ${rec.w.keySpec}; the stand-in only does SYMMETRIC_DEFAULT encryption.`);
    }
  }

  private forEncrypt(keyId: string, region: string, op: string): KeyRec {
    const rec = this.resolve(keyId, region, true, op);
    this.checkUsable(rec);
    this.checkSymmetricEncrypt(rec, op);
    return rec;
  }

  private open(parsed: ParsedBlob, region: string, ctx: Record<string, string>, keyIdParam: string | undefined, op: string): { rec: KeyRec; plaintext: Buffer; material: Material } {
    if (parsed.account !== this.account) {
      throw new ServiceError('AccessDeniedException', `User: arn:aws:iam::${this.account}:root is not authorized to perform: kms:${op} on a key in account ${parsed.account}`);
    }
    const rec = this.keys.find((k) => k.w.id === parsed.keyId && k.w.region === region && k.w.account === parsed.account);
    if (!rec) throw new ServiceError('InvalidCiphertextException', `The ciphertext refers to key ${parsed.keyId}, which does not exist in ${region}.`);
    if (keyIdParam !== undefined) {
      const named = this.resolve(keyIdParam, region, true, op);
      if (named !== rec) throw new ServiceError('IncorrectKeyException', `The key ID in the request does not identify the KMS key that encrypted the ciphertext (${rec.arn}).`);
    }
    this.checkUsable(rec);
    this.checkSymmetricEncrypt(rec, op);
    const material = rec.lineage.materials.find((m) => m.id === parsed.materialId);
    if (!material) throw new ServiceError('InvalidCiphertextException', 'The ciphertext names key material this key does not have.');
    try {
      const d = createDecipheriv('aes-256-gcm', material.bytes, parsed.iv);
      d.setAAD(Buffer.concat([parsed.header, canonicalContext(ctx)]));
      d.setAuthTag(parsed.tag);
      return { rec, plaintext: Buffer.concat([d.update(parsed.ct), d.final()]), material };
    } catch {
      throw new ServiceError('InvalidCiphertextException', 'The ciphertext or its encryption context is not valid for this key.');
    }
  }

  // ---------- in-process API (used by the S3 stand-in) ----------
  generateDataKey(keyId: string, region: string, ctx: Record<string, string>, bytes = 32): DataKey {
    this.settle();
    const rec = this.forEncrypt(keyId, region, 'GenerateDataKey');
    const m = this.current(rec);
    const plaintext = randomBytes(bytes);
    return { plaintext, blob: seal(rec.w.account, rec.w.id, m, plaintext, ctx), keyArn: rec.arn, keyMaterialId: m.id };
  }

  decrypt(ciphertext: Buffer, region: string, ctx: Record<string, string>): DataKey {
    this.settle();
    const { rec, plaintext, material } = this.open(parseCiphertext(ciphertext), region, ctx, undefined, 'Decrypt');
    return { plaintext, blob: ciphertext, keyArn: rec.arn, keyMaterialId: material.id };
  }

  /** The key a ciphertext blob names and the key material that made it (for test inspection). */
  inspect(ciphertext: Buffer): { account: string; keyId: string; keyMaterialId: string } {
    const p = parseCiphertext(ciphertext);
    return { account: p.account, keyId: p.keyId, keyMaterialId: p.materialId };
  }

  /** The AWS managed key behind an alias like alias/aws/s3, created on first use as real AWS does. */
  awsManagedKey(alias: string, region: string): string {
    const existing = this.byAlias(alias, region);
    if (existing) return existing.arn;
    const w: WorldKey = { ...defaultWorldKey(randomUUID(), this.account, region), keyManager: 'AWS', aliases: [alias] };
    const now = Date.now();
    return this.addKey(w, now, `Default key that protects my ${alias.split('/')[2]} data when no other key is defined`, now).arn;
  }

  // ---------- wire operations ----------
  handle(op: string, input: Input, region: string): unknown {
    this.settle();
    switch (op) {
      case 'CreateKey': return this.createKey(input, region);
      case 'DescribeKey': return { KeyMetadata: this.metadata(this.resolve(str(input, 'KeyId', true), region, true, op)) };
      case 'ListAliases': return this.listAliases(input, region);
      case 'ListResourceTags': return this.listResourceTags(input, region);
      case 'GetKeyRotationStatus': return this.getKeyRotationStatus(input, region);
      case 'RotateKeyOnDemand': return this.rotateKeyOnDemand(input, region);
      case 'ListKeyRotations': return this.listKeyRotations(input, region);
      case 'Encrypt': return this.encrypt(input, region);
      case 'Decrypt': return this.decryptOp(input, region);
      case 'GenerateDataKey': return this.generateDataKeyOp(input, region);
      case 'ReEncrypt': return this.reEncrypt(input, region);
      case 'ScheduleKeyDeletion': return this.scheduleKeyDeletion(input, region);
      default: throw new Error(`unrouted KMS operation ${op}`);
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
      CustomerMasterKeySpec: w.keySpec.startsWith('ML_') || w.keySpec === 'ECC_NIST_EDWARDS25519' ? undefined : w.keySpec,
      KeySpec: w.keySpec,
      MultiRegion: w.multiRegion,
    };
    if (w.keyUsage === 'ENCRYPT_DECRYPT') md.EncryptionAlgorithms = w.keySpec === 'SYMMETRIC_DEFAULT' ? ['SYMMETRIC_DEFAULT'] : ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'];
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
        ReplicaKeys: this.keys.filter((k) => k.w.multiRegionKeyType === 'REPLICA' && k.w.primaryArn === primaryArn).map((k) => ({ Arn: k.arn, Region: k.w.region })),
      };
    }
    const current = rec.lineage.materials.find((m) => m.state === 'CURRENT');
    if (w.keySpec === 'SYMMETRIC_DEFAULT' && current && rec.state !== 'PendingImport') md.CurrentKeyMaterialId = current.id;
    return md;
  }

  private createKey(input: Input, region: string): unknown {
    const keySpec = str(input, 'KeySpec') ?? str(input, 'CustomerMasterKeySpec') ?? 'SYMMETRIC_DEFAULT';
    const keyUsage = str(input, 'KeyUsage') ?? (keySpec.startsWith('HMAC') ? 'GENERATE_VERIFY_MAC' : 'ENCRYPT_DECRYPT');
    const origin = str(input, 'Origin') ?? 'AWS_KMS';
    const multiRegion = input.MultiRegion === true;
    const base = defaultWorldKey(multiRegion ? `mrk-${randomBytes(16).toString('hex')}` : randomUUID(), this.account, region);
    const check = <T extends string>(name: string, value: string, allowed: readonly T[]): T => {
      if (!allowed.includes(value as T)) throw new ServiceError('ValidationException', `1 validation error detected: Value '${value}' at '${lower(name)}' failed to satisfy constraint: Member must satisfy enum value set: [${allowed.join(', ')}]`);
      return value as T;
    };
    const SPECS = ['SYMMETRIC_DEFAULT', 'RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1', 'ECC_NIST_EDWARDS25519', 'HMAC_224', 'HMAC_256', 'HMAC_384', 'HMAC_512', 'SM2', 'ML_DSA_44', 'ML_DSA_65', 'ML_DSA_87', 'ML_KEM_512', 'ML_KEM_768', 'ML_KEM_1024'] as const;
    const w: WorldKey = {
      ...base,
      keySpec: check('KeySpec', keySpec, SPECS),
      keyUsage: check('KeyUsage', keyUsage, ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT', 'ENCAPSULATE_DECAPSULATE'] as const),
      origin: check('Origin', origin, ['AWS_KMS', 'EXTERNAL', 'AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE'] as const),
      keyState: origin === 'EXTERNAL' ? 'PendingImport' : 'Enabled',
      multiRegion,
    };
    if (keySpec === 'SYMMETRIC_DEFAULT' && keyUsage !== 'ENCRYPT_DECRYPT') {
      throw new ServiceError('ValidationException', `KeyUsage ${keyUsage} is not compatible with KeySpec SYMMETRIC_DEFAULT`);
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
    const rec = this.addKey(w, now, str(input, 'Description') ?? '', now);
    const customId = str(input, 'CustomKeyStoreId');
    if (customId && rec.customKeyStoreId) rec.customKeyStoreId = customId;
    return { KeyMetadata: this.metadata(rec) };
  }

  private paginate<T>(items: T[], input: Input, scope: string): { page: T[]; NextMarker?: string; Truncated: boolean } {
    const limit = num(input, 'Limit') ?? 100;
    if (limit < 1 || limit > 1000) {
      throw new ServiceError('ValidationException', `1 validation error detected: Value '${limit}' at 'limit' failed to satisfy constraint: Member must have value between 1 and 1000`);
    }
    let offset = 0;
    const marker = str(input, 'Marker');
    if (marker !== undefined) {
      try {
        const m = JSON.parse(Buffer.from(marker, 'base64url').toString('utf8')) as { s: unknown; o: unknown };
        if (m.s !== scope || typeof m.o !== 'number' || m.o < 0 || !Number.isInteger(m.o)) throw new Error('bad');
        offset = m.o;
      } catch {
        throw new ServiceError('InvalidMarkerException', 'The request was rejected because the marker that specifies where pagination should next begin is not valid.');
      }
    }
    const page = items.slice(offset, offset + limit);
    const next = offset + page.length;
    if (next >= items.length) return { page, Truncated: false };
    return { page, Truncated: true, NextMarker: Buffer.from(JSON.stringify({ s: scope, o: next })).toString('base64url') };
  }

  private listAliases(input: Input, region: string): unknown {
    const keyId = str(input, 'KeyId');
    const target = keyId === undefined ? undefined : this.resolve(keyId, region, false, 'ListAliases');
    const entries = this.keys
      .filter((k) => k.w.region === region && k.w.account === this.account && (!target || k === target))
      .flatMap((k) => k.w.aliases.map((a) => ({
        AliasName: a,
        AliasArn: `arn:aws:kms:${region}:${this.account}:${a}`,
        TargetKeyId: k.w.id,
        CreationDate: secs(k.creationDate),
        LastUpdatedDate: secs(k.creationDate),
      })))
      .sort((a, b) => a.AliasName.localeCompare(b.AliasName));
    const { page, ...rest } = this.paginate(entries, input, `aliases:${region}:${target?.arn ?? ''}`);
    return { Aliases: page, ...rest };
  }

  private listResourceTags(input: Input, region: string): unknown {
    const rec = this.resolve(str(input, 'KeyId', true), region, false, 'ListResourceTags');
    const tags = [...rec.tags].map(([TagKey, TagValue]) => ({ TagKey, TagValue }));
    const { page, ...rest } = this.paginate(tags, input, `tags:${rec.arn}`);
    return { Tags: page, ...rest };
  }

  private checkRotatable(rec: KeyRec, op: string): void {
    if (rec.w.keySpec !== 'SYMMETRIC_DEFAULT') {
      throw new ServiceError('UnsupportedOperationException', `${rec.arn} has KeySpec ${rec.w.keySpec}; ${op} supports only symmetric encryption keys (SYMMETRIC_DEFAULT).`);
    }
  }

  private getKeyRotationStatus(input: Input, region: string): unknown {
    const rec = this.resolve(str(input, 'KeyId', true), region, false, 'GetKeyRotationStatus');
    this.checkRotatable(rec, 'GetKeyRotationStatus');
    const l = rec.lineage;
    const out: Record<string, unknown> = { KeyId: rec.arn, KeyRotationEnabled: l.automaticEnabled };
    if (l.automaticEnabled) {
      out.RotationPeriodInDays = AUTOMATIC_ROTATION_PERIOD_DAYS;
      if (l.nextAutomaticAt !== undefined) out.NextRotationDate = secs(l.nextAutomaticAt);
    }
    // Present ONLY while an on-demand rotation is in progress.
    if (l.onDemand) out.OnDemandRotationStartDate = secs(l.onDemand.start);
    return out;
  }

  private rotateKeyOnDemand(input: Input, region: string): unknown {
    const rec = this.resolve(str(input, 'KeyId', true), region, false, 'RotateKeyOnDemand');
    const w = rec.w;
    if (w.keyManager === 'AWS') {
      throw new ServiceError('UnsupportedOperationException', `${rec.arn} is an AWS managed key: AWS rotates it every year and it cannot be rotated on demand.`);
    }
    if (w.keySpec !== 'SYMMETRIC_DEFAULT') {
      throw new ServiceError('UnsupportedOperationException', `${rec.arn} has KeySpec ${w.keySpec}: on-demand rotation supports only symmetric encryption keys (SYMMETRIC_DEFAULT), not asymmetric or HMAC keys.`);
    }
    if (CUSTOM_KEY_STORE_ORIGINS.has(w.origin)) {
      throw new ServiceError('UnsupportedOperationException', `${rec.arn} is in a custom key store (Origin ${w.origin}, ${rec.customKeyStoreId}): on-demand rotation is not supported.`);
    }
    if (w.multiRegionKeyType === 'REPLICA') {
      throw new ServiceError('UnsupportedOperationException', `${rec.arn} is a multi-Region replica key: call RotateKeyOnDemand on its primary key ${w.primaryArn} in ${w.primaryArn!.split(':')[3]}.`);
    }
    this.checkUsable(rec);
    const l = rec.lineage;
    if (w.origin === 'EXTERNAL' && !l.materials.some((m) => m.state === 'PENDING_ROTATION')) {
      // Choice: KMSInvalidStateException. The API reference says the imported key material "should be
      // in PENDING_ROTATION" state before on-demand rotation; the key type itself IS supported (so not
      // UnsupportedOperationException), it is the state of its key material that is wrong.
      throw new ServiceError('KMSInvalidStateException', `${rec.arn} has imported key material (Origin EXTERNAL) and no new key material in PENDING_ROTATION state: import new key material with ImportType NEW_KEY_MATERIAL before rotating on demand.`);
    }
    const now = Date.now();
    if (l.onDemand) {
      // Undocumented in AWS: what KMS does while an on-demand rotation is already running. The
      // stand-in answers ConflictException (callers should check OnDemandRotationStartDate first).
      throw new ServiceError('ConflictException', `An on-demand rotation of ${rec.arn} is already in progress (started ${new Date(l.onDemand.start).toISOString()}).`);
    }
    const window = (AUTOMATIC_ROTATION_CONFLICT_MINUTES * 60_000) / this.speed;
    if (l.automaticDueAt !== undefined && now >= l.automaticDueAt - window) {
      throw new ServiceError('ConflictException', `An automatic rotation of ${rec.arn} is in progress or scheduled to begin within the next ${AUTOMATIC_ROTATION_CONFLICT_MINUTES} minutes.`);
    }
    const used = l.rotations.filter((r) => r.type === 'ON_DEMAND').length;
    if (used >= this.budget) {
      throw new ServiceError('LimitExceededException', `${rec.arn} has used all ${this.budget} on-demand rotations allowed for the life of the key.`);
    }
    this.startOnDemand(l, now, now + l.rotationMs);
    return { KeyId: w.id };
  }

  private listKeyRotations(input: Input, region: string): unknown {
    const rec = this.resolve(str(input, 'KeyId', true), region, false, 'ListKeyRotations');
    this.checkRotatable(rec, 'ListKeyRotations');
    if (CUSTOM_KEY_STORE_ORIGINS.has(rec.w.origin)) {
      throw new ServiceError('UnsupportedOperationException', `${rec.arn} is in a custom key store; it has no key rotations.`);
    }
    const include = str(input, 'IncludeKeyMaterial') ?? 'ROTATIONS_ONLY';
    if (include !== 'ROTATIONS_ONLY' && include !== 'ALL_KEY_MATERIAL') {
      throw new ServiceError('ValidationException', `Value '${include}' at 'includeKeyMaterial' failed to satisfy constraint: Member must satisfy enum value set: [ALL_KEY_MATERIAL, ROTATIONS_ONLY]`);
    }
    const l = rec.lineage;
    const stateOf = (id: string) => l.materials.find((m) => m.id === id)!.state;
    const imported = rec.w.origin === 'EXTERNAL' ? { ImportState: 'IMPORTED', ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' } : {};
    // Order: oldest first (initial material, rotations by date, then pending material).
    const entries: Record<string, unknown>[] = [];
    if (include === 'ALL_KEY_MATERIAL') entries.push({ KeyId: rec.w.id, KeyMaterialId: l.materials[0].id, KeyMaterialState: l.materials[0].state, ...imported });
    for (const r of l.rotations) {
      entries.push({ KeyId: rec.w.id, KeyMaterialId: r.materialId, KeyMaterialState: stateOf(r.materialId), ...imported, RotationDate: secs(r.date), RotationType: r.type });
    }
    if (include === 'ALL_KEY_MATERIAL') {
      for (const m of l.materials.filter((x) => x.state === 'PENDING_ROTATION')) entries.push({ KeyId: rec.w.id, KeyMaterialId: m.id, KeyMaterialState: m.state, ...imported });
    }
    const { page, ...rest } = this.paginate(entries, input, `rotations:${rec.arn}:${include}`);
    return { Rotations: page, ...rest };
  }

  private dryRun(input: Input): void {
    if (input.DryRun === true) throw new ServiceError('DryRunOperationException', 'The request would have succeeded, but the DryRun option is set.');
  }

  private encrypt(input: Input, region: string): unknown {
    const rec = this.forEncrypt(str(input, 'KeyId', true), region, 'Encrypt');
    const plaintext = blob(input, 'Plaintext')!;
    if (plaintext.length < 1 || plaintext.length > 4096) {
      throw new ServiceError('ValidationException', "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length between 1 and 4096");
    }
    this.dryRun(input);
    const ct = seal(rec.w.account, rec.w.id, this.current(rec), plaintext, context(input, 'EncryptionContext'));
    return { CiphertextBlob: b64(ct), KeyId: rec.arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
  }

  private decryptOp(input: Input, region: string): unknown {
    const parsed = parseCiphertext(blob(input, 'CiphertextBlob')!);
    const { rec, plaintext, material } = this.open(parsed, region, context(input, 'EncryptionContext'), str(input, 'KeyId'), 'Decrypt');
    this.dryRun(input);
    return { KeyId: rec.arn, Plaintext: b64(plaintext), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT', KeyMaterialId: material.id };
  }

  private generateDataKeyOp(input: Input, region: string): unknown {
    const spec = str(input, 'KeySpec');
    const n = num(input, 'NumberOfBytes');
    if ((spec === undefined) === (n === undefined)) {
      throw new ServiceError('ValidationException', 'Specify either KeySpec or NumberOfBytes, but not both.');
    }
    if (spec !== undefined && spec !== 'AES_256' && spec !== 'AES_128') {
      throw new ServiceError('ValidationException', `Value '${spec}' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]`);
    }
    if (n !== undefined && (n < 1 || n > 1024)) {
      throw new ServiceError('ValidationException', `Value '${n}' at 'numberOfBytes' failed to satisfy constraint: Member must have value between 1 and 1024`);
    }
    const rec = this.forEncrypt(str(input, 'KeyId', true), region, 'GenerateDataKey');
    this.dryRun(input);
    const m = this.current(rec);
    const plaintext = randomBytes(n ?? (spec === 'AES_128' ? 16 : 32));
    const ct = seal(rec.w.account, rec.w.id, m, plaintext, context(input, 'EncryptionContext'));
    return { CiphertextBlob: b64(ct), Plaintext: b64(plaintext), KeyId: rec.arn, KeyMaterialId: m.id };
  }

  private reEncrypt(input: Input, region: string): unknown {
    const parsed = parseCiphertext(blob(input, 'CiphertextBlob')!);
    const src = this.open(parsed, region, context(input, 'SourceEncryptionContext'), str(input, 'SourceKeyId'), 'ReEncrypt');
    const dest = this.forEncrypt(str(input, 'DestinationKeyId', true), region, 'ReEncrypt');
    this.dryRun(input);
    const m = this.current(dest);
    const ct = seal(dest.w.account, dest.w.id, m, src.plaintext, context(input, 'DestinationEncryptionContext'));
    return {
      CiphertextBlob: b64(ct),
      SourceKeyId: src.rec.arn,
      KeyId: dest.arn,
      SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      SourceKeyMaterialId: src.material.id,
      DestinationKeyMaterialId: m.id,
    };
  }

  private scheduleKeyDeletion(input: Input, region: string): unknown {
    const rec = this.resolve(str(input, 'KeyId', true), region, false, 'ScheduleKeyDeletion');
    const days = num(input, 'PendingWindowInDays') ?? 30;
    if (days < 7 || days > 30) {
      throw new ServiceError('ValidationException', `1 validation error detected: Value '${days}' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value between 7 and 30`);
    }
    if (rec.w.keyManager === 'AWS') throw new ServiceError('UnsupportedOperationException', `${rec.arn} is an AWS managed key and cannot be deleted.`);
    if (!['Enabled', 'Disabled', 'PendingImport', 'Unavailable'].includes(rec.state)) {
      throw new ServiceError('KMSInvalidStateException', `${rec.arn} is ${stateWords(rec.state)}.`);
    }
    const liveReplicas = this.keys.filter((k) => k.w.multiRegionKeyType === 'REPLICA' && k.w.primaryArn === rec.arn && k.state !== 'PendingDeletion');
    rec.state = rec.w.multiRegionKeyType === 'PRIMARY' && rec.w.multiRegion && liveReplicas.length ? 'PendingReplicaDeletion' : 'PendingDeletion';
    rec.deletionDate = Date.now() + days * DAY_MS;
    rec.pendingWindowInDays = days;
    return { KeyId: rec.arn, DeletionDate: secs(rec.deletionDate), KeyState: rec.state, PendingWindowInDays: days };
  }
}

function stateWords(state: string): string {
  return ({ PendingDeletion: 'pending deletion', PendingReplicaDeletion: 'pending replica deletion', PendingImport: 'pending import', Unavailable: 'unavailable', Creating: 'being created', Updating: 'being updated', Disabled: 'disabled' } as Record<string, string>)[state] ?? state;
}
