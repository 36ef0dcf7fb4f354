import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { KMSClient } from '@aws-sdk/client-kms';
import { SFNClient } from '@aws-sdk/client-sfn';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { KmsKeys } from '../lambdas/adapters/kms';
import { isStateMachineArn } from '../lambdas/domain/arn';
import { CliError, fromAwsError, usageError } from './errors';
import type { Io } from './io';

/** `--profile` / `--region`, as every AWS command takes them. */
export interface AwsFlags {
  profile?: string;
  region?: string;
}

/** The stack `cdk deploy` creates; its `StateMachineArn` output is the workflow. */
import { DASHBOARD_URL_OUTPUT, STACK_NAME } from '../lib/names';

export { STACK_NAME };
export const STATE_MACHINE_ENV = 'KMS_ROTATE_STATE_MACHINE';

/** What every SDK client of a command is built with; anything absent is left to the SDK's defaults. */
interface ClientSettings {
  region?: string;
  profile?: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/**
 * The AWS side of a command: SDK clients configured from the flags (region, profile) and from the
 * command's environment `env` (endpoints, region, profile, static keys: what the SDK would read
 * from the process environment, taken from `io.env` instead so tests and embedders can point a
 * command at a stand-in without touching `process.env`), the caller's identity once known, and
 * `call`, which turns SDK errors into CliErrors. A `--profile` wins over static keys in `env`.
 * The shared Lambda adapters get these clients (see `kmsKeys`), never a rewritten environment.
 */
export class Aws {
  private readonly clients = new Map<string, unknown>();
  identity: { account: string; arn: string } | undefined;

  constructor(
    readonly flags: AwsFlags,
    private readonly env: Io['env'],
  ) {}

  /** Settings for one service's client (`service` as in AWS_ENDPOINT_URL_<SERVICE>). */
  private config(service: string, region?: string): ClientSettings {
    const env = this.env;
    const r = region ?? this.flags.region ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION);
    const profile = this.flags.profile ?? nonEmpty(env.AWS_PROFILE);
    const endpoint = nonEmpty(env[`AWS_ENDPOINT_URL_${service}`]) ?? nonEmpty(env.AWS_ENDPOINT_URL);
    const accessKeyId = nonEmpty(env.AWS_ACCESS_KEY_ID);
    const secretAccessKey = nonEmpty(env.AWS_SECRET_ACCESS_KEY);
    const sessionToken = nonEmpty(env.AWS_SESSION_TOKEN);
    // As the SDK does: a named profile wins over static keys in the environment.
    const credentials =
      !profile && accessKeyId && secretAccessKey
        ? { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) }
        : undefined;
    return {
      ...(r ? { region: r } : {}),
      ...(profile ? { profile } : {}),
      ...(endpoint ? { endpoint } : {}),
      ...(credentials ? { credentials } : {}),
    };
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
    return this.client(`sfn|${region ?? ''}`, () => new SFNClient(this.config('SFN', region)));
  }

  sts(): STSClient {
    return this.client('sts', () => new STSClient(this.config('STS')));
  }

  cfn(): CloudFormationClient {
    return this.client('cfn', () => new CloudFormationClient(this.config('CLOUDFORMATION')));
  }

  kms(region?: string): KMSClient {
    return this.client(`kms|${region ?? ''}`, () => new KMSClient(this.config('KMS', region)));
  }

  /** The shared KMS adapter (the one the workflow's Lambdas use), on this command's clients. */
  kmsKeys(): KmsKeys {
    return new KmsKeys((region) => this.kms(region));
  }

  /**
   * Runs one AWS call. `onError` may turn a specific error into a CliError (e.g.
   * TaskDoesNotExist -> exit 2); other AWS errors become exit-4 CliErrors naming the operation.
   */
  async call<T>(
    operation: string,
    fn: () => Promise<T>,
    onError?: (e: Error & { name: string }) => CliError | undefined,
  ): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof CliError) throw error;
      const specific = error instanceof Error ? onError?.(error) : undefined;
      if (specific) throw specific;
      throw fromAwsError(error, { operation, identity: this.identity?.arn, profile: this.flags.profile }) ?? error;
    }
  }

  /** The credentials this command's clients use (profile, environment, SSO...), to sign front-door requests. */
  async credentials(): Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }> {
    const provider = this.sts().config.credentials;
    const c = await provider();
    return {
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}),
    };
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
        if (error instanceof Error && (error.name === 'ValidationError' || /does not exist/i.test(error.message)))
          return null;
        throw error;
      }
    });
    if (!out) return null;
    return Object.fromEntries(
      (out.Stacks?.[0]?.Outputs ?? []).flatMap((o) =>
        o.OutputKey && o.OutputValue !== undefined ? [[o.OutputKey, o.OutputValue]] : [],
      ),
    );
  }

  /** The stack's DashboardUrl output, once stateMachineArn read the stack's outputs; else null. */
  dashboardUrlOutput: string | null = null;

  /**
   * The workflow's state machine: `--state-machine`, else $KMS_ROTATE_STATE_MACHINE, else the
   * `StateMachineArn` output of the KmsIncidentRotation stack in this Region.
   */
  async stateMachineArn(flag: string | undefined, env: Io['env']): Promise<string> {
    const given = flag ?? env[STATE_MACHINE_ENV];
    if (given !== undefined && given !== '') {
      if (!isStateMachineArn(given)) {
        const from = flag !== undefined ? '--state-machine' : STATE_MACHINE_ENV;
        throw usageError(
          `${from}: expected a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>), got ${JSON.stringify(given.slice(0, 120))}`,
        );
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
          ? usageError(
              `No state machine found: the stack ${STACK_NAME} does not exist in ${region}${this.flags.profile ? ` (profile ${this.flags.profile})` : ''}. ${howTo}`,
            )
          : undefined,
    );
    const outputs = out.Stacks?.[0]?.Outputs ?? [];
    // Kept for `status`, which prints the dashboard's URL from the same stack (no second call).
    this.dashboardUrlOutput = outputs.find((o) => o.OutputKey === DASHBOARD_URL_OUTPUT)?.OutputValue ?? null;
    const arn = outputs.find((o) => o.OutputKey === 'StateMachineArn')?.OutputValue;
    if (!arn)
      throw usageError(
        `No state machine found: the stack ${STACK_NAME} in ${region} has no StateMachineArn output. ${howTo}`,
      );
    return arn;
  }

  /**
   * The workflow's state machines: `--state-machine` / $KMS_ROTATE_STATE_MACHINE (that one only),
   * else both of the stack: the manual machine (front-door runs) and the automatic one (findings).
   */
  async stateMachineArns(
    flag: string | undefined,
    env: Io['env'],
  ): Promise<{ manual: string; automatic: string | null }> {
    const first = await this.stateMachineArn(flag, env);
    const given = flag ?? env[STATE_MACHINE_ENV];
    if (given !== undefined && given !== '') return { manual: first, automatic: null };
    const outputs = (await this.stackOutputs(STACK_NAME)) ?? {};
    return { manual: outputs.ManualStateMachineArn ?? first, automatic: outputs.AutomaticStateMachineArn ?? null };
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
