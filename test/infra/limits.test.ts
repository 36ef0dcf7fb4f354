/**
 * No setting can outgrow Step Functions: the worst case of one execution computed from
 * the settings, the settings rejected at synth when it would not fit (naming them), and the
 * execution timeout derived from the settings.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import fc from 'fast-check';
import { KmsIncidentRotationStack } from '../../lib/stack';
import { extractWorkflow } from '../../local/template';
import { parseSettings, SettingsError } from '../../lib/settings/settings';
import {
  executionTimeoutSeconds,
  HISTORY_EVENT_LIMIT,
  limitProblems,
  MAX_EXECUTION_SECONDS,
  reencryptionWorstCase,
  worstCase,
} from '../../lib/limits';

const env = { account: '111122223333', region: 'us-east-1' };
const defaults = parseSettings({});

describe('worst case of one execution', () => {
  test('at the default settings: 50 stalled keys fit the history limit with room to spare', () => {
    // When
    const worst = worstCase(defaults);

    // Then: 37 looks per stalled key (an hour at 10..300 s), 412 events a key, 20,767 in all
    // (plus PlanReencryption with every Lambda retry: 5 + 6 x 3 events).
    expect(worst.loopsPerKey).toBe(37);
    expect(worst.historyEvents).toBe(20_767);
    expect(worst.historyEvents).toBeLessThan(HISTORY_EVENT_LIMIT);
  });

  test('with the re-encryption branch: 20 units of MoreToReencrypt, the Distributed Map and a fully retried Summarize', () => {
    // When
    const branch = reencryptionWorstCase(parseSettings({ reEncryptBuckets: ['orders-data'] }));
    const worst = worstCase(parseSettings({ reEncryptBuckets: ['orders-data'] }));

    // Then: per unit 2 (Choice) + 6 (Distributed Map: entered, started, MapRunStarted,
    // MapRunSucceeded|Failed, succeeded|failed, exited) + 38 (Summarize: 5 + 11 retries x 3) = 46;
    // 20 units and the last Choice: 922. With the keys' 20,767: 21,689.
    expect(branch.historyEvents).toBe(922);
    expect(worst.historyEvents).toBe(21_689);
    expect(worst.historyEvents).toBeLessThan(HISTORY_EVENT_LIMIT);
  });

  test('grows with the rotation timeout and shrinks with a longer longest wait', () => {
    const longer = worstCase({ ...defaults, rotationTimeoutMinutes: 90 });
    const coarser = worstCase({ ...defaults, rotationTimeoutMinutes: 90, pollMaxSeconds: 900 });
    expect(longer.historyEvents).toBeGreaterThan(worstCase(defaults).historyEvents);
    expect(coarser.historyEvents).toBeLessThan(longer.historyEvents);
  });

  test('property: every accepted combination fits; every rejected one names its settings', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 10, max: 3600 }),
        fc.integer({ min: 1, max: 1440 }),
        fc.integer({ min: 1, max: 10_080 }),
        (initial, max, rotation, approval) => {
          const raw = {
            pollInitialSeconds: initial,
            pollMaxSeconds: max,
            rotationTimeoutMinutes: rotation,
            approvalTimeoutMinutes: approval,
          };
          let settings;
          try {
            settings = parseSettings(raw);
          } catch (error) {
            expect(error).toBeInstanceOf(SettingsError);
            expect((error as Error).message).toMatch(/rotationTimeoutMinutes/);
            expect(worstCase(raw).historyEvents).toBeGreaterThanOrEqual(HISTORY_EVENT_LIMIT);
            return;
          }
          expect(worstCase(settings).historyEvents).toBeLessThan(HISTORY_EVENT_LIMIT);
          expect(executionTimeoutSeconds(settings)).toBeLessThanOrEqual(MAX_EXECUTION_SECONDS);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('settings that could not fit are rejected at synth, naming the settings', () => {
  test('a rotation timeout whose stalled keys would exceed 25,000 history events', () => {
    expect(() => parseSettings({ rotationTimeoutMinutes: 1440 })).toThrow(SettingsError);
    expect(() => parseSettings({ rotationTimeoutMinutes: 1440 })).toThrow(
      /rotationTimeoutMinutes \+ pollInitialSeconds \+ pollMaxSeconds: rotationTimeoutMinutes 1440 with pollInitialSeconds 10 and pollMaxSeconds 300 allow \d+ polls per stalled key: \d+ history events for 50 keys, over Step Functions' 25000/,
    );
    // A 2-hour timeout fits only with longer waits late in the rotation.
    expect(() => parseSettings({ rotationTimeoutMinutes: 120 })).toThrow(/rotationTimeoutMinutes 120/);
    expect(parseSettings({ rotationTimeoutMinutes: 120, pollMaxSeconds: 900 }).rotationTimeoutMinutes).toBe(120);
  });

  test("an execution timeout beyond Step Functions' one-year maximum (approval + rotation timeouts)", () => {
    // The schema's own bounds (7 days, 1 day) cannot reach a year, so the rule is checked directly.
    const problems = limitProblems({ ...defaults, approvalTimeoutMinutes: 300 * 24 * 60 });
    expect(problems).toEqual([
      {
        settings: ['approvalTimeoutMinutes', 'rotationTimeoutMinutes'],
        message: expect.stringMatching(
          /approvalTimeoutMinutes 432000 and rotationTimeoutMinutes 60 need an execution timeout of \d+ days, over Step Functions' 1-year maximum/,
        ),
      },
    ]);
    expect(limitProblems(defaults)).toEqual([]);
  });
});

describe('the execution timeout is derived from the settings', () => {
  const timeoutOf = (settings: Record<string, unknown>) => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new KmsIncidentRotationStack(app, 'KmsIncidentRotation', { settings: parseSettings(settings), env });
    const { definition } = extractWorkflow(Template.fromStack(stack).toJSON() as any, env);
    return definition.TimeoutSeconds as number;
  };

  test('longer than the approval wait plus the rotation timeout, in two waves of 40 keys, so silence ends with Record and Notify', () => {
    // When
    const seconds = timeoutOf({});
    const longApproval = timeoutOf({ approvalTimeoutMinutes: 7 * 24 * 60 });

    // Then
    expect(seconds).toBe(executionTimeoutSeconds(defaults));
    expect(seconds).toBeGreaterThan(2 * (240 + 60) * 60);
    // 7 days of approval: beyond the 24 h that used to be fixed.
    expect(longApproval).toBeGreaterThan(2 * 7 * 24 * 3600);
    expect(longApproval).toBeLessThan(MAX_EXECUTION_SECONDS);
  });

  test('a finding claim lasts as long as its execution can: the functions get the same timeout', () => {
    // Given
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new KmsIncidentRotationStack(app, 'KmsIncidentRotation', {
      settings: parseSettings({ approvalTimeoutMinutes: 7 * 24 * 60 }),
      env,
    });
    const template = Template.fromStack(stack).toJSON() as any;

    // When
    const { definition } = extractWorkflow(template, env);
    const claimEnv = Object.values<any>(template.Resources).find(
      (r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Description?.includes('claim-request'),
    ).Properties.Environment.Variables;

    // Then
    expect(Number(claimEnv.EXECUTION_TIMEOUT_SECONDS)).toBe(definition.TimeoutSeconds);
    expect(definition.TimeoutSeconds).toBeGreaterThan(24 * 3600);
  });
});
