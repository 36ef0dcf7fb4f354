/**
 * The parent execution's history counts simulated time, as its Distributed Map's children do:
 * at --speed 100 a rotation that takes over an hour (the stand-in's KMS, the workflow's Wait
 * states) shows timestamps spanning over an hour, while the run takes well under a minute.
 */
import { simulate } from '../../local/simulate';
import { parseWorld } from '../../local/world';
import { guardDutyFinding } from '../workflow/helpers';

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const KEY_ID = '88888888-8888-8888-8888-888888888888';
const KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/${KEY_ID}`;
const HOUR_MS = 3_600_000;

test('at --speed 100 a run whose waits total over an hour has trace timestamps spanning over an hour', async () => {
  const world = parseWorld(
    {
      account: ACCOUNT,
      region: REGION,
      keys: [{ id: KEY_ID, rotationSeconds: 4_400 }],
      settings: { rotationTimeoutMinutes: 120, pollMaxSeconds: 600 },
    },
    'one slow rotation',
  );
  const realStart = Date.now();
  const run = await simulate({ world, input: guardDutyFinding([KEY_ARN], 'parent-clock'), speed: 100 });
  const realMs = Date.now() - realStart;

  expect(run.result.keys).toEqual([expect.objectContaining({ keyArn: KEY_ARN, outcome: 'ROTATED' })]);
  const waited = run.events
    .filter((e) => e.type === 'WaitStarted')
    .reduce((sum, e) => sum + (e.waitSeconds ?? 0) * 1000, 0);
  expect(waited).toBeGreaterThan(HOUR_MS);
  const stamps = run.events.map((e) => e.timestamp);
  // One clock for the whole history: never backwards.
  for (let i = 1; i < stamps.length; i++) expect(stamps[i]).toBeGreaterThanOrEqual(stamps[i - 1]);
  const span = stamps[stamps.length - 1] - stamps[0];
  expect(span).toBeGreaterThanOrEqual(waited);
  expect(span).toBeGreaterThan(HOUR_MS);
  // Simulated, not wall time: the run itself took a small fraction of that.
  expect(realMs * 10).toBeLessThan(span);
}, 120_000);
