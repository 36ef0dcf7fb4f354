import { createCipheriv, randomBytes } from 'node:crypto';
import { ServiceError } from './errors';

/**
 * The stand-in's KMS ciphertext blob: which account, key and key material made it, sealed with
 * real AES-256-GCM and bound to the encryption context.
 */

// "SKC1" | account (12 ASCII digits) | keyId length (1 byte) | keyId (utf8) | material id (32 bytes)
// | iv (12) | tag (16) | ciphertext. AAD = everything before the iv + canonical encryption context.
const MAGIC = Buffer.from('SKC1');

export function canonicalContext(ctx: Record<string, string>): Buffer {
  return Buffer.from(
    JSON.stringify(
      Object.keys(ctx)
        .sort()
        .map((k) => [k, ctx[k]]),
    ),
  );
}

/** The part of a key material (kms-keys.ts Material) a blob needs: its id and its AES-256 bytes. */
export interface BlobMaterial {
  id: string;
  bytes: Buffer;
}

/** Encrypts under `m` into a blob of the layout above, bound to the encryption context. */
export function seal(
  account: string,
  keyId: string,
  m: BlobMaterial,
  plaintext: Buffer,
  ctx: Record<string, string>,
): Buffer {
  const id = Buffer.from(keyId, 'utf8');
  const header = Buffer.concat([
    MAGIC,
    Buffer.from(account, 'ascii'),
    Buffer.from([id.length]),
    id,
    Buffer.from(m.id, 'hex'),
  ]);
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', m.bytes, iv);
  c.setAAD(Buffer.concat([header, canonicalContext(ctx)]));
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([header, iv, c.getAuthTag(), ct]);
}

export interface ParsedBlob {
  account: string;
  keyId: string;
  materialId: string;
  header: Buffer;
  iv: Buffer;
  tag: Buffer;
  ct: Buffer;
}

/** Splits a blob made by `seal`; InvalidCiphertextException for anything else. */
export function parseCiphertext(blob: Buffer): ParsedBlob {
  const bad = () =>
    new ServiceError('InvalidCiphertextException', 'The ciphertext is not a ciphertext blob made by this KMS.');
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
