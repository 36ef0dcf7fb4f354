import { createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { settingsObject } from '../../lib/settings/settings';
import { defaultWorldKey, keyArnOf, type KmsBehaviour, type World, type WorldKey } from '../world';
import { ServiceError } from './errors';
import { Scheduler } from './scheduler';
import { canonicalContext, parseCiphertext, seal, type ParsedBlob } from './kms-blob';

// The ciphertext blob format (kms-blob.ts) is part of the key model's interface.
export { parseCiphertext } from './kms-blob';

/**
 * The KMS stand-in's model: keys, their key material and rotations, the ciphertext blob format
 * and real AES-256-GCM crypto. The wire operations (kms.ts) and the S3 stand-in act on it; the
 * rules follow the AWS KMS documentation and the @aws-sdk/client-kms doc comments.
 */

/** The AWS lifetime on-demand rotation budget, taken from the project's setting default (25). */
export const DEFAULT_ROTATION_BUDGET: number = settingsObject.shape.rotationBudget.parse(undefined);
/** KMS refuses an on-demand rotation when an automatic one starts within this window (scaled by speed). */
export const AUTOMATIC_ROTATION_CONFLICT_MINUTES = 20;
export const AUTOMATIC_ROTATION_PERIOD_DAYS = 365;
export const DAY_MS = 24 * 3600 * 1000;
export const CUSTOM_KEY_STORE_ORIGINS = new Set(['AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE']);

export type MaterialState = 'CURRENT' | 'NON_CURRENT' | 'PENDING_ROTATION';
export interface Material {
  id: string; // 64 hex chars, like real KeyMaterialIds
  bytes: Buffer; // 32 random bytes (AES-256)
  state: MaterialState;
}
export interface Rotation {
  materialId: string;
  date: number; // ms epoch
  type: 'AUTOMATIC' | 'ON_DEMAND';
}
/** Key material and rotation history; shared by a multi-Region primary and its replicas. */
export interface Lineage {
  materials: Material[]; // creation order; exactly one CURRENT once the key has material
  rotations: Rotation[];
  /** The running on-demand rotation; `extra`: further rotations accepted while it ran (kmsBehaviour). */
  onDemand?: { start: number; completeAt: number; extra: number };
  /**
   * What reads show until `until` (kmsBehaviour.readAfterRotateDelaySeconds): the key as it was
   * before the last accepted RotateKeyOnDemand.
   */
  staleView?: LineageView & { until: number };
  automaticDueAt?: number;
  nextAutomaticAt?: number;
  automaticEnabled: boolean;
  rotationMs: number;
}
/** What KMS reads show of a lineage: rotations, the state of each key material, the running rotation. */
export interface LineageView {
  rotations: Rotation[];
  materialStates: Map<string, MaterialState>;
  onDemand?: { start: number };
}

export interface KeyRec {
  w: WorldKey;
  arn: string;
  state: string;
  creationDate: number;
  description: string;
  tags: Map<string, string>;
  lineage: Lineage;
  customKeyStoreId?: string;
  /** Set once the world's stagedMaterialLostBeforeRotate took the staged material away. */
  stagedMaterialLost?: boolean;
  deletionDate?: number;
  pendingWindowInDays?: number;
}

export interface DataKey {
  plaintext: Buffer;
  blob: Buffer;
  keyArn: string;
  keyMaterialId: string;
}

/** Fresh random key material (AES-256) with a random 64-hex-character id. */
export function newMaterial(state: MaterialState): Material {
  const bytes = randomBytes(32);
  return { id: randomBytes(32).toString('hex'), bytes, state };
}

/** Every key the stand-in holds, and what happens to them over (scaled) time. */
export class KmsKeys {
  /** Every key, in creation order (replicas after their primaries). */
  readonly all: KeyRec[] = [];
  readonly account: string;
  readonly budget: number;
  /** The switches for behaviours AWS does not document. */
  readonly behaviour: KmsBehaviour;

  constructor(
    world: World,
    readonly speed: number,
    private readonly scheduler: Scheduler,
  ) {
    this.account = world.account;
    this.budget = world.settings.rotationBudget ?? DEFAULT_ROTATION_BUDGET;
    this.behaviour = world.kmsBehaviour;
    const now = Date.now();
    // Primaries (and non-replicas) first, so replicas can share their primary's lineage.
    const order = [...world.keys].sort(
      (a, b) => Number(a.multiRegionKeyType === 'REPLICA') - Number(b.multiRegionKeyType === 'REPLICA'),
    );
    for (const k of order) this.addKey(k, now, '');
  }

  // ---------- world seeding ----------
  addKey(w: WorldKey, now: number, description: string, creationDate?: number): KeyRec {
    const arn = keyArnOf(w);
    const primary = w.multiRegionKeyType === 'REPLICA' ? this.all.find((k) => k.arn === w.primaryArn) : undefined;
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
      customKeyStoreId: CUSTOM_KEY_STORE_ORIGINS.has(w.origin)
        ? `cks-${w.id
            .replace(/[^0-9a-f]/gi, '')
            .slice(0, 17)
            .padEnd(17, '0')}`
        : undefined,
    };
    this.all.push(rec);
    return rec;
  }

  private seedLineage(w: WorldKey, now: number): Lineage {
    const materials: Material[] = [newMaterial('NON_CURRENT')];
    const rotations: Rotation[] = [];
    const newest = now - (w.lastOnDemandRotationMinutesAgo ?? 30 * 24 * 60) * 60_000;
    for (let i = w.onDemandRotationsUsed - 1; i >= 0; i--) {
      const m = newMaterial('NON_CURRENT');
      materials.push(m);
      rotations.push({
        materialId: m.id,
        date: newest - i * w.onDemandRotationSpacingMinutes * 60_000,
        type: 'ON_DEMAND',
      });
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

  startOnDemand(l: Lineage, start: number, completeAt: number): void {
    l.onDemand = { start, completeAt, extra: 0 };
    this.scheduler.at(completeAt, () => this.settle());
  }

  /** What reads show of `l` now: the stale view while it lasts, else the lineage itself. */
  view(l: Lineage, now = Date.now()): LineageView {
    if (l.staleView && now < l.staleView.until) return l.staleView;
    return {
      rotations: l.rotations,
      materialStates: new Map(l.materials.map((m) => [m.id, m.state])),
      onDemand: l.onDemand,
    };
  }

  /** Freeze what reads show of `l` for `seconds` (scaled by speed); an earlier view still showing is kept. */
  hideChangesFor(l: Lineage, seconds: number, now = Date.now()): void {
    if (seconds <= 0) return;
    const until = now + (seconds * 1000) / this.speed;
    const view = l.staleView && now < l.staleView.until ? l.staleView : this.view(l, now);
    l.staleView = {
      rotations: [...view.rotations],
      materialStates: new Map(view.materialStates),
      ...(view.onDemand ? { onDemand: { start: view.onDemand.start } } : {}),
      until,
    };
  }

  /** Apply every rotation that is due by now, in time order. */
  settle(now = Date.now()): void {
    for (const l of new Set(this.all.map((k) => k.lineage))) {
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
          // Rotations accepted while this one ran (kmsBehaviour "accepted") are spent too.
          for (let i = 0; i <= l.onDemand!.extra; i++) this.rotate(l, 'ON_DEMAND', onDemand);
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
  resolve(keyId: string, region: string, allowAlias: boolean, op: string): KeyRec {
    let rec: KeyRec | undefined;
    if (keyId.startsWith('arn:')) {
      const m = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):(key|alias)\/(.+)$/.exec(keyId);
      if (!m) throw new ServiceError('InvalidArnException', `Invalid arn ${keyId}`);
      const [, r, account, type, rest] = m;
      if (account !== this.account) {
        throw new ServiceError(
          'AccessDeniedException',
          `User: arn:aws:iam::${this.account}:root is not authorized to perform: kms:${op} on resource: ${keyId} because no resource-based policy allows the kms:${op} action`,
        );
      }
      if (r !== region) throw new ServiceError('NotFoundException', `Invalid arn ${r}`);
      if (type === 'alias') {
        if (!allowAlias) throw this.aliasRefused(keyId, op);
        rec = this.byAlias(`alias/${rest}`, region);
        if (!rec) throw new ServiceError('NotFoundException', `Alias ${keyId} is not found.`);
      } else {
        rec = this.all.find((k) => k.arn === keyId);
        if (!rec) throw this.notFound(keyId);
      }
    } else if (keyId.startsWith('alias/')) {
      if (!allowAlias) throw this.aliasRefused(keyId, op);
      rec = this.byAlias(keyId, region);
      if (!rec)
        throw new ServiceError(
          'NotFoundException',
          `Alias arn:aws:kms:${region}:${this.account}:${keyId} is not found.`,
        );
    } else {
      rec = this.all.find((k) => k.w.id === keyId && k.w.region === region && k.w.account === this.account);
      if (!rec) throw this.notFound(`arn:aws:kms:${region}:${this.account}:key/${keyId}`);
    }
    return rec;
  }

  /** Operations whose KeyId must be a key id or key ARN (RotateKeyOnDemand, ListKeyRotations, ...). */
  private aliasRefused(keyId: string, op: string): ServiceError {
    return new ServiceError(
      'NotFoundException',
      `${op} does not accept an alias (${keyId}); specify the key ID or key ARN`,
    );
  }

  private byAlias(alias: string, region: string): KeyRec | undefined {
    return this.all.find((k) => k.w.region === region && k.w.account === this.account && k.w.aliases.includes(alias));
  }

  /** Test helper: the ARN of a key by id, alias or ARN (caller account first, then any account). */
  keyArn(idOrAlias: string, region: string): string {
    const found =
      this.all.find((k) => k.arn === idOrAlias) ??
      this.all.find(
        (k) =>
          k.w.region === region &&
          k.w.account === this.account &&
          (k.w.id === idOrAlias || k.w.aliases.includes(idOrAlias)),
      ) ??
      this.all.find((k) => k.w.region === region && (k.w.id === idOrAlias || k.w.aliases.includes(idOrAlias)));
    if (!found) throw new Error(`stand-in: no key ${idOrAlias} in ${region}`);
    return found.arn;
  }

  // ---------- shared checks ----------
  current(rec: KeyRec): Material {
    const m = rec.lineage.materials.find((x) => x.state === 'CURRENT');
    if (!m) throw new ServiceError('KMSInvalidStateException', `${rec.arn} has no key material`);
    return m;
  }

  checkUsable(rec: KeyRec): void {
    if (rec.state === 'Disabled') throw new ServiceError('DisabledException', `${rec.arn} is disabled.`);
    if (rec.state !== 'Enabled')
      throw new ServiceError('KMSInvalidStateException', `${rec.arn} is ${stateWords(rec.state)}.`);
  }

  checkSymmetricEncrypt(rec: KeyRec, op: string): void {
    if (rec.w.keyUsage !== 'ENCRYPT_DECRYPT') {
      throw new ServiceError(
        'InvalidKeyUsageException',
        `${rec.arn} key usage is ${rec.w.keyUsage} which is not valid for ${op}.`,
      );
    }
    if (rec.w.keySpec !== 'SYMMETRIC_DEFAULT') {
      // Stand-in limitation: asymmetric ENCRYPT_DECRYPT keys are not simulated.
      throw new ServiceError(
        'InvalidKeyUsageException',
        `${rec.arn} has KeySpec ${rec.w.keySpec}; the stand-in only does SYMMETRIC_DEFAULT encryption.`,
      );
    }
  }

  forEncrypt(keyId: string, region: string, op: string): KeyRec {
    const rec = this.resolve(keyId, region, true, op);
    this.checkUsable(rec);
    this.checkSymmetricEncrypt(rec, op);
    return rec;
  }

  open(
    parsed: ParsedBlob,
    region: string,
    ctx: Record<string, string>,
    keyIdParam: string | undefined,
    op: string,
  ): { rec: KeyRec; plaintext: Buffer; material: Material } {
    if (parsed.account !== this.account) {
      throw new ServiceError(
        'AccessDeniedException',
        `User: arn:aws:iam::${this.account}:root is not authorized to perform: kms:${op} on a key in account ${parsed.account}`,
      );
    }
    const rec = this.all.find(
      (k) => k.w.id === parsed.keyId && k.w.region === region && k.w.account === parsed.account,
    );
    if (!rec)
      throw new ServiceError(
        'InvalidCiphertextException',
        `The ciphertext refers to key ${parsed.keyId}, which does not exist in ${region}.`,
      );
    if (keyIdParam !== undefined) {
      const named = this.resolve(keyIdParam, region, true, op);
      if (named !== rec)
        throw new ServiceError(
          'IncorrectKeyException',
          `The key ID in the request does not identify the KMS key that encrypted the ciphertext (${rec.arn}).`,
        );
    }
    this.checkUsable(rec);
    this.checkSymmetricEncrypt(rec, op);
    const material = rec.lineage.materials.find((m) => m.id === parsed.materialId);
    if (!material)
      throw new ServiceError('InvalidCiphertextException', 'The ciphertext names key material this key does not have.');
    try {
      const d = createDecipheriv('aes-256-gcm', material.bytes, parsed.iv);
      d.setAAD(Buffer.concat([parsed.header, canonicalContext(ctx)]));
      d.setAuthTag(parsed.tag);
      return { rec, plaintext: Buffer.concat([d.update(parsed.ct), d.final()]), material };
    } catch {
      throw new ServiceError(
        'InvalidCiphertextException',
        'The ciphertext or its encryption context is not valid for this key.',
      );
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

  /**
   * World seeding only: `plaintext` wrapped under a key of ANY account of the world with its current
   * material, whatever its state, as the key's owner did when the seeded object was written.
   */
  sealAsOwner(idOrArn: string, region: string, ctx: Record<string, string>, plaintext: Buffer): DataKey {
    const arn = this.keyArn(idOrArn, region);
    const rec = this.all.find((k) => k.arn === arn)!;
    const m = this.current(rec);
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
    return this.addKey(
      w,
      now,
      `Default key that protects my ${alias.split('/')[2]} data when no other key is defined`,
      now,
    ).arn;
  }
}

/** A key state as KMS words it in error messages (`pending deletion`, ...). */
export function stateWords(state: string): string {
  return (
    (
      {
        PendingDeletion: 'pending deletion',
        PendingReplicaDeletion: 'pending replica deletion',
        PendingImport: 'pending import',
        Unavailable: 'unavailable',
        Creating: 'being created',
        Updating: 'being updated',
        Disabled: 'disabled',
      } as Record<string, string>
    )[state] ?? state
  );
}
