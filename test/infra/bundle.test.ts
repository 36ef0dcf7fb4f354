/**
 * The Lambda bundles, built with the stack's own bundling options (lib/functions.ts BUNDLING:
 * node24, CommonJS, minified, @aws-sdk/* left to the runtime), load and run: an ESM-only dependency or a missing module
 * would only show up here, not in tests that import the TypeScript sources.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { esbuildOptionsFor, HANDLERS, type HandlerName } from '../../lib/functions';
import { startStandIn } from '../../local/standin';
import { parseWorld } from '../../local/world';
import { TEST_CREDENTIALS } from '../../local/iam';

// Inside the project, so that the external @aws-sdk/* resolve from node_modules as the Lambda
// runtime provides them.
const cache = path.join(__dirname, '..', '..', 'node_modules', '.cache');
mkdirSync(cache, { recursive: true });
const outdir = mkdtempSync(path.join(cache, 'bundle-test-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

function bundle(name: string): string {
  const outfile = path.join(outdir, name, 'index.js');
  buildSync({ ...esbuildOptionsFor(name as HandlerName, outfile), logLevel: 'silent' });
  return outfile;
}

test.each([...HANDLERS, 'front-door', 'drill', 'approval-watch'])('%s bundles and exports a handler', (name) => {
  const file = bundle(name);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the bundle path is known only at run time
  expect(typeof require(file).handler).toBe('function');
});

test('the bundled Assess handler runs against the stand-in', async () => {
  const standIn = await startStandIn(
    parseWorld({ keys: [{ id: '1234abcd-12ab-34cd-56ef-1234567890ab', onDemandRotationsUsed: 4 }] }, 'bundle test'),
  );
  const saved = { ...process.env };
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: standIn.endpoint,
    AWS_REGION: 'us-east-1',
    // The stand-in's test administrator (no template here, so no function roles).
    AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    ACCOUNT_ID: '111122223333',
    ROTATION_BUDGET: '25',
    AUTOMATIC_RESERVE: '3',
    COOLDOWN_SECONDS: '3600',
    POLL_INITIAL_SECONDS: '5',
    POLL_MAX_SECONDS: '60',
    ROTATION_TIMEOUT_SECONDS: '3600',
    OPT_OUT_TAG: 'kms-incident-rotation',
    APPROVAL_TIMEOUT_SECONDS: '14400',
    APPROVAL_TIMEOUT_ACTION: 'SKIP',
    EXECUTION_TIMEOUT_SECONDS: '50400',
    FORCE_MIN_INTERVAL_SECONDS: '600',
    FORCE_DAILY_CAP: '2',
    DAILY_ROTATION_CAP: '3',
    SECURITY_HUB_SEVERITY_LABELS: 'HIGH,CRITICAL',
    SECURITY_HUB_PRODUCT_ARN_PREFIXES: 'arn:aws:securityhub:us-east-1::product/aws/',
    SECURITY_HUB_WORKFLOW_UPDATES: 'true',
    CHAT_NOTIFICATIONS: 'false',
    AUTO_REENCRYPT: 'false',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the bundle path is known only at run time
    const { handler } = require(bundle('assess'));
    const request = {
      requestId: 'r',
      source: 'manual',
      findingId: null,
      findingType: null,
      severity: null,
      severityLabel: null,
      reason: 'x',
      keys: [],
      dryRun: false,
      force: false,
      requestedBy: null,
      account: null,
      region: null,
    };
    const out = await handler(
      { ref: 'alias/missing', request },
      { functionName: 'assess', awsRequestId: '1', getRemainingTimeInMillis: () => 1000 },
    );
    expect(out).toMatchObject({ outcome: 'SKIPPED', reason: 'NOT_FOUND' });
    const rotate = await handler(
      { ref: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab', request },
      { functionName: 'assess', awsRequestId: '2', getRemainingTimeInMillis: () => 1000 },
    );
    expect(rotate).toMatchObject({ next: 'ROTATE', onDemandRotationsUsed: 4, onDemandRotationsRemaining: 21 });
  } finally {
    process.env = saved;
    await standIn.close();
  }
});
