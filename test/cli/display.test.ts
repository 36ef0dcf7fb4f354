import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { Aws } from '../../cli/aws';
import { fromAwsError } from '../../cli/errors';
import { EXIT, exitCodeForRun } from '../../cli/exit-codes';
import { paint } from '../../cli/io';
import { clockTime, duration } from '../../cli/live/describe';
import type { TraceEvent } from '../../cli/live/events';
import { LocalEventTranslator } from '../../cli/live/local-events';
import { LiveTrace } from '../../cli/live/trace';
import { main } from '../../cli/main';
import type { RunEvent } from '../../local/runner/runner';
import {
  ACCOUNT,
  CALLER,
  captureIo,
  K1,
  K1_ARN,
  keyResult,
  keyTask,
  REGION,
  runSummary,
  STATE_MACHINE,
} from './helpers';

describe('exit codes', () => {
  it('map a finished execution to 0 / 1 / 3', () => {
    expect(exitCodeForRun('SUCCEEDED', runSummary([keyResult()]))).toBe(EXIT.OK);
    expect(exitCodeForRun('SUCCEEDED', runSummary([keyResult({ outcome: 'DRY_RUN' })]))).toBe(EXIT.OK);
    expect(
      exitCodeForRun('SUCCEEDED', runSummary([keyResult({ outcome: 'SKIPPED' }), keyResult({ outcome: 'SKIPPED' })])),
    ).toBe(EXIT.SKIPPED);
    expect(exitCodeForRun('SUCCEEDED', runSummary([keyResult({ outcome: 'SKIPPED' }), keyResult()]))).toBe(EXIT.OK);
    expect(exitCodeForRun('SUCCEEDED', runSummary([keyResult({ outcome: 'FAILED' }), keyResult()]))).toBe(EXIT.FAILED);
    expect(exitCodeForRun('TIMED_OUT', null)).toBe(EXIT.FAILED);
    expect(exitCodeForRun('SUCCEEDED', runSummary([]))).toBe(EXIT.OK);
  });
});

describe('AWS errors in words', () => {
  const err = (name: string, message: string, extra: object = {}) =>
    Object.assign(new Error(message), { name, $metadata: {} }, extra);

  it.each([
    [
      'no credentials',
      err('CredentialsProviderError', 'Could not load credentials from any providers'),
      4,
      /^No AWS credentials found\. Set AWS_PROFILE or run `aws sso login`/,
    ],
    [
      'expired SSO session',
      err(
        'CredentialsProviderError',
        'The SSO session associated with this profile has expired or is otherwise invalid.',
      ),
      4,
      /session has expired/,
    ],
    [
      'expired token',
      err('ExpiredTokenException', 'The security token included in the request is expired'),
      4,
      /session has expired calling states:ListExecutions/,
    ],
    [
      'bad keys',
      err('UnrecognizedClientException', 'The security token included in the request is invalid.'),
      4,
      /AWS rejected the credentials calling states:ListExecutions/,
    ],
    [
      'access denied',
      err(
        'AccessDeniedException',
        `User: ${CALLER} is not authorized to perform: kms:DescribeKey on resource: ${K1_ARN} because no resource-based policy allows the kms:DescribeKey action`,
      ),
      4,
      new RegExp(
        `^AWS denied kms:DescribeKey on ${K1_ARN} to ${CALLER.replace(/[/.]/g, '\\$&')} \\(no resource-based policy allows`,
      ),
    ],
    [
      'endpoint unreachable',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), { code: 'ECONNREFUSED' }),
      4,
      /^Cannot reach AWS calling states:ListExecutions: ECONNREFUSED/,
    ],
    ['throttled', err('ThrottlingException', 'Rate exceeded'), 4, /throttled/],
    ['no Region', new Error('Region is missing'), 2, /No AWS Region is configured: pass --region/],
    [
      'other service error',
      err('InternalServerError', 'oops'),
      4,
      /^AWS refused calling states:ListExecutions: InternalServerError: oops$/,
    ],
  ])('%s', (_label, error, code, message) => {
    const mapped = fromAwsError(error, { operation: 'states:ListExecutions' });
    expect(mapped?.exitCode).toBe(code);
    expect(mapped?.message).toMatch(message);
  });

  it('leaves programming errors alone', () => {
    expect(fromAwsError(new TypeError('x is undefined'))).toBeUndefined();
  });
});

describe('the live display', () => {
  function render(events: TraceEvent[], opts: { speed?: number; colour?: boolean } = {}) {
    const out: string[] = [];
    const trace = new LiveTrace({
      out: { write: (s) => out.push(s) },
      paint: paint(opts.colour ?? false),
      home: { account: ACCOUNT, region: REGION },
      speed: opts.speed,
    });
    trace.push(events);
    trace.close();
    return out.join('');
  }

  it('shows states with the elapsed time, the key (short) and what happened; routing states stay quiet', () => {
    const at = (s: number) => Date.parse('2025-03-02T10:00:00Z') + s * 1000;
    const text = render([
      { kind: 'started', at: at(0) },
      { kind: 'entered', at: at(1), state: 'Assess', type: 'Task', key: K1_ARN, input: {} },
      {
        kind: 'exited',
        at: at(2),
        state: 'Assess',
        type: 'Task',
        key: K1_ARN,
        output: keyTask({
          next: 'DONE',
          outcome: 'SKIPPED',
          reason: 'OPTED_OUT',
          detail: 'The key is tagged kms-incident-rotation=disabled.',
        }),
      },
      { kind: 'entered', at: at(2), state: 'AfterAssess', type: 'Choice', key: K1_ARN, input: {} },
      { kind: 'exited', at: at(2), state: 'AfterAssess', type: 'Choice', key: K1_ARN, output: {} },
      {
        kind: 'wait',
        at: at(3),
        state: 'WaitForRotation',
        key: `arn:aws:kms:eu-west-1:${ACCOUNT}:key/${K1}`,
        seconds: 90,
        realSeconds: 90,
      },
      { kind: 'failed', at: at(3725), status: 'TIMED_OUT', error: 'States.Timeout', cause: null },
    ]);
    expect(text).toBe(
      [
        `  00:01  Assess               key/${K1}  started`,
        `  00:02  Assess               key/${K1}  -> SKIPPED OPTED_OUT (The key is tagged kms-incident-rotation=disabled.)`,
        `  00:03  WaitForRotation      eu-west-1:key/${K1}  waiting 90s`,
        '  1:02:05  Execution            TIMED_OUT States.Timeout',
        '',
      ].join('\n'),
    );
  });

  it('colours outcomes only when asked', () => {
    const e: TraceEvent = {
      kind: 'exited',
      at: 0,
      state: 'CheckRotation',
      type: 'Task',
      key: K1_ARN,
      output: keyTask({ next: 'DONE', outcome: 'ROTATED' }),
    };
    expect(render([e], { colour: true })).toContain('\u001b[32mROTATED\u001b[39m');
    expect(render([e])).not.toContain('\u001b[');
  });

  it('local runs: the runner times are simulated (never scaled again); a wait is shown once its state is entered, scaled', () => {
    const t = new LocalEventTranslator(10);
    const task = { ...keyTask(), ref: K1_ARN };
    const events: RunEvent[] = [
      { type: 'ExecutionStarted', timestamp: 10000 },
      // The runner's WaitStarted can arrive before the previous state's exit.
      {
        type: 'WaitStarted',
        timestamp: 15000,
        state: { name: 'WaitForRotation', type: 'Wait', input: task },
        waitSeconds: 20,
      },
      {
        type: 'StateExited',
        timestamp: 15000,
        index: 0,
        state: { name: 'Rotate', type: 'Task', output: { ...task, next: 'POLL' } },
      },
      {
        type: 'StateEntered',
        timestamp: 16000,
        index: 0,
        state: { name: 'WaitForRotation', type: 'Task', input: task },
      },
      {
        type: 'StateExited',
        timestamp: 36000,
        index: 0,
        state: { name: 'WaitForRotation', type: 'Task', output: task },
      },
      {
        type: 'StateFailed',
        timestamp: 37000,
        index: 0,
        Error: 'ThrottlingException',
        state: { name: 'CheckRotation', type: 'Task', input: task },
      },
      {
        type: 'StateRetried',
        timestamp: 38000,
        index: 0,
        retry: { attempt: 1 },
        state: { name: 'CheckRotation', type: 'Task', input: task },
      },
    ];
    const text = render(
      events.flatMap((e) => t.translate(e)),
      { speed: 10 },
    );
    expect(text.split('\n')).toEqual([
      `  00:05  Rotate               key/${K1}  -> rotation started`,
      `  00:06  WaitForRotation      key/${K1}  waiting 2s (scaled from 20s)`,
      `  00:28  CheckRotation        key/${K1}  retried after ThrottlingException (retry 1)`,
      '',
    ]);
  });

  it('formats times', () => {
    expect(clockTime(0)).toBe('00:00');
    expect(clockTime(61.9)).toBe('01:01');
    expect(clockTime(3600)).toBe('1:00:00');
    expect(duration(0.05)).toBe('0.05s');
    expect(duration(2.5)).toBe('2.5s');
    expect(duration(45)).toBe('45s');
    expect(duration(150)).toBe('2m 30s');
  });
});

describe('--profile and --region', () => {
  const sfn = mockClient(SFNClient);
  const sts = mockClient(STSClient);
  afterAll(() => {
    sfn.restore();
    sts.restore();
  });

  it('configure every SDK client; --profile wins over static keys', async () => {
    // status: its Step Functions client is built from the flags (start now signs with the
    // profile's credentials, which this machine does not have).
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    const { io } = captureIo({
      KMS_ROTATE_STATE_MACHINE: STATE_MACHINE.replace('us-east-1', 'eu-west-1'),
      AWS_ACCESS_KEY_ID: 'AKIA',
      AWS_SECRET_ACCESS_KEY: 's',
    });

    expect(await main(['status', '--profile', 'oncall', '--region', 'eu-west-1'], io)).toBe(0);

    const sfnClient = sfn.call(0).thisValue as SFNClient;
    expect(await sfnClient.config.region()).toBe('eu-west-1');
    expect((sfnClient.config as { profile?: string }).profile).toBe('oncall');
  });

  it('clients take the AWS settings from io.env, never from a rewritten process.env', async () => {
    // Given
    const before = { ...process.env };
    const io = captureIo({
      AWS_ENDPOINT_URL: 'http://127.0.0.1:1',
      AWS_ENDPOINT_URL_KMS: 'http://127.0.0.1:2',
      AWS_ACCESS_KEY_ID: 'k',
      AWS_SECRET_ACCESS_KEY: 's',
    }).io;

    // When
    const withProfile = new Aws({ profile: 'p' }, io.env);
    const withKeys = new Aws({}, io.env);

    // Then
    const sfnClient = withProfile.sfn();
    expect((await sfnClient.config.endpoint!()).hostname).toBe('127.0.0.1');
    expect((await sfnClient.config.endpoint!()).port).toBe(1);
    expect((await withProfile.kms().config.endpoint!()).port).toBe(2);
    expect(await sfnClient.config.region()).toBe(REGION);
    expect((sfnClient.config as { profile?: string }).profile).toBe('p');
    // --profile wins over the static keys in io.env; without it, the keys are the credentials.
    expect(await withKeys.sts().config.credentials()).toMatchObject({ accessKeyId: 'k', secretAccessKey: 's' });
    expect((withKeys.sts().config as { profile?: string }).profile).toBeUndefined();
    expect(process.env).toEqual(before);
  });
});

describe('bin/kms-rotate.js', () => {
  it('runs the CLI through tsx and sets the exit code', () => {
    const root = join(__dirname, '..', '..');
    const ok = spawnSync(
      process.execPath,
      [
        join(root, 'bin', 'kms-rotate.js'),
        'resolve',
        '--event',
        join(root, 'test', 'fixtures', 'guardduty', 's3-bucket-kms.json'),
      ],
      { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } },
    );
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout).keys).toEqual([K1_ARN]);

    const bad = spawnSync(
      process.execPath,
      [join(root, 'bin', 'kms-rotate.js'), 'resolve', '--event', '/nonexistent.json'],
      { encoding: 'utf8' },
    );
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('kms-rotate: --event /nonexistent.json: cannot read the file (no such file)\n');
  });
});
