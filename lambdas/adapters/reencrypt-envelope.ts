import { GetObjectCommand, PutObjectCommand, type GetObjectCommandOutput, type PutObjectCommandOutput } from '@aws-sdk/client-s3';
import { buildClient, CommitmentPolicy, NodeAlgorithmSuite } from '@aws-crypto/client-node';
import { deserializeFactory } from '@aws-crypto/serialize';
import { decideEnvelopeObject, type ObjectOutcome } from '../domain/reencryption';
import { keptFromRead, readGrants, readTagging, writeAttributes } from './object-attributes';
import { isSseCRefusal } from './reencrypt-sse-kms';
import { isVersioned, type Run } from './reencrypt-run';

/**
 * The envelope path: an AWS Encryption SDK message stored in S3 is decrypted and encrypted again,
 * so KMS issues a NEW data key; the written object is read back and verified before it counts.
 */

// New messages are written with key commitment; older non-committing messages can still be read.
const esdk = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT);
const esdkHeader = deserializeFactory((b) => Buffer.from(b).toString('utf8'), NodeAlgorithmSuite);
/**
 * Frame length of the messages we write: 1 MiB, not the SDK's 4 KiB default. The whole object is
 * in memory anyway, and per-frame work dominates the SDK's cost (measured here: 4 KiB frames
 * decrypt at ~40-75 MB/s, 1 MiB frames at ~120-440 MB/s, signing and non-signing suites). Every
 * Encryption SDK reads any frame length up to 2^32 - 1; the suite stays the original's.
 */
const REENCRYPT_FRAME_BYTES = 1024 * 1024;
/** Encryption context key the SDK adds itself for signing suites; it must not be passed back in. */
const SDK_RESERVED_CONTEXT_PREFIX = 'aws-crypto-';

/** KMS key ARNs of an Encryption SDK message's data keys, or undefined when the bytes are not one. */
function envelopeKeyArns(body: Uint8Array): string[] | undefined {
  try {
    const header = esdkHeader.deserializeMessageHeader(body);
    return header ? header.messageHeader.encryptedDataKeys.filter((k) => k.providerId === 'aws-kms').map((k) => k.providerInfo) : undefined;
  } catch {
    return undefined;
  }
}

/** Re-encrypt one Encryption SDK message object. */
export async function reencryptEnvelope(run: Run, bucket: string, key: string, keyArn: string): Promise<ObjectOutcome> {
  const keyring = run.deps.keyring;
  if (!keyring) throw new Error('envelope re-encryption needs a KMS keyring for the rotated key');
  // ChecksumMode ENABLED: the checksum algorithm is part of what the rewrite keeps (object-attributes.ts).
  let got: GetObjectCommandOutput;
  try {
    got = await run.send<GetObjectCommandOutput>(new GetObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }), 0);
  } catch (e) {
    if (isSseCRefusal(e, false)) return { key, result: 'SKIPPED', reason: 'SSE_C' };
    throw e;
  }
  const body = await got.Body!.transformToByteArray();
  const arns = envelopeKeyArns(body);
  const decision = decideEnvelopeObject({ isMessage: arns !== undefined, kmsKeyArns: arns ?? [] }, keyArn);
  if (decision.action === 'SKIPPED') return { key, result: 'SKIPPED', reason: decision.reason };
  const { plaintext, messageHeader } = await run.retrying(() => esdk.decrypt(keyring, body), 1);
  // Same encryption context (minus what the SDK adds itself) and the same algorithm suite; a fresh data key.
  const encryptionContext = Object.fromEntries(Object.entries(messageHeader.encryptionContext).filter(([k]) => !k.startsWith(SDK_RESERVED_CONTEXT_PREFIX)));
  const { result } = await run.retrying(() => esdk.encrypt(keyring, plaintext, { encryptionContext, suiteId: messageHeader.suiteId, frameLength: REENCRYPT_FRAME_BYTES }), 1);
  const tagging = await readTagging(run, bucket, key, got);
  const grantParameters = await readGrants(run, bucket, key, got);
  const put = await run.send<PutObjectCommandOutput>(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: result,
      IfMatch: got.ETag,
      ...writeAttributes(keptFromRead(got)),
      Tagging: tagging,
      ...grantParameters,
      ServerSideEncryption: got.ServerSideEncryption,
      SSEKMSKeyId: got.SSEKMSKeyId,
      BucketKeyEnabled: got.BucketKeyEnabled,
    }),
    0,
  );
  // Verify what S3 holds now (the version just written) before counting it done.
  const check = await run.send<GetObjectCommandOutput>(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: isVersioned(put.VersionId) ? put.VersionId : undefined, IfMatch: put.ETag }), 0);
  const written = await check.Body!.transformToByteArray();
  const verified = await run.retrying(() => esdk.decrypt(keyring, written), 1);
  if (!Buffer.from(verified.plaintext).equals(Buffer.from(plaintext))) {
    return { key, result: 'FAILED', error: 'VerificationFailed: the written object does not decrypt to the original bytes' };
  }
  return { key, result: 'REENCRYPTED', bytes: plaintext.length, oldVersionLeft: isVersioned(put.VersionId), bucketKey: false };
}
