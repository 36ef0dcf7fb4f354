import { correlationKeys } from '../../lambdas/adapters/lambda-handler';
import { outcomeDimensions, secondsToConfirmedRotation } from '../../lambdas/domain/metrics';
import type { KeyResult } from '../../lambdas/domain/contracts';

const KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const EXECUTION = 'arn:aws:states:us-east-1:111122223333:execution:KmsIncidentRotation:x';

describe('metric values', () => {
  test('KeysHandled dimensions: the outcome, and NONE for an outcome without a reason', () => {
    expect(outcomeDimensions({ outcome: 'ROTATED', reason: null })).toEqual({ Outcome: 'ROTATED', Reason: 'NONE' });
    expect(outcomeDimensions({ outcome: 'SKIPPED', reason: 'BUDGET_RESERVE' })).toEqual({
      Outcome: 'SKIPPED',
      Reason: 'BUDGET_RESERVE',
    });
  });

  test('time to confirmed rotation: ROTATED keys with a confirmation only, seconds from the execution start, never negative', () => {
    // Given
    const key = (outcome: KeyResult['outcome'], confirmedAt: string | null) => ({ outcome, confirmedAt }) as KeyResult;
    const keys = [
      key('ROTATED', '2026-01-01T00:02:30.400Z'),
      key('SKIPPED', null),
      key('ROTATED', null),
      key('DRY_RUN', '2026-01-01T00:05:00Z'),
      key('ROTATED', '2025-12-31T23:59:00Z'),
    ];

    // When
    const seconds = secondsToConfirmedRotation({ startedAt: '2026-01-01T00:00:00Z', keys });

    // Then
    expect(seconds).toEqual([150, 0]);
    expect(secondsToConfirmedRotation({ startedAt: null, keys })).toEqual([]);
  });
});

describe('log correlation keys from a task input', () => {
  test.each([
    [
      'a key task',
      { ref: 'alias/orders', keyArn: KEY, executionArn: EXECUTION, request: { requestId: 'r1' } },
      { executionArn: EXECUTION, requestId: 'r1', keyArn: KEY },
    ],
    [
      'a key task before Assess (the reference as named)',
      { ref: 'alias/orders', keyArn: null, executionArn: EXECUTION, request: { requestId: 'r1' } },
      { executionArn: EXECUTION, requestId: 'r1', keyArn: 'alias/orders' },
    ],
    [
      'the approval gate',
      { token: 't', task: { ref: KEY, keyArn: KEY, executionArn: EXECUTION, request: { requestId: 'r2' } } },
      { executionArn: EXECUTION, requestId: 'r2', keyArn: KEY },
    ],
    [
      'Notify (execution-wide)',
      { request: { requestId: 'r3' }, results: [], executionArn: EXECUTION },
      { executionArn: EXECUTION, requestId: 'r3' },
    ],
    ['a raw finding', { source: 'aws.guardduty', detail: {} }, {}],
    ['nothing', null, {}],
  ])('%s', (_name, input, expected) => {
    expect(correlationKeys(input)).toEqual(expected);
  });
});
