import { runLocally, type LocalRunOptions, type TaskTokens } from '../runner/runner';
import { SimClock } from '../runner/sim-clock';
import { extractWorkflow, type CfnTemplate } from '../template';
import type { IntakeMode } from '../../lambdas/domain/intake/intake';
import { HistoryRecorder, statesOf, withoutData, type WireHistoryEvent } from './history';
import type { SandboxAccess, SandboxPrincipal } from './access';
import { PAYLOAD_LIMIT_BYTES } from '../limits';
import {
  arnOf,
  EXECUTION_ARN,
  isName,
  MACHINE_ARN,
  optionalBoolean,
  optionalString,
  paginate,
  requiredString,
  SfnError,
  validation,
} from './sfn-input';

/**
 * A Step Functions API (awsJson1_0, `X-Amz-Target: AWSStepFunctions.<Operation>`) over the local
 * runner: StartExecution runs the synthesized machine with the real handlers; DescribeExecution,
 * GetExecutionHistory and ListExecutions read what the runner did; SendTask* answer its task
 * tokens. Shapes, ranges and error names follow the SFN model (aws-sdk-js-v3
 * codegen/sdk-codegen/aws-models/sfn.json).
 */

/** True for the template's state machine of `mode` (the stack tags each with its mode). */
export function isMachineOf(r: CfnTemplate['Resources'][string], mode: IntakeMode): boolean {
  return r.Type === 'AWS::StepFunctions::StateMachine' && r.Metadata?.['kms-incident-rotation:mode'] === mode;
}

/** A machine of the stack: its ARN (the stack's output) and which of the template's it is. */
export interface SandboxMachine {
  arn: string;
  mode: IntakeMode;
  roleArn: string;
}

export interface StatesOptions {
  template: CfnTemplate;
  account: string;
  region: string;
  machines: SandboxMachine[];
  speed: number;
  /** What runLocally needs besides the machine and input (endpoints, resources). */
  run: Pick<LocalRunOptions, 'endpoint' | 'serviceEndpoints' | 'resources' | 'iam'>;
  /** Told when a callback task waits for its token (the sandbox prints approval requests). */
  onTaskToken?: (executionArn: string, stateName: string) => void;
  /** Told when an execution ends. */
  onEnded?: (execution: ExecutionRecord) => void;
}

export interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  input: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  startDate: number;
  stopDate?: number;
  output?: string;
  error?: string;
  cause?: string;
  history: HistoryRecorder;
}

export class LocalStepFunctions {
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly running = new Set<Promise<unknown>>();
  /** Every task token ever issued here, with the execution's TaskTokens (which know used and timed-out ones). */
  private readonly tokens = new Map<string, { tokens: TaskTokens; machineArn: string }>();
  private readonly machineStates;

  constructor(private readonly opts: StatesOptions) {
    this.machineStates = new Map(opts.machines.map((m) => [m.arn, statesOf(this.definitionOf(m))]));
  }

  /** Every execution, newest first. */
  list(): ExecutionRecord[] {
    return [...this.executions.values()].sort((a, b) => b.startDate - a.startDate);
  }

  /** Runs one operation for a verified principal (after `access.authorize`). */
  async handle(
    operation: string,
    input: Record<string, unknown>,
    principal: SandboxPrincipal,
    access: SandboxAccess,
  ): Promise<unknown> {
    const authorize = (resource: string) => {
      const decision = access.authorize(principal, `states:${operation}`, resource);
      if (!decision.allowed) throw new SfnError('AccessDeniedException', decision.message);
    };
    // The ARN's shape first (InvalidArn), then IAM on it, then whether it exists: AWS does not
    // tell a caller who may not see a resource whether it exists (the order of the first two is
    // undocumented; an ARN that is not one has nothing to authorize).
    switch (operation) {
      case 'StartExecution': {
        const arn = arnOf(input, 'stateMachineArn', MACHINE_ARN);
        authorize(arn);
        return this.start(this.machine(arn), input);
      }
      case 'DescribeExecution': {
        const arn = arnOf(input, 'executionArn', EXECUTION_ARN);
        authorize(arn);
        return describe(this.execution(arn));
      }
      case 'GetExecutionHistory': {
        const arn = arnOf(input, 'executionArn', EXECUTION_ARN);
        authorize(arn);
        return this.history(this.execution(arn), input);
      }
      case 'ListExecutions': {
        const arn = arnOf(input, 'stateMachineArn', MACHINE_ARN);
        authorize(arn);
        return this.listExecutions(this.machine(arn), input);
      }
      case 'DescribeStateMachine': {
        const arn = arnOf(input, 'stateMachineArn', MACHINE_ARN);
        authorize(arn);
        return this.describeMachine(this.machine(arn));
      }
      case 'SendTaskSuccess':
      case 'SendTaskFailure':
      case 'SendTaskHeartbeat':
        return this.answerTask(operation, input, authorize);
      default:
        throw new SfnError(
          'UnknownOperationException',
          `The sandbox's Step Functions does not implement ${operation}.`,
        );
    }
  }

  /** Starts an execution of `machine` (StartExecution, after authorization). */
  start(machine: SandboxMachine, input: Record<string, unknown>): { executionArn: string; startDate: number } {
    const name = optionalString(input, 'name', 80) ?? crypto.randomUUID();
    if (!isName(name)) throw new SfnError('InvalidName', `Invalid Name: '${name}'`);
    const text = optionalString(input, 'input', PAYLOAD_LIMIT_BYTES) ?? '{}';
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new SfnError('InvalidExecutionInput', `Invalid State Machine Execution Input: '${text.slice(0, 100)}'`);
    }
    const machineName = machine.arn.split(':').pop()!;
    const executionArn = machine.arn.replace(/:stateMachine:[^:]+$/, `:execution:${machineName}:${name}`);
    const existing = this.executions.get(executionArn);
    if (existing) {
      // Idempotent only for the same input while it runs (StartExecution's documentation).
      if (existing.status === 'RUNNING' && existing.input === text)
        return { executionArn, startDate: existing.startDate / 1000 };
      throw new SfnError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    // The execution's simulated clock: its history, start and stop dates count simulated time.
    const clock = new SimClock(this.opts.speed);
    const history = new HistoryRecorder(this.machineStates.get(machine.arn)!, {
      roleArn: machine.roleArn,
      region: this.opts.region,
      now: () => clock.now(),
    });
    const record: ExecutionRecord = {
      executionArn,
      stateMachineArn: machine.arn,
      name,
      input: text,
      status: 'RUNNING',
      startDate: clock.now(),
      history,
    };
    this.executions.set(executionArn, record);
    const lanes = new Map<string, number | undefined>();
    const run = runLocally({
      ...this.opts.run,
      template: this.opts.template,
      mode: machine.mode,
      input: parsed,
      account: this.opts.account,
      region: this.opts.region,
      speed: this.opts.speed,
      clock,
      executionName: name,
      onEvent: (e) => {
        if (e.type === 'StateEntered' && e.state) lanes.set(e.state.name, e.index);
        history.push(e);
      },
      onTaskToken: (task, tokens) => {
        this.tokens.set(task.token, { tokens, machineArn: machine.arn });
        history.submitted(task.stateName, lanes.get(task.stateName));
        this.opts.onTaskToken?.(executionArn, task.stateName);
      },
    }).then(
      (result) => {
        // The library delivers its last events asynchronously: let them in before the status changes.
        setImmediate(() => {
          history.finish(result.status, result.output, result.error, result.cause);
          const timedOut = history.events[history.events.length - 1]?.type === 'ExecutionTimedOut';
          Object.assign(record, {
            status: timedOut ? 'TIMED_OUT' : result.status,
            stopDate: clock.now(),
            ...(result.status === 'SUCCEEDED'
              ? { output: JSON.stringify(result.output ?? null) }
              : { error: result.error ?? undefined, cause: result.cause ?? undefined }),
          });
          this.opts.onEnded?.(record);
        });
      },
      (error: unknown) => {
        history.finish('FAILED', null, 'States.Runtime', String(error));
        Object.assign(record, {
          status: 'FAILED',
          stopDate: clock.now(),
          error: 'States.Runtime',
          cause: String(error),
        });
        this.opts.onEnded?.(record);
      },
    );
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
    return { executionArn, startDate: record.startDate / 1000 };
  }

  private machine(arn: string): SandboxMachine {
    const machine = this.opts.machines.find((m) => m.arn === arn);
    if (!machine) throw new SfnError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    return machine;
  }

  private execution(arn: string): ExecutionRecord {
    const record = this.executions.get(arn);
    if (!record) throw new SfnError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return record;
  }

  private history(record: ExecutionRecord, input: Record<string, unknown>) {
    const reverse = optionalBoolean(input, 'reverseOrder') ?? false;
    const withData = optionalBoolean(input, 'includeExecutionData') ?? true;
    const events = reverse ? [...record.history.events].reverse() : record.history.events;
    const page = paginate(events, input, `${record.executionArn}|${reverse}`);
    return {
      events: page.items.map((e: WireHistoryEvent) => (withData ? e : withoutData(e))),
      ...(page.nextToken ? { nextToken: page.nextToken } : {}),
    };
  }

  private listExecutions(machine: SandboxMachine, input: Record<string, unknown>) {
    const statusFilter = optionalString(input, 'statusFilter', 20);
    const statuses = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE'];
    if (statusFilter !== undefined && !statuses.includes(statusFilter)) {
      throw validation(
        `Value '${statusFilter}' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [${statuses.join(', ')}]`,
      );
    }
    const all = this.list().filter(
      (r) => r.stateMachineArn === machine.arn && (statusFilter === undefined || r.status === statusFilter),
    );
    const page = paginate(all, input, `${machine.arn}|${statusFilter ?? ''}`);
    return {
      executions: page.items.map((r) => ({
        executionArn: r.executionArn,
        stateMachineArn: r.stateMachineArn,
        name: r.name,
        status: r.status,
        startDate: r.startDate / 1000,
        ...(r.stopDate !== undefined ? { stopDate: r.stopDate / 1000 } : {}),
      })),
      ...(page.nextToken ? { nextToken: page.nextToken } : {}),
    };
  }

  private describeMachine(machine: SandboxMachine) {
    const resource = Object.values(this.opts.template.Resources).find((r) => isMachineOf(r, machine.mode));
    const definition = this.definitionOf(machine);
    return {
      stateMachineArn: machine.arn,
      name: machine.arn.split(':').pop(),
      status: 'ACTIVE',
      definition: JSON.stringify(definition),
      roleArn: machine.roleArn,
      type: String(resource?.Properties?.StateMachineType ?? 'STANDARD'),
      creationDate: this.createdAt / 1000,
    };
  }

  private readonly createdAt = Date.now();

  /** The machine's definition as deployed (intrinsics resolved with the sandbox's resources). */
  private definitionOf(machine: SandboxMachine): unknown {
    const ctx = { account: this.opts.account, region: this.opts.region, resources: this.opts.run.resources };
    return extractWorkflow(this.opts.template, ctx, machine.mode).definition;
  }

  private answerTask(
    operation: string,
    input: Record<string, unknown>,
    authorize: (resource: string) => void,
  ): Record<string, never> {
    const token = requiredString(input, 'taskToken', 2048);
    const entry = this.tokens.get(token);
    // A token this account never issued is not a token (InvalidToken); used or timed-out ones
    // are told apart by the execution's TaskTokens (TaskDoesNotExist, TaskTimedOut).
    if (!entry) throw new SfnError('InvalidToken', 'Invalid Token');
    // CDK's grantTaskResponse grants SendTask* on the state machine: that is the resource authorized.
    authorize(entry.machineArn);
    try {
      if (operation === 'SendTaskSuccess') {
        const text = requiredString(input, 'output', PAYLOAD_LIMIT_BYTES);
        let output: unknown;
        try {
          output = JSON.parse(text);
        } catch {
          throw new SfnError('InvalidOutput', `Invalid Output: '${text.slice(0, 100)}'`);
        }
        entry.tokens.sendTaskSuccess(token, output);
      } else if (operation === 'SendTaskFailure') {
        entry.tokens.sendTaskFailure(token, optionalString(input, 'error', 256), optionalString(input, 'cause', 32768));
      } else {
        entry.tokens.sendTaskHeartbeat(token);
      }
    } catch (error) {
      if (error instanceof SfnError) throw error;
      const e = error as Error;
      throw new SfnError(e.name === 'Error' ? 'TaskDoesNotExist' : e.name, e.message);
    }
    return {};
  }

  /** Waits (at most `ms`) for the executions still running; they are cut short when the sandbox stops. */
  async settle(ms: number): Promise<void> {
    await Promise.race([
      Promise.allSettled([...this.running]),
      new Promise((resolve) => setTimeout(resolve, ms).unref()),
    ]);
  }
}

function describe(r: ExecutionRecord) {
  return {
    executionArn: r.executionArn,
    stateMachineArn: r.stateMachineArn,
    name: r.name,
    status: r.status,
    startDate: r.startDate / 1000,
    ...(r.stopDate !== undefined ? { stopDate: r.stopDate / 1000 } : {}),
    input: r.input,
    inputDetails: { included: true },
    ...(r.output !== undefined ? { output: r.output, outputDetails: { included: true } } : {}),
    ...(r.error !== undefined ? { error: r.error } : {}),
    ...(r.cause !== undefined ? { cause: r.cause } : {}),
    redriveCount: 0,
    redriveStatus: 'NOT_REDRIVABLE',
  };
}
