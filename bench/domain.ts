import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseIncident } from '../lambdas/domain/intake/intake';
import { assessKey, type KeyFacts } from '../lambdas/domain/rotation/eligibility';
import { formatNotification } from '../lambdas/domain/notification/message';
import type { KeyResult, RunSummary } from '../lambdas/domain/contracts';
import { record, timePerOp } from './record';

// The pure decisions on the hot path: Intake on documented and hostile findings, one eligibility
// decision, and the notification for the largest request.

/** The repository's documented finding fixtures (test/fixtures). */
export const FIXTURES_DIR = path.join(__dirname, '..', 'test', 'fixtures');

/** Every finding event of the fixtures (GuardDuty, Security Hub, Access Analyzer), GuardDuty's first. */
export function fixtureEvents() {
  return ['guardduty', 'securityhub', 'access-analyzer'].flatMap((dir) =>
    readdirSync(path.join(FIXTURES_DIR, dir)).map((f) =>
      JSON.parse(readFileSync(path.join(FIXTURES_DIR, dir, f), 'utf8')),
    ),
  );
}

/** Time Intake, the eligibility decision and the notification's formatting. */
export function benchDomain(): void {
  const ctx = { account: '111122223333', region: 'us-east-1', newRequestId: () => 'bench' };
  const events = fixtureEvents();

  // 1. Intake on real-shaped findings.
  record(
    'intake: parse one documented finding',
    timePerOp(5000, () => events.forEach((e) => parseIncident(e, ctx))) / events.length,
    'µs',
    200,
  );

  // 2. Intake on a hostile finding at EventBridge's 256 KB event limit: 4,000 buckets, junk ARNs.
  const hostile = structuredClone(events[0]);
  hostile.detail.resource.s3BucketDetails = Array.from({ length: 4000 }, (_, i) => ({
    name: `b${i}`,
    defaultServerSideEncryption: {
      encryptionType: 'aws:kms',
      kmsMasterKeyArn:
        i % 2
          ? `arn:aws:kms:us-east-1:111122223333:key/${String(i).padStart(8, '0')}-1111-2222-3333-444455556666`
          : `not-an-arn-${'x'.repeat(20)}`,
    },
  }));
  const hostileBytes = Buffer.byteLength(JSON.stringify(hostile));
  record(
    `intake: parse a hostile ${Math.round(hostileBytes / 1024)} KB finding (4,000 buckets; EventBridge caps events at 256 KB)`,
    timePerOp(50, () => parseIncident(hostile, ctx)) / 1000,
    'ms',
    50,
  );

  // 3. The eligibility decision.
  const facts: KeyFacts = {
    arn: 'arn:aws:kms:us-east-1:111122223333:key/k',
    account: '111122223333',
    keyManager: 'CUSTOMER',
    keySpec: 'SYMMETRIC_DEFAULT',
    keyUsage: 'ENCRYPT_DECRYPT',
    origin: 'AWS_KMS',
    keyState: 'Enabled',
    customKeyStoreId: null,
    multiRegionKeyType: null,
    currentKeyMaterialId: 'm',
    tags: {},
    importedMaterialStaged: false,
    onDemandRotationStartDate: null,
    onDemandRotationsUsed: 3,
    lastOnDemandRotation: new Date(Date.now() - 86400_000),
  };
  const assessCtx = {
    accountId: '111122223333',
    source: 'guardduty' as const,
    dryRun: false,
    force: false,
    rotationBudget: 25,
    automaticReserve: 3,
    cooldownSeconds: 3600,
    optOutTag: 'kms-incident-rotation',
    forceMinIntervalSeconds: 600,
    forceDailyCap: 2,
    dailyRotationCap: 3,
    now: new Date(),
  };
  record(
    'assess: one eligibility decision',
    timePerOp(100_000, () => assessKey(facts, assessCtx)),
    'µs',
    20,
  );

  // 4. The notification for the largest request (50 keys, long values).
  const key = (i: number): KeyResult => ({
    ref: `arn:aws:kms:us-east-1:111122223333:key/${i}`,
    keyArn: `arn:aws:kms:us-east-1:111122223333:key/${i}`,
    via: null,
    approvedBy: null,
    approvalReason: null,
    aliases: [`alias/${'a'.repeat(200)}`],
    outcome: i % 2 ? 'ROTATED' : 'SKIPPED',
    reason: i % 2 ? null : 'BUDGET_RESERVE',
    detail: 'd'.repeat(300),
    onDemandRotationsUsed: 3,
    onDemandRotationsRemaining: 22,
    previousKeyMaterialId: 'm'.repeat(64),
    currentKeyMaterialId: 'n'.repeat(64),
    joined: false,
    rotationStartedAt: new Date().toISOString(),
    confirmedAt: new Date().toISOString(),
  });
  const summary: RunSummary = {
    requestId: 'r',
    source: 'guardduty',
    findingId: 'f',
    findingType: 'Exfiltration:S3/AnomalousBehavior',
    severity: 8,
    severityLabel: 'HIGH',
    reason: 'x',
    dryRun: false,
    executionArn: 'arn:aws:states:us-east-1:111122223333:execution:x:y',
    startedAt: new Date().toISOString(),
    outcome: 'ROTATED',
    anyFailed: false,
    keys: Array.from({ length: 50 }, (_, i) => key(i)),
  };
  let bytes = 0;
  record(
    'notify: format 50 keys',
    timePerOp(
      500,
      () =>
        (bytes = Buffer.byteLength(formatNotification(summary, { region: 'us-east-1', rotationBudget: 25 }).message)),
    ) / 1000,
    'ms',
    20,
  );
  record('notify: message size for 50 keys', bytes / 1024, 'KiB', 256);
}
