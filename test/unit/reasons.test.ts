import fc from 'fast-check';
import {
  FAIL_REASONS,
  OUTCOMES,
  SKIP_REASONS,
  type FailReason,
  type Outcome,
  type Reason,
} from '../../lambdas/domain/contracts';
import {
  ACTION_REQUIRED_SKIP_REASONS,
  NEXT_STEP,
  OUTCOME_TEXT,
  REASON_TEXT,
  needsAction,
} from '../../lambdas/domain/notification/reasons';
import { classifyError } from '../../lambdas/domain/failures';

const ALL_REASONS: Reason[] = [...SKIP_REASONS, ...FAIL_REASONS];

describe('REASON_TEXT and NEXT_STEP', () => {
  it.each(ALL_REASONS)('%s has a sentence and a next step', (reason) => {
    // Then
    expect(REASON_TEXT[reason]).toMatch(/^[A-Z].{30,}\.$/s);
    expect(NEXT_STEP[reason]).toMatch(/^[A-Z].{20,}[.`]$/s);
    expect(REASON_TEXT[reason]).not.toMatch(/[\r\n\t]/);
    expect(NEXT_STEP[reason]).not.toMatch(/[\r\n\t]/);
  });

  it('covers exactly the reason codes of the contract', () => {
    expect(Object.keys(REASON_TEXT).sort()).toEqual([...ALL_REASONS].sort());
    expect(Object.keys(NEXT_STEP).sort()).toEqual([...ALL_REASONS].sort());
  });

  it('gives every reason its own next step', () => {
    expect(new Set(Object.values(NEXT_STEP)).size).toBe(ALL_REASONS.length);
  });

  it.each<[Reason, RegExp[]]>([
    ['IMPORTED_MATERIAL_NOT_STAGED', [/imported key material/, /NEW_KEY_MATERIAL/]],
    ['BUDGET_RESERVE', [/kept for manual use/]],
    ['BUDGET_EXHAUSTED', [/every on-demand rotation/]],
    ['FOREIGN_ACCOUNT', [/another AWS account/]],
    ['OPTED_OUT', [/opt-out tag/, /kms-incident-rotation/]],
    ['DUPLICATE_FINDING', [/already handled/]],
    ['ROTATION_TIMEOUT', [/not confirmed before the deadline/]],
    ['THROTTLED', [/rate-limited/]],
    ['AWS_MANAGED', [/AWS managed/]],
  ])('REASON_TEXT[%s] says what happened', (reason, patterns) => {
    for (const pattern of patterns) expect(REASON_TEXT[reason]).toMatch(pattern);
  });

  it.each<[Reason, RegExp[]]>([
    [
      'IMPORTED_MATERIAL_NOT_STAGED',
      [/ImportType NEW_KEY_MATERIAL/, /EXISTING_KEY_MATERIAL/, /kms-rotate start --key/],
    ],
    [
      'BUDGET_RESERVE',
      [/rerun by hand with the break-glass policy/, /kms-rotate start --key <key ARN> --reason "<why>" --force/],
    ],
    ['RECENTLY_ROTATED', [/--force/]],
    ['ROTATION_TIMEOUT', [/may still complete/, /`kms-rotate check --key <key ARN>`/]],
    ['FOREIGN_ACCOUNT', [/Rotate it from the owning account/]],
    ['OPTED_OUT', [/opt-out tag/]],
    ['ACCESS_DENIED', [/kms:RotateKeyOnDemand/, /key policy/]],
    ['INTERNAL', [/Step Functions console/, /kms-rotate check/]],
    ['THROTTLED', [/Rerun in a few minutes/]],
    ['BUDGET_EXHAUSTED', [/create a new key/, /re-encrypt/]],
  ])('NEXT_STEP[%s] says what to do', (reason, patterns) => {
    for (const pattern of patterns) expect(NEXT_STEP[reason]).toMatch(pattern);
  });

  it.each(OUTCOMES)('OUTCOME_TEXT[%s] starts with the outcome in words', (outcome) => {
    expect(OUTCOME_TEXT[outcome]).toMatch(/^(rotated|dry run|skipped|failed|re-encrypt only): /);
  });
});

// The failure table's TypeScript output; test/unit/failures.test.ts checks it agrees with the
// state machine's ClassifyFailure for every known error name.
describe('classifyError', () => {
  it.each<[string, FailReason]>([
    ['ThrottlingException', 'THROTTLED'],
    ['KMS.ThrottlingException', 'THROTTLED'],
    ['Kms.ThrottlingException', 'THROTTLED'],
    ['DynamoDB.ThrottlingException', 'THROTTLED'],
    ['TooManyRequestsException', 'THROTTLED'],
    ['Lambda.TooManyRequestsException', 'THROTTLED'],
    ['TooManyRequests', 'THROTTLED'],
    ['Throttling', 'THROTTLED'],
    ['RequestLimitExceeded', 'THROTTLED'],
    ['DynamoDB.RequestLimitExceeded', 'THROTTLED'],
    ['ProvisionedThroughputExceededException', 'THROTTLED'],
    ['DynamoDB.ProvisionedThroughputExceededException', 'THROTTLED'],
    ['AccessDenied', 'ACCESS_DENIED'],
    ['AccessDeniedException', 'ACCESS_DENIED'],
    ['KMS.AccessDeniedException', 'ACCESS_DENIED'],
    ['Kms.AccessDeniedException', 'ACCESS_DENIED'],
    ['S3.AccessDeniedException', 'ACCESS_DENIED'],
    ['KMSAccessDeniedException', 'ACCESS_DENIED'],
    ['Lambda.AccessDeniedException', 'ACCESS_DENIED'],
    ['KMSInternalException', 'KMS_ERROR'],
    ['DependencyTimeoutException', 'KMS_ERROR'],
    ['KMSInvalidStateException', 'KMS_ERROR'],
    ['DisabledException', 'KMS_ERROR'],
    ['InvalidArnException', 'KMS_ERROR'],
    ['NotFoundException', 'KMS_ERROR'],
    ['UnsupportedOperationException', 'KMS_ERROR'],
    ['LimitExceededException', 'KMS_ERROR'],
    ['ConflictException', 'KMS_ERROR'],
    ['KeyUnavailableException', 'KMS_ERROR'],
    ['IncorrectKeyException', 'KMS_ERROR'],
    ['DryRunOperationException', 'KMS_ERROR'],
    ['KMS.KeyUnavailableException', 'KMS_ERROR'],
    ['KMS.KMSInternalException', 'KMS_ERROR'],
    ['Kms.KmsInvalidStateException', 'KMS_ERROR'],
    ['KMS.SomethingNewException', 'KMS_ERROR'],
    // Case-sensitive, as Step Functions compares error names.
    ['kmsinternalexception', 'INTERNAL'],
    ['KMSINTERNALEXCEPTION', 'INTERNAL'],
    ['accessdeniedexception', 'INTERNAL'],
    ['kms.ThrottlingException', 'THROTTLED'],
    ['kms.NotFoundException', 'INTERNAL'],
    ['States.Timeout', 'INTERNAL'],
    ['States.TaskFailed', 'INTERNAL'],
    ['States.HeartbeatTimeout', 'INTERNAL'],
    ['States.Runtime', 'INTERNAL'],
    ['Lambda.Unknown', 'INTERNAL'],
    ['Lambda.ServiceException', 'INTERNAL'],
    ['Lambda.SdkClientException', 'INTERNAL'],
    ['Error', 'INTERNAL'],
    ['TypeError', 'INTERNAL'],
    ['ConfigurationError', 'INTERNAL'],
    ['S3.NotFoundException', 'INTERNAL'],
    ['', 'INTERNAL'],
    ['   ', 'INTERNAL'],
    ['KMSX', 'INTERNAL'],
  ])('%s -> %s', (name, reason) => {
    // When / Then
    expect(classifyError(name)).toBe(reason);
  });

  it('treats a missing name (untyped JSON) as INTERNAL', () => {
    expect(classifyError(undefined as unknown as string)).toBe('INTERNAL');
    expect(classifyError(null as unknown as string)).toBe('INTERNAL');
  });

  it('always returns a FAILED reason, for any name', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (name) => {
        expect(FAIL_REASONS).toContain(classifyError(name));
      }),
    );
  });

  it('never returns ROTATION_TIMEOUT (only the poll loop decides that)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.constantFrom('States.Timeout', 'RotationTimeout', 'Timeout')), (name) => {
        expect(classifyError(name)).not.toBe('ROTATION_TIMEOUT');
      }),
    );
  });
});

describe('needsAction', () => {
  it.each<[Outcome, Reason | null, boolean]>([
    ['ROTATED', null, false],
    ['DRY_RUN', null, false],
    ['FAILED', 'INTERNAL', true],
    ['FAILED', 'ROTATION_TIMEOUT', true],
    ['FAILED', null, true],
    ['SKIPPED', 'FOREIGN_ACCOUNT', true],
    ['SKIPPED', 'IMPORTED_MATERIAL_NOT_STAGED', true],
    ['SKIPPED', 'BUDGET_RESERVE', true],
    ['SKIPPED', 'BUDGET_EXHAUSTED', true],
    ['SKIPPED', 'KEY_NOT_ENABLED', true],
    ['SKIPPED', 'APPROVAL_DENIED', true],
    ['SKIPPED', 'UNSUPPORTED_KEY_SPEC', true],
    ['SKIPPED', 'CUSTOM_KEY_STORE', true],
    ['SKIPPED', 'DUPLICATE_FINDING', false],
    ['SKIPPED', 'RECENTLY_ROTATED', false],
    ['SKIPPED', 'OPTED_OUT', false],
    ['SKIPPED', 'AWS_MANAGED', false],
    ['SKIPPED', 'NOT_FOUND', false],
    ['SKIPPED', null, false],
  ])('%s %s -> %s', (outcome, reason, expected) => {
    expect(needsAction(outcome, reason)).toBe(expected);
  });

  it('lists only SKIPPED reasons as action-required skips', () => {
    for (const reason of ACTION_REQUIRED_SKIP_REASONS) expect(SKIP_REASONS).toContain(reason);
  });
});
