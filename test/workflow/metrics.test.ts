/**
 * Observability end to end offline: an incident runs through the synthesized state
 * machine with the real handlers, and the EMF lines they print on stdout (Powertools Metrics)
 * carry the metrics the stack alarms on and draws (lambdas/domain/metrics.ts), with their
 * dimensions and values.
 */
import { simulate } from '../../local/simulate';
import { parseWorld } from '../../local/world';
import { DIMENSION, METRIC, METRICS_NAMESPACE, METRICS_SERVICE, NO_REASON } from '../../lambdas/domain/metrics';
import { guardDutyFinding } from './helpers';

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const ROTATING = '1234abcd-12ab-34cd-56ef-1234567890ab';
const OPTED_OUT = '5678abcd-12ab-34cd-56ef-1234567890ab';
const arn = (id: string) => `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`;

let printed: string[] = [];

interface EmfLine {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[];
  };
  [field: string]: unknown;
}

/** One metric as a reader of CloudWatch sees it: its name, its dimensions, its value(s). */
interface Datum {
  name: string;
  unit: string;
  dimensions: Record<string, string>;
  value: number | number[];
}

function data(lines: EmfLine[]): Datum[] {
  return lines.flatMap((line) =>
    line._aws.CloudWatchMetrics.flatMap((directive) => {
      expect(directive.Namespace).toBe(METRICS_NAMESPACE);
      const dimensions = Object.fromEntries(directive.Dimensions.flat().map((d) => [d, String(line[d])]));
      return directive.Metrics.map((m) => ({
        name: m.Name,
        unit: m.Unit,
        dimensions,
        value: line[m.Name] as number | number[],
      }));
    }),
  );
}

/** Keep the EMF lines written to stdout (Powertools prints them there); pass anything else on. */
function captureEmf() {
  const write = process.stdout.write.bind(process.stdout);
  return jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    if (!text.includes('"_aws"')) return write(chunk, ...(rest as []));
    printed.push(...text.split('\n').filter((l) => l.trim()));
    return true;
  });
}

describe('EMF metrics printed by the handlers (local run)', () => {
  const before = { metrics: process.env.KMS_ROTATE_HANDLER_METRICS };

  beforeAll(() => {
    // Before the runner loads the handlers: their Metrics instance reads this once.
    process.env.KMS_ROTATE_HANDLER_METRICS = 'print';
  });
  afterAll(() => {
    if (before.metrics === undefined) delete process.env.KMS_ROTATE_HANDLER_METRICS;
    else process.env.KMS_ROTATE_HANDLER_METRICS = before.metrics;
  });

  test('one finding, one key rotated and one opted out: outcomes, remaining budget, rotations started, time to confirmation, notification', async () => {
    // Given
    const world = parseWorld(
      {
        account: ACCOUNT,
        region: REGION,
        keys: [
          { id: ROTATING, rotationSeconds: 20, onDemandRotationsUsed: 2 },
          { id: OPTED_OUT, tags: { 'kms-incident-rotation': 'disabled' }, onDemandRotationsUsed: 24 },
        ],
      },
      'metrics world',
    );
    const spy = captureEmf();

    // When
    let run;
    try {
      printed = [];
      run = await simulate({
        world,
        input: guardDutyFinding([arn(ROTATING), arn(OPTED_OUT)], 'metrics-finding'),
        speed: 100,
      });
    } finally {
      spy.mockRestore();
    }

    // Then
    expect(run.result.executionStatus).toBe('SUCCEEDED');
    const all = data(printed.map((l) => JSON.parse(l) as EmfLine));
    for (const d of all) expect(d.dimensions.service).toBe(METRICS_SERVICE);
    const named = (name: string) => all.filter((d) => d.name === name);

    // Record: one KeysHandled per key, by outcome and reason.
    expect(
      named(METRIC.keysHandled)
        .map((d): Record<string, unknown> => ({ ...d.dimensions, value: d.value }))
        .sort((a, b) => String(a[DIMENSION.outcome]).localeCompare(String(b[DIMENSION.outcome]))),
    ).toEqual([
      { service: METRICS_SERVICE, [DIMENSION.outcome]: 'ROTATED', [DIMENSION.reason]: NO_REASON, value: 1 },
      { service: METRICS_SERVICE, [DIMENSION.outcome]: 'SKIPPED', [DIMENSION.reason]: 'OPTED_OUT', value: 1 },
    ]);
    // Record: each key's remaining budget, one time series per key.
    const remaining = Object.fromEntries(
      named(METRIC.rotationsRemaining).map((d) => [d.dimensions[DIMENSION.keyArn], d.value]),
    );
    expect(remaining).toEqual({ [arn(ROTATING)]: 22, [arn(OPTED_OUT)]: 1 });
    expect(named(METRIC.rotationsRemaining)[0]!.dimensions).toEqual({
      service: METRICS_SERVICE,
      [DIMENSION.keyArn]: expect.any(String),
    });
    // Rotate: exactly one rotation spent.
    expect(named(METRIC.rotationsStarted).map((d) => d.value)).toEqual([1]);
    // Notify: one message, and the rotated key's time from the execution's start to its confirmation.
    expect(named(METRIC.notificationsSent).map((d) => d.value)).toEqual([1]);
    const [time] = named(METRIC.timeToConfirmedRotation);
    expect(time).toMatchObject({ unit: 'Seconds', dimensions: { service: METRICS_SERVICE } });
    const key = run.summary!.keys.find((k) => k.keyArn === arn(ROTATING))!;
    const expected = Math.round((Date.parse(key.confirmedAt!) - Date.parse(run.summary!.startedAt!)) / 1000);
    expect(time!.value).toBe(expected);
    // Nothing throttled, nothing awaiting approval.
    expect(named(METRIC.kmsThrottled)).toEqual([]);
    expect(named(METRIC.approvalsRequested)).toEqual([]);
  });

  test('a throttled RotateKeyOnDemand is counted each time it reaches Rotate', async () => {
    // Given
    const world = parseWorld(
      {
        account: ACCOUNT,
        region: REGION,
        keys: [{ id: ROTATING, rotationSeconds: 20 }],
        faults: [{ service: 'kms', operation: 'RotateKeyOnDemand', error: 'ThrottlingException', times: 2 }],
      },
      'throttled world',
    );
    const spy = captureEmf();

    // When
    try {
      printed = [];
      await simulate({ world, input: guardDutyFinding([arn(ROTATING)], 'metrics-finding'), speed: 100 });
    } finally {
      spy.mockRestore();
    }

    // Then
    const all = data(printed.map((l) => JSON.parse(l) as EmfLine));
    expect(all.filter((d) => d.name === METRIC.kmsThrottled).map((d) => d.value)).toEqual([1, 1]);
    expect(all.filter((d) => d.name === METRIC.rotationsStarted).map((d) => d.value)).toEqual([1]);
  });
});
