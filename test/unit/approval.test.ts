import { APPROVAL_DENIED, approvalOutcome, decodeDenial, encodeApproval, encodeDenial } from '../../lambdas/domain/approval';
import { newKeyTask } from '../../lambdas/domain/key-task';
import { KEY_ARN, request } from './handlers/fixtures';

const APPROVER = 'arn:aws:sts::111122223333:assumed-role/OnCall/alice';

function gateEndedWith(approvalError: { Error: string; Cause?: string }) {
  return { ...newKeyTask({ ref: KEY_ARN, request: request() }), keyArn: KEY_ARN, next: 'ROTATE' as const, approvalError };
}

describe('approval codec', () => {
  it('encodes an approval as the state machine stores it in $.approval', () => {
    expect(JSON.parse(encodeApproval(APPROVER))).toEqual({ decision: 'approve', by: APPROVER, reason: null });
    expect(JSON.parse(encodeApproval(APPROVER, 'owner agreed'))).toEqual({ decision: 'approve', by: APPROVER, reason: 'owner agreed' });
  });

  it('decodes the denial it encodes', () => {
    // Act
    const decoded = decodeDenial(encodeDenial(APPROVER, 'not during the freeze'));

    // Assess
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
    // Act
    const outcome = approvalOutcome(gateEndedWith({ Error: APPROVAL_DENIED, Cause: encodeDenial(APPROVER, 'not during the freeze') }), config);

    // Assess
    expect(outcome).toEqual({ outcome: 'SKIPPED', reason: 'APPROVAL_DENIED', next: 'DONE', detail: `Denied by ${APPROVER}: not during the freeze.` });
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
