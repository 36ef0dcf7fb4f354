import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { KMSClient } from '@aws-sdk/client-kms';
import { SFNClient } from '@aws-sdk/client-sfn';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { CliError, fromAwsError, usageError } from './errors';
import type { Io } from './io';

/** `--profile` / `--region`, as every AWS command takes them. */
export interface AwsFlags {
  profile?: string;
  region?: string;
}

/** The stack `cdk deploy` creates; its `StateMachineArn` output is the workflow. */
import { STACK_NAME } from '../lib/names';

export { STACK_NAME };
export const STATE_MACHINE_ENV = 'KMS_ROTATE_STATE_MACHINE';

const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/;
const STATIC_CREDENTIALS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'];

/**
 * Runs `fn` with the AWS part of the process environment taken from `io.env` (so tests can point
 * every SDK client, including the shared Lambda adapters `check` reuses, at a stand-in) and with
 * `--profile` / `--region` applied as AWS_PROFILE / AWS_REGION. Restores the environment after.
 * A `--profile` wins over static keys in the environment.
 */
export async function withAwsEnvironment<T>(io: Io, flags: AwsFlags, fn: () => Promise<T>): Promise<T> {
  const saved = new Map<string, string | undefined>();
  const set = (name: string, value: string | undefined) => {
    if (!saved.has(name)) saved.set(name, process.env[name]);
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  };
  if (io.env !== process.env) {
    for (const name of Object.keys(process.env)) if (name.startsWith('AWS_')) set(name, undefined);
    for (const [name, value] of Object.entries(io.env)) if (name.startsWith('AWS_')) set(name, value);
  }
  if (flags.profile) {
    set('AWS_PROFILE', flags.profile);
    for (const name of STATIC_CREDENTIALS) set(name, undefined);
  }
  if (flags.region) set('AWS_REGION', flags.region);
  try {
    return await fn();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

/**
 * The AWS side of a command: SDK clients configured from the flags (region, profile), the
 * caller's identity once known, and `call`, which turns SDK errors into CliErrors.
 */
export class Aws {
  private readonly clients = new Map<string, unknown>();
  identity: { account: string; arn: string } | undefined;

  constructor(readonly flags: AwsFlags) {}

  private config(region?: string): { region?: string; profile?: string } {
    const r = region ?? this.flags.region;
    return { ...(r ? { region: r } : {}), ...(this.flags.profile ? { profile: this.flags.profile } : {}) };
  }

  private client<C>(key: string, make: () => C): C {
    let c = this.clients.get(key) as C | undefined;
    if (!c) {
      c = make();
      this.clients.set(key, c);
    }
    return c;
  }

  sfn(region?: string): SFNClient {
    return this.client(`sfn|${region ?? ''}`, () => new SFNClient(this.config(region)));
  }

  sts(): STSClient {
    return this.client('sts', () => new STSClient(this.config()));
  }

  cfn(): CloudFormationClient {
    return this.client('cfn', () => new CloudFormationClient(this.config()));
  }

  kms(region?: string): KMSClient {
    return this.client(`kms|${region ?? ''}`, () => new KMSClient(this.config(region)));
  }

  /**
   * Runs one AWS call. `onError` may turn a specific error into a CliError (e.g.
   * TaskDoesNotExist -> exit 2); other AWS errors become exit-4 CliErrors naming the operation.
   */
  async call<T>(operation: string, fn: () => Promise<T>, onError?: (e: Error & { name: string }) => CliError | undefined): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof CliError) throw error;
      const specific = error instanceof Error ? onError?.(error) : undefined;
      if (specific) throw specific;
      throw fromAwsError(error, { operation, identity: this.identity?.arn, profile: this.flags.profile }) ?? error;
    }
  }

  /** The Region commands run in: --region, else the SDK's (AWS_REGION, the profile's region). */
  async region(): Promise<string> {
    if (this.flags.region) return this.flags.region;
    return this.call('resolving the Region', () => this.sts().config.region());
  }

  /** STS GetCallerIdentity: who is asking (the `requestedBy` of manual requests). */
  async callerIdentity(): Promise<{ account: string; arn: string }> {
    if (this.identity) return this.identity;
    const out = await this.call('sts:GetCallerIdentity', () => this.sts().send(new GetCallerIdentityCommand({})));
    if (!out.Account || !out.Arn) throw new CliError('STS GetCallerIdentity returned no account or ARN.', 4);
    this.identity = { account: out.Account, arn: out.Arn };
    return this.identity;
  }

  /**
   * The outputs of stack `stackName` in this Region (DescribeStacks), by key; null when the
   * stack does not exist there.
   */
  async stackOutputs(stackName: string): Promise<Record<string, string> | null> {
    const out = await this.call('cloudformation:DescribeStacks', async () => {
      try {
        return await this.cfn().send(new DescribeStacksCommand({ StackName: stackName }));
      } catch (error) {
        // CloudFormation says "Stack with id X does not exist" as a ValidationError.
        if (error instanceof Error && (error.name === 'ValidationError' || /does not exist/i.test(error.message))) return null;
        throw error;
      }
    });
    if (!out) return null;
    return Object.fromEntries((out.Stacks?.[0]?.Outputs ?? []).flatMap((o) => (o.OutputKey && o.OutputValue !== undefined ? [[o.OutputKey, o.OutputValue]] : [])));
  }

  /**
   * The workflow's state machine: `--state-machine`, else $KMS_ROTATE_STATE_MACHINE, else the
   * `StateMachineArn` output of the KmsIncidentRotation stack in this Region.
   */
  async stateMachineArn(flag: string | undefined, env: Io['env']): Promise<string> {
    const given = flag ?? env[STATE_MACHINE_ENV];
    if (given !== undefined && given !== '') {
      if (!STATE_MACHINE_ARN.test(given)) {
        const from = flag !== undefined ? '--state-machine' : STATE_MACHINE_ENV;
        throw usageError(`${from}: expected a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>), got ${JSON.stringify(given.slice(0, 120))}`);
      }
      return given;
    }
    const region = await this.region();
    const howTo = `Pass --state-machine ARN, set ${STATE_MACHINE_ENV}, or deploy the stack (npx cdk deploy) in ${region}.`;
    const out = await this.call(
      'cloudformation:DescribeStacks',
      () => this.cfn().send(new DescribeStacksCommand({ StackName: STACK_NAME })),
      (e) =>
        e.name === 'ValidationError' || /does not exist/i.test(e.message)
          ? usageError(`No state machine found: the stack ${STACK_NAME} does not exist in ${region}${this.flags.profile ? ` (profile ${this.flags.profile})` : ''}. ${howTo}`)
          : undefined,
    );
    const arn = out.Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === 'StateMachineArn')?.OutputValue;
    if (!arn) throw usageError(`No state machine found: the stack ${STACK_NAME} in ${region} has no StateMachineArn output. ${howTo}`);
    return arn;
  }
}
