import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * The object checksums S3 stores (Checking object integrity, S3 User Guide): CRC32, CRC32C,
 * CRC64NVME, SHA1, SHA256, each answered base64-encoded in `x-amz-checksum-<algorithm>`. A
 * multipart object's checksum is either FULL_OBJECT (the CRCs: the whole object's CRC) or
 * COMPOSITE (the checksum of the parts' checksums, suffixed `-<parts>`).
 */

export const CHECKSUM_ALGORITHMS = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

/** A stored checksum: the algorithm, its base64 value and its type. */
export interface StoredChecksum {
  algorithm: ChecksumAlgorithm;
  value: string;
  type: 'FULL_OBJECT' | 'COMPOSITE';
}

/** Reflected CRC table for a 32-bit polynomial. */
function table32(poly: number): Uint32Array {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
}
const CRC32C_TABLE = table32(0x82f63b78);

function crc32c(data: Buffer): Buffer {
  let c = 0xffffffff;
  for (const b of data) c = CRC32C_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  const out = Buffer.alloc(4);
  out.writeUInt32BE((c ^ 0xffffffff) >>> 0);
  return out;
}

/** CRC-64/NVME: reflected polynomial 0x9a6c9329ac4bc9b5, init and xorout all ones. */
const CRC64_TABLE = (() => {
  const t: bigint[] = [];
  for (let i = 0n; i < 256n; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1n ? (c >> 1n) ^ 0x9a6c9329ac4bc9b5n : c >> 1n;
    t.push(c);
  }
  return t;
})();

function crc64nvme(data: Buffer): Buffer {
  const mask = 0xffffffffffffffffn;
  let c = mask;
  for (const b of data) c = CRC64_TABLE[Number((c ^ BigInt(b)) & 0xffn)] ^ (c >> 8n);
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE((c ^ mask) & mask);
  return out;
}

/** The raw digest of `data` under `algorithm`. */
export function digest(algorithm: ChecksumAlgorithm, data: Buffer): Buffer {
  switch (algorithm) {
    case 'CRC32': {
      const out = Buffer.alloc(4);
      out.writeUInt32BE(crc32(data));
      return out;
    }
    case 'CRC32C':
      return crc32c(data);
    case 'CRC64NVME':
      return crc64nvme(data);
    case 'SHA1':
      return createHash('sha1').update(data).digest();
    case 'SHA256':
      return createHash('sha256').update(data).digest();
  }
}

/** The base64 checksum of `data`. */
export function checksumOf(algorithm: ChecksumAlgorithm, data: Buffer): string {
  return digest(algorithm, data).toString('base64');
}

/** A stand-in checksum for a synthetic object (no body): deterministic, the right length for the algorithm. */
export function syntheticChecksum(algorithm: ChecksumAlgorithm, seed: string): string {
  const len = { CRC32: 4, CRC32C: 4, CRC64NVME: 8, SHA1: 20, SHA256: 32 }[algorithm];
  return createHash('sha256').update(seed).digest().subarray(0, len).toString('base64');
}

/** The COMPOSITE checksum of a multipart object: the checksum of its parts' raw checksums, `-<parts>`. */
export function compositeChecksum(algorithm: ChecksumAlgorithm, partChecksums: string[]): string {
  return `${checksumOf(algorithm, Buffer.concat(partChecksums.map((p) => Buffer.from(p, 'base64'))))}-${partChecksums.length}`;
}

/** The checksum algorithm named by a header value (case-insensitive, as S3 accepts it), or undefined. */
export function checksumAlgorithmNamed(value: string | undefined): ChecksumAlgorithm | undefined {
  if (value === undefined) return undefined;
  return CHECKSUM_ALGORITHMS.find((a) => a === value.toUpperCase());
}
