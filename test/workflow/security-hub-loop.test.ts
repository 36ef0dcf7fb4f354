/**
 * Closing the loop in Security Hub (offline, the stand-in's Security Hub): a finding that starts a
 * run is NOTIFIED with a note at the start, RESOLVED with a note when every key ended ROTATED, left
 * NOTIFIED with the reasons otherwise; one BatchUpdateFindings per phase; a failure never fails
 * the run; the securityHubWorkflowUpdates setting turns it off.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { simulate, type SimulationRun } from '../../local/simulate';
import { parseWorld } from '../../local/world';

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const K1_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const K1 = `arn:aws:kms:${REGION}:${ACCOUNT}:key/${K1_ID}`;
const SPEED = 100;

const fixture = (name: string) => JSON.parse(readFileSync(path.join(__dirname, '../fixtures', name), 'utf8'));
const hubFinding = fixture('securityhub/kms-key-resource.json');
const FINDING = {
  Id: hubFinding.detail.findings[0].Id as string,
  ProductArn: hubFinding.detail.findings[0].ProductArn as string,
};
const world = (key: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
  parseWorld(
    { account: ACCOUNT, region: REGION, keys: [{ id: K1_ID, rotationSeconds: 20, ...key }], ...extra },
    'test world',
  );
const batchUpdates = (run: SimulationRun) =>
  run.calls.filter((c) => c.service === 'securityhub' && c.operation === 'BatchUpdateFindings');

describe('Security Hub loop closed', () => {
  test('every key ROTATED: NOTIFIED with a note at the start, RESOLVED with the outcome, execution and time at the end', async () => {
    const run = await simulate({ world: world(), input: hubFinding, speed: SPEED });

    expect(run.result.keys).toEqual([expect.objectContaining({ keyArn: K1, outcome: 'ROTATED' })]);
    const [start, end] = run.result.securityHubUpdates;
    expect(run.result.securityHubUpdates).toHaveLength(2);
    expect(start).toMatchObject({ findings: [FINDING], workflowStatus: 'NOTIFIED', processed: 1, unprocessed: [] });
    expect(start.note).toContain(`Execution: ${run.executionArn}`);
    expect(end).toMatchObject({ findings: [FINDING], workflowStatus: 'RESOLVED', processed: 1 });
    expect(end.note).toContain(`${K1}: ROTATED`);
    expect(end.note).toContain(`Execution: ${run.executionArn}`);
    expect(end.note).toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
    // One call per phase, each by the function that owns the phase (its own role).
    expect(batchUpdates(run).map((c) => c.caller?.match(/(ClaimRequest|Notify)Role/)?.[1])).toEqual([
      'ClaimRequest',
      'Notify',
    ]);
    expect(run.summary?.securityHub).toEqual([
      expect.objectContaining({ phase: 'start', error: null }),
      expect.objectContaining({ phase: 'end', status: 'RESOLVED', error: null }),
    ]);
  });

  test('a key not rotated: the finding stays NOTIFIED and the note gives the reason', async () => {
    const run = await simulate({
      world: world({ tags: { 'kms-incident-rotation': 'disabled' } }),
      input: hubFinding,
      speed: SPEED,
    });

    expect(run.result.keys[0]).toMatchObject({ outcome: 'SKIPPED', reason: 'OPTED_OUT' });
    const end = run.result.securityHubUpdates.at(-1)!;
    expect(end).toMatchObject({ workflowStatus: 'NOTIFIED', processed: 1 });
    expect(end.note).toContain(`${K1}: SKIPPED OPTED_OUT`);
  });

  test('Security Hub refusing the updates is reported, and the run still rotates and succeeds', async () => {
    const faults = [
      { service: 'securityhub', operation: 'BatchUpdateFindings', error: 'AccessDeniedException', times: 2 },
    ];
    const run = await simulate({ world: world({}, { faults }), input: hubFinding, speed: SPEED });

    expect(run.result.executionStatus).toBe('SUCCEEDED');
    expect(run.result.keys[0]).toMatchObject({ outcome: 'ROTATED' });
    expect(batchUpdates(run)).toHaveLength(2);
    expect(run.summary?.securityHub?.map((u) => u.error)).toEqual([
      expect.stringMatching(/^AccessDeniedException/),
      expect.stringMatching(/^AccessDeniedException/),
    ]);
  });

  test("the Imported event for the run's own NOTIFIED update starts nothing: no key, no update", async () => {
    const echo = structuredClone(hubFinding);
    echo.detail.findings[0].Workflow = { Status: 'NOTIFIED' };
    echo.detail.findings[0].Note = {
      Text: 'kms-incident-rotation is rotating 1 KMS key',
      UpdatedBy: 'kms-incident-rotation',
      UpdatedAt: echo.time,
    };
    const run = await simulate({ world: world(), input: echo, speed: SPEED });
    expect(run.result.keys).toEqual([]);
    expect(batchUpdates(run)).toEqual([]);
  });

  test('the securityHubWorkflowUpdates setting off: Security Hub is never written to', async () => {
    const run = await simulate({
      world: world({}, { settings: { securityHubWorkflowUpdates: false } }),
      input: hubFinding,
      speed: SPEED,
    });
    expect(run.result.keys[0]).toMatchObject({ outcome: 'ROTATED' });
    expect(batchUpdates(run)).toEqual([]);
    expect(run.result.securityHubUpdates).toEqual([]);
  });

  test('a GuardDuty finding, or a Security Hub finding Security Hub does not hold, updates nothing', async () => {
    const gd = await simulate({ world: world(), input: fixture('guardduty/s3-bucket-kms.json'), speed: SPEED });
    expect(batchUpdates(gd)).toEqual([]);
    const forged = await simulate({ world: world({}, { unconfirmedFindings: true }), input: hubFinding, speed: SPEED });
    expect(batchUpdates(forged)).toEqual([]);
  });
});
