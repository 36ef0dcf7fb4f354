/**
 * Data still under the exposed key is never "fine": every skip reason that leaves data under the
 * key, older versions, failures and refusals set action required, counted by reason, and the
 * notification says what to do for each.
 */
import {
  decideS3Object,
  emptyTargetReport,
  isReplicaOf,
  recordOutcome,
  type ReencryptionState,
  type TargetReport,
} from '../../lambdas/domain/reencryption';
import { ACTION_ADVICE_DEFAULT, actionAdvice, summarizeReencryption } from '../../lambdas/domain/reencryption/report';
import { reencryptionSection } from '../../lambdas/domain/notification/message-reencryption';

const PRIMARY = 'arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab';
const REPLICA = 'arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab';
const OTHER = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

function state(reports: TargetReport[]): ReencryptionState {
  return {
    mode: 'RUN',
    units: [],
    refused: [],
    refusedMore: 0,
    index: 0,
    remaining: 0,
    current: null,
    reports,
    mapRun: null,
    mapRunError: null,
  };
}

function target(...outcomes: Parameters<typeof recordOutcome>[1][]): TargetReport {
  return outcomes.reduce(recordOutcome, emptyTargetReport('s3-sse-kms', 'orders', '', PRIMARY, 'request'));
}

describe('action required, by reason', () => {
  it('archived objects under the key require action (ARCHIVED_NEEDS_RESTORE)', () => {
    const s = summarizeReencryption(
      state([
        target(
          { key: 'a', result: 'SKIPPED', reason: 'ARCHIVED_NEEDS_RESTORE' },
          { key: 'b', result: 'SKIPPED', reason: 'ARCHIVED_NEEDS_RESTORE' },
        ),
      ]),
    );
    expect(s).toMatchObject({ actionRequired: true, actionRequiredByReason: { ARCHIVED_NEEDS_RESTORE: 2 } });
  });

  it('objects under another key or without KMS need no action', () => {
    const s = summarizeReencryption(
      state([
        target(
          { key: 'a', result: 'SKIPPED', reason: 'OTHER_KEY' },
          { key: 'b', result: 'SKIPPED', reason: 'NOT_SSE_KMS' },
        ),
      ]),
    );
    expect(s).toMatchObject({ actionRequired: false, actionRequiredByReason: {} });
  });

  it('a skip reason added later (unknown here) requires action and gets advice', () => {
    const t = target({ key: 'a', result: 'SKIPPED', reason: 'SSE_C' as never });
    const s = summarizeReencryption(state([t]))!;
    expect(s.actionRequiredByReason).toEqual({ SSE_C: 1 });
    expect(actionAdvice('SSE_C')).toBe(ACTION_ADVICE_DEFAULT);
  });

  it('older versions under the key, failed and changed objects are counted apart', () => {
    const t = target(
      { key: 'a', result: 'REENCRYPTED', bytes: 1, oldVersionLeft: true, bucketKey: false, olderVersionsUnderKey: 3 },
      { key: 'b', result: 'SKIPPED', reason: 'OTHER_KEY', olderVersionsUnderKey: 2 },
      { key: 'c', result: 'FAILED', error: 'AccessDenied' },
      { key: 'd', result: 'CHANGED_DURING_RUN', error: 'PreconditionFailed' },
    );
    expect(t.olderVersionsUnderKey).toBe(5);
    expect(summarizeReencryption(state([t]))!.actionRequiredByReason).toEqual({
      OLDER_VERSIONS: 5,
      OBJECT_FAILED: 1,
      CHANGED_DURING_RUN: 1,
    });
  });

  it('the notification lists each reason with what to do', () => {
    const s = summarizeReencryption(
      state([
        target(
          { key: 'a', result: 'SKIPPED', reason: 'ARCHIVED_NEEDS_RESTORE' },
          { key: 'b', result: 'SKIPPED', reason: 'MULTI_REGION_REPLICA', olderVersionsUnderKey: 1 },
        ),
      ]),
    )!;
    const text = reencryptionSection(s, { requestId: 'r-1' }, 64 * 1024);
    expect(text).toContain('Action required, by reason:');
    expect(text).toContain(`- ARCHIVED_NEEDS_RESTORE (1): ${actionAdvice('ARCHIVED_NEEDS_RESTORE')}`);
    expect(text).toContain(`- MULTI_REGION_REPLICA (1): ${actionAdvice('MULTI_REGION_REPLICA')}`);
    expect(text).toContain(`- OLDER_VERSIONS (1): ${actionAdvice('OLDER_VERSIONS')}`);
    expect(actionAdvice('OLDER_VERSIONS')).not.toBe(ACTION_ADVICE_DEFAULT);
  });
});

describe('multi-Region replicas', () => {
  it('a replica (same mrk- id, same account, another Region) is recognised; other keys are not', () => {
    expect(isReplicaOf(REPLICA, PRIMARY)).toBe(true);
    expect(isReplicaOf(PRIMARY, PRIMARY)).toBe(false);
    expect(isReplicaOf(REPLICA.replace('111122223333', '444455556666'), PRIMARY)).toBe(false);
    expect(isReplicaOf(OTHER.replace('us-east-1', 'eu-west-1'), OTHER)).toBe(false);
  });

  it('an object under a replica of the rotated key is reported, not skipped as another key', () => {
    expect(decideS3Object({ serverSideEncryption: 'aws:kms', sseKmsKeyId: REPLICA, sizeBytes: 1 }, PRIMARY)).toEqual({
      action: 'SKIPPED',
      reason: 'MULTI_REGION_REPLICA',
    });
  });
});
