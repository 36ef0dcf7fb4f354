import type { Settings } from '../lib/settings/settings';
import { accessRoles } from '../lib/settings/settings';
import type { KeyTask, RunSummary } from '../lambdas/domain/contracts';
import { parseKmsArn } from '../lambdas/domain/arn';
import { STATE } from '../lambdas/domain/workflow-states';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { runLocally, lastOutputOf, type LocalRunResult, type RunEvent, type TaskTokens } from './runner/runner';
import { SimClock } from './runner/sim-clock';
import { startLocalFrontDoor, type FrontDoorExchange } from './front-door';
import { signedPost } from './front-door-client';
import { Ledger } from '../lambdas/adapters/ledger';
import { approvalIdOf } from '../lambdas/domain/approvals/approval';
import { inputKind } from '../lambdas/domain/intake/intake';
import type { RouteName } from '../lambdas/domain/approvals/front-door';
import type { World, WorldPerson } from './world';
import { startStandIn, type StandIn } from './standin';
import { createAccountIam, type AccountIam, type Principal } from './iam';
import type { CfnTemplate } from './template';
import { startLocalLedger, type LocalLedger } from './ledger-local';
import { accountLayout, runnerResources, worldSettings, worldTemplate } from './simulation-account';
import { toSimulatedKey, type SimulationRun } from './simulation-result';
import { eventSource, fileWithSource } from './finding-sources';

export type { SimulationRun } from './simulation-result';

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
  // The simulation's own time: speed x real time from now, as the stand-in counts it (nothing runs on it).
  const simulationClock = new SimClock(speed);
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
    onEvent: ((e: RunEvent) => void) | undefined,
    clock: SimClock,
  ) => {
    tokens.set(task.token, tokenSet);
    const key = (task.payload as { task?: KeyTask }).task;
    if (!key) return;
    const given = approvals[keyIdOf(key.keyArn ?? key.ref)] ?? approvals[key.ref] ?? 'timeout';
    // The answers are tried in order, each after the front door refused the one before, as people would.
    const answers = (Array.isArray(given) ? given : [given]).map((a) => (typeof a === 'string' ? { decision: a } : a));
    const state = { name: task.stateName, type: 'Task', input: key };
    const told = (approval: NonNullable<RunEvent['approval']>) =>
      onEvent?.({ type: 'ApprovalAnswered', timestamp: clock.now(), state, approval });
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
    // The execution's simulated clock: its trace, and the answers people give, in simulated time,
    // from when it starts on the simulation's clock (executions of a storm start staggered on it).
    const clock = new SimClock(speed, simulationClock.now());
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
      clock,
      onEvent,
      onTaskToken: (task, tokenSet) => {
        tokenModes.set(task.token, mode);
        answerApproval(task, tokenSet, onEvent, clock);
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

/** The key id of a key ARN (how the world file names keys), else the reference as it is. */
function keyIdOf(ref: string): string {
  const arn = parseKmsArn(ref);
  return arn?.resourceType === 'key' ? arn.resource : ref;
}
