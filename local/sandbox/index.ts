import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SFNClient } from '@aws-sdk/client-sfn';
import { Ledger } from '../../lambdas/adapters/ledger';
import { StepFunctionsControl } from '../../lambdas/adapters/workflow';
import { DrillKeys } from '../../lambdas/drill/handler';
import { STACK_NAME } from '../../lib/names';
import { accessRoles } from '../../lib/settings/settings';
import { COMPONENT_METADATA_KEY } from '../../lib/people/front-door';
import { DRILL_ENV } from '../../lambdas/domain/drill';
import { startLocalFrontDoor, type LocalFrontDoor } from '../front-door';
import { startLocalLedger, type LocalLedger } from '../ledger-local';
import { accountLayout, runnerResources, worldSettings, worldTemplate } from '../simulation-account';
import { createAccountIam, type AccountIam, type Principal } from '../iam';
import { startStandIn, type StandIn } from '../standin';
import { resolveIntrinsics, type CfnTemplate } from '../template';
import type { World } from '../world';
import { accountAccess, type SandboxAccess } from './access';
import type { SandboxStack } from './query';
import { startRouter, type Router } from './router';
import { isMachineOf, LocalStepFunctions, type ExecutionRecord, type SandboxMachine } from './states';

/** The runner's machine names (local/runner/runner.ts names executions after them). */
const MACHINE_NAMES = { manual: 'KmsIncidentRotationManual', automatic: 'KmsIncidentRotation' } as const;
/** The API Gateway stage the stack deploys (FrontDoorUrl ends with it). */
const STAGE_PREFIX = '/v1/';

export interface SandboxOptions {
  world: World;
  /** Divides every wait, retry interval, rotation time and timeout of the executions (see the runner). */
  speed: number;
  /** Where `<person>.env` files (and the inbox of notifications) go; none written when absent. */
  envDir?: string;
  /** Who may call the sandbox's own services and do what; default: the account's IAM (accountAccess). */
  access?: (iam: AccountIam) => SandboxAccess;
  /** Told about what happens (approval requests, notifications, executions ending), one line each. */
  log?: (line: string) => void;
}

export interface Sandbox {
  /** AWS_ENDPOINT_URL: every service on one port. */
  endpoint: string;
  /** Every port the sandbox listens on (127.0.0.1): the router first, then the stand-in, ledger and front door. */
  ports: number[];
  /** person -> the env file written for them (empty without envDir). */
  envFiles: Record<string, string>;
  stack: SandboxStack;
  /** The account's IAM (local/iam), shared by every service of the sandbox. */
  iam: AccountIam;
  standIn: StandIn;
  states: LocalStepFunctions;
  /** The environment of a person (what their env file exports), for tests and embedders. */
  envOf(person: string): Record<string, string>;
  close(): Promise<void>;
}

/**
 * Variables a shell may carry that would point the SDK or the CLI somewhere else: profiles
 * (which win over keys), session tokens of other credentials, container/web-identity providers,
 * per-service endpoints (which win over AWS_ENDPOINT_URL) and the CLI's own overrides.
 */
const NEUTRALISED = [
  'AWS_PROFILE',
  'AWS_DEFAULT_PROFILE',
  'AWS_SESSION_TOKEN',
  'AWS_SECURITY_TOKEN',
  'AWS_DEFAULT_REGION',
  'AWS_ROLE_ARN',
  'AWS_ROLE_SESSION_NAME',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN',
  'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS',
  'AWS_ENDPOINT_URL_SFN',
  'AWS_ENDPOINT_URL_STS',
  'AWS_ENDPOINT_URL_CLOUDFORMATION',
  'AWS_ENDPOINT_URL_KMS',
  'AWS_ENDPOINT_URL_S3',
  'AWS_ENDPOINT_URL_SNS',
  'AWS_ENDPOINT_URL_DYNAMODB',
  'AWS_ENDPOINT_URL_API_GATEWAY',
  'KMS_ROTATE_STATE_MACHINE',
  'KMS_ROTATE_FRONT_DOOR_URL',
] as const;

/**
 * @public loaded lazily by `kms-rotate sandbox` (cli/commands/sandbox.ts), which knip cannot follow.
 *
 * Starts a local account on 127.0.0.1: the stand-in (KMS, S3, SNS) seeded with the world, the
 * ledger (dynalite), the front door (the real handler) and both state machines on the runner,
 * all behind one endpoint (see router.ts), with the stack's outputs served by DescribeStacks.
 */
export async function startSandbox(opts: SandboxOptions): Promise<Sandbox> {
  const { world, speed } = opts;
  const log = opts.log ?? (() => undefined);
  const template = worldTemplate(world);
  const layout = accountLayout(template, world);
  const closers: (() => Promise<void>)[] = [];
  let closing: Promise<void> | undefined;
  // Newest first (the front door and router before the services they call); once, however often asked.
  const closeAll = () =>
    (closing ??= (async () => {
      for (const close of closers.reverse()) await close().catch(() => undefined);
    })());
  try {
    const stackId = `arn:aws:cloudformation:${world.region}:${world.account}:stack/${STACK_NAME}/${randomUUID()}`;
    const resources = {
      ...runnerResources(template, world, layout),
      ...machineResources(template, world),
      'AWS::StackId': stackId,
    };
    const iam = createAccountIam({
      template,
      world: layout.standInWorld,
      account: world.account,
      region: world.region,
      resources,
    });
    await iam.validate();
    const standIn = await startStandIn(layout.standInWorld, { speed, iam });
    closers.push(() => standIn.close());
    const ledger = await startLocalLedger(template, world.region, { iam });
    closers.push(() => ledger.close());
    const access = opts.access?.(iam) ?? accountAccess(iam);
    const machines: SandboxMachine[] = (['manual', 'automatic'] as const).map((mode) => ({
      mode,
      arn: iam.resources[machineLogicalId(template, mode)],
      roleArn: iam.principals.stateMachineRole(mode).principalArn,
    }));
    const states = new LocalStepFunctions({
      template,
      account: world.account,
      region: world.region,
      machines,
      speed,
      run: { endpoint: standIn.endpoint, serviceEndpoints: { DYNAMODB: ledger.endpoint }, resources, iam },
      onTaskToken: (executionArn, state) =>
        log(
          `${state} waits for an answer in ${executionArn.split(':').pop()} (see the notification for its approval id)`,
        ),
      onEnded: (r: ExecutionRecord) => log(`execution ${r.name} ended: ${r.status}${r.error ? ` (${r.error})` : ''}`),
    });
    // The router starts first: the front door talks to Step Functions and DynamoDB through it.
    const proxies: Record<string, string> = {
      kms: standIn.endpoint,
      s3: standIn.endpoint,
      sns: standIn.endpoint,
      dynamodb: ledger.endpoint,
    };
    const stack: SandboxStack = { name: STACK_NAME, stackId, createdAt: new Date(), outputs: [] };
    const router: Router = await startRouter({ proxies, access, stack, states, frontDoorPrefix: STAGE_PREFIX });
    closers.push(() => router.close());
    const frontDoor = await startFrontDoor(
      world,
      router.endpoint,
      ledger,
      machines[0].arn,
      iam,
      drillDailyCap(template),
    );
    closers.push(() => frontDoor.close());
    proxies['execute-api'] = frontDoor.url.replace(/\/v1\/$/, '');
    stack.outputs = stackOutputs(template, world, iam.resources, `${router.endpoint}${STAGE_PREFIX}`);
    const inbox = opts.envDir ? join(opts.envDir, 'inbox.txt') : null;
    const stopInbox = watchNotifications(standIn, (text) => {
      log(text);
      if (inbox) appendFileSync(inbox, `${text}\n\n`);
    });
    closers.push(() => Promise.resolve(stopInbox()));
    const envOf = (person: string) => personEnv(world, person, router.endpoint);
    const envFiles = opts.envDir ? writeEnvFiles(opts.envDir, world, envOf) : {};
    if (inbox) writeFileSync(inbox, '');
    const frontDoorPort = Number(new URL(frontDoor.url).port);
    const port = (u: string) => Number(new URL(u).port);
    return {
      endpoint: router.endpoint,
      ports: [router.port, port(standIn.endpoint), port(ledger.endpoint), frontDoorPort],
      envFiles,
      stack,
      iam,
      standIn,
      states,
      envOf,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/**
 * The environment that makes the SDK and `kms-rotate` talk to the sandbox as `person`: their
 * keys, the Region, the one endpoint; everything in NEUTRALISED emptied (the CLI and the SDK treat
 * an empty variable as unset), and no shared config or credentials file read.
 */
function personEnv(world: World, person: string, endpoint: string): Record<string, string> {
  const p = world.people[person];
  if (!p) throw new Error(`no person ${person} in the world (people: ${Object.keys(world.people).join(', ')})`);
  return {
    ...Object.fromEntries(NEUTRALISED.map((n) => [n, ''])),
    AWS_ACCESS_KEY_ID: p.accessKeyId,
    AWS_SECRET_ACCESS_KEY: p.secretAccessKey,
    AWS_REGION: world.region,
    AWS_ENDPOINT_URL: endpoint,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

const shellQuote = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;

function writeEnvFiles(
  dir: string,
  world: World,
  envOf: (person: string) => Record<string, string>,
): Record<string, string> {
  mkdirSync(dir, { recursive: true });
  const files: Record<string, string> = {};
  for (const [name, person] of Object.entries(world.people)) {
    const env = envOf(name);
    const lines = [
      `# kms-rotate sandbox: act as ${name} (${person.arn}${person.breakGlass ? ', break-glass' : ''}).`,
      `# Use it in a terminal of its own:  . ${join(dir, `${name}.env`)}`,
      `unset ${NEUTRALISED.join(' ')}`,
      ...Object.entries(env)
        .filter(([, v]) => v !== '')
        .map(([k, v]) => `export ${k}=${shellQuote(v)}`),
      '',
    ];
    files[name] = join(dir, `${name}.env`);
    writeFileSync(files[name], lines.join('\n'), { mode: 0o600 });
  }
  return files;
}

/** SNS messages as they are published (the stand-in keeps them in order), told once each. */
function watchNotifications(standIn: StandIn, tell: (text: string) => void): () => void {
  let seen = 0;
  const timer = setInterval(() => {
    for (; seen < standIn.published.length; seen++) {
      const p = standIn.published[seen];
      tell(`--- notification${p.subject ? `: ${p.subject}` : ''}\n${p.message}`);
    }
  }, 100);
  return () => clearInterval(timer);
}

/** The drill function's `drillDailyCapPerPerson`, as the template sets it in its environment. */
function drillDailyCap(template: CfnTemplate): number {
  const fn = Object.values(template.Resources).find(
    (r) => r.Type === 'AWS::Lambda::Function' && r.Metadata?.[COMPONENT_METADATA_KEY] === 'drill',
  );
  const cap = Number(
    (fn?.Properties?.Environment?.Variables as Record<string, unknown> | undefined)?.[DRILL_ENV.dailyCap],
  );
  if (!Number.isInteger(cap) || cap < 1) throw new Error(`the template's drill function has no ${DRILL_ENV.dailyCap}`);
  return cap;
}

async function startFrontDoor(
  world: World,
  endpoint: string,
  ledger: LocalLedger,
  manualArn: string,
  iam: AccountIam,
  dailyCap: number,
): Promise<LocalFrontDoor> {
  const region = world.region;
  const keys = (p: Principal) => ({ accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey });
  // The front door and the drill call AWS with their own function roles, through the one endpoint, as the deployed Lambdas do.
  const frontDoorRole = keys(iam.principals.functionRole('front-door'));
  const drillPrincipal = iam.principals.functionRole('drill');
  const drillRole = keys(drillPrincipal);
  const ledgerFor = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
    new Ledger(ledger.tableName, new DynamoDBClient({ endpoint, region, credentials }));
  return startLocalFrontDoor({
    region,
    account: world.account,
    people: world.people,
    iam,
    deps: {
      accountId: world.account,
      workflow: new StepFunctionsControl(new SFNClient({ endpoint, region, credentials: frontDoorRole }), manualArn),
      approvals: ledgerFor(frontDoorRole),
      roles: accessRoles(worldSettings(world)),
    },
    drills: new DrillKeys(new KMSClient({ endpoint, region, credentials: drillRole }), ledgerFor(drillRole), {
      partition: 'aws',
      region,
      account: world.account,
      roleArn: drillPrincipal.principalArn,
      dailyCap,
    }),
  });
}

function machineLogicalId(template: CfnTemplate, mode: 'manual' | 'automatic'): string {
  const id = Object.entries(template.Resources).find(([, r]) => isMachineOf(r, mode))?.[0];
  if (!id) throw new Error(`the template has no ${mode} state machine`);
  return id;
}

/**
 * The state machines under the runner's names (it names executions after them); CloudFormation
 * would name them `<logical id>-<suffix>`. Given to the account's IAM so that the on-call
 * policy's execution ARNs (`execution:<name>:*`) are the ones the runner's executions have.
 */
function machineResources(template: CfnTemplate, world: World): Record<string, string> {
  const out: Record<string, string> = {};
  for (const mode of ['manual', 'automatic'] as const) {
    const id = machineLogicalId(template, mode);
    out[id] = `arn:aws:states:${world.region}:${world.account}:stateMachine:${MACHINE_NAMES[mode]}`;
    out[`${id}.Name`] = MACHINE_NAMES[mode];
  }
  return out;
}

/** The stack's outputs, resolved as CloudFormation would; FrontDoorUrl (and the API's endpoint) is the sandbox's. */
function stackOutputs(
  template: CfnTemplate,
  world: World,
  physical: Record<string, string>,
  frontDoorUrl: string,
): SandboxStack['outputs'] {
  const outputs =
    (
      template as CfnTemplate & {
        Outputs?: Record<string, { Value: unknown; Description?: string; Export?: { Name: unknown } }>;
      }
    ).Outputs ?? {};
  const ctx = { account: world.account, region: world.region, resources: physical };
  return Object.entries(outputs).map(([key, o]) => {
    const api = key === 'FrontDoorUrl' || /^FrontDoorApiEndpoint/.test(key);
    return {
      key,
      value: api ? frontDoorUrl : String(resolveIntrinsics(o.Value, ctx)),
      ...(o.Description ? { description: o.Description } : {}),
      ...(o.Export ? { exportName: String(resolveIntrinsics(o.Export.Name, ctx)) } : {}),
    };
  });
}
