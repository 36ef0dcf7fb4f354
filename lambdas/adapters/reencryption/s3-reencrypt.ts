import type { S3Client } from '@aws-sdk/client-s3';
import {
  boundedFailure,
  emptyTargetReport,
  recordOutcome,
  type ObjectOutcome,
  type TargetReport,
} from '../../domain/reencryption';
import { DEFAULT_RETRY, KmsPacer, realClock, retryThrottled } from './pacing';
import { reencryptEnvelope } from './reencrypt-envelope';
import type { ReencryptDeps, ReencryptTarget, Run } from './reencrypt-run';
import { reencryptSseKms } from './reencrypt-sse-kms';
import { withOlderVersions } from './reencrypt-versions';

export type { ReencryptDeps, ReencryptTarget } from './reencrypt-run';

/**
 * Re-encrypting objects under NEW data keys, a few objects at a time within a KMS
 * request pace (each request charged from when it is sent until a second after its call ended: KmsPacer); the decisions and the report live in domain/reencryption/index.ts. Clients and keyrings
 * are parameters, so tests run this against the stand-in and the Distributed Map child
 * (ReencryptObjects) runs it per batch.
 *
 * Failures are reported per object (never swallowed, never fatal for the batch); a write refused
 * by its precondition (someone changed the object meanwhile) is counted as changed and NOT retried
 * over their data. Throttled requests (S3 SlowDown, KMS ThrottlingException, also through S3 or
 * the Encryption SDK) are retried here with back-off and counted; the clients should be built
 * with `maxAttempts: 1` so that this is the only retry loop (the SDK's own retries would retry
 * throttles unseen, outside the pace, and multiply with ours).
 */

const DEFAULT_CONCURRENCY = 4;

/**
 * Re-encrypt `keys` of one target under NEW data keys of `keyArn`; the target's report (objects
 * in the order given). Up to `concurrency` objects are in flight, each started only when its KMS
 * requests fit the pace and `canStart` agrees.
 */
export async function reencryptObjects(
  deps: ReencryptDeps,
  target: ReencryptTarget,
  keyArn: string,
  keys: string[],
): Promise<TargetReport> {
  const clock = deps.clock ?? realClock;
  const started = clock.now();
  let throttles = 0;
  const pacer = deps.childKmsRequestsPerSecond ? new KmsPacer(deps.childKmsRequestsPerSecond, clock) : undefined;
  // Each attempt waits for its KMS requests to fit the pace: a retried request costs again.
  const retrying = <T>(fn: () => Promise<T>, kmsRequests: number) =>
    retryThrottled(
      () => (pacer ? pacer.paced(kmsRequests, fn) : fn()),
      () => throttles++,
      deps.retry ?? DEFAULT_RETRY,
      clock,
    );
  const run: Run = {
    deps,
    retrying,
    send: <T>(command: object, kmsRequests: number) =>
      retrying(() => deps.s3.send(command as Parameters<S3Client['send']>[0]) as Promise<T>, kmsRequests),
  };
  const canStart = deps.canStart ?? (() => true);

  const outcomes: (ObjectOutcome | undefined)[] = new Array<ObjectOutcome | undefined>(keys.length);
  let next = 0;
  let stopped = false;
  const worker = async () => {
    while (!stopped && next < keys.length) {
      if (!canStart()) break;
      const i = next++;
      const key = keys[i]!;
      try {
        const outcome =
          target.type === 's3-sse-kms'
            ? await reencryptSseKms(run, target.bucket, key, keyArn)
            : await reencryptEnvelope(run, target.bucket, key, keyArn);
        outcomes[i] = await withOlderVersions(run, target, keyArn, outcome);
      } catch (e) {
        outcomes[i] = failed(key, e);
      }
    }
    stopped = true;
  };
  try {
    await Promise.all(
      Array.from({ length: Math.max(1, Math.min(deps.concurrency ?? DEFAULT_CONCURRENCY, keys.length)) }, worker),
    );
  } finally {
    // The next batch may start in this one's slot as soon as it returns: it must find the window clear.
    await pacer?.drain();
  }

  let report = emptyTargetReport(target.type, target.bucket, target.prefix ?? '');
  keys.forEach((key, i) => {
    report = recordOutcome(
      report,
      outcomes[i] ?? {
        key,
        result: 'FAILED',
        error: 'NotAttempted: the batch ran out of time before starting this object; a re-run picks it up',
      },
    );
  });
  return { ...report, throttlesRetried: throttles, durationMs: clock.now() - started };
}

function failed(key: string, e: unknown): ObjectOutcome {
  const err = e as Error & { $metadata?: { httpStatusCode?: number } };
  // 412: a condition did not hold; 409 ConditionalRequestConflict: a conflicting write during the
  // conditional write or upload (S3 "conditional writes"). Either way someone else wrote the object.
  if (
    err.name === 'PreconditionFailed' ||
    err.$metadata?.httpStatusCode === 412 ||
    err.name === 'ConditionalRequestConflict' ||
    err.$metadata?.httpStatusCode === 409
  ) {
    return {
      key,
      result: 'CHANGED_DURING_RUN',
      error: `${err.name}: the object changed during the run and was not overwritten`,
    };
  }
  return { key, result: 'FAILED', error: boundedFailure(key, `${err.name}: ${err.message}`).error };
}
