import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { KeyResult, Outcome, Reason, RunSummary } from '../../lambdas/domain/contracts';
import { FAIL_REASONS, SKIP_REASONS } from '../../lambdas/domain/contracts';
import { formatNotification } from '../../lambdas/domain/notification/message';
import { NEXT_STEP } from '../../lambdas/domain/notification/reasons';
import { formatApprovalRequest } from '../../lambdas/domain/approvals/approval-request';
import { breakGlassBounds } from '../../lambdas/domain/rotation/eligibility';
import { main } from '../../cli/main';
import { EXIT } from '../../cli/exit-codes';
import { captureIo, keyResult, K1_ARN } from './helpers';

// Every `kms-rotate ...` command that a notification, a next step or README prints must be valid
// as printed: it goes through the CLI's own parser and input checks (placeholders `<...>` filled
// in with sample values), against an endpoint that refuses connections, so a command that is
// accepted fails only when it reaches AWS (exit 4), never as bad input (exit 2).

const SAMPLE: Record<string, string> = {
  'key ARN': K1_ARN,
  why: 'INC-1234 data key exposure',
  'key Region': 'eu-west-1',
  bucket: 'orders-data',
  prefix: 'exports',
};

/** Fill `<placeholder>` with a sample value; an unknown placeholder fails the test (it must be documented here). */
function fill(command: string): string {
  return command.replace(/<([^<>]+)>/g, (_m, name: string) => {
    const value = SAMPLE[name];
    if (value === undefined) throw new Error(`unknown placeholder <${name}> in: ${command}`);
    return value;
  });
}

/** Split a command line as a POSIX shell would for the quoting these messages use ('...' and "..."). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unbalanced ' in: ${line}`);
      current += line.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (c === '"') {
      const end = line.indexOf('"', i + 1);
      if (end < 0) throw new Error(`unbalanced " in: ${line}`);
      current += line.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      current += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += c;
      inWord = true;
    }
  }
  if (inWord) words.push(current);
  return words;
}

/** Commands in backticks (notifications, next steps) or on lines of their own (approval messages). */
function commandsIn(text: string): string[] {
  const inBackticks = [...text.matchAll(/`(kms-rotate [^`]+)`/g)].map((m) => m[1]!);
  const onTheirOwn = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('kms-rotate '));
  return [...inBackticks, ...onTheirOwn];
}

async function exitCodeOf(command: string): Promise<{ code: number; stderr: string }> {
  const argv = shellWords(fill(command));
  expect(argv[0]).toBe('kms-rotate');
  const { io, stderr } = captureIo({
    AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEEXAMPLE00',
    AWS_SECRET_ACCESS_KEY: 'secret',
    KMS_ROTATE_STATE_MACHINE: 'arn:aws:states:us-east-1:111122223333:stateMachine:KmsIncidentRotation',
  });
  const code = await main(argv.slice(1), io);
  return { code, stderr: stderr() };
}

const saved = { ...process.env };
beforeAll(() => {
  // Nothing listens on the discard port: a valid command fails when it reaches "AWS", quickly.
  process.env.AWS_ENDPOINT_URL = 'http://127.0.0.1:9';
  process.env.AWS_MAX_ATTEMPTS = '1';
  process.env.AWS_ACCESS_KEY_ID = 'AKIAEXAMPLEEXAMPLE00';
  process.env.AWS_SECRET_ACCESS_KEY = 'secret';
  process.env.AWS_REGION = 'us-east-1';
  delete process.env.AWS_PROFILE;
});
afterAll(() => {
  process.env = saved;
});

function summaryWith(keys: KeyResult[], over: Partial<RunSummary> = {}): RunSummary {
  const rank: Outcome[] = ['SKIPPED', 'DRY_RUN', 'ROTATED', 'FAILED'];
  return {
    requestId: 'req-0001',
    source: 'manual',
    findingId: null,
    findingType: null,
    severity: null,
    severityLabel: null,
    reason: 'INC-1',
    dryRun: false,
    executionArn: 'arn:aws:states:us-east-1:111122223333:execution:KmsIncidentRotationManual:manual-1',
    startedAt: '2026-12-01T00:00:00.000Z',
    outcome: keys.length === 0 ? 'NONE' : rank[Math.max(...keys.map((k) => rank.indexOf(k.outcome)))]!,
    anyFailed: keys.some((k) => k.outcome === 'FAILED'),
    keys,
    ...over,
  } as RunSummary;
}

/** Every notification the workflow can send for one key: each reason, as a finding and as break-glass, and no key at all. */
function everyNotification(): string[] {
  const reasons: [Outcome, Reason][] = [
    ...SKIP_REASONS.map((r) => ['SKIPPED', r] as [Outcome, Reason]),
    ...FAIL_REASONS.map((r) => ['FAILED', r] as [Outcome, Reason]),
  ];
  const texts: string[] = [];
  for (const [outcome, reason] of reasons) {
    for (const breakGlass of [false, true]) {
      const s = summaryWith([keyResult({ outcome, reason, detail: 'detail' })], { breakGlass });
      texts.push(formatNotification(s, { region: 'us-east-1', rotationBudget: 25 }).message);
    }
  }
  texts.push(formatNotification(summaryWith([]), { region: 'us-east-1', rotationBudget: 25 }).message);
  texts.push(
    formatNotification(summaryWith([keyResult({ outcome: 'DRY_RUN' })], { dryRun: true }), {
      region: 'us-east-1',
      rotationBudget: 25,
    }).message,
  );
  return texts;
}

describe('commands suggested to people work when pasted', () => {
  const fromNotifications = [...new Set(everyNotification().flatMap(commandsIn))];
  const fromNextSteps = [...new Set(Object.values(NEXT_STEP).flatMap(commandsIn))];

  it('finds the commands (the extraction itself works)', () => {
    expect(fromNextSteps.map((c) => c.split(' ').slice(0, 2).join(' ')).sort()).toEqual(
      expect.arrayContaining(['kms-rotate check', 'kms-rotate start']),
    );
    expect(fromNotifications.some((c) => c.includes('--force'))).toBe(true);
  });

  it.each(fromNextSteps.map((c) => [c]))('next step: %s', async (command) => {
    const { code, stderr } = await exitCodeOf(command);
    expect({ code, stderr }).toEqual({ code: EXIT.AWS, stderr: expect.not.stringMatching(/error: |expected/) });
  });

  it.each(fromNotifications.map((c) => [c]))('notification: %s', async (command) => {
    const { code, stderr } = await exitCodeOf(command);
    expect({ code, stderr }).toEqual({ code: EXIT.AWS, stderr: expect.not.stringMatching(/error: |expected/) });
  });

  it('the approval request: approve and deny as printed', async () => {
    const task = {
      ref: K1_ARN,
      keyArn: K1_ARN,
      aliases: [],
      moreAliases: 0,
      onDemandRotationsUsed: 1,
      onDemandRotationsRemaining: 24,
      request: { source: 'manual', reason: 'INC-1', requestedBy: 'alice' },
      executionArn: null,
    };
    const { message } = formatApprovalRequest(
      { task: task as never, approvalId: 'ap-0123456789abcdef0123' },
      { approvalTimeoutSeconds: 3600, approvalTimeoutAction: 'SKIP' },
    );
    const commands = commandsIn(message);
    expect(commands.map((c) => c.split(' ')[1])).toEqual(['approve', 'deny']);
    for (const command of commands) {
      const { code, stderr } = await exitCodeOf(command);
      expect({ command, code, stderr }).toEqual({
        command,
        code: EXIT.AWS,
        stderr: expect.not.stringMatching(/error: |expected/),
      });
    }
  });

  it('README and the runbook: every kms-rotate command line in a console example', async () => {
    const readme = ['../../README.md', '../../docs/on-call.md']
      .map((f) => readFileSync(path.join(__dirname, f), 'utf8'))
      .join('\n');
    const lines = readme
      .split('\n')
      .map((l) => /^\$ (kms-rotate (?:start|approve|deny|check|watch|status)\b.*)$/.exec(l)?.[1])
      .filter((l): l is string => Boolean(l) && !l!.endsWith('\\'));
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const line of lines) {
      const { code, stderr } = await exitCodeOf(
        line.replace(
          /manual-[\w-]+/,
          'arn:aws:states:us-east-1:111122223333:execution:KmsIncidentRotationManual:manual-1',
        ),
      );
      expect({ line, code, stderr }).toEqual({
        line,
        code: EXIT.AWS,
        stderr: expect.not.stringMatching(/error: |expected/),
      });
    }
  });

  it('the OPTED_OUT advice says how to opt back in instead of a request that is skipped again', () => {
    expect(NEXT_STEP.OPTED_OUT).toMatch(/removes the tag/);
    expect(NEXT_STEP.OPTED_OUT).toMatch(/kms:UntagResource/);
  });
});

describe('a refused break-glass says when the next forced rotation is allowed', () => {
  const base = {
    force: true,
    now: new Date('2026-12-04T12:00:00.000Z'),
    forceMinIntervalSeconds: 600,
    forceDailyCap: 2,
  };
  it('minimum interval: from the last rotation plus the interval', () => {
    const out = breakGlassBounds(
      { lastOnDemandRotation: new Date('2026-12-04T11:55:00.000Z') } as never,
      base as never,
    );
    expect(out?.detail).toContain('next forced rotation allowed from 2026-12-04T12:05:00.000Z');
  });
  it('daily cap: when the oldest rotation that holds the cap leaves the 24 h window', () => {
    const dates = [
      new Date('2026-12-03T13:00:00.000Z'),
      new Date('2026-12-03T20:00:00.000Z'),
      new Date('2026-12-04T09:00:00.000Z'),
    ];
    const out = breakGlassBounds(
      { lastOnDemandRotation: dates[2], onDemandRotationDates: dates } as never,
      base as never,
    );
    // 3 in the window, cap 2: two must age out, the second oldest at 2026-12-04T20:00.
    expect(out?.detail).toContain('next forced rotation allowed from 2026-12-04T20:00:00.000Z');
  });
});
