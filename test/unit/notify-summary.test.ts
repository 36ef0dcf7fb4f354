import fc from 'fast-check';
import { newKeyTask } from '../../lambdas/domain/rotation/key-task';
import type { IncidentRequest, KeyTask, Outcome, Reason } from '../../lambdas/domain/contracts';
import { OUTCOMES } from '../../lambdas/domain/contracts';
import { summarise, worstOutcome, type IterationResult } from '../../lambdas/domain/rotation/summary';
import { cut, oneLine, parseCause } from '../../lambdas/domain/text';

const ACCOUNT = '111122223333';
const arn = (id: string) => `arn:aws:kms:us-east-1:${ACCOUNT}:key/${id}`;

function request(overrides: Partial<IncidentRequest> = {}): IncidentRequest {
  return {
    requestId: 'req-0001',
    source: 'guardduty',
    findingId: 'gd-finding-1',
    findingType: 'UnauthorizedAccess:IAMUser/AnomalousBehavior',
    severity: 8,
    severityLabel: 'HIGH',
    reason: 'Unusual KMS API calls',
    keys: [],
    dryRun: false,
    force: false,
    breakGlass: false,
    requestedBy: null,
    account: ACCOUNT,
    region: 'us-east-1',
    ...overrides,
  };
}

function task(id: string, overrides: Partial<IterationResult> = {}): IterationResult {
  return { ...newKeyTask({ ref: arn(id), request: request() }), keyArn: arn(id), ...overrides };
}

const done = (id: string, outcome: Outcome, reason: Reason | null = null, extra: Partial<KeyTask> = {}) =>
  task(id, { outcome, reason, detail: `${outcome} ${reason ?? ''}`.trim(), ...extra });

const lambdaCause = (errorType: string, errorMessage: string) =>
  JSON.stringify({
    errorType,
    errorMessage,
    trace: [`${errorType}: ${errorMessage}`, '    at Runtime.handler (/var/task/index.js:1:1)'],
  });

describe('summarise', () => {
  it('copies the request and execution into the summary', () => {
    // Given
    const req = request({ dryRun: true, findingId: 'f-9', severity: 9.5, severityLabel: 'CRITICAL' });

    // When
    const summary = summarise({
      request: req,
      results: [done('k1', 'DRY_RUN')],
      executionArn: 'arn:aws:states:us-east-1:111122223333:execution:kms:abc',
      startedAt: '2025-06-01T00:00:00.000Z',
    });

    // Then
    expect(summary).toMatchObject({
      requestId: 'req-0001',
      source: 'guardduty',
      findingId: 'f-9',
      findingType: 'UnauthorizedAccess:IAMUser/AnomalousBehavior',
      severity: 9.5,
      severityLabel: 'CRITICAL',
      reason: 'Unusual KMS API calls',
      dryRun: true,
      executionArn: 'arn:aws:states:us-east-1:111122223333:execution:kms:abc',
      startedAt: '2025-06-01T00:00:00.000Z',
      outcome: 'DRY_RUN',
      anyFailed: false,
    });
  });

  it('defaults a missing execution ARN and start time to null', () => {
    const summary = summarise({ request: request(), results: [] });
    expect(summary.executionArn).toBeNull();
    expect(summary.startedAt).toBeNull();
  });

  it('reports NONE with no keys', () => {
    const summary = summarise({ request: request(), results: [] });
    expect(summary.outcome).toBe('NONE');
    expect(summary.anyFailed).toBe(false);
    expect(summary.keys).toEqual([]);
  });

  it('turns a finished task into its key result, field by field', () => {
    // Given
    const rotated = task('k1', {
      ref: 'alias/payments',
      via: 'arn:aws:kms:eu-west-1:111122223333:key/mrk-1',
      aliases: ['alias/payments'],
      outcome: 'ROTATED',
      detail: 'Rotated on demand; new key material is in use.',
      onDemandRotationsUsed: 4,
      onDemandRotationsRemaining: 21,
      previousKeyMaterialId: 'm-old',
      currentKeyMaterialId: 'm-new',
      joined: true,
      rotationStartedAt: '2025-06-01T00:00:01.000Z',
      confirmedAt: '2025-06-01T00:01:00.000Z',
    });

    // When
    const [result] = summarise({ request: request(), results: [rotated] }).keys;

    // Then
    expect(result).toEqual({
      ref: 'alias/payments',
      keyArn: arn('k1'),
      via: 'arn:aws:kms:eu-west-1:111122223333:key/mrk-1',
      aliases: ['alias/payments'],
      moreAliases: 0,
      outcome: 'ROTATED',
      reason: null,
      detail: 'Rotated on demand; new key material is in use.',
      onDemandRotationsUsed: 4,
      onDemandRotationsRemaining: 21,
      previousKeyMaterialId: 'm-old',
      currentKeyMaterialId: 'm-new',
      joined: true,
      rotationStartedAt: '2025-06-01T00:00:01.000Z',
      confirmedAt: '2025-06-01T00:01:00.000Z',
      // Not approved at the gate: present, null (the state machine reads every field).
      approvedBy: null,
      approvalReason: null,
    });
  });

  it.each<[Outcome, Reason | null, Reason | null]>([
    ['ROTATED', null, null],
    ['DRY_RUN', null, null],
    ['SKIPPED', 'OPTED_OUT', 'OPTED_OUT'],
    ['SKIPPED', 'BUDGET_RESERVE', 'BUDGET_RESERVE'],
    ['FAILED', 'ROTATION_TIMEOUT', 'ROTATION_TIMEOUT'],
    ['FAILED', null, 'INTERNAL'],
  ])('keeps a finished %s task (reason %s -> %s)', (outcome, reason, expected) => {
    const [result] = summarise({ request: request(), results: [done('k1', outcome, reason)] }).keys;
    expect(result!.outcome).toBe(outcome);
    expect(result!.reason).toBe(expected);
  });

  it('drops a stray reason on ROTATED and DRY_RUN', () => {
    const keys = summarise({
      request: request(),
      results: [done('a', 'ROTATED', 'INTERNAL'), done('b', 'DRY_RUN', 'OPTED_OUT')],
    }).keys;
    expect(keys.map((k) => k.reason)).toEqual([null, null]);
  });

  describe('caught errors', () => {
    it('uses the message of a Lambda JSON Cause and classifies the error name', () => {
      // Given
      const caught = task('k1', {
        next: 'ROTATE',
        error: {
          Error: 'AccessDeniedException',
          Cause: lambdaCause(
            'AccessDeniedException',
            'User: arn:aws:sts::111122223333:assumed-role/rotate is not authorized to perform: kms:RotateKeyOnDemand',
          ),
        },
      });

      // When
      const [result] = summarise({ request: request(), results: [caught] }).keys;

      // Then
      expect(result!.outcome).toBe('FAILED');
      expect(result!.reason).toBe('ACCESS_DENIED');
      expect(result!.detail).toBe(
        'User: arn:aws:sts::111122223333:assumed-role/rotate is not authorized to perform: kms:RotateKeyOnDemand (AccessDeniedException)',
      );
    });

    it('uses a plain-text Cause (SDK integration) as it is', () => {
      const caught = task('k1', {
        error: {
          Error: 'KMS.KMSInvalidStateException',
          Cause: 'arn:aws:kms:us-east-1:111122223333:key/k1 is pending deletion. (Service: Kms, Status Code: 400)',
        },
      });
      const [result] = summarise({ request: request(), results: [caught] }).keys;
      expect(result!.reason).toBe('KMS_ERROR');
      expect(result!.detail).toBe(
        'arn:aws:kms:us-east-1:111122223333:key/k1 is pending deletion. (Service: Kms, Status Code: 400) (KMS.KMSInvalidStateException)',
      );
    });

    it('prefers the reason the state machine set over the error name', () => {
      const caught = task('k1', {
        error: { Error: 'States.Timeout', Cause: '' },
        failure: { outcome: 'FAILED', reason: 'THROTTLED' },
      });
      const [result] = summarise({ request: request(), results: [caught] }).keys;
      expect(result!.reason).toBe('THROTTLED');
      expect(result!.detail).toBe('The step timed out (States.Timeout).');
    });

    it('keeps the task detail when only a failure (no error) was set', () => {
      const caught = task('k1', { detail: 'Gave up.', failure: { outcome: 'FAILED', reason: 'KMS_ERROR' } });
      const [result] = summarise({ request: request(), results: [caught] }).keys;
      expect(result).toMatchObject({ outcome: 'FAILED', reason: 'KMS_ERROR', detail: 'Gave up.' });
    });

    it('looks at the Cause errorType when the error name itself says nothing', () => {
      const caught = task('k1', {
        error: { Error: 'Lambda.Unknown', Cause: lambdaCause('ThrottlingException', 'Rate exceeded') },
      });
      const [result] = summarise({ request: request(), results: [caught] }).keys;
      expect(result!.reason).toBe('THROTTLED');
      expect(result!.detail).toBe('Rate exceeded (Lambda.Unknown: ThrottlingException)');
    });

    it('never shows a stack trace, even one inside errorMessage', () => {
      const caught = task('k1', {
        error: {
          Error: 'TypeError',
          Cause: lambdaCause(
            'TypeError',
            "Cannot read properties of undefined (reading 'Arn')\n    at assess (/var/task/index.js:10:5)\n    at process.processTicksAndRejections (node:internal)",
          ),
        },
      });
      const [result] = summarise({ request: request(), results: [caught] }).keys;
      expect(result!.reason).toBe('INTERNAL');
      expect(result!.detail).toBe("Cannot read properties of undefined (reading 'Arn') (TypeError)");
      expect(result!.detail).not.toMatch(/\bat \S+ \(|index\.js|\n/);
    });

    it('cuts a long message to about 300 characters', () => {
      const caught = task('k1', {
        error: { Error: 'KMSInternalException', Cause: lambdaCause('KMSInternalException', 'x'.repeat(5000)) },
      });
      const [result] = summarise({ request: request(), results: [caught] }).keys;
      expect(result!.detail!.length).toBeLessThanOrEqual(300);
      expect(result!.detail!.endsWith('…')).toBe(true);
    });

    it('says the error had no message when the Cause is missing', () => {
      const caught = task('k1', { error: { Error: 'States.TaskFailed' } });
      const [result] = summarise({ request: request(), results: [caught] }).keys;
      expect(result).toMatchObject({
        outcome: 'FAILED',
        reason: 'INTERNAL',
        detail: 'The step failed with States.TaskFailed and no message.',
      });
    });

    it('warns that a rotation may still complete when one was started before the failure', () => {
      const caught = task('k1', {
        next: 'POLL',
        rotationStartedAt: '2025-06-01T00:00:01.000Z',
        error: { Error: 'KMS.ThrottlingException', Cause: 'Rate exceeded' },
      });
      const [result] = summarise({ request: request(), results: [caught] }).keys;
      expect(result!.reason).toBe('THROTTLED');
      expect(result!.detail).toBe(
        'A rotation was requested at 2025-06-01T00:00:01.000Z and may still complete; check before rotating again. Rate exceeded (KMS.ThrottlingException)',
      );
      expect(result!.rotationStartedAt).toBe('2025-06-01T00:00:01.000Z');
    });

    it('says so when the key was already rotated before a later step failed', () => {
      const caught = task('k1', {
        outcome: 'ROTATED',
        previousKeyMaterialId: 'm-old',
        currentKeyMaterialId: 'm-new',
        error: { Error: 'DynamoDB.ConditionalCheckFailedException', Cause: 'The conditional request failed' },
      });
      const [result] = summarise({ request: request(), results: [caught] }).keys;
      expect(result).toMatchObject({
        outcome: 'FAILED',
        reason: 'INTERNAL',
        previousKeyMaterialId: 'm-old',
        currentKeyMaterialId: 'm-new',
      });
      expect(result!.detail).toMatch(
        /^The key WAS rotated \(do not rotate it again\), but a later step failed\. The conditional request failed/,
      );
    });

    it('names an earlier SKIPPED outcome when a later step failed', () => {
      const caught = task('k1', { outcome: 'SKIPPED', reason: 'OPTED_OUT', error: { Error: 'Error', Cause: 'boom' } });
      const [result] = summarise({ request: request(), results: [caught] }).keys;
      expect(result!.outcome).toBe('FAILED');
      expect(result!.detail).toBe('The key was SKIPPED (OPTED_OUT) when a later step failed. boom (Error)');
    });

    it('strips control characters from error text', () => {
      const caught = task('k1', {
        error: { Error: 'Error', Cause: 'bad\u0007 \u001b[31mred\u001b[0m\r\ninput\u202e' },
      });
      const [result] = summarise({ request: request(), results: [caught] }).keys;
      expect(result!.detail).toBe('bad red input (Error)');
    });
  });

  it('fails a task that ended without outcome or error as INTERNAL', () => {
    const [result] = summarise({ request: request(), results: [task('k1', { next: 'POLL' })] }).keys;
    expect(result).toMatchObject({ outcome: 'FAILED', reason: 'INTERNAL' });
    expect(result!.detail).toMatch(/iteration ended without an outcome/);
  });

  it('keeps the input order of keys', () => {
    // Given
    const results = [done('c', 'SKIPPED', 'OPTED_OUT'), task('a', { error: { Error: 'Error' } }), done('b', 'ROTATED')];

    // When
    const summary = summarise({ request: request(), results });

    // Then
    expect(summary.keys.map((k) => k.keyArn)).toEqual([arn('c'), arn('a'), arn('b')]);
    expect(summary.keys.map((k) => k.outcome)).toEqual(['SKIPPED', 'FAILED', 'ROTATED']);
  });

  it.each<[Outcome[], Outcome | 'NONE', boolean]>([
    [[], 'NONE', false],
    [['SKIPPED'], 'SKIPPED', false],
    [['SKIPPED', 'DRY_RUN'], 'DRY_RUN', false],
    [['DRY_RUN', 'ROTATED', 'SKIPPED'], 'ROTATED', false],
    [['ROTATED', 'FAILED', 'SKIPPED'], 'FAILED', true],
    [['FAILED'], 'FAILED', true],
    [['SKIPPED', 'SKIPPED'], 'SKIPPED', false],
  ])('worst of %j is %s (anyFailed %s)', (outcomes, worst, anyFailed) => {
    const results = outcomes.map((o, i) =>
      done(`k${i}`, o, o === 'SKIPPED' ? 'OPTED_OUT' : o === 'FAILED' ? 'KMS_ERROR' : null),
    );
    const summary = summarise({ request: request(), results });
    expect(summary.outcome).toBe(worst);
    expect(summary.anyFailed).toBe(anyFailed);
  });

  it('worst outcome does not depend on order, and anyFailed matches FAILED (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...OUTCOMES), { maxLength: 20 }), (outcomes) => {
        const rank = ['SKIPPED', 'DRY_RUN', 'REENCRYPT_ONLY', 'ROTATED', 'FAILED'];
        const expected = outcomes.length === 0 ? 'NONE' : rank[Math.max(...outcomes.map((o) => rank.indexOf(o)))];
        expect(worstOutcome(outcomes)).toBe(expected);
        expect(worstOutcome([...outcomes].reverse())).toBe(expected);
        const summary = summarise({ request: request(), results: outcomes.map((o, i) => done(`k${i}`, o)) });
        expect(summary.anyFailed).toBe(outcomes.includes('FAILED'));
        expect(summary.keys).toHaveLength(outcomes.length);
      }),
    );
  });
});

describe('parseCause', () => {
  it.each<[string | undefined, { message: string | null; errorType: string | null }]>([
    [undefined, { message: null, errorType: null }],
    ['', { message: null, errorType: null }],
    ['{"errorType":"X","errorMessage":"m"}', { message: 'm', errorType: 'X' }],
    ['{"message":"from sdk","name":"Y"}', { message: 'from sdk', errorType: 'Y' }],
    ['{"errorType":"X"}', { message: null, errorType: 'X' }],
    ['{not json', { message: '{not json', errorType: null }],
    ['["a"]', { message: '["a"]', errorType: null }],
    ['plain text', { message: 'plain text', errorType: null }],
  ])('%j', (cause, expected) => {
    expect(parseCause(cause)).toEqual(expected);
  });
});

describe('oneLine and cut', () => {
  it('never yields control characters, line breaks or more than max characters (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), fc.integer({ min: 1, max: 300 }), (text, max) => {
        const line = oneLine(text, max);
        expect(line.length).toBeLessThanOrEqual(max);
        expect(line).not.toMatch(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u);
        expect(line).not.toMatch(/^\s|\s$|\s\s/);
      }),
    );
  });

  it('does not split a surrogate pair', () => {
    expect(cut('ab😀cd', 4)).toBe('ab…');
    expect(cut('ab😀cd', 5)).toBe('ab😀…');
    expect(cut('short', 10)).toBe('short');
  });
});
