/**
 * The worst-case incident, run offline on the synthesized state machine: 50 keys, six
 * ~250-character aliases each, a finding title over 512 characters, every key stalled until its
 * rotation timeout. The runner fails an execution where Step Functions would (256 KiB on every
 * payload, 25,000 history events), so SUCCEEDing here — or failing only with KeyRotationFailed
 * after notifying — proves the design fits.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { simulate } from '../../local/simulate';
import { parseWorld } from '../../local/world';
import { parseSettings } from '../../lib/settings/settings';
import { HISTORY_EVENT_LIMIT, worstCase } from '../../lib/limits';
import { MAX_KEYS } from '../../lambdas/domain/intake/read';

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const PAYLOAD_LIMIT = 262_144;
const arn = (id: string) => `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`;

/** The worst case at the default settings, from the settings alone (lib/limits.ts): 20,767 events (test/infra/limits.test.ts). */
const DEFAULT_WORST = worstCase(parseSettings({}));

describe('the worst-case incident', () => {
  test(`at default settings the computed worst case is ${DEFAULT_WORST.historyEvents} history events (< 25,000)`, () => {
    expect(DEFAULT_WORST.historyEvents).toBeLessThan(HISTORY_EVENT_LIMIT);
  });

  test('50 keys x 6 long aliases, a 512+ character title, every key stalled: every key reported FAILED ROTATION_TIMEOUT, notified, under 256 KiB and 25,000 events', async () => {
    // Given
    const ids = Array.from({ length: MAX_KEYS }, (_, i) => `${String(i).padStart(8, '0')}-aaaa-bbbb-cccc-dddddddddddd`);
    const aliases = (i: number) =>
      Array.from({ length: 6 }, (_, a) => `alias/${'x'.repeat(236)}-${String(i).padStart(3, '0')}-${a}`);
    const world = parseWorld(
      {
        account: ACCOUNT,
        region: REGION,
        // Each rotation takes an hour; the rotation timeout is a minute: every key stalls.
        keys: ids.map((id, i) => ({ id, rotationSeconds: 3600, aliases: aliases(i) })),
        settings: { rotationTimeoutMinutes: 1 },
      },
      'worst-case world',
    );
    const finding = JSON.parse(readFileSync(path.join(__dirname, '../fixtures/guardduty/s3-bucket-kms.json'), 'utf8'));
    finding.detail.id = 'worst-case';
    finding.detail.title = `Anomalous access ${'é'.repeat(600)}`;
    const bucket = finding.detail.resource.s3BucketDetails[0];
    finding.detail.resource.s3BucketDetails = ids.map((id, i) => ({
      ...bucket,
      name: `bucket-${i}`,
      arn: `arn:aws:s3:::bucket-${i}`,
      defaultServerSideEncryption: { encryptionType: 'aws:kms', kmsMasterKeyArn: arn(id) },
    }));
    expect(aliases(0)[0]!.length).toBeGreaterThanOrEqual(245);

    // When
    const run = await simulate({ world, input: finding, speed: 60 });

    // Then: the right outcome for stalled keys — every key FAILED ROTATION_TIMEOUT, reported and
    // notified, then the execution fails loudly (KeyRotationFailed), not with a Step Functions limit.
    expect(run.result.executionStatus).toBe('FAILED');
    expect(run.result.error).toBe('KeyRotationFailed');
    expect(run.result.keys).toHaveLength(MAX_KEYS);
    expect(run.result.keys.every((k) => k.outcome === 'FAILED' && k.reason === 'ROTATION_TIMEOUT')).toBe(true);
    expect(new Set(run.result.keys.map((k) => k.keyArn))).toEqual(new Set(ids.map(arn)));
    // Aliases are capped at 5 per key, the rest counted.
    expect(run.summary!.keys.every((k) => k.aliases.length === 5 && k.moreAliases === 1)).toBe(true);
    expect(run.result.notifications).toHaveLength(1);
    expect(run.events.some((e) => e.type === 'StateExited' && e.state?.name === 'CloseRequest')).toBe(true);
    expect(run.calls.filter((c) => c.operation === 'RotateKeyOnDemand' && !c.error)).toHaveLength(MAX_KEYS);

    // The limits, and bounds with a margin on the figures measured here (the largest payload is
    // the 50 compact results, e.g. Notify's input; polls follow real time at speed 60, so the
    // history count varies a little).
    expect(run.result.largestPayloadBytes).toBeLessThan(PAYLOAD_LIMIT);
    expect(run.result.historyEvents).toBeLessThan(HISTORY_EVENT_LIMIT);
    expect(run.result.largestPayloadBytes).toBeLessThan(125_000);
    expect(run.result.historyEvents).toBeLessThan(10_000);
    // docs/architecture.md quotes this run's figures: the payload within 5 %, the history bound as is.
    const doc = readFileSync(path.join(__dirname, '../../docs/architecture.md'), 'utf8').replace(/\s+/g, ' ');
    const num = (text: string) => Number(text.replace(/,/g, ''));
    const payload = num(/every key stalled\): largest payload ([\d,]+) bytes/.exec(doc)![1]!);
    expect(Math.abs(run.result.largestPayloadBytes - payload)).toBeLessThanOrEqual(payload * 0.05);
    const eventBound = num(/the offline worst-case run stays under ([\d,]+)/.exec(doc)![1]!);
    expect(run.result.historyEvents).toBeLessThan(eventBound);
  }, 120_000);
});
