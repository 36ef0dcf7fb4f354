/** The front door passes a request's re-encryption targets to the manual machine, checked first. */
import { handleFrontDoor, type FrontDoorDeps } from '../../lambdas/front-door/handler';
import { DEFAULT_ACCESS_ROLES } from '../../lambdas/domain/approvals/people';
import { MemoryApprovals } from '../memory-approvals';
import type { FrontDoorEvent } from '../../lambdas/domain/approvals/front-door';
import { parseForMode } from '../../lambdas/domain/intake/intake';

const ACCOUNT = '111122223333';
/** On call and break-glass (the default breakGlassRoles name the BreakGlass role). */
const ALICE = `arn:aws:sts::${ACCOUNT}:assumed-role/BreakGlass/alice`;
const KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

function deps() {
  const started: { name: string; input: unknown }[] = [];
  const d: FrontDoorDeps = {
    accountId: ACCOUNT,
    now: () => new Date('2025-06-01T12:00:00Z'),
    workflow: {
      startManual: async (name, input) => (
        started.push({ name, input }),
        { executionArn: `arn:aws:states:us-east-1:${ACCOUNT}:execution:M:${name}`, startDate: null }
      ),
      sendTaskSuccess: async () => undefined,
      sendTaskFailure: async () => undefined,
    },
    approvals: new MemoryApprovals(),
    roles: DEFAULT_ACCESS_ROLES,
  };
  return { d, started };
}

const event = (resource: string, body: unknown): FrontDoorEvent => ({
  resource,
  httpMethod: 'POST',
  body: JSON.stringify(body),
  requestContext: { identity: { userArn: ALICE, accountId: ACCOUNT } },
});

const TARGETS = [
  { type: 's3-sse-kms', bucket: 'orders-data', prefix: 'exports/' },
  { type: 'envelope', bucket: 'orders-archive' },
];

describe('front door: reEncrypt', () => {
  it.each([
    ['/requests', false],
    ['/break-glass', true],
  ])(
    '%s passes reEncrypt.targets on to the manual machine, whose Intake makes them reEncryptTargets',
    async (route, breakGlass) => {
      // Given
      const { d, started } = deps();

      // When
      const res = await handleFrontDoor(
        event(route, { keyId: KEY, reason: 'INC-7', reEncrypt: { targets: TARGETS } }),
        d,
      );

      // Then
      expect(res.statusCode).toBe(200);
      expect(started).toHaveLength(1);
      expect(started[0]!.input).toEqual({
        keyId: KEY,
        reason: 'INC-7',
        dryRun: false,
        breakGlass,
        requestedBy: ALICE,
        reEncrypt: { targets: TARGETS },
      });
      const request = parseForMode(started[0]!.input, { account: ACCOUNT, region: 'us-east-1' }, 'manual');
      expect(request.reEncryptTargets).toEqual([
        { type: 's3-sse-kms', bucket: 'orders-data', prefix: 'exports/', origin: 'request' },
        { type: 'envelope', bucket: 'orders-archive', prefix: '', origin: 'request' },
      ]);
    },
  );

  it('sends no reEncrypt field when none (or an empty list) is asked for', async () => {
    const { d, started } = deps();
    await handleFrontDoor(event('/requests', { keyId: KEY, reason: 'INC-7', reEncrypt: { targets: [] } }), d);
    await handleFrontDoor(event('/requests', { keyId: KEY, reason: 'INC-7' }), d);
    expect(started.map((s) => Object.hasOwn(s.input as object, 'reEncrypt'))).toEqual([false, false]);
  });

  it.each([
    [
      {
        targets: [
          { type: 's3-sse-kms', bucket: 'orders-data' },
          { type: 'envelope', bucket: 'Orders_Data' },
        ],
      },
      /^reEncrypt\.targets\[1\]\.bucket: expected an S3 bucket name .*got "Orders_Data"$/,
    ],
    [
      { targets: [{ type: 'copy', bucket: 'orders-data' }] },
      /^reEncrypt\.targets\[0\]\.type: expected "s3-sse-kms" or "envelope", got "copy"$/,
    ],
    [
      { targets: [{ type: 'envelope', bucket: 'orders-data', keyArn: KEY }] },
      /^reEncrypt\.targets\[0\]\.keyArn: unknown field; a target has type, bucket, prefix$/,
    ],
    [
      { targets: Array.from({ length: 21 }, (_, i) => ({ type: 'envelope', bucket: `bucket-${i}` })) },
      /^reEncrypt\.targets: expected at most 20 targets/,
    ],
    [[], /^reEncrypt: expected \{"targets": /],
  ])('refuses %j with a 400 naming the field, starting nothing', async (reEncrypt, message) => {
    const { d, started } = deps();
    const res = await handleFrontDoor(event('/requests', { keyId: KEY, reason: 'INC-7', reEncrypt }), d);
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body)).toEqual({ error: 'BadRequest', message: expect.stringMatching(message) });
    expect(started).toEqual([]);
  });
});
