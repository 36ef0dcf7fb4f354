/**
 * The local runner: the synthesized state machine executed with aws-local-stepfunctions, the real
 * handlers in-process against the stand-in. One idea per module:
 * - run-definition.ts: one execution of a definition (runDefinition) and the rules the library leaves out;
 * - run-contract.ts: its options, events and counts; task-tokens.ts: callback tasks' tokens;
 * - run-handlers.ts: invoking a handler as Lambda would; run-timeouts.ts, state-rules.ts: Step
 *   Functions' timeouts and state rules; sim-clock.ts: simulated time; distributed-map.ts: map runs.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { APPROVAL_DENIED, APPROVE, encodeDenial } from '../../lambdas/domain/approvals/approval';
import { extractWorkflow, type CfnTemplate } from '../template';
import type { IntakeMode } from '../../lambdas/domain/intake/intake';
import { createAccountIam, type AccountIam } from '../iam';
import { physicalResources } from '../iam/resources';
import { KMS_SDK_INTEGRATION, kmsSdkTask } from './kms-sdk-integration';
import type { DefinitionRunOptions, DefinitionRunResult, RunEvent } from './run-contract';
import { runDefinition, visitStates } from './run-definition';
import { invokeHandler, mayInvoke, scaledEnvironment } from './run-handlers';
import { SimClock } from './sim-clock';
import { parseWorld } from '../world';

export type { DefinitionRunOptions, DefinitionRunResult, RunEvent, TaskTokens } from './run-contract';
export { lastOutputOf } from './run-contract';
export { prepareLocalHandlerEnvironment } from './run-handlers';

/** Who approves or denies in a local run (the world file decides). */
const LOCAL_APPROVER = 'local-approver (world file)';

export interface LocalRunOptions {
  template: CfnTemplate;
  /** Which of the template's two machines runs (default automatic). */
  mode?: IntakeMode;
  input: unknown;
  account: string;
  region: string;
  /** The stand-in's endpoint (http://127.0.0.1:port); every AWS SDK call of the handlers goes there. */
  endpoint: string;
  /** Per-service endpoints that differ (e.g. { DYNAMODB: dynalite's endpoint }). */
  serviceEndpoints?: Record<string, string>;
  /**
   * The approval gate's decision for a key (a task-token task cannot be answered locally by a
   * person): approve, deny, or let it time out. Default: timeout. Ignored when onTaskToken is set.
   * An approve sent here is a token alone (no front door, no ledger answer): LockKey refuses it.
   */
  decideApproval?: (task: { ref: string; keyArn: string | null }) => 'approve' | 'deny' | 'timeout';
  /** Answers callback tasks (e.g. through the local front door); replaces decideApproval. */
  onTaskToken?: DefinitionRunOptions['onTaskToken'];
  /** Physical ids for template resources, e.g. { [topicLogicalId]: topicArn }. */
  resources?: Record<string, string>;
  /**
   * The account's IAM (local/iam), shared with the stand-in the handlers call: each handler runs
   * with its function role's credentials, and the state machine's role must be allowed to invoke
   * each function. Default: the template's IAM for this account (the stand-in must then have been
   * given the same template, or it will not know the roles' access keys).
   */
  iam?: AccountIam;
  /** Divides simulated time: waits, retry intervals, callback and execution timeouts, the rotation timeout. */
  speed?: number;
  executionName?: string;
  /**
   * The execution's simulated clock (sim-clock.ts), as its Distributed Map's children have theirs:
   * its history's timestamps, Task and execution timeouts and handlers' remaining time count
   * simulated time (waits at speed, work 1:1). Default: a new clock starting now.
   */
  clock?: SimClock;
  onEvent?: (event: RunEvent) => void;
}

export interface LocalRunResult extends DefinitionRunResult {
  executionArn: string;
}

/**
 * Run the state machine definition taken from the synthesized template with
 * aws-local-stepfunctions. Task states call the real handlers in-process with the environment
 * the template gives each function; the handlers' AWS SDK clients talk to the stand-in.
 * See runDefinition for what the runner adds to the library so that it fails where AWS fails.
 */
export async function runLocally(opts: LocalRunOptions): Promise<LocalRunResult> {
  const speed = opts.speed ?? 1;
  const clock = opts.clock ?? new SimClock(speed);
  const mode = opts.mode ?? 'automatic';
  // Role ARNs in the definition (the per-run grant's grantee) resolve as local/iam names the roles.
  const roleArns = Object.fromEntries(
    Object.entries(physicalResources(opts.template, opts.account, opts.region, opts.resources)).filter(
      ([id]) => id.endsWith('.Arn') && opts.template.Resources[id.slice(0, -4)]?.Type === 'AWS::IAM::Role',
    ),
  );
  const { definition, functions } = extractWorkflow(
    opts.template,
    { account: opts.account, region: opts.region, resources: { ...roleArns, ...opts.resources } },
    mode,
  );
  const executionName = opts.executionName ?? `local-${Date.now()}`;
  const machineName = mode === 'manual' ? 'KmsIncidentRotationManual' : 'KmsIncidentRotation';
  const executionArn = `arn:aws:states:${opts.region}:${opts.account}:execution:${machineName}:${executionName}`;

  const iam =
    opts.iam ??
    createAccountIam({
      template: opts.template,
      world: parseWorld({ account: opts.account, region: opts.region }, 'the runner'),
      account: opts.account,
      region: opts.region,
      resources: opts.resources,
    });
  const machineRole = iam.principals.stateMachineRole(mode);
  const tasks: DefinitionRunOptions['tasks'] = {};
  const callbacks: NonNullable<DefinitionRunOptions['callbacks']> = {};
  visitStates(definition, (name, state) => {
    if (state.Type !== 'Task') return;
    if (typeof state.Resource === 'string' && state.Resource.endsWith(':lambda:invoke.waitForTaskToken')) {
      const functionArn = state.Parameters?.FunctionName;
      const callbackFn = functions.get(functionArn);
      if (!callbackFn)
        throw new Error(`Task state ${name} invokes ${functionArn}, which is not a function of the template`);
      const environment = scaledEnvironment(callbackFn.environment, speed);
      const role = iam.principals.functionRole(callbackFn.handler);
      callbacks[name] = (input: any) => {
        mayInvoke(iam, machineRole, functionArn);
        return invokeHandler(callbackFn.handler, input.Payload, environment, opts, callbackFn.timeoutSeconds, role);
      };
      return;
    }
    if (typeof state.Resource === 'string' && state.Resource.startsWith(KMS_SDK_INTEGRATION)) {
      const at = { endpoint: opts.serviceEndpoints?.KMS ?? opts.endpoint, region: opts.region };
      tasks[name] = kmsSdkTask(state.Resource.slice(KMS_SDK_INTEGRATION.length), at, machineRole);
      return;
    }
    const fn = functions.get(state.Resource);
    if (!fn) throw new Error(`Task state ${name} invokes ${state.Resource}, which is not a function of the template`);
    const environment = scaledEnvironment(fn.environment, speed);
    const role = iam.principals.functionRole(fn.handler);
    tasks[name] = (input: unknown) => {
      mayInvoke(iam, machineRole, state.Resource);
      return invokeHandler(fn.handler, input, environment, opts, fn.timeoutSeconds, role);
    };
  });

  // A Distributed Map's ItemReader and ResultWriter read and write S3 as the state machine's role.
  const s3 = new S3Client({
    endpoint: opts.serviceEndpoints?.S3 ?? opts.endpoint,
    region: opts.region,
    forcePathStyle: true,
    credentials: { accessKeyId: machineRole.accessKeyId, secretAccessKey: machineRole.secretAccessKey },
  });
  const run = await runDefinition({
    definition,
    input: opts.input,
    tasks,
    callbacks,
    speed,
    executionArn,
    executionName,
    s3,
    clock,
    onEvent: opts.onEvent,
    onTaskToken:
      opts.onTaskToken ??
      ((task, tokens) => {
        const payload = task.payload as { task?: { ref: string; keyArn: string | null } };
        const decision = payload.task ? (opts.decideApproval?.(payload.task) ?? 'timeout') : 'timeout';
        opts.onEvent?.({
          type: 'ApprovalDecided',
          timestamp: clock.now(),
          state: { name: task.stateName, type: 'Task' },
          Cause: decision,
        });
        // Answered asynchronously, as a person would (never inside the task's own start).
        setImmediate(() => {
          try {
            // A token alone, without the front door: LockKey finds no answer in the ledger and refuses it
            // (SKIPPED APPROVAL_DENIED); approvals that count go through the local front door (local/simulate.ts).
            if (decision === 'approve') tokens.sendTaskSuccess(task.token, { decision: APPROVE, by: LOCAL_APPROVER });
            else if (decision === 'deny')
              tokens.sendTaskFailure(
                task.token,
                APPROVAL_DENIED,
                encodeDenial(LOCAL_APPROVER, 'denied in the world file'),
              );
            // 'timeout': nobody answers; the task's TimeoutSeconds (scaled) ends it with States.Timeout.
          } catch {
            // The execution ended before the answer (e.g. it failed elsewhere): nothing to answer.
          }
        });
      }),
  });
  s3.destroy();
  return { ...run, executionArn };
}
