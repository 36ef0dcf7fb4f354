import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  GetObjectCommand,
  PutObjectCommand,
  type GetObjectCommandOutput,
  type PutObjectCommandOutput,
} from '@aws-sdk/client-s3';
import {
  AlgorithmSuiteIdentifier,
  buildClient,
  CommitmentPolicy,
  getCompatibleCommitmentPolicy,
  KmsKeyringNode,
  NodeAlgorithmSuite,
} from '@aws-crypto/client-node';
import { deserializeFactory } from '@aws-crypto/serialize';
import { decideEnvelopeObject } from '../../domain/reencryption/decisions';
import type { ObjectOutcome } from '../../domain/reencryption/vocabulary';
import {
  keptFromRead,
  readGrants,
  readTagging,
  writeAttributes,
  type GrantParameters,
  type KeptAttributes,
} from './object-attributes';
import { ObjectLockUnreadable, withConfirmedLock } from './object-lock-read';
import { isSseCRefusal } from './reencrypt-sse-kms';
import { isVersioned, type Run } from './reencrypt-run';

/**
 * The envelope path: an AWS Encryption SDK message stored in S3 is decrypted and encrypted again,
 * so KMS issues a NEW data key; the written object is read back and verified before it counts.
 * The rewrite keeps what a reader depends on: every KMS key that wrapped the data key (the
 * rotated key generates, the others wrap the new data key too), the encryption context and the
 * algorithm suite. What it cannot keep leaves the object untouched with a named reason.
 */

/** Reads every suite, committing or not (the 1.x default 0x0378 included). */
const reader = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT);
/**
 * Writers per suite kind: the Encryption SDK refuses to encrypt a non-committing suite under a
 * REQUIRE_ENCRYPT policy ("Configuration conflict"), so a legacy message is rewritten by a client
 * that forbids committing suites, a committing one by a client that requires them.
 */
const writers = {
  [CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT]: buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT),
  [CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT]: buildClient(CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT),
};
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
/** Provider id of the Encryption SDK's AWS KMS keyrings (symmetric keys, multi-Region keys included). */
const KMS_PROVIDER_ID = 'aws-kms';

/**
 * Largest envelope object re-encrypted: 16 MiB. The object is held in memory (the message read,
 * the plaintext, the new message, the message read back and its plaintext, plus the SDK clients'
 * and the Encryption SDK's buffers), and ReencryptObjects works 4 objects at once in 1,024 MB
 * (lib/functions.ts). Measured (bench/envelope-memory.ts, a fresh process's peak resident set):
 * about 125 MiB base plus 7-7.5 object sizes per object in flight; 4 objects of 30 MiB peaked at
 * 1,044 MiB, 4 of 15 MiB at 545 MiB. So 16 MiB: about 125 + 4 x 7.5 x 16 = 605 MiB, within 1,024
 * with room for GC timing. Larger objects are left untouched, ENVELOPE_TOO_LARGE, action required
 * (streaming a signed message would release unverified plaintext before its signature is checked).
 */
export const MAX_ENVELOPE_BYTES = 16 * 1024 * 1024;
/** What is read of an object above the limit to tell whether it is ours (the message header). */
const HEADER_PROBE_BYTES = 1024 * 1024;

/**
 * KMS requests S3 makes for one GET or PUT of an SSE-KMS object: a Decrypt to read it, a
 * GenerateDataKey to write it ("Amazon S3 ... calls AWS KMS" per request, Using server-side
 * encryption with AWS KMS keys, S3 User Guide). With an S3 Bucket Key S3 may call less often;
 * undocumented per request, so the strict count is charged.
 */
const S3_SSE_KMS_REQUESTS = 1;

/** KMS errors by which Encrypt says the caller may not use the key (not throttling, not a failure of the request). */
const ENCRYPT_REFUSALS = new Set([
  'AccessDeniedException',
  'DisabledException',
  'NotFoundException',
  'KMSInvalidStateException',
  'InvalidKeyUsageException',
]);

/** An additional wrapping key refused Encrypt: the rewrite would lose that key's readers. */
class WrappingKeyRefused extends Error {
  constructor(
    readonly keyId: string,
    cause: unknown,
  ) {
    super(`kms:Encrypt refused for ${keyId}: ${(cause as Error).name}`, { cause });
    this.name = 'WrappingKeyRefused';
  }
}

/** The header facts of an Encryption SDK message; undefined when the bytes are not one, 'INCOMPLETE' when they end inside the header. */
function envelopeHeader(
  body: Uint8Array,
): { kmsKeyArns: string[]; otherProviderIds: string[] } | 'INCOMPLETE' | undefined {
  try {
    const header = esdkHeader.deserializeMessageHeader(body);
    if (!header) return 'INCOMPLETE';
    const edks = header.messageHeader.encryptedDataKeys;
    return {
      kmsKeyArns: edks.filter((k) => k.providerId === KMS_PROVIDER_ID).map((k) => k.providerInfo),
      otherProviderIds: edks.filter((k) => k.providerId !== KMS_PROVIDER_ID).map((k) => k.providerId),
    };
  } catch {
    return undefined;
  }
}

/** The first `limit` bytes of a body (at least), the rest of the stream left unread and closed. */
async function readPrefix(body: GetObjectCommandOutput['Body'], limit: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let length = 0;
  const stream = body as unknown as Readable;
  for await (const chunk of stream) {
    chunks.push(Buffer.from(chunk as Uint8Array));
    length += (chunk as Uint8Array).length;
    if (length >= limit) break;
  }
  stream.destroy();
  return Buffer.concat(chunks);
}

/** The suite to write: the original's, or with the upgrade setting the committing suite of the same signing kind. */
export function rewriteSuite(original: AlgorithmSuiteIdentifier, upgrade: boolean): AlgorithmSuiteIdentifier {
  const suite = new NodeAlgorithmSuite(original);
  if (!upgrade || suite.commitment === 'KEY') return original;
  return suite.signatureCurve
    ? AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY_ECDSA_P384
    : AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY;
}

/** The keyring's KMS clients, with a refused Encrypt (another wrapping key) named as such; everything else passes unchanged. */
function namingRefusals(provider: KmsKeyringNode['clientProvider']): KmsKeyringNode['clientProvider'] {
  return ((region: string) => {
    const client = provider(region);
    if (!client) return client;
    return {
      generateDataKey: (input: never) => client.generateDataKey(input),
      decrypt: (input: never) => client.decrypt(input),
      encrypt: async (input: { KeyId: string }) => {
        try {
          return await client.encrypt(input as never);
        } catch (e) {
          throw ENCRYPT_REFUSALS.has((e as Error).name) ? new WrappingKeyRefused(input.KeyId, e) : e;
        }
      },
    };
  }) as KmsKeyringNode['clientProvider'];
}

/**
 * The tags and the ACL the rewrite writes back, both read at once (neither depends on the other;
 * no KMS request): one round trip before the PUT instead of two. Read only after the new message
 * exists, not alongside the crypto: tag and ACL changes do not change the ETag ("The ETag reflects
 * changes only to the contents of an object, not its metadata", Object, S3 API reference), so the
 * PUT's IfMatch cannot catch one made after these reads, and the window between read and PUT is
 * kept as short as it can be.
 */
async function readKept(
  run: Run,
  bucket: string,
  key: string,
  got: GetObjectCommandOutput,
): Promise<{ tagging: string | undefined; grantParameters: GrantParameters }> {
  const [tagging, grantParameters] = await Promise.all([
    readTagging(run, bucket, key, got),
    readGrants(run, bucket, key, got),
  ]);
  return { tagging, grantParameters };
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const withoutReserved = (context: Record<string, string>) =>
  Object.fromEntries(Object.entries(context).filter(([k]) => !k.startsWith(SDK_RESERVED_CONTEXT_PREFIX)));

/** What the rewrite must show when read back, checked before the object counts as re-encrypted. */
export interface Expected {
  plaintextSha256: string;
  suiteId: AlgorithmSuiteIdentifier;
  kmsKeyArns: string[];
  encryptionContext: Record<string, string>;
}

/** Why the message read back is not what was meant to be written; undefined when it is. */
export function verificationProblem(
  written: Uint8Array,
  verified: {
    plaintext: Uint8Array;
    messageHeader: { suiteId: AlgorithmSuiteIdentifier; encryptionContext: Record<string, string> };
  },
  expected: Expected,
): string | undefined {
  if (sha256(verified.plaintext) !== expected.plaintextSha256)
    return 'the written object does not decrypt to the original bytes';
  if (verified.messageHeader.suiteId !== expected.suiteId)
    return `the written message is in suite ${verified.messageHeader.suiteId}, not ${expected.suiteId}`;
  const header = envelopeHeader(written);
  const wrappedBy = typeof header === 'object' ? header.kmsKeyArns : [];
  const lost = expected.kmsKeyArns.filter((arn) => !wrappedBy.includes(arn));
  if (lost.length > 0) return `the written message is not wrapped for ${lost.join(', ')}`;
  const context = withoutReserved(verified.messageHeader.encryptionContext);
  if (
    JSON.stringify(Object.entries(context).sort()) !== JSON.stringify(Object.entries(expected.encryptionContext).sort())
  )
    return 'the written message has another encryption context';
  return undefined;
}

/**
 * The object's bytes at each step. Each copy is dropped (set undefined) as soon as the next one
 * exists, and closures read them through this holder, so a copy is not kept alive by a closure or
 * a variable until the function returns: at most about three object sizes are alive at once.
 */
interface Held {
  message?: Uint8Array;
  plaintext?: Buffer;
  rewritten?: Buffer;
  readBack?: Uint8Array;
}

/** Re-encrypt one Encryption SDK message object. */
export async function reencryptEnvelope(run: Run, bucket: string, key: string, keyArn: string): Promise<ObjectOutcome> {
  const keyring = run.deps.keyring;
  if (!keyring) throw new Error('envelope re-encryption needs a KMS keyring for the rotated key');
  const held: Held = {};
  // The bucket's encryption is known only from the answer: the GET is charged as SSE-KMS (strict).
  // ChecksumMode ENABLED: the checksum algorithm is part of what the rewrite keeps (object-attributes.ts).
  let got: GetObjectCommandOutput;
  try {
    got = await run.send<GetObjectCommandOutput>(
      new GetObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }),
      S3_SSE_KMS_REQUESTS,
    );
  } catch (e) {
    if (isSseCRefusal(e, false)) return { key, result: 'SKIPPED', reason: 'SSE_C' };
    throw e;
  }
  const tooLarge = (got.ContentLength ?? 0) > (run.deps.envelopeMaxBytes ?? MAX_ENVELOPE_BYTES);
  held.message = tooLarge ? await readPrefix(got.Body, HEADER_PROBE_BYTES) : await got.Body!.transformToByteArray();
  const header = envelopeHeader(held.message);
  if (header === 'INCOMPLETE')
    return { key, result: 'SKIPPED', reason: tooLarge ? 'ENVELOPE_TOO_LARGE' : 'NOT_ENVELOPE' };
  const decision = decideEnvelopeObject(
    {
      isMessage: header !== undefined,
      kmsKeyArns: header?.kmsKeyArns ?? [],
      otherProviderIds: header?.otherProviderIds ?? [],
      tooLarge,
    },
    keyArn,
  );
  if (decision.action === 'SKIPPED') return { key, result: 'SKIPPED', reason: decision.reason };
  const s3Kms = got.ServerSideEncryption?.startsWith('aws:kms') ? S3_SSE_KMS_REQUESTS : 0;

  // The keyring tries the rotated key's data keys only, one Decrypt each until one works.
  const ownDataKeys = header!.kmsKeyArns.filter((arn) => arn === keyArn).length;
  const { plaintext, messageHeader } = await run.retrying(() => reader.decrypt(keyring, held.message!), ownDataKeys);
  held.message = undefined;
  held.plaintext = plaintext;
  const others = [...new Set(header!.kmsKeyArns.filter((arn) => arn !== keyArn))];
  const suiteId = rewriteSuite(messageHeader.suiteId, run.deps.upgradeEnvelopeSuite ?? false);
  const expected: Expected = {
    plaintextSha256: sha256(plaintext),
    suiteId,
    kmsKeyArns: [keyArn, ...others],
    encryptionContext: withoutReserved(messageHeader.encryptionContext),
  };
  // The rotated key generates the new data key (GenerateDataKey); each other key wraps it too (Encrypt).
  const rewrap = new KmsKeyringNode({
    generatorKeyId: keyArn,
    keyIds: others,
    clientProvider: namingRefusals(keyring.clientProvider),
    grantTokens: keyring.grantTokens,
  });
  const writer = writers[getCompatibleCommitmentPolicy(suiteId)];
  try {
    held.rewritten = (
      await run.retrying(
        () =>
          writer.encrypt(rewrap, held.plaintext!, {
            encryptionContext: expected.encryptionContext,
            suiteId,
            frameLength: REENCRYPT_FRAME_BYTES,
          }),
        1 + others.length,
      )
    ).result;
  } catch (e) {
    if (e instanceof WrappingKeyRefused) return { key, result: 'SKIPPED', reason: 'WRAPPING_KEY_UNUSABLE' };
    throw e;
  }
  held.plaintext = undefined;
  const { tagging, grantParameters } = await readKept(run, bucket, key, got);
  // Object Lock settings a GET may hide (object-lock-read.ts), confirmed before anything is written.
  let kept: KeptAttributes;
  try {
    kept = await withConfirmedLock(run, bucket, key, got, keptFromRead(got));
  } catch (e) {
    if (e instanceof ObjectLockUnreadable) return { key, result: 'SKIPPED', reason: 'OBJECT_LOCK_UNREADABLE' };
    throw e;
  }
  const put = await run.send<PutObjectCommandOutput>(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: held.rewritten,
      IfMatch: got.ETag,
      ...writeAttributes(kept),
      Tagging: tagging,
      ...grantParameters,
      ServerSideEncryption: got.ServerSideEncryption,
      SSEKMSKeyId: got.SSEKMSKeyId,
      BucketKeyEnabled: got.BucketKeyEnabled,
    }),
    s3Kms,
  );
  held.rewritten = undefined;
  // Verify what S3 holds now (the version just written) before counting it done.
  const check = await run.send<GetObjectCommandOutput>(
    new GetObjectCommand({
      Bucket: bucket,
      Key: key,
      VersionId: isVersioned(put.VersionId) ? put.VersionId : undefined,
      IfMatch: put.ETag,
    }),
    s3Kms,
  );
  held.readBack = await check.Body!.transformToByteArray();
  // The new message's first data key is the rotated key's: one Decrypt.
  const verified = await run.retrying(() => reader.decrypt(keyring, held.readBack!), 1);
  const problem = verificationProblem(held.readBack, verified, expected);
  if (problem) return { key, result: 'FAILED', error: `VerificationFailed: ${problem}` };
  return {
    key,
    result: 'REENCRYPTED',
    bytes: verified.plaintext.length,
    oldVersionLeft: isVersioned(put.VersionId),
    bucketKey: false,
  };
}
