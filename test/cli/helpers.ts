import type { HistoryEvent } from '@aws-sdk/client-sfn';
import type { KeyResult, RunSummary } from '../../lambdas/domain/contracts';
import type { Io } from '../../cli/io';
import { SFNClient } from '@aws-sdk/client-sfn';
import { startLocalFrontDoor, type FrontDoorExchange, type LocalFrontDoorOptions } from '../../local/front-door';
import type { FrontDoorDeps } from '../../lambdas/front-door/handler';
import { DEFAULT_ACCESS_ROLES } from '../../lambdas/domain/approvals/people';
import { MemoryApprovals } from '../memory-approvals';
import { StepFunctionsControl } from '../../lambdas/adapters/workflow';
import { parseWorld, type WorldPerson } from '../../local/world';
import { accessRoles, parseSettings } from '../../lib/settings/settings';
import { synthTemplate } from '../../local/template';
import { createAccountIam } from '../../local/iam';

export const ACCOUNT = '111122223333';
export const REGION = 'us-east-1';
export const K1 = '1234abcd-12ab-34cd-56ef-1234567890ab';
export const K1_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/${K1}`;
export const STATE_MACHINE = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:KmsIncidentRotation`;
export const CALLER = `arn:aws:sts::${ACCOUNT}:assumed-role/OnCall/alice`;

/** An Io whose output is captured; no terminal, no colour, no waiting between polls. */
export function captureIo(env: Record<string, string | undefined> = {}, extra: Partial<Io> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s) },
    env: { AWS_REGION: REGION, ...env },
    isTTY: false,
    stderrIsTTY: false,
    pollIntervalMs: 0,
    sleep: async () => undefined,
    ...extra,
  };
  return { io, stdout: () => out.join(''), stderr: () => err.join('') };
}

export function keyResult(over: Partial<KeyResult> = {}): KeyResult {
  return {
    ref: K1_ARN,
    keyArn: K1_ARN,
    via: null,
    approvedBy: null,
    approvalReason: null,
    aliases: ['alias/orders'],
    outcome: 'ROTATED',
    reason: null,
    detail: 'Rotated on demand; new key material is in use.',
    onDemandRotationsUsed: 3,
    onDemandRotationsRemaining: 22,
    previousKeyMaterialId: 'aaaa',
    currentKeyMaterialId: 'bbbb',
    joined: false,
    rotationStartedAt: '2025-03-02T10:15:44.000Z',
    confirmedAt: '2025-03-02T10:16:10.000Z',
    ...over,
  };
}

export function runSummary(keys: KeyResult[], over: Partial<RunSummary> = {}): RunSummary {
  const order = ['FAILED', 'ROTATED', 'DRY_RUN', 'SKIPPED'] as const;
  const outcome = order.find((o) => keys.some((k) => k.outcome === o)) ?? 'NONE';
  return {
    requestId: 'req-1',
    source: 'manual',
    findingId: null,
    findingType: null,
    severity: null,
    severityLabel: null,
    reason: 'INC-1234 leaked credentials',
    dryRun: false,
    executionArn: null,
    startedAt: '2025-03-02T10:15:42.000Z',
    outcome,
    anyFailed: keys.some((k) => k.outcome === 'FAILED'),
    keys,
    ...over,
  };
}

/** Builds a Step Functions execution history, one event after the other. */
export class History {
  readonly events: HistoryEvent[] = [];
  private readonly t0 = Date.parse('2025-03-02T10:15:42Z');

  private add(type: string, seconds: number, details: Partial<HistoryEvent> = {}): this {
    const id = this.events.length + 1;
    this.events.push({
      id,
      previousEventId: id - 1,
      timestamp: new Date(this.t0 + seconds * 1000),
      type: type as HistoryEvent['type'],
      ...details,
    });
    return this;
  }

  started(input: unknown): this {
    return this.add('ExecutionStarted', 0, { executionStartedEventDetails: { input: JSON.stringify(input) } });
  }

  entered(stateType: string, name: string, input: unknown, seconds: number): this {
    return this.add(`${stateType}StateEntered`, seconds, {
      stateEnteredEventDetails: { name, input: JSON.stringify(input) },
    });
  }

  exited(stateType: string, name: string, output: unknown, seconds: number): this {
    return this.add(`${stateType}StateExited`, seconds, {
      stateExitedEventDetails: { name, output: JSON.stringify(output) },
    });
  }

  task(name: string, input: unknown, output: unknown, from: number, to: number): this {
    this.entered('Task', name, input, from);
    this.add('LambdaFunctionScheduled', from);
    this.add('LambdaFunctionStarted', from);
    this.add('LambdaFunctionSucceeded', to);
    return this.exited('Task', name, output, to);
  }

  lambdaFailed(error: string, cause: string, seconds: number): this {
    return this.add('LambdaFunctionFailed', seconds, { lambdaFunctionFailedEventDetails: { error, cause } });
  }

  lambdaScheduled(seconds: number): this {
    return this.add('LambdaFunctionScheduled', seconds);
  }

  succeeded(output: unknown, seconds: number): this {
    return this.add('ExecutionSucceeded', seconds, {
      executionSucceededEventDetails: { output: JSON.stringify(output) },
    });
  }

  failed(error: string, cause: string, seconds: number): this {
    return this.add('ExecutionFailed', seconds, { executionFailedEventDetails: { error, cause } });
  }
}

/** A KeyTask-like state payload for one key. */
export function keyTask(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ref: K1_ARN,
    keyArn: K1_ARN,
    next: 'ROTATE',
    outcome: null,
    reason: null,
    detail: 'Eligible; rotating leaves 22 of 25 on-demand rotations.',
    pollAttempt: 0,
    waitSeconds: 5,
    joined: false,
    ...over,
  };
}

/** The history of a manual request for K1 that rotates (or ends as `final` says). */
export function rotationHistory(summary: RunSummary, final: 'succeeded' | 'failed' = 'succeeded'): History {
  const request = { keys: [K1_ARN], source: 'manual', requestedBy: CALLER };
  const h = new History()
    .started({ keyId: K1_ARN, reason: 'x' })
    .task('Intake', { keyId: K1_ARN }, { request }, 0, 1)
    .entered('Map', 'ForEachKey', { request }, 1)
    .task('Assess', { ref: K1_ARN, request }, keyTask(), 1, 2)
    .task('Rotate', keyTask(), keyTask({ next: 'POLL', rotationStartedAt: '2025-03-02T10:15:44Z' }), 3, 4)
    .entered('Wait', 'WaitForRotation', keyTask({ next: 'POLL', waitSeconds: 5 }), 4)
    .exited('Wait', 'WaitForRotation', keyTask({ next: 'POLL' }), 9)
    .task(
      'CheckRotation',
      keyTask({ next: 'POLL' }),
      keyTask({
        next: 'DONE',
        outcome: summary.keys[0]?.outcome ?? 'ROTATED',
        reason: summary.keys[0]?.reason ?? null,
        detail: summary.keys[0]?.detail ?? null,
      }),
      9,
      10,
    )
    .exited('Map', 'ForEachKey', { request, results: [{}] }, 10)
    .task('Notify', { request }, { request, notification: { summary, anyFailed: summary.anyFailed } }, 10, 11);
  return final === 'succeeded'
    ? h.succeeded(summary, 11)
    : h.failed('KeyRotationFailed', 'At least one key ended FAILED.', 11);
}

/** The test caller's static keys: the CLI signs front-door requests with them. */
export const CALLER_KEYS = {
  AWS_ACCESS_KEY_ID: 'AKIATESTALICE0000001',
  AWS_SECRET_ACCESS_KEY: 'test-secret-of-alice-0000',
};

/**
 * A front door for CLI tests: the local front door (it verifies the CLI's SigV4 signature and
 * puts the caller in the request context) in front of the real front-door handler, whose Step
 * Functions calls go to an SFNClient (aws-sdk-client-mock intercepts it in the test) and whose
 * approvals are `approvals`. `env` points the CLI at it with the caller's keys.
 */
export async function testFrontDoor(
  opts: {
    approvals?: FrontDoorDeps['approvals'];
    people?: Record<string, WorldPerson>;
    drills?: LocalFrontDoorOptions['drills'];
  } = {},
) {
  const exchanges: FrontDoorExchange[] = [];
  const people = opts.people ?? {
    alice: {
      arn: CALLER,
      accessKeyId: CALLER_KEYS.AWS_ACCESS_KEY_ID,
      secretAccessKey: CALLER_KEYS.AWS_SECRET_ACCESS_KEY,
      breakGlass: true,
      sourceIdentity: 'alice',
    },
  };
  // The CLI's caller is on call and may break glass: this account's settings let the OnCall role
  // use /break-glass too (the API's resource policy and the front door both read them).
  const settings = parseSettings({ breakGlassRoles: ['OnCall', ...DEFAULT_ACCESS_ROLES.breakGlass] }, 'CLI tests');
  const template = synthTemplate(settings, { account: ACCOUNT, region: REGION });
  const world = { ...parseWorld({ account: ACCOUNT, region: REGION }, 'CLI tests'), people };
  const door = await startLocalFrontDoor({
    region: REGION,
    account: ACCOUNT,
    people,
    iam: createAccountIam({ template, world, account: ACCOUNT, region: REGION }),
    onResponse: (e) => exchanges.push(e),
    deps: {
      accountId: ACCOUNT,
      workflow: new StepFunctionsControl(
        new SFNClient({ region: REGION, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
        STATE_MACHINE,
      ),
      approvals: opts.approvals ?? new MemoryApprovals(),
      roles: accessRoles(settings),
    },
    drills: opts.drills,
  });
  return { env: { KMS_ROTATE_FRONT_DOOR_URL: door.url, ...CALLER_KEYS }, exchanges, close: () => door.close() };
}
