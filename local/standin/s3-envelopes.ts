import { randomBytes } from 'node:crypto';
import {
  AlgorithmSuiteIdentifier,
  buildClient,
  CommitmentPolicy,
  getCompatibleCommitmentPolicy,
  KmsKeyringNode,
  NodeAlgorithmSuite,
} from '@aws-crypto/client-node';
import { deserializeFactory } from '@aws-crypto/serialize';
import { fingerprint, type S3Core } from './s3-core';
import type { S3ObjectInfo } from './s3-types';

/** AWS Encryption SDK messages in the S3 stand-in: seeding world envelopes and reading them for tests and reports. */

/** Encryption SDK message header reader (no KMS call). */
const esdkHeader = deserializeFactory((b) => Buffer.from(b).toString('utf8'), NodeAlgorithmSuite);
/** Reads any message, legacy non-committing suites included (the report shows what is stored). */
const esdkReader = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT);
/** World envelopes in any suite: a committing one needs a REQUIRE_ENCRYPT client, a legacy one a FORBID_ENCRYPT client. */
const seedClients = {
  [CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT]: buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT),
  [CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT]: buildClient(CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT),
};

/**
 * An Encryption SDK message of `plain` whose data key is wrapped for each of `keyIds` (the first
 * generates it), in `suite` (default: the SDK's). Each key's owner wraps for it, as the world's
 * history had it: keys of other accounts and keys no longer usable are wrapped all the same.
 */
export async function envelopeMessage(
  core: S3Core,
  keyIds: string[],
  suite: number | undefined,
  region: string,
  plain: Buffer,
): Promise<Buffer> {
  const kms = core.kms;
  const client = {
    generateDataKey: async (i: {
      KeyId: string;
      EncryptionContext?: Record<string, string>;
      NumberOfBytes?: number;
    }) => {
      const plaintext = randomBytes(i.NumberOfBytes ?? 32);
      const dk = kms.sealAsOwner(i.KeyId, region, i.EncryptionContext ?? {}, plaintext);
      return { Plaintext: plaintext, CiphertextBlob: dk.blob, KeyId: dk.keyArn };
    },
    encrypt: async (i: { KeyId: string; EncryptionContext?: Record<string, string>; Plaintext: Uint8Array }) => {
      const dk = kms.sealAsOwner(i.KeyId, region, i.EncryptionContext ?? {}, Buffer.from(i.Plaintext));
      return { CiphertextBlob: dk.blob, KeyId: dk.keyArn };
    },
  };
  const arns = keyIds.map((k) => kms.keyArn(k, region));
  const keyring = new KmsKeyringNode({
    generatorKeyId: arns[0],
    keyIds: arns.slice(1),
    clientProvider: (() => client) as never,
  });
  const suiteId = (suite ??
    AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384) as AlgorithmSuiteIdentifier;
  const { result } = await seedClients[getCompatibleCommitmentPolicy(suiteId)].encrypt(keyring, plain, {
    encryptionContext: { purpose: 'stand-in seed' },
    suiteId,
  });
  return result;
}

/** Key ARNs and data-key fingerprint of an Encryption SDK message, or undefined for other bytes. */
export function envelopeInfo(core: S3Core, region: string, plain: Buffer): S3ObjectInfo['envelope'] {
  let header;
  try {
    header = esdkHeader.deserializeMessageHeader(plain);
  } catch {
    return undefined;
  }
  if (!header) return undefined;
  const edks = header.messageHeader.encryptedDataKeys.filter((k) => k.providerId === 'aws-kms');
  const context = { ...header.messageHeader.encryptionContext };
  let dataKeyFingerprint = '';
  for (const edk of edks) {
    try {
      dataKeyFingerprint = fingerprint(core.kms.decrypt(Buffer.from(edk.encryptedDataKey), region, context).plaintext);
      break;
    } catch {
      /* another key's data key: try the next */
    }
  }
  return { kmsKeyArns: edks.map((k) => k.providerInfo), dataKeyFingerprint, encryptionContext: context };
}

// ---------- encryption ----------

/** An Encryption SDK message's suite, wrapping keys (with the material of each) and plaintext; null for other bytes. */
export async function envelopeReport(
  core: S3Core,
  region: string,
  body: Buffer,
): Promise<{
  algorithmSuiteId: number;
  wrappedBy: { keyArn: string; keyMaterialId: string }[];
  plaintext: Buffer;
} | null> {
  let header;
  try {
    header = esdkHeader.deserializeMessageHeader(body);
  } catch {
    return null;
  }
  if (!header) return null;
  const kms = core.kms;
  const client = {
    decrypt: async (i: { CiphertextBlob: Uint8Array; EncryptionContext?: Record<string, string> }) => {
      const dk = kms.decrypt(Buffer.from(i.CiphertextBlob), region, i.EncryptionContext ?? {});
      return { Plaintext: dk.plaintext, KeyId: dk.keyArn };
    },
  };
  // Discovery: whichever wrapping key the stand-in's KMS can open; legacy (non-committing) suites are read too.
  const keyring = new KmsKeyringNode({ discovery: true, clientProvider: (() => client) as never });
  const { plaintext } = await esdkReader.decrypt(keyring, body);
  const wrappedBy = header.messageHeader.encryptedDataKeys
    .filter((k) => k.providerId === 'aws-kms')
    .map((k) => ({
      keyArn: k.providerInfo,
      keyMaterialId: kms.inspect(Buffer.from(k.encryptedDataKey)).keyMaterialId,
    }));
  return { algorithmSuiteId: header.messageHeader.suiteId, wrappedBy, plaintext: Buffer.from(plaintext) };
}
