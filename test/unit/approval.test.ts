import {
  APPROVAL_DENIED,
  approvalOutcome,
  decodeDenial,
  encodeApproval,
  encodeDenial,
  verifyApproval,
  type LedgerApproval,
} from '../../lambdas/domain/approvals/approval';
import { personKeyOf } from '../../lambdas/domain/approvals/people';
import { newKeyTask } from '../../lambdas/domain/rotation/key-task';
import { KEY_ARN, request } from './handlers/fixtures';

const APPROVER = 'arn:aws:sts::111122223333:assumed-role/OnCall/alice';

function gateEndedWith(approvalError: { Error: string; Cause?: string }) {
  return {
    ...newKeyTask({ ref: KEY_ARN, request: request() }),
    keyArn: KEY_ARN,
    next: 'ROTATE' as const,
    approvalError,
  };
}

describe('approval codec', () => {
  it('encodes an approval as the state machine stores it in $.approval', () => {
    expect(JSON.parse(encodeApproval(APPROVER, null, 'ap-0123456789abcdef0123', 'a1'))).toEqual({
      decision: 'approve',
      by: APPROVER,
      reason: null,
      approvalId: 'ap-0123456789abcdef0123',
      answerId: 'a1',
    });
    expect(JSON.parse(encodeApproval(APPROVER, 'owner agreed', 'ap-0123456789abcdef0123', 'a1'))).toMatchObject({
      reason: 'owner agreed',
    });
  });

  it('decodes the denial it encodes', () => {
    // When
    const decoded = decodeDenial(encodeDenial(APPROVER, 'not during the freeze'));

    // Then
    expect(decoded).toEqual({ by: APPROVER, reason: 'not during the freeze' });
  });

  it.each([
    ['no cause', undefined, { by: null, reason: null }],
    ['JSON without our fields', '{"other":1}', { by: null, reason: null }],
    ['plain text (SendTaskFailure by hand)', 'denied by the console', { by: null, reason: 'denied by the console' }],
  ])('decodes a denial with %s without throwing', (_name, cause, expected) => {
    expect(decodeDenial(cause)).toEqual(expected);
  });
});

describe('approvalOutcome', () => {
  const config = { approvalTimeoutSeconds: 3600 };

  it('is null when the gate did not end without approval', () => {
    expect(approvalOutcome({ ...gateEndedWith({ Error: 'x' }), approvalError: null }, config)).toBeNull();
  });

  it('reads who denied and why from an encoded denial', () => {
    // When
    const outcome = approvalOutcome(
      gateEndedWith({ Error: APPROVAL_DENIED, Cause: encodeDenial(APPROVER, 'not during the freeze') }),
      config,
    );

    // Then
    expect(outcome).toEqual({
      outcome: 'SKIPPED',
      reason: 'APPROVAL_DENIED',
      next: 'DONE',
      detail: `Denied by ${APPROVER}: not during the freeze.`,
    });
  });

  it('names no one when the denial says nothing', () => {
    expect(approvalOutcome(gateEndedWith({ Error: APPROVAL_DENIED }), config)?.detail).toBe('Denied by an approver.');
  });

  it.each(['States.Timeout', 'States.HeartbeatTimeout'])('%s is a denial by silence, in minutes', (error) => {
    expect(approvalOutcome(gateEndedWith({ Error: error }), { approvalTimeoutSeconds: 5400 })).toEqual({
      outcome: 'SKIPPED',
      reason: 'APPROVAL_DENIED',
      next: 'DONE',
      detail: 'No approval decision within 90 min; the key was not rotated.',
    });
  });

  it('leaves other errors to the failure classification', () => {
    expect(approvalOutcome(gateEndedWith({ Error: 'Lambda.ServiceException' }), config)).toBeNull();
  });
});

describe('verifyApproval: a token alone approves nothing', () => {
  const ID = 'ap-0123456789abcdef0123';
  const EXEC = 'arn:aws:states:us-east-1:111122223333:execution:M:manual-1';
  const BOB = 'arn:aws:sts::111122223333:assumed-role/OnCall/bob';
  const task = { keyArn: KEY_ARN, executionArn: EXEC };
  const ledger = (over: Partial<LedgerApproval> = {}): LedgerApproval => ({
    requestedBy: APPROVER,
    keyArn: KEY_ARN,
    executionArn: EXEC,
    expiresAt: '2025-06-01T13:00:00Z',
    status: 'APPROVED',
    answer: { answerId: 'a1', decision: 'approve', by: BOB, person: 'bob', at: '2025-06-01T12:00:00Z', reason: 'ok' },
    ...over,
  });
  const received = { decision: 'approve' as const, by: BOB, approvalId: ID, answerId: 'a1' };

  it("the front door's answer, as the ledger holds it, counts: the approver comes from the ledger", () => {
    expect(
      verifyApproval(
        { ...received, by: 'arn:aws:sts::111122223333:assumed-role/OnCall/mallory' },
        ledger(),
        task,
        personKeyOf,
      ),
    ).toEqual({ by: BOB, reason: 'ok' });
    // Step Functions took the answer before the front door marked it: still PENDING with the answer.
    expect(verifyApproval(received, ledger({ status: 'PENDING' }), task, personKeyOf)).toEqual({
      by: BOB,
      reason: 'ok',
    });
  });

  it.each([
    [
      'no approval id (a hand-made SendTaskSuccess)',
      { decision: 'approve' as const, by: BOB },
      ledger(),
      /did not come from the front door/,
    ],
    ['an unknown approval', received, null, /not in the ledger/],
    ["another execution's approval", received, ledger({ executionArn: `${EXEC}-other` }), /another key or execution/],
    ["another key's approval", received, ledger({ keyArn: `${KEY_ARN}0` }), /another key or execution/],
    [
      'a guessed answer id',
      { ...received, answerId: 'guess' },
      ledger(),
      /not answered through the front door with this answer/,
    ],
    ['no answer in the ledger', received, ledger({ status: 'PENDING', answer: null }), /holds no answer/],
    [
      'a denial in the ledger',
      received,
      ledger({ answer: { ...ledger().answer!, decision: 'deny' } }),
      /answered deny/,
    ],
    ['an expired approval', received, ledger({ status: 'EXPIRED' }), /is EXPIRED/],
    [
      'an answer after the window',
      received,
      ledger({ answer: { ...ledger().answer!, at: '2025-06-01T13:00:01Z' } }),
      /after its window closed/,
    ],
    [
      'the requester under another session',
      received,
      ledger({
        answer: { ...ledger().answer!, by: 'arn:aws:sts::111122223333:assumed-role/BreakGlass/Alice', person: 'alice' },
      }),
      /answered by the requester \(alice\)/,
    ],
    [
      'an answer by no person',
      received,
      ledger({ answer: { ...ledger().answer!, by: 'arn:aws:iam::111122223333:user/bob', person: 'bob' } }),
      /who is not a person/,
    ],
  ])('refuses %s', (_name, got, record, reason) => {
    const verdict = verifyApproval(got, record, task, personKeyOf);
    expect(verdict).toEqual({ refused: expect.stringMatching(reason) });
  });
});
