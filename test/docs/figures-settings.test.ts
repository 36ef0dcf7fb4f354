/**
 * Figures the docs derive from the settings come from the code that derives them: the reserved
 * concurrency in docs/operating.md from a synthesized stack, the re-encryption pacing, batch sizes,
 * times and children in docs/reencryption.md and docs/architecture.md from deriveRuntime and the
 * per-object KMS costs. Exact: they are arithmetic. A change to the pacing, the batch target, the
 * per-object costs or any function's reserved concurrency fails here until the docs say the same.
 * Figures only a run of the machine can give are printed by `npm run bench`, not quoted.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { KmsIncidentRotationStack } from '../../lib/stack';
import { FUNCTION_SIZES } from '../../lib/functions';
import { deriveRuntime, type DerivedReencryption } from '../../lib/settings/derived';
import { parseSettings } from '../../lib/settings/settings';
import { BATCH_TARGET_SECONDS, KMS_REQUESTS_PER_OBJECT } from '../../lambdas/domain/reencryption';
import { REENCRYPT_OBJECTS_ENV } from '../../lambdas/domain/function-environment';

const ROOT = path.join(__dirname, '..', '..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8').replace(/\s+/g, ' ');
const num = (s: string) => Number(s.replace(/,/g, ''));

/** The numbers `pattern`'s groups capture in `file` (commas removed). */
function quoted(file: string, pattern: RegExp): number[] {
  const match = pattern.exec(read(file));
  if (!match) throw new Error(`${file} no longer quotes ${pattern}: update this test with the docs`);
  return match.slice(1).map(num);
}

/** Lambda lets an account reserve all but 100 of its concurrency ("Configuring reserved concurrency", Lambda Developer Guide). */
const UNRESERVED_MINIMUM = 100;
const BRANCH = { reEncryptBuckets: ['orders-data'] };
const MILLION = 1_000_000;

/** The re-encryption pacing deriveRuntime gives at `rate` (defaults otherwise). */
function pacingAt(rate?: number): DerivedReencryption {
  const settings = parseSettings(rate === undefined ? BRANCH : { ...BRANCH, reEncryptKmsRequestsPerSecond: rate });
  return deriveRuntime(settings).reencryption!;
}

describe('reserved concurrency in docs/operating.md', () => {
  /** Reserved concurrency of the synthesized stack's functions: task functions by handler, the others summed. */
  function reserved(settings: Record<string, unknown>) {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new KmsIncidentRotationStack(app, 'KmsIncidentRotation', {
      settings: parseSettings(settings),
      env: { account: '111122223333', region: 'us-east-1' },
    });
    const functions = Object.values<any>(Template.fromStack(stack).toJSON().Resources).filter(
      (r) => r.Type === 'AWS::Lambda::Function',
    );
    const tasks = new Map<string, number>();
    let others = 0;
    for (const fn of functions) {
      const handler = fn.Metadata?.['kms-incident-rotation:handler'] as string | undefined;
      const value = fn.Properties.ReservedConcurrentExecutions as number;
      if (handler) tasks.set(handler, value);
      else others += value;
    }
    return { tasks, others };
  }
  const DOC = 'docs/operating.md';
  const core = reserved({});
  const branch = reserved(BRANCH);
  const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

  test('the task functions, the others, the total and the quota without the branch', () => {
    const [tasks, perKey, others, otherFns, total, quota] = quoted(
      DOC,
      /reserved concurrency is (\d+) for the task functions \((\d+) for each per-key task, (\d+) for the others\) plus (\d+) for the front door, the drill function and the approval watch, (\d+) in all, so the account's Lambda concurrency quota must be at least (\d+)/,
    );
    expect(sum(core.tasks)).toBe(tasks);
    expect(new Set(core.tasks.values())).toEqual(new Set([perKey, others]));
    expect(core.others).toBe(otherFns);
    expect(sum(core.tasks) + core.others).toBe(total);
    expect(total + UNRESERVED_MINIMUM).toBe(quota);
  });

  test('what the re-encryption branch adds at the default rate', () => {
    const [summarize, map, total, quota] = quoted(
      DOC,
      /The re-encryption branch adds (\d+) for SummarizeReencryption and the map's concurrency for ReencryptObjects \((\d+) at the default `reEncryptKmsRequestsPerSecond`\): (\d+) in all, a quota of at least (\d+)/,
    );
    expect(branch.tasks.get('summarize-reencryption')).toBe(summarize);
    expect(branch.tasks.get('reencrypt-objects')).toBe(map);
    expect(map).toBe(pacingAt().maxConcurrency);
    expect(sum(branch.tasks) + branch.others).toBe(total);
    expect(total + UNRESERVED_MINIMUM).toBe(quota);
  });
});

describe('re-encryption pacing in docs/reencryption.md', () => {
  const DOC = 'docs/reencryption.md';
  const pacing = pacingAt();
  const sse = KMS_REQUESTS_PER_OBJECT['s3-sse-kms'];
  const envelope = KMS_REQUESTS_PER_OBJECT.envelope;
  const defaultRate = parseSettings({}).reEncryptKmsRequestsPerSecond;
  const hours = (seconds: number) => Math.round((seconds / 3600) * 10) / 10;

  test('"Scale and the KMS quota": per-child pace, its environment variable, children and batch at the default', () => {
    const [child, children, seconds, batch] = quoted(
      DOC,
      /each child is paced to (\d+) KMS requests\/s .*?`(?:CHILD_KMS_REQUESTS_PER_SECOND)`\), `MaxConcurrency` = rate \/ \d+ \((\d+) children at the default; .*? a child does in (\d+) s at its pace \((\d+)\)/,
    );
    expect(read(DOC)).toContain(`\`${REENCRYPT_OBJECTS_ENV.childKmsRequestsPerSecond}\``);
    expect({ child, children, seconds, batch }).toEqual({
      child: pacing.childKmsRequestsPerSecond,
      children: pacing.maxConcurrency,
      seconds: BATCH_TARGET_SECONDS,
      batch: pacing.maxItemsPerBatch,
    });
  });

  test('"Sizing": the batch target, the costliest object and the batch', () => {
    const [child, seconds, costliest, batch] = quoted(
      DOC,
      /concurrency x per-child pace \((\d+) requests\/s\) = `reEncryptKmsRequestsPerSecond`; a batch is what a child does in (\d+) s at the costliest per-object figure \((\d+)\): (\d+) objects/,
    );
    expect({ child, seconds, costliest, batch }).toEqual({
      child: pacing.childKmsRequestsPerSecond,
      seconds: BATCH_TARGET_SECONDS,
      costliest: Math.max(sse, envelope),
      batch: pacing.maxItemsPerBatch,
    });
  });

  test('the cost table: children per million, batch times, Lambda GB-seconds', () => {
    const [batch, children] = quoted(DOC, /1 M objects in batches of (\d+) are ([\d,]+) children/);
    expect(batch).toBe(pacing.maxItemsPerBatch);
    expect(children).toBe(MILLION / batch);
    const [rate, b1, c1, r1, s1, b2, c2, r2, s2] = quoted(
      DOC,
      /\| a batch at (\d+) KMS req\/s \| (\d+) x (\d+) \/ (\d+) = (\d+) s \| (\d+) x (\d+) \/ (\d+) = (\d+) s \|/,
    );
    expect([rate, r1, r2]).toEqual(Array(3).fill(pacing.childKmsRequestsPerSecond));
    expect([b1, b2]).toEqual([pacing.maxItemsPerBatch, pacing.maxItemsPerBatch]);
    expect([c1, c2]).toEqual([sse, envelope]);
    expect([s1, s2]).toEqual([(b1 * c1) / r1, (b2 * c2) / r2]);
    const [memory, n1, t1, gbs1, n2, t2, gbs2] = quoted(
      DOC,
      /\| Lambda \(([\d,]+) MB\) \| ([\d,]+) x (\d+) s = ([\d,]+) GB-s = \$[\d.]+ \| ([\d,]+) x (\d+) s = ([\d,]+) GB-s/,
    );
    expect(memory).toBe(FUNCTION_SIZES['reencrypt-objects']!.memorySize);
    expect([n1, t1, n2, t2]).toEqual([children, s1, children, s2]);
    expect([gbs1, gbs2]).toEqual([(n1 * t1 * memory) / 1024, (n2 * t2 * memory) / 1024]);
  });

  test('time for 1 M objects at the default rate, in the table and in "Sizing"', () => {
    const [rate, m1, sec1, h1, m2, sec2, h2] = quoted(
      DOC,
      /\| time at the default (\d+) KMS req\/s \| (\d+) M \/ \d+ = ([\d,]+) s = ([\d.]+) h \| (\d+) M \/ \d+ = ([\d,]+) s = ([\d.]+) h \|/,
    );
    const [rate2, n1, s1, g1, n2, s2, g2] = quoted(
      DOC,
      /Time at the default (\d+) requests\/s for 1 M objects: (\d+) M \/ \d+ = ([\d,]+) s = ([\d.]+) h \(SSE-KMS copies\), (\d+) M \/ \d+ = ([\d,]+) s = ([\d.]+) h/,
    );
    const expected = [
      defaultRate,
      sse,
      (sse * MILLION) / defaultRate,
      hours((sse * MILLION) / defaultRate),
      envelope,
      (envelope * MILLION) / defaultRate,
      hours((envelope * MILLION) / defaultRate),
    ];
    expect([rate, m1, sec1, h1, m2, sec2, h2]).toEqual(expected);
    expect([rate2, n1, s1, g1, n2, s2, g2]).toEqual(expected);
  });

  test('the rate for 1 hour: the needed rate, the setting chosen, its children', () => {
    const [need1, set1, children1, need2, set2, children2] = quoted(
      DOC,
      /\| rate for 1 h \| 3 M \/ 3,600 = ([\d,]+)\/s: set ([\d,]+) \((\d+) children\) \| ([\d,]+)\/s: set ([\d,]+) \((\d+) children\) \|/,
    );
    expect(need1).toBe(Math.ceil((sse * MILLION) / 3600));
    expect(need2).toBe(Math.ceil((envelope * MILLION) / 3600));
    expect(set1).toBeGreaterThanOrEqual(need1);
    expect(set2).toBeGreaterThanOrEqual(need2);
    expect(children1).toBe(pacingAt(set1).maxConcurrency);
    expect(children2).toBe(pacingAt(set2).maxConcurrency);
  });

  test('the offline 5,000-object bucket and the summary bench: batches of the default size', () => {
    const [objects, batches] = quoted(DOC, /a ([\d,]+)-object bucket in (\d+) batches/);
    expect(batches).toBe(Math.ceil(objects / pacing.maxItemsPerBatch));
    const [perBatch] = quoted(DOC, /one result file at (\d+) objects a batch/);
    expect(perBatch).toBe(pacing.maxItemsPerBatch);
  });
});

describe('re-encryption limits in docs/architecture.md', () => {
  const DOC = 'docs/architecture.md';

  test('the execution timeout with and without the branch at the default rate', () => {
    const [withHours, withDays, rate, withoutHours] = quoted(
      DOC,
      /~(\d+) h \(([\d.]+) days\) at (\d+)\/s with the branch; ~(\d+) h without/,
    );
    const withBranch = deriveRuntime(parseSettings(BRANCH)).executionTimeoutSeconds;
    expect(rate).toBe(pacingAt().kmsRequestsPerSecond);
    expect(withHours).toBe(Math.round(withBranch / 3600));
    expect(withDays).toBe(Math.round((withBranch / 86_400) * 100) / 100);
    expect(withoutHours).toBe(Math.round(deriveRuntime(parseSettings({})).executionTimeoutSeconds / 3600));
  });

  test('the offline 5,000-object run: its batches', () => {
    const [objects, batches] = quoted(DOC, /([\d,]+) objects offline: (\d+) batches/);
    expect(batches).toBe(Math.ceil(objects / pacingAt().maxItemsPerBatch));
  });
});
