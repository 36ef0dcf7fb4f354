import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { ENV } from '../lambdas/adapters/config';
import type { Settings } from './settings';
import { executionTimeoutSeconds, hasReencryptionBranch, SUMMARIZE_FUNCTION_TIMEOUT_SECONDS } from './limits';
import { securityHubProductArnPrefixes } from './security-hub-products';

/** The task handlers, by the name of their folder under lambdas/. */
export const HANDLERS = [
  'intake',
  'claim-request',
  'assess',
  'request-approval',
  'lock-key',
  'rotate',
  'check-rotation',
  'record',
  'notify',
  'close-request',
  'plan-reencryption',
  'reencrypt-objects',
  'summarize-reencryption',
] as const;
export type HandlerName = (typeof HANDLERS)[number];
/** Deployed only with the re-encryption branch (setting `reEncryptBuckets` non-empty). */
export const BRANCH_HANDLERS = ['reencrypt-objects', 'summarize-reencryption'] as const satisfies readonly HandlerName[];
export type BranchHandlerName = (typeof BRANCH_HANDLERS)[number];
/** The task functions of a stack: every handler, the branch's only when it is deployed. */
export type TaskFunctionMap<F> = Record<Exclude<HandlerName, BranchHandlerName>, F> & Partial<Record<BranchHandlerName, F>>;

/**
 * ReencryptObjects runs inside an Express child (5 minutes at most): its timeout stays below
 * that, and its memory holds a few 1 MiB envelope messages in flight (plaintext, ciphertext and
 * the Encryption SDK's buffers) with room; more memory also means more CPU for AES-GCM.
 */
const FUNCTION_SIZES: Partial<Record<HandlerName, { memorySize: number; timeout: Duration }>> = {
  'reencrypt-objects': { memorySize: 1024, timeout: Duration.seconds(280) },
  'summarize-reencryption': { memorySize: 512, timeout: Duration.seconds(SUMMARIZE_FUNCTION_TIMEOUT_SECONDS) },
};

/** Template metadata naming the handler of each function (the local runner routes by it). */
export const HANDLER_METADATA_KEY = 'kms-incident-rotation:handler';

/** The environment every task function gets: the settings it needs, in the units it uses. */
export function functionEnvironment(settings: Settings, accountId: string, topicArn: string, ledgerTable: string): Record<string, string> {
  return {
    [ENV.accountId]: accountId,
    [ENV.rotationBudget]: String(settings.rotationBudget),
    [ENV.automaticReserve]: String(settings.automaticReserve),
    [ENV.cooldownSeconds]: String(settings.cooldownMinutes * 60),
    [ENV.pollInitialSeconds]: String(settings.pollInitialSeconds),
    [ENV.pollMaxSeconds]: String(settings.pollMaxSeconds),
    [ENV.rotationTimeoutSeconds]: String(settings.rotationTimeoutMinutes * 60),
    [ENV.optOutTag]: settings.optOutTag,
    [ENV.dryRun]: String(settings.dryRun),
    [ENV.topicArn]: topicArn,
    [ENV.ledgerTable]: ledgerTable,
    [ENV.approvalTimeoutSeconds]: String(settings.approvalTimeoutMinutes * 60),
    [ENV.approvalTimeoutAction]: settings.approvalTimeoutAction,
    [ENV.executionTimeoutSeconds]: String(executionTimeoutSeconds(settings)),
    [ENV.forceMinIntervalSeconds]: String(settings.forceMinIntervalMinutes * 60),
    [ENV.forceDailyCap]: String(settings.forceDailyCap),
    [ENV.dailyRotationCap]: String(settings.dailyRotationCap),
    [ENV.securityHubSeverityLabels]: settings.securityHubSeverityLabels.join(','),
    [ENV.securityHubProductArnPrefixes]: securityHubProductArnPrefixes(settings).join(','),
    [ENV.securityHubWorkflowUpdates]: String(settings.enableSecurityHub && settings.securityHubWorkflowUpdates),
    [ENV.chatNotifications]: String(settings.chatNotifications),
  };
}

export interface TaskFunctionsProps {
  settings: Settings;
  topicArn: string;
  ledgerTable: string;
  logRetention: logs.RetentionDays;
  /** Encrypts the functions' log groups (the key policy must allow CloudWatch Logs: lib/compliance.ts). */
  logEncryptionKey?: kms.IKey;
}

/**
 * How every task function is bundled (NodejsFunction options). The AWS SDK v3 stays external:
 * the Node 24 runtime provides it. The bundle test and the bench build with exactly these.
 */
export const BUNDLING = {
  minify: true,
  sourceMap: true,
  target: 'node24',
  format: OutputFormat.CJS,
  externalModules: ['@aws-sdk/*'],
} as const;

function handlerEntry(name: HandlerName): string {
  return path.join(__dirname, '..', 'lambdas', name, 'handler.ts');
}

/** BUNDLING as esbuild's own build options (what NodejsFunction passes to esbuild for them). */
export function esbuildOptionsFor(name: HandlerName, outfile: string) {
  return {
    entryPoints: [handlerEntry(name)],
    bundle: true,
    platform: 'node' as const,
    target: BUNDLING.target,
    format: 'cjs' as const,
    minify: BUNDLING.minify,
    sourcemap: BUNDLING.sourceMap,
    external: [...BUNDLING.externalModules],
    outfile,
  };
}

/** What differs between the product's functions (see productFunction). */
export interface ProductFunctionProps {
  /** Its folder under lambdas/ (the handler is `<folder>/handler.ts`). */
  folder: string;
  description: string;
  roleDescription: string;
  environment: Record<string, string>;
  logRetention: logs.RetentionDays;
  logEncryptionKey?: kms.IKey;
  memorySize?: number;
  timeout?: Duration;
  reservedConcurrentExecutions?: number;
}

/**
 * One Lambda of the product: its own log group (encrypted with the product key when given) and its
 * own role that may log only there (instead of AWSLambdaBasicExecutionRole), Node 24 on arm64,
 * bundled locally by esbuild with BUNDLING. `ids` keep each caller's construct ids (logical ids).
 */
export function productFunction(scope: Construct, ids: { logs: string; role: string; fn: string }, props: ProductFunctionProps): NodejsFunction {
  const logGroup = new logs.LogGroup(scope, ids.logs, { retention: props.logRetention, encryptionKey: props.logEncryptionKey, removalPolicy: RemovalPolicy.DESTROY });
  const role = new iam.Role(scope, ids.role, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description: props.roleDescription });
  role.addToPolicy(new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));
  return new NodejsFunction(scope, ids.fn, {
    role,
    entry: path.join(__dirname, '..', 'lambdas', props.folder, 'handler.ts'),
    handler: 'handler',
    description: props.description,
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: props.memorySize ?? 256,
    timeout: props.timeout ?? Duration.seconds(30),
    ...(props.reservedConcurrentExecutions === undefined ? {} : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
    tracing: lambda.Tracing.ACTIVE,
    logGroup,
    environment: {
      ...props.environment,
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: 'kms-incident-rotation',
      POWERTOOLS_LOG_LEVEL: 'INFO',
    },
    bundling: {
      // Hash our own sources instead of letting CDK fingerprint the whole project root
      // (node_modules included): synth drops from ~9 s to ~1 s, and the hash still changes
      // whenever the handlers, their dependencies or the bundling options change.
      assetHash: lambdaSourceHash(props.folder),
      ...BUNDLING,
      externalModules: [...BUNDLING.externalModules],
      forceDockerBundling: false,
    },
  });
}

/** One NodejsFunction per task handler (productFunction); the branch's only with the branch. */
export class TaskFunctions extends Construct {
  readonly byName: TaskFunctionMap<NodejsFunction>;

  constructor(scope: Construct, id: string, props: TaskFunctionsProps) {
    super(scope, id);
    const environment = functionEnvironment(props.settings, Stack.of(this).account, props.topicArn, props.ledgerTable);
    const branch = hasReencryptionBranch(props.settings);
    const entries = {} as Record<HandlerName, NodejsFunction>;
    for (const name of HANDLERS) {
      if (!branch && (BRANCH_HANDLERS as readonly HandlerName[]).includes(name)) continue;
      const fn = productFunction(this, { logs: `${pascal(name)}Logs`, role: `${pascal(name)}Role`, fn: pascal(name) }, {
        folder: name,
        description: `kms-incident-rotation ${name} task`,
        roleDescription: `kms-incident-rotation ${name} task`,
        // ReencryptObjects reads nothing from the environment (its batch input says everything).
        environment: name === 'reencrypt-objects' ? {} : environment,
        logRetention: props.logRetention,
        logEncryptionKey: props.logEncryptionKey,
        ...FUNCTION_SIZES[name],
      });
      (fn.node.defaultChild as lambda.CfnFunction).addMetadata(HANDLER_METADATA_KEY, name);
      entries[name] = fn;
    }
    this.byName = entries;
  }
}

const ROOT = path.join(__dirname, '..');
let sharedHash: string | undefined;

/** sha256 of every file under lambdas/ plus package-lock.json, salted with the handler name. */
export function lambdaSourceHash(name: string): string {
  if (!sharedHash) {
    const hash = createHash('sha256');
    const files = (readdirSync(path.join(ROOT, 'lambdas'), { recursive: true }) as string[])
      .filter((f) => f.endsWith('.ts'))
      .sort();
    for (const file of files) {
      hash.update(file).update('\0').update(readFileSync(path.join(ROOT, 'lambdas', file))).update('\0');
    }
    hash.update(readFileSync(path.join(ROOT, 'package-lock.json')));
    sharedHash = hash.digest('hex');
  }
  return createHash('sha256').update(`${sharedHash}:${name}:node24:arm64:minify:sourcemap:cjs`).digest('hex');
}

function pascal(name: string): string {
  return name.replace(/(^|-)(\w)/g, (_m, _d, c: string) => c.toUpperCase());
}
