import type { Construct } from 'constructs';
import { RESULTS_BUCKET_ENV } from '../../lambdas/domain/function-environment';
import { grantLedgerItems, grantProductKeyVia } from '../ledger-access';
import { ReencryptionResources } from './reencryption';
import type { RotationCore } from '../rotation-core';
import type { DerivedRuntime } from '../settings/derived';

/**
 * The re-encryption feature's one seam: the Distributed Map branch, its results bucket and every
 * right it needs exist only when `reEncryptBuckets` names buckets (the derived pacing is then
 * present). Returns undefined without the branch; the core's state machines take what this
 * returns (RotationCore.addStateMachines). Built in the construct's own scope (logical ids).
 */
export function plugReencryption(
  scope: Construct,
  core: RotationCore,
  settings: { reEncryptBuckets: string[]; reEncryptEnvelopeWrappingKeys: string[] },
  runtime: DerivedRuntime,
): ReencryptionResources | undefined {
  if (!runtime.reencryption) return undefined;
  const { fns, productKey, table } = core;
  const reencryptObjects = fns['reencrypt-objects']!;
  const summarize = fns['summarize-reencryption']!;
  const reencryption = new ReencryptionResources(scope, 'Reencryption', {
    buckets: settings.reEncryptBuckets,
    envelopeWrappingKeys: settings.reEncryptEnvelopeWrappingKeys,
    productKey,
    reencryptObjects,
    summarizeReencryption: summarize,
    // The summary appends the key's audit entry (append-only KEY#, as Record does).
    grantLedgerKeyEntries: (grantee) =>
      grantLedgerItems(grantee, table, [{ actions: ['dynamodb:PutItem'], prefix: 'KEY#' }]),
  });
  // The result files (SSE-KMS with the product key) are read through S3; the ledger through DynamoDB.
  grantProductKeyVia(summarize, productKey, ['dynamodb', 's3']);
  // Where a failed map run's files are looked for (it left no ResultWriterDetails).
  summarize.addEnvironment(RESULTS_BUCKET_ENV, reencryption.resultsBucket.bucketName);
  return reencryption;
}
