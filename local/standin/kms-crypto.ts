import { randomBytes } from 'node:crypto';
import { ServiceError } from './errors';
import { b64, blob, context, num, str, type Input } from './kms-input';
import { parseCiphertext, seal } from './kms-blob';
import type { KmsKeys } from './kms-keys';

/**
 * The KMS stand-in's cryptographic operations (Encrypt, Decrypt, GenerateDataKey, ReEncrypt) on
 * the key model: input validated as the API reference states, ciphertext from kms-keys.ts.
 */

function dryRun(input: Input): void {
  if (input.DryRun === true)
    throw new ServiceError(
      'DryRunOperationException',
      'The request would have succeeded, but the DryRun option is set.',
    );
}

export function encrypt(keys: KmsKeys, input: Input, region: string): unknown {
  const rec = keys.forEncrypt(str(input, 'KeyId', true), region, 'Encrypt');
  const plaintext = blob(input, 'Plaintext')!;
  if (plaintext.length < 1 || plaintext.length > 4096) {
    throw new ServiceError(
      'ValidationException',
      "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length between 1 and 4096",
    );
  }
  dryRun(input);
  const ct = seal(rec.w.account, rec.w.id, keys.current(rec), plaintext, context(input, 'EncryptionContext'));
  return { CiphertextBlob: b64(ct), KeyId: rec.arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
}

export function decryptOp(keys: KmsKeys, input: Input, region: string): unknown {
  const parsed = parseCiphertext(blob(input, 'CiphertextBlob')!);
  const { rec, plaintext, material } = keys.open(
    parsed,
    region,
    context(input, 'EncryptionContext'),
    str(input, 'KeyId'),
    'Decrypt',
  );
  dryRun(input);
  return {
    KeyId: rec.arn,
    Plaintext: b64(plaintext),
    EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
    KeyMaterialId: material.id,
  };
}

export function generateDataKeyOp(keys: KmsKeys, input: Input, region: string): unknown {
  const spec = str(input, 'KeySpec');
  const n = num(input, 'NumberOfBytes');
  if ((spec === undefined) === (n === undefined)) {
    throw new ServiceError('ValidationException', 'Specify either KeySpec or NumberOfBytes, but not both.');
  }
  if (spec !== undefined && spec !== 'AES_256' && spec !== 'AES_128') {
    throw new ServiceError(
      'ValidationException',
      `Value '${spec}' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]`,
    );
  }
  if (n !== undefined && (n < 1 || n > 1024)) {
    throw new ServiceError(
      'ValidationException',
      `Value '${n}' at 'numberOfBytes' failed to satisfy constraint: Member must have value between 1 and 1024`,
    );
  }
  const rec = keys.forEncrypt(str(input, 'KeyId', true), region, 'GenerateDataKey');
  dryRun(input);
  const m = keys.current(rec);
  const plaintext = randomBytes(n ?? (spec === 'AES_128' ? 16 : 32));
  const ct = seal(rec.w.account, rec.w.id, m, plaintext, context(input, 'EncryptionContext'));
  return { CiphertextBlob: b64(ct), Plaintext: b64(plaintext), KeyId: rec.arn, KeyMaterialId: m.id };
}

export function reEncrypt(keys: KmsKeys, input: Input, region: string): unknown {
  const parsed = parseCiphertext(blob(input, 'CiphertextBlob')!);
  const src = keys.open(
    parsed,
    region,
    context(input, 'SourceEncryptionContext'),
    str(input, 'SourceKeyId'),
    'ReEncrypt',
  );
  const dest = keys.forEncrypt(str(input, 'DestinationKeyId', true), region, 'ReEncrypt');
  dryRun(input);
  const m = keys.current(dest);
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
