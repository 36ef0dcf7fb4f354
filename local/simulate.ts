import type { Settings } from '../lib/settings';
import { accessRoles, parseSettings } from '../lib/settings';
import type { KeyResult, RunSummary } from '../lambdas/domain/contracts';
import { parseKmsArn } from '../lambdas/domain/arn';
import { STATE } from '../lambdas/domain/workflow-states';
import type { ReencryptionSummary } from '../lambdas/domain/reencryption';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';
import { runLocally, lastOutputOf, type LocalRunResult, type RunEvent, type TaskTokens } from './runner';
import { startLocalFrontDoor, type FrontDoorExchange } from './front-door';
import { signedPost } from './front-door-client';
import { Ledger } from '../lambdas/adapters/ledger';
import { approvalIdOf } from '../lambdas/domain/approval';
import type { KeyTask } from '../lambdas/domain/contracts';
import { inputKind } from '../lambdas/domain/intake/intake';
import type { RouteName } from '../lambdas/domain/front-door';
import type { WorldPerson } from './world';
import { startStandIn, TOPIC_NAME, type KmsCallCounters, type SecurityHubUpdate, type StandIn } from './standin';
import { createAccountIam, type AccountIam, type Principal } from './iam';
import { resolveIntrinsics, synthTemplate, type CfnTemplate } from './template';
import { LOCAL_LEDGER_TABLE, ledgerLogicalId, startLocalLedger, type LocalLedger } from './ledger-local';
import { defaultWorldKey, type World } from './world';

/** One key in the simulation's summary (`kms-rotate simulate --json`). */
export interface SimulatedKey {
  keyArn: string | null;
  via: string | null;
  outcome: KeyResult['outcome'];
  reason: KeyResult['reason'];
  detail: string | null;
  aliases: string[];
  onDemandRotationsUsed: number | null;
  onDemandRotationsRemaining: number | null;
  previousKeyMaterialId: string | null;
  currentKeyMaterialId: string | null;
}

export interface SimulationResult {
  executionStatus: 'SUCCEEDED' | 'FAILED';
  error: string | null;
  cause: string | null;
  keys: SimulatedKey[];
  /** `messages`: the per-protocol messages when the notification was published with MessageStructure json. */
  notifications: {
    subject: string | null;
    message: string;
    messages?: Record<string, string>;
    attributes: Record<string, string>;
  }[];
  /**
   * What the re-encryption branch did or would do (objects scanned / re-encrypted / skipped /
   * failed in total and per target, refused targets); null when it had nothing to consider.
   */
  reencryption: ReencryptionSummary | null;
  /** Security Hub BatchUpdateFindings calls this run made (workflow status and note), in order. */
  securityHubUpdates: SecurityHubUpdate[];
  /** Events in the execution's history, as Step Functions counts them (limit 25,000). */
  historyEvents: number;
  /** Billed state transitions (states entered and retries). */
  stateTransitions: number;
  /** The largest state input/output, task parameters or result (limit 262,144 bytes). */
  largestPayloadBytes: number;
}

export interface SimulationRun {
  result: SimulationResult;
  summary: RunSummary | null;
  events: RunEvent[];
  /** Every call the stand-in served, in order (tests count RotateKeyOnDemand here). */
  calls: StandIn['calls'];
  settings: Settings;
  executionArn: string;
  /** Every request of this run through the local front door (the start, approval answers). */
  frontDoor: FrontDoorExchange[];
}

/** The local front door refused a request (HTTP status and its message), as it would a CLI's. */
export class FrontDoorRefusal extends Error {
  override name = 'FrontDoorRefusal';
  constructor(
    readonly statusCode: number,
    readonly body: Record<string, unknown>,
  ) {
    super(`front door answered ${statusCode}: ${String(body.message ?? body.error ?? '')}`);
  }
}

/** How a manual request reaches the front door in a simulation. */
export interface ManualRunOptions {
  /**
   * The person (a name of the world's people) who signs the request; default: the world's
   * requester. For a finding: a person who calls StartExecution on the automatic machine directly
   * (authorized with their policies) instead of EventBridge's rule.
   */
  as?: string;
  /** The route; default `/break-glass` for a request with force, else `/requests`. */
  route?: Extract<RouteName, 'request' | 'breakGlass'>;
  executionName?: string;
  onEvent?: (event: RunEvent) => void;
}

export interface SimulateOptions {
  world: World;
  /** A finding event (EventBridge envelope) or a manual request. */
  input: unknown;
  /** Divides every wait, retry interval, rotation time and the rotation timeout (default 1). */
  speed?: number;
  onEvent?: (event: RunEvent) => void;
  /** Called once the stand-in is up (e.g. to add faults mid-run in tests). */
  onStandIn?: (standIn: StandIn) => void;
  /** Changes a copy of the synthesized template before anything runs (tests: a permission removed from a role). */
  editTemplate?: (template: CfnTemplate) => CfnTemplate;
}

const templates = new Map<string, CfnTemplate>();

/** The stack's settings for a world: defaults, overridden by the world's `settings`. */
export function worldSettings(world: World): Settings {
  return parseSettings({ ...(world.settings ?? {}) }, 'the world file\'s "settings"');
}

/** Where a stack's resources live in a simulated account (see accountLayout). */
export interface AccountLayout {
  /** The world the stand-in serves: the world file's, plus the stack's results bucket when it has one. */
  standInWorld: World;
  topicLogicalId: string | undefined;
  resultsLogicalId: string | undefined;
  resultsBucket: string;
  /** The template's product key and the stand-in key id it is served as. */
  productKeyLogicalId: string | undefined;
  productKeyId: string;
}

/**
 * The stack's SNS topic and re-encryption results bucket (only with the branch) in the stand-in:
 * a bucket of the stand-in, where the runner's ResultWriter writes and SummarizeReencryption reads.
 */
export function accountLayout(template: CfnTemplate, world: World): AccountLayout {
  const topicLogicalId = Object.entries(template.Resources).find(([, r]) => r.Type === 'AWS::SNS::Topic')?.[0];
  const resultsLogicalId = Object.entries(template.Resources).find(
    ([id, r]) => r.Type === 'AWS::S3::Bucket' && id.includes('Results'),
  )?.[0];
  const resultsBucket = `kms-incident-rotation-results-${world.account}`;
  // The product key, a key of the stand-in with the template's key policy: the results bucket's
  // default encryption, so that S3's KMS calls for the result files are authorized as in AWS.
  const [productKeyLogicalId, productKey] =
    Object.entries(template.Resources).find(([, r]) => r.Type === 'AWS::KMS::Key') ?? [];
  const productKeyId = `00000000-0000-4000-8000-${world.account}`;
  let standInWorld = world;
  if (productKeyLogicalId && !world.keys.some((k) => k.id === productKeyId)) {
    const policy = resolveIntrinsics(productKey?.Properties?.KeyPolicy, {
      account: world.account,
      region: world.region,
    }) as Record<string, unknown>;
    standInWorld = {
      ...standInWorld,
      keys: [...standInWorld.keys, { ...defaultWorldKey(productKeyId, world.account, world.region), policy }],
    };
  }
  if (resultsLogicalId && !world.buckets.some((b) => b.name === resultsBucket)) {
    const encryption = template.Resources[resultsLogicalId].Properties?.BucketEncryption
      ?.ServerSideEncryptionConfiguration?.[0] as
      { BucketKeyEnabled?: boolean; ServerSideEncryptionByDefault?: { SSEAlgorithm?: string } } | undefined;
    const underProductKey =
      encryption?.ServerSideEncryptionByDefault?.SSEAlgorithm === 'aws:kms' && productKeyLogicalId !== undefined;
    const bucket = {
      name: resultsBucket,
      region: world.region,
      bucketKeyEnabled: encryption?.BucketKeyEnabled === true,
      versioning: false,
      objects: [],
    };
    standInWorld = {
      ...standInWorld,
      buckets: [...standInWorld.buckets, underProductKey ? { ...bucket, defaultKmsKeyId: productKeyId } : bucket],
    };
  }
  return { standInWorld, topicLogicalId, resultsLogicalId, resultsBucket, productKeyLogicalId, productKeyId };
}

/**
 * The physical ids the runner and the account's IAM resolve the template's Refs to: the topic
 * (the stand-in's, named TOPIC_NAME), the results bucket, the ledger table (LOCAL_LEDGER_TABLE).
 */
export function runnerResources(
  template: CfnTemplate,
  world: Pick<World, 'account' | 'region'>,
  layout: AccountLayout,
): Record<string, string> {
  const { topicLogicalId, resultsLogicalId, resultsBucket, productKeyLogicalId, productKeyId } = layout;
  return {
    ...(productKeyLogicalId ? { [productKeyLogicalId]: productKeyId } : {}),
    ...(topicLogicalId ? { [topicLogicalId]: `arn:aws:sns:${world.region}:${world.account}:${TOPIC_NAME}` } : {}),
    ...(resultsLogicalId
      ? { [resultsLogicalId]: resultsBucket, [`${resultsLogicalId}.Arn`]: `arn:aws:s3:::${resultsBucket}` }
      : {}),
    [ledgerLogicalId(template)]: LOCAL_LEDGER_TABLE,
  };
}

/** The synthesized stack for a world's settings (cached: synthesis takes seconds). */
export function worldTemplate(world: World): CfnTemplate {
  const settings = worldSettings(world);
  const env = { account: world.account, region: world.region };
  const cacheKey = JSON.stringify([settings, env]);
  let template = templates.get(cacheKey);
  if (!template) {
    template = synthTemplate(settings, env);
    templates.set(cacheKey, template);
  }
  return template;
}

/** A simulated account kept up between executions (several findings against one world). */
export interface Simulation {
  standIn: StandIn;
  /** The account's IAM: principals (functions, state machines, people, the test administrator) and their policies. */
  iam: AccountIam;
  ledgerEndpoint: string;
  settings: Settings;
  /** The local front door's URL (what FrontDoorUrl is in a deployed stack). */
  frontDoorUrl: string;
  /**
   * Runs one execution: a finding event on the automatic machine, as EventBridge would start it;
   * a manual request (`{ keyId, reason, dryRun?, force? }`) through the local front door, signed
   * as a person of the world, on the manual machine.
   */
  run(input: unknown, opts?: ManualRunOptions): Promise<SimulationRun>;
  /**
   * The task tokens the approval gates were given so far: what anyone allowed
   * states:GetExecutionHistory reads in RequestApproval's TaskScheduled parameters.
   */
  approvalTokens(): string[];
  /**
   * SendTaskSuccess signed as a person of the world, straight to Step Functions (not through the
   * front door): authorized with that person's policies on the token's state machine.
   */
  sendTaskSuccess(as: string, token: string, output: unknown): void;
  close(): Promise<void>;
}

/**
 * Open a simulated account: synthesize the stack with the world's settings, start the stand-in
 * seeded with the world and a local ledger (dynalite), ready to run executions of the
 * synthesized state machine with the real handlers.
 */
export async function openSimulation(opts: Omit<SimulateOptions, 'input' | 'onEvent'>): Promise<Simulation> {
  const { world } = opts;
  const speed = opts.speed ?? 1;
  const settings = worldSettings(world);
  let template = worldTemplate(world);
  if (opts.editTemplate) template = opts.editTemplate(structuredClone(template));
  const layout = accountLayout(template, world);
  const { standInWorld } = layout;
  // The account's IAM from the template: the functions' and state machines' roles, the people;
  // shared by the stand-in, the ledger, the front door and the runner (local/iam).
  const resources = runnerResources(template, world, layout);
  const iam = createAccountIam({
    template,
    world: standInWorld,
    account: world.account,
    region: world.region,
    resources,
  });
  const standIn = await startStandIn(standInWorld, { speed, iam });
  let ledger: LocalLedger;
  try {
    ledger = await startLocalLedger(template, world.region, { iam });
  } catch (error) {
    await standIn.close();
    throw error;
  }
  opts.onStandIn?.(standIn);
  const approvals = world.approvals ?? {};
  const people = world.people;
  const names = Object.keys(people);
  let executions = 0;

  // The open task tokens of every running execution, for the front door to answer.
  const tokens = new Map<string, TaskTokens>();
  /** Which machine each open task token belongs to (SendTaskSuccess/Failure are authorized on it). */
  const tokenModes = new Map<string, 'automatic' | 'manual'>();
  const running = new Map<string, Promise<LocalRunResult>>();
  const exchanges: FrontDoorExchange[] = [];
  // The front door's own function role reads and writes approvals.
  const frontDoorRole = iam.principals.functionRole('front-door');
  const localLedger = new Ledger(
    ledger.tableName,
    new DynamoDBClient({
      endpoint: ledger.endpoint,
      region: world.region,
      credentials: { accessKeyId: frontDoorRole.accessKeyId, secretAccessKey: frontDoorRole.secretAccessKey },
    }),
  );
  const personOfArn = (arn: string | null) => names.find((n) => people[n].arn === arn) ?? null;
  const credentialsOf = (p: WorldPerson) => ({ accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey });

  /** A person answers an approval gate through the front door, as `kms-rotate approve|deny` would. */
  const answerApproval = (
    task: { stateName: string; token: string; payload: unknown },
    tokenSet: TaskTokens,
    onEvent?: (e: RunEvent) => void,
  ) => {
    tokens.set(task.token, tokenSet);
    const key = (task.payload as { task?: KeyTask }).task;
    if (!key) return;
    const given = approvals[keyIdOf(key.keyArn ?? key.ref)] ?? approvals[key.ref] ?? 'timeout';
    // The answers are tried in order, each after the front door refused the one before, as people would.
    const answers = (Array.isArray(given) ? given : [given]).map((a) => (typeof a === 'string' ? { decision: a } : a));
    const state = { name: task.stateName, type: 'Task', input: key };
    const told = (approval: NonNullable<RunEvent['approval']>) =>
      onEvent?.({ type: 'ApprovalAnswered', timestamp: Date.now(), state, approval });
    void (async () => {
      for (const choice of answers) {
        if (choice.decision === 'timeout') {
          // Nobody answers: the task's TimeoutSeconds (scaled) ends it.
          told({ decision: 'timeout', by: null, reason: null, statusCode: null, message: null });
          return;
        }
        const requester = personOfArn(key.request.requestedBy);
        const approver = choice.by ?? names.find((n) => n !== requester) ?? names[0];
        const reason = choice.reason ?? (choice.decision === 'deny' ? 'denied in the world file' : undefined);
        const body = { decision: choice.decision, ...(reason ? { reason } : {}) };
        const answer = await signedPost(
          frontDoor.url,
          'approval',
          { approvalId: approvalIdOf(task.token) },
          body,
          credentialsOf(people[approver]),
          world.region,
        ).catch((e: unknown) => ({
          status: 0,
          body: { message: String((e as Error)?.message ?? e) } as Record<string, unknown>,
        }));
        const message = answer.status === 200 ? null : String(answer.body.message ?? answer.body.error ?? '');
        told({
          decision: choice.decision,
          by: approver,
          reason: reason ?? null,
          statusCode: answer.status || null,
          message,
        });
        if (answer.status === 200) return;
      }
    })();
  };

  const start = (
    mode: 'automatic' | 'manual',
    input: unknown,
    executionName: string,
    onEvent?: (e: RunEvent) => void,
  ) => {
    const run = runLocally({
      template,
      mode,
      input,
      account: world.account,
      region: world.region,
      endpoint: standIn.endpoint,
      serviceEndpoints: { DYNAMODB: ledger.endpoint },
      resources,
      iam,
      speed,
      executionName,
      onEvent,
      onTaskToken: (task, tokenSet) => {
        tokenModes.set(task.token, mode);
        answerApproval(task, tokenSet, onEvent);
      },
    });
    return run;
  };

  let pendingOnEvent: ((e: RunEvent) => void) | undefined;
  const frontDoor = await startLocalFrontDoor({
    region: world.region,
    account: world.account,
    people,
    iam,
    onResponse: (e) => exchanges.push(e),
    deps: {
      accountId: world.account,
      approvals: localLedger,
      roles: accessRoles(settings),
      workflow: {
        startManual: (name, input) => {
          authorizeStart(frontDoorRole, 'manual');
          const run = start('manual', input, name, pendingOnEvent);
          const executionArn = `arn:aws:states:${world.region}:${world.account}:execution:KmsIncidentRotationManual:${name}`;
          running.set(executionArn, run);
          return Promise.resolve({ executionArn, startDate: new Date().toISOString() });
        },
        sendTaskSuccess: (token, output) => {
          authorizeAnswer(frontDoorRole, 'states:SendTaskSuccess', token);
          return Promise.resolve(taskTokens(token).sendTaskSuccess(token, JSON.parse(output)));
        },
        sendTaskFailure: (token, error, cause) => {
          authorizeAnswer(frontDoorRole, 'states:SendTaskFailure', token);
          return Promise.resolve(taskTokens(token).sendTaskFailure(token, error, cause));
        },
      },
    },
  });
  /** states:StartExecution on the machine of `mode`, by `principal` (AccessDeniedException as Step Functions answers). */
  const authorizeStart = (principal: Principal, mode: 'automatic' | 'manual') => {
    const decision = iam.authorize(principal, 'states:StartExecution', iam.stateMachineArns[mode]);
    if (!decision.allowed) throw Object.assign(new Error(decision.message), { name: 'AccessDeniedException' });
  };
  /** SendTaskSuccess/Failure are authorized on the state machine whose task holds the token. */
  const authorizeAnswer = (principal: Principal, action: string, token: string) => {
    const mode = tokenModes.get(token);
    if (!mode) return; // an unknown token: Step Functions answers TaskDoesNotExist / InvalidToken (taskTokens)
    const decision = iam.authorize(principal, action, iam.stateMachineArns[mode]);
    if (!decision.allowed) throw Object.assign(new Error(decision.message), { name: 'AccessDeniedException' });
  };
  const taskTokens = (token: string): TaskTokens => {
    const set = tokens.get(token);
    if (!set) throw Object.assign(new Error('Task does not exist anymore'), { name: 'TaskDoesNotExist' });
    return set;
  };

  return {
    standIn,
    iam,
    ledgerEndpoint: ledger.endpoint,
    settings,
    frontDoorUrl: frontDoor.url,
    approvalTokens: () => [...tokens.keys()],
    sendTaskSuccess(as, token, output) {
      authorizeAnswer(iam.principals.person(as), 'states:SendTaskSuccess', token);
      taskTokens(token).sendTaskSuccess(token, output);
    },
    async run(input, runOpts = {}) {
      const firstCall = standIn.calls.length;
      const firstPublish = standIn.published.length;
      const firstHubUpdate = standIn.securityHubUpdates.length;
      const firstExchange = exchanges.length;
      executions += 1;
      const executionName = runOpts.executionName ?? `local-${Date.now()}-${executions}`;
      let run: LocalRunResult;
      if (inputKind(input) === 'manual') {
        const request = input as Record<string, unknown>;
        const forced = request.force === true;
        const as =
          runOpts.as ?? world.requester ?? (forced ? names.find((n) => people[n].breakGlass) : undefined) ?? names[0];
        const route = runOpts.route ?? (forced ? 'breakGlass' : 'request');
        // The route carries force; a forced request sent to /requests keeps it (the front door refuses it).
        const { force: _force, ...rest } = request;
        const body = forced && route === 'request' ? request : rest;
        pendingOnEvent = runOpts.onEvent;
        const answer = await signedPost(
          frontDoor.url,
          route,
          {},
          { ...body, name: `manual-${executionName}`.slice(0, 80) },
          credentialsOf(people[as]),
          world.region,
        );
        if (answer.status !== 200) throw new FrontDoorRefusal(answer.status, answer.body);
        run = await running.get(String(answer.body.executionArn))!;
      } else {
        // EventBridge starts the automatic machine with the rule's target role: that role must be
        // allowed states:StartExecution on it, as in the account.
        authorizeStart(
          runOpts.as ? iam.principals.person(runOpts.as) : iam.principals.eventRuleRole(eventSource(input)),
          'automatic',
        );
        // The finding exists at its source, as it would for an event EventBridge delivers; the
        // world's unconfirmedFindings makes it a hand-made one that no source holds.
        if (!world.unconfirmedFindings) fileWithSource(standIn, input);
        run = await start('automatic', input, executionName, runOpts.onEvent);
      }
      const notify = lastOutputOf(run.events, STATE.notify) as { notification?: { summary?: RunSummary } } | undefined;
      const summary = notify?.notification?.summary ?? null;
      // Messages name their execution on a line of its own ("  <arn>" in a summary, "Execution:
      // <arn>" in an approval request); with executions side by side, keep this one's.
      const ownLine = (line: string) =>
        line.trim() === run.executionArn || line.trim() === `Execution: ${run.executionArn}`;
      // A per-protocol message (MessageStructure json) is read by its `default` text, as e-mail shows it.
      const textOf = (p: (typeof standIn.published)[number]) => p.messages?.default ?? p.message;
      const published = standIn.published.slice(firstPublish).filter((p) => textOf(p).split('\n').some(ownLine));
      return {
        result: {
          executionStatus: run.status,
          error: run.error,
          cause: run.cause,
          keys: (summary?.keys ?? []).map(toSimulatedKey),
          notifications: published.map((p) => ({
            subject: p.subject ?? null,
            message: textOf(p),
            ...(p.messages ? { messages: p.messages } : {}),
            attributes: Object.fromEntries(Object.entries(p.attributes).map(([k, v]) => [k, v.StringValue ?? ''])),
          })),
          reencryption: summary?.reencryption ?? null,
          // What Security Hub received from this run (BatchUpdateFindings), as the stand-in recorded it.
          securityHubUpdates: standIn.securityHubUpdates.slice(firstHubUpdate),
          ...run.metrics,
        },
        summary,
        events: run.events,
        calls: standIn.calls.slice(firstCall),
        settings,
        executionArn: run.executionArn,
        frontDoor: exchanges.slice(firstExchange),
      };
    },
    async close() {
      await Promise.all([standIn.close(), ledger.close(), frontDoor.close()]);
    },
  };
}

/** Run one execution in a fresh simulated account (what `kms-rotate simulate` does). */
export async function simulate(opts: SimulateOptions): Promise<SimulationRun> {
  const simulation = await openSimulation(opts);
  try {
    return await simulation.run(opts.input, { onEvent: opts.onEvent });
  } finally {
    await simulation.close();
  }
}

export interface StormOptions {
  world: World;
  /** Triggers (finding events or manual requests), started in this order. */
  inputs: unknown[];
  /** Divides every wait, retry interval, rotation time and request-quota second (default 1). */
  speed?: number;
  /** Simulated milliseconds between two starts (divided by speed, like every other wait). */
  staggerMs?: number;
  /** Each execution's events, with the trigger's index in `inputs`. */
  onEvent?: (index: number, event: RunEvent) => void;
  onStandIn?: (standIn: StandIn) => void;
}

export interface StormRun {
  /** One per trigger, in the order of `inputs`. */
  runs: SimulationRun[];
  /** Every KMS call of the storm per operation and key, served and throttled. */
  counters: KmsCallCounters;
  /** Real time (ms since the epoch) the first execution started and the last one ended. */
  startedAt: number;
  endedAt: number;
}

/**
 * An incident storm offline: many executions at once against ONE stand-in (so one set of KMS
 * request quotas) and ONE ledger, as many findings arriving together meet one account. The
 * executions run concurrently; execution i starts i x staggerMs simulated milliseconds after the
 * first.
 */
export async function simulateStorm(opts: StormOptions): Promise<StormRun> {
  const speed = opts.speed ?? 1;
  const staggerMs = opts.staggerMs ?? 0;
  if (!(staggerMs >= 0) || !Number.isFinite(staggerMs))
    throw new Error(`simulateStorm: staggerMs must be 0 or more (got ${staggerMs})`);
  const simulation = await openSimulation({ world: opts.world, speed, onStandIn: opts.onStandIn });
  try {
    const startedAt = Date.now();
    const stamp = startedAt.toString(36);
    const runs = await Promise.all(
      opts.inputs.map(async (input, i) => {
        // Each start is scheduled from the first one, so a slow start does not delay the others.
        await sleep(Math.max(0, startedAt + (i * staggerMs) / speed - Date.now()));
        return simulation.run(input, {
          executionName: `storm-${stamp}-${String(i + 1).padStart(3, '0')}`,
          onEvent: opts.onEvent && ((event) => opts.onEvent!(i, event)),
        });
      }),
    );
    return { runs, counters: simulation.standIn.counters(), startedAt, endedAt: Date.now() };
  } finally {
    await simulation.close();
  }
}

/** The key id of a key ARN (how the world file names keys), else the reference as it is. */
function keyIdOf(ref: string): string {
  const arn = parseKmsArn(ref);
  return arn?.resourceType === 'key' ? arn.resource : ref;
}

function toSimulatedKey(k: KeyResult): SimulatedKey {
  return {
    keyArn: k.keyArn,
    via: k.via,
    outcome: k.outcome,
    reason: k.reason,
    detail: k.detail,
    aliases: k.aliases,
    onDemandRotationsUsed: k.onDemandRotationsUsed,
    onDemandRotationsRemaining: k.onDemandRotationsRemaining,
    previousKeyMaterialId: k.previousKeyMaterialId,
    currentKeyMaterialId: k.currentKeyMaterialId,
  };
}

/** Detail-types each finding source files (others are refused by Intake, so there is nothing to file). */
const FILED_DETAIL_TYPES: Record<string, string> = {
  'aws.guardduty': 'GuardDuty Finding',
  'aws.securityhub': 'Security Hub Findings - Imported',
  'aws.access-analyzer': 'Access Analyzer Finding',
};

/** Files a finding event's finding with the stand-in's source service (an event Intake would refuse is not filed). */
function fileWithSource(standIn: StandIn, input: unknown): void {
  const event = input as { source?: unknown; 'detail-type'?: unknown } | null;
  const source = typeof event?.source === 'string' ? event.source : '';
  if (!Object.hasOwn(FILED_DETAIL_TYPES, source) || FILED_DETAIL_TYPES[source] !== event?.['detail-type']) return;
  standIn.fileFinding(input);
}

/** The `source` of an EventBridge event (`aws.guardduty`, ...): which rule of the stack takes it. */
function eventSource(input: unknown): string {
  const source = (input as { source?: unknown } | null)?.source;
  if (typeof source !== 'string')
    throw new Error(
      'simulate: a finding event needs its EventBridge "source" (e.g. "aws.guardduty"): no rule of the stack would take it otherwise',
    );
  return source;
}
