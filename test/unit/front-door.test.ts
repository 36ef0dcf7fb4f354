/** The front-door handler: who asks comes only from the request context; the body cannot set identity, force or finding fields. */
import { handleFrontDoor, type FrontDoorDeps } from '../../lambdas/front-door/handler';
import type { FrontDoorEvent } from '../../lambdas/domain/approvals/front-door';
import type { ApprovalRecord } from '../../lambdas/adapters/ledger/ledger-approvals';
import { DEFAULT_ACCESS_ROLES } from '../../lambdas/domain/approvals/people';
import { MemoryApprovals } from '../memory-approvals';

const ACCOUNT = '111122223333';
const ALICE = `arn:aws:sts::${ACCOUNT}:assumed-role/OnCall/alice`;
const BOB = `arn:aws:sts::${ACCOUNT}:assumed-role/OnCall/bob`;
const MALLORY = 'arn:aws:iam::999999999999:user/mallory';
const KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const ID = 'ap-0123456789abcdef0123';

function deps(approval: ApprovalRecord | null = null, sendError?: Error) {
  const started: { name: string; input: unknown }[] = [];
  const sent: unknown[][] = [];
  const approvals = new MemoryApprovals(approval ? [approval] : []);
  const statusWhenSent: string[] = [];
  const send = async (...a: unknown[]) => {
    statusWhenSent.push(approvals.items.get(ID)?.status ?? 'MISSING');
    if (sendError) throw sendError;
    sent.push(a);
  };
  const d: FrontDoorDeps = {
    accountId: ACCOUNT,
    now: () => new Date('2025-06-01T12:00:00Z'),
    workflow: {
      startManual: async (name, input) => (
        started.push({ name, input }),
        { executionArn: `arn:aws:states:us-east-1:${ACCOUNT}:execution:M:${name}`, startDate: null }
      ),
      sendTaskSuccess: (...a) => send('success', ...a),
      sendTaskFailure: (...a) => send('failure', ...a),
    },
    approvals,
    roles: DEFAULT_ACCESS_ROLES,
    answerId: () => 'answer-1',
  };
  return { d, started, sent, approvals, statusWhenSent };
}

const event = (
  resource: string,
  body: unknown,
  userArn: string | null = ALICE,
  extra: Partial<FrontDoorEvent> = {},
): FrontDoorEvent => ({
  resource,
  httpMethod: 'POST',
  body: JSON.stringify(body),
  requestContext: { identity: userArn ? { userArn, accountId: userArn.split(':')[4] } : null },
  ...extra,
});
const bodyOf = (r: { body: string }) => JSON.parse(r.body) as Record<string, unknown>;

describe('front door: identity from the request context only', () => {
  it('starts the manual machine as the signed caller; a body claiming another identity is ignored', async () => {
    // Given
    const { d, started } = deps();

    // When
    const res = await handleFrontDoor(
      event('/requests', { keyId: KEY, reason: 'INC-1', requestedBy: MALLORY, by: MALLORY }),
      d,
    );

    // Then
    expect(res.statusCode).toBe(200);
    expect(started).toEqual([
      {
        name: expect.stringMatching(/^manual-\d{8}T\d{6}-[0-9a-f]{8}$/),
        input: { keyId: KEY, reason: 'INC-1', dryRun: false, breakGlass: false, requestedBy: ALICE },
      },
    ]);
  });

  it.each([
    ['no identity in the request context', event('/requests', { keyId: KEY, reason: 'r' }, null), 403, 'NoIdentity'],
    ['a caller of another account', event('/requests', { keyId: KEY, reason: 'r' }, MALLORY), 403, 'ForeignAccount'],
    [
      'force on the on-call route',
      event('/requests', { keyId: KEY, reason: 'r', force: true }),
      403,
      'BreakGlassRequired',
    ],
    [
      'a finding-shaped body',
      event('/requests', { keyId: KEY, reason: 'r', source: 'aws.guardduty', detail: {} }),
      400,
      'BadRequest',
    ],
    ['no reason', event('/requests', { keyId: KEY }), 400, 'BadRequest'],
    ['not JSON', { ...event('/requests', {}), body: '{' }, 400, 'BadRequest'],
    ['an unknown route', event('/admin', {}), 404, 'NotFound'],
  ])('refuses %s', async (_name, e, status, code) => {
    const { d, started } = deps();
    const res = await handleFrontDoor(e, d);
    expect(res.statusCode).toBe(status);
    expect(bodyOf(res).error).toBe(code);
    expect(started).toHaveLength(0);
  });

  it('the break-glass route alone sets force (breakGlass), with the caller from the context', async () => {
    const { d, started } = deps();
    const carol = `arn:aws:sts::${ACCOUNT}:assumed-role/BreakGlass/carol`;
    const res = await handleFrontDoor(
      event('/break-glass', { keyId: KEY, reason: 'confirmed leak', name: 'manual-x-1' }, carol),
      d,
    );
    expect(res.statusCode).toBe(200);
    expect(started).toEqual([
      {
        name: 'manual-x-1',
        input: { keyId: KEY, reason: 'confirmed leak', dryRun: false, breakGlass: true, requestedBy: carol },
      },
    ]);
  });
});

describe("front door: a person's text is stored and started clean", () => {
  it('a reason with escape sequences, line breaks and bidi overrides reaches the execution input as one clean line', async () => {
    // Given
    const { d, started } = deps();

    // When
    const res = await handleFrontDoor(
      event('/requests', { keyId: KEY, reason: 'INC-7\u001b[31m RED\r\nFake: approved\u202e\u0000 end' }),
      d,
    );

    // Then
    expect(res.statusCode).toBe(200);
    expect(started).toEqual([
      expect.objectContaining({ input: expect.objectContaining({ reason: 'INC-7 RED Fake: approved end' }) }),
    ]);
  });

  it('a reason of control characters only is refused, naming the field', async () => {
    const { d, started } = deps();
    const res = await handleFrontDoor(event('/requests', { keyId: KEY, reason: '\u0007\u0008\u001b' }), d);
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(String(res.body)).message).toMatch(/^reason: /);
    expect(started).toHaveLength(0);
  });
});

describe('front door: approvals', () => {
  const pending = (requestedBy: string | null): ApprovalRecord => ({
    approvalId: ID,
    token: 'T',
    requestedBy,
    keyArn: KEY,
    executionArn: 'e',
    expiresAt: '2025-06-01T13:00:00Z',
    status: 'PENDING',
  });
  const approve = (by: string, body: unknown = { decision: 'approve' }) =>
    event('/approvals/{approvalId}', body, by, { pathParameters: { approvalId: ID } });

  it('sends an explicit approve with the verified approver and the reason', async () => {
    const { d, sent } = deps(pending(ALICE));
    const res = await handleFrontDoor(approve(BOB, { decision: 'approve', reason: 'ok', by: MALLORY }), d);
    expect(res.statusCode).toBe(200);
    expect(sent).toEqual([
      [
        'success',
        'T',
        JSON.stringify({ decision: 'approve', by: BOB, reason: 'ok', approvalId: ID, answerId: 'answer-1' }),
      ],
    ]);
  });

  it('two-person rule: the requester cannot approve (403); a finding run can be approved by anyone on call', async () => {
    const own = deps(pending(ALICE));
    expect(bodyOf(await handleFrontDoor(approve(ALICE), own.d))).toMatchObject({ error: 'TwoPersonRule' });
    expect(own.sent).toHaveLength(0);
    const finding = deps(pending(null));
    expect((await handleFrontDoor(approve(ALICE), finding.d)).statusCode).toBe(200);
  });

  it('an approval reason is sent clean', async () => {
    const { d, sent } = deps(pending(ALICE));
    await handleFrontDoor(approve(BOB, { decision: 'approve', reason: 'ok\u001b]0;title\u0007\nnext' }), d);
    expect(sent).toEqual([
      [
        'success',
        'T',
        JSON.stringify({
          decision: 'approve',
          by: BOB,
          reason: 'ok ]0;title next',
          approvalId: ID,
          answerId: 'answer-1',
        }),
      ],
    ]); // the OSC's ESC and BEL are gone: nothing a terminal acts on
  });

  it.each([[{ decision: 'yes' }], [{ decision: 'APPROVE' }], [{ decision: 'deny' }], [{}]])(
    'anything but approve, or deny with a reason, is refused: %j',
    async (body) => {
      const { d, sent } = deps(pending(ALICE));
      expect((await handleFrontDoor(approve(BOB, body), d)).statusCode).toBe(400);
      expect(sent).toHaveLength(0);
    },
  );
});

describe('front door: a person is a person', () => {
  const SSO_ALICE = `arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_KmsRotateOnCall_0123456789abcdef/Alice`;
  const pending = (requestedBy: string | null): ApprovalRecord => ({
    approvalId: ID,
    token: 'T',
    requestedBy,
    keyArn: KEY,
    executionArn: 'e',
    expiresAt: '2025-06-01T13:00:00Z',
    status: 'PENDING',
  });
  const approve = (by: string) =>
    event('/approvals/{approvalId}', { decision: 'approve' }, by, { pathParameters: { approvalId: ID } });

  it.each([
    ['a second session of the same person in the same role', `arn:aws:sts::${ACCOUNT}:assumed-role/OnCall/ALICE`],
    ['the same person through another role', `arn:aws:sts::${ACCOUNT}:assumed-role/BreakGlass/alice`],
    ['the same person through Identity Center', SSO_ALICE],
  ])('the requester cannot approve as %s', async (_name, approver) => {
    const { d, sent } = deps(pending(ALICE));
    const res = await handleFrontDoor(approve(approver), d);
    expect(res.statusCode).toBe(403);
    expect(bodyOf(res)).toMatchObject({
      error: 'TwoPersonRule',
      message: expect.stringMatching(/requested this rotation/),
    });
    expect(sent).toHaveLength(0);
  });

  it.each([
    ['an IAM user', `arn:aws:iam::${ACCOUNT}:user/alice`, 'NotAPerson', /an IAM user/],
    [
      'a federated user',
      `arn:aws:sts::${ACCOUNT}:federated-user/bob`,
      'NotAPerson',
      /federated user \(GetFederationToken/,
    ],
    [
      'a role not named in approveRoles',
      `arn:aws:sts::${ACCOUNT}:assumed-role/PowerUser/bob`,
      'RoleNotAllowed',
      /role PowerUser may not use POST \/approvals\/\{approvalId\}/,
    ],
  ])('%s cannot approve, and is told why and what to configure', async (_name, arn, code, message) => {
    const { d, sent } = deps(pending(ALICE));
    const res = await handleFrontDoor(approve(arn), d);
    expect(res.statusCode).toBe(403);
    expect(bodyOf(res)).toMatchObject({ error: code, message: expect.stringMatching(message) });
    expect(String(bodyOf(res).message)).toMatch(/IAM Identity Center/);
    expect(sent).toHaveLength(0);
  });

  it('an on-call role cannot break glass; a break-glass role or Identity Center set can', async () => {
    const onCall = deps();
    expect(
      bodyOf(await handleFrontDoor(event('/break-glass', { keyId: KEY, reason: 'r' }, ALICE), onCall.d)),
    ).toMatchObject({ error: 'RoleNotAllowed' });
    expect(onCall.started).toHaveLength(0);
    const breakGlass = deps();
    const sso = `arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_KmsRotateBreakGlass_0123456789abcdef/carol`;
    expect(
      (await handleFrontDoor(event('/break-glass', { keyId: KEY, reason: 'r' }, sso), breakGlass.d)).statusCode,
    ).toBe(200);
  });

  it('a request by no person cannot be approved by anyone (the two-person rule cannot be shown)', async () => {
    const { d, sent } = deps(pending(`arn:aws:iam::${ACCOUNT}:user/legacy`));
    expect(bodyOf(await handleFrontDoor(approve(BOB), d))).toMatchObject({
      error: 'TwoPersonRule',
      message: expect.stringMatching(/is no person/),
    });
    expect(sent).toHaveLength(0);
  });
});

describe('front door: the ledger says APPROVED only after Step Functions took the answer', () => {
  const pending = (): ApprovalRecord => ({
    approvalId: ID,
    token: 'T',
    requestedBy: ALICE,
    keyArn: KEY,
    executionArn: 'e',
    expiresAt: '2025-06-01T13:00:00Z',
    status: 'PENDING',
  });
  const approve = () =>
    event('/approvals/{approvalId}', { decision: 'approve' }, BOB, { pathParameters: { approvalId: ID } });

  it('PENDING (with the claimed answer) while SendTaskSuccess runs, APPROVED after', async () => {
    const { d, approvals, statusWhenSent } = deps(pending());
    expect((await handleFrontDoor(approve(), d)).statusCode).toBe(200);
    expect(statusWhenSent).toEqual(['PENDING']);
    expect(approvals.items.get(ID)).toMatchObject({
      status: 'APPROVED',
      answeredBy: BOB,
      answer: { answerId: 'answer-1', decision: 'approve', person: 'bob' },
    });
  });

  it('an approval for an execution that no longer waits: 410, and the ledger says EXPIRED, never APPROVED', async () => {
    const gone = Object.assign(new Error('Task Timed Out'), { name: 'TaskTimedOut' });
    const { d, approvals } = deps(pending(), gone);
    const res = await handleFrontDoor(approve(), d);
    expect(res.statusCode).toBe(410);
    expect(approvals.items.get(ID)).toMatchObject({ status: 'EXPIRED', answer: null, answeredBy: null });
  });

  it('Step Functions failing otherwise withdraws the answer: still PENDING, answerable again', async () => {
    const { d, approvals } = deps(pending(), Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));
    expect((await handleFrontDoor(approve(), d)).statusCode).toBe(500);
    expect(approvals.items.get(ID)).toMatchObject({ status: 'PENDING', answer: null });
  });
});
