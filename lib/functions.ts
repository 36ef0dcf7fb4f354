import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { ENV, REENCRYPT_OBJECTS_ENV } from '../lambdas/domain/function-environment';
import type { Settings } from './settings/settings';
import { deriveRuntime, type DerivedReencryption, type DerivedRuntime } from './settings/derived';
import { SUMMARIZE_FUNCTION_TIMEOUT_SECONDS } from './limits';
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
export const BRANCH_HANDLERS = [
  'reencrypt-objects',
  'summarize-reencryption',
] as const satisfies readonly HandlerName[];
export type BranchHandlerName = (typeof BRANCH_HANDLERS)[number];
/** The task functions of a stack: every handler, the branch's only when it is deployed. */
export type TaskFunctionMap<F> = Record<Exclude<HandlerName, BranchHandlerName>, F> &
  Partial<Record<BranchHandlerName, F>>;

/**
 * ReencryptObjects runs inside an Express child (5 minutes at most): its timeout stays below
 * that, and its memory holds a few 1 MiB envelope messages in flight (plaintext, ciphertext and
 * the Encryption SDK's buffers) with room; more memory also means more CPU for AES-GCM.
 */
export const FUNCTION_SIZES: Partial<Record<HandlerName, { memorySize: number; timeout: Duration }>> = {
  'reencrypt-objects': { memorySize: 1024, timeout: Duration.seconds(280) },
  'summarize-reencryption': { memorySize: 512, timeout: Duration.seconds(SUMMARIZE_FUNCTION_TIMEOUT_SECONDS) },
};

/** Template metadata naming the handler of each function (the local runner routes by it). */
export const HANDLER_METADATA_KEY = 'kms-incident-rotation:handler';

/**
 * The environment every task function gets: the settings it needs, in the units it uses. The
 * derived values come from `runtime` (the construct's one deriveRuntime; computed here only for
 * callers outside a construct).
 */
export function functionEnvironment(
  settings: Settings,
  accountId: string,
  topicArn: string,
  ledgerTable: string,
  runtime: DerivedRuntime = deriveRuntime(settings),
): Record<string, string> {
  return {
    [ENV.accountId]: accountId,
    [ENV.rotationBudget]: String(settings.rotationBudget),
    [ENV.automaticReserve]: String(settings.automaticReserve),
    [ENV.cooldownSeconds]: String(runtime.cooldownSeconds),
    [ENV.pollInitialSeconds]: String(settings.pollInitialSeconds),
    [ENV.pollMaxSeconds]: String(settings.pollMaxSeconds),
    [ENV.rotationTimeoutSeconds]: String(runtime.rotationTimeoutSeconds),
    [ENV.optOutTag]: settings.optOutTag,
    [ENV.dryRun]: String(settings.dryRun),
    [ENV.topicArn]: topicArn,
    [ENV.ledgerTable]: ledgerTable,
    [ENV.approvalTimeoutSeconds]: String(runtime.approvalTimeoutSeconds),
    [ENV.approvalTimeoutAction]: settings.approvalTimeoutAction,
    [ENV.executionTimeoutSeconds]: String(runtime.executionTimeoutSeconds),
    [ENV.forceMinIntervalSeconds]: String(runtime.forceMinIntervalSeconds),
    [ENV.forceDailyCap]: String(settings.forceDailyCap),
    [ENV.dailyRotationCap]: String(settings.dailyRotationCap),
    [ENV.securityHubSeverityLabels]: settings.securityHubSeverityLabels.join(','),
    [ENV.securityHubProductArnPrefixes]: securityHubProductArnPrefixes(settings).join(','),
    [ENV.securityHubWorkflowUpdates]: String(settings.enableSecurityHub && settings.securityHubWorkflowUpdates),
    [ENV.chatNotifications]: String(settings.chatNotifications),
    [ENV.autoReEncrypt]: String(settings.autoReEncrypt),
  };
}

/**
 * ReencryptObjects' environment, all it reads (it needs nothing of functionEnvironment): the
 * per-child KMS rate from the construct's one deriveRuntime, the same object the Distributed
 * Map's MaxConcurrency is written from, and the suite upgrade setting.
 */
export function reencryptObjectsEnvironment(
  settings: Pick<Settings, 'reEncryptUpgradeEnvelopeSuite'>,
  pacing: DerivedReencryption,
): Record<string, string> {
  return {
    [REENCRYPT_OBJECTS_ENV.childKmsRequestsPerSecond]: String(pacing.childKmsRequestsPerSecond),
    [REENCRYPT_OBJECTS_ENV.upgradeEnvelopeSuite]: String(settings.reEncryptUpgradeEnvelopeSuite),
  };
}

export interface TaskFunctionsProps {
  settings: Settings;
  /** The settings' derived values (deriveRuntime), computed once by the construct. */
  runtime: DerivedRuntime;
  topicArn: string;
  ledgerTable: string;
  logRetention: logs.RetentionDays;
  /** Encrypts the functions' log groups (the key policy must allow CloudWatch Logs: lib/compliance/compliance.ts). */
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

/** The TypeScript entry of the function in lambdas/<folder>/ (every product function's folder has one). */
function handlerEntry(folder: string): string {
  return path.join(__dirname, '..', 'lambdas', folder, 'handler.ts');
}

/** BUNDLING as esbuild's own build options (what NodejsFunction passes to esbuild for them). */
export function esbuildOptionsFor(name: string, outfile: string) {
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
 * True when this module runs as the package's compiled JavaScript (dist/lib/functions.js, what an
 * app that installed the package loads); false from the TypeScript sources (the repository's
 * stack, the tests, `simulate`).
 */
const COMPILED = __filename.endsWith('.js');

/**
 * The package's prebuilt bundles: `npm run build` (bin/build.ts, run by `prepack`) bundles every
 * lambdas/<folder>/handler.ts with BUNDLING into dist/bundles/<folder>/, next to dist/lib. An app
 * that installed the package therefore needs no esbuild, no TypeScript loader and none of our
 * sources. test/package/bundles.test.ts proves these bundles equal NodejsFunction's output.
 */
export const PREBUILT_BUNDLES_DIR = path.join(__dirname, '..', 'bundles');

/**
 * The compiled package's bundle folder for `folder`. Missing bundles are an error, never a silent
 * fallback to bundling from sources the package does not ship.
 */
function prebuiltBundle(folder: string): string {
  const dir = path.join(PREBUILT_BUNDLES_DIR, folder);
  if (!existsSync(path.join(dir, 'index.js'))) {
    throw new Error(
      `kms-incident-rotation: the prebuilt Lambda bundle ${path.join(dir, 'index.js')} is missing; the package was packed without its build (npm run build).`,
    );
  }
  return dir;
}

/**
 * One Lambda of the product: its own log group (encrypted with the product key when given) and its
 * own role that may log only there (instead of AWSLambdaBasicExecutionRole), Node 24 on arm64,
 * bundled with BUNDLING: from the TypeScript sources by NodejsFunction (local esbuild) in the
 * repository, from the prebuilt bundle in the compiled package. `ids` keep each caller's
 * construct ids (logical ids).
 */
export function productFunction(
  scope: Construct,
  ids: { logs: string; role: string; fn: string },
  props: ProductFunctionProps,
): lambda.Function {
  const logGroup = new logs.LogGroup(scope, ids.logs, {
    retention: props.logRetention,
    encryptionKey: props.logEncryptionKey,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const role = new iam.Role(scope, ids.role, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: props.roleDescription,
  });
  role.addToPolicy(
    new iam.PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn],
    }),
  );
  const common = {
    role,
    description: props.description,
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: props.memorySize ?? 256,
    timeout: props.timeout ?? Duration.seconds(30),
    ...(props.reservedConcurrentExecutions === undefined
      ? {}
      : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
    tracing: lambda.Tracing.ACTIVE,
    logGroup,
    environment: {
      ...props.environment,
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: 'kms-incident-rotation',
      POWERTOOLS_LOG_LEVEL: 'INFO',
    },
  };
  if (COMPILED) {
    // NodejsFunction's `handler: 'handler'` becomes `index.handler` (its bundle is index.js).
    return new lambda.Function(scope, ids.fn, {
      ...common,
      code: lambda.Code.fromAsset(prebuiltBundle(props.folder)),
      handler: 'index.handler',
    });
  }
  return new NodejsFunction(scope, ids.fn, {
    ...common,
    entry: handlerEntry(props.folder),
    handler: 'handler',
    bundling: {
      // Hash our own sources instead of letting CDK fingerprint the whole project root
      // (node_modules included): synth drops from ~9 s to ~1 s, and the hash still changes
      // whenever the handlers, their dependencies or the bundling options change.
      assetHash: lambdaSourceHash(props.folder),
      ...BUNDLING,
      externalModules: [...BUNDLING.externalModules],
      forceDockerBundling: false,
      // `cdk synth` shows esbuild's warnings and errors, not a size table per function.
      logLevel: LogLevel.WARNING,
    },
  });
}

/** One function per task handler (productFunction); the branch's only with the branch. */
export class TaskFunctions extends Construct {
  readonly byName: TaskFunctionMap<lambda.Function>;

  constructor(scope: Construct, id: string, props: TaskFunctionsProps) {
    super(scope, id);
    const environment = functionEnvironment(
      props.settings,
      Stack.of(this).account,
      props.topicArn,
      props.ledgerTable,
      props.runtime,
    );
    const pacing = props.runtime.reencryption;
    const branch = pacing !== undefined;
    const entries = {} as Record<HandlerName, lambda.Function>;
    for (const name of HANDLERS) {
      if (!branch && (BRANCH_HANDLERS as readonly HandlerName[]).includes(name)) continue;
      const fn = productFunction(
        this,
        { logs: `${pascal(name)}Logs`, role: `${pascal(name)}Role`, fn: pascal(name) },
        {
          folder: name,
          description: `kms-incident-rotation ${name} task`,
          roleDescription: `kms-incident-rotation ${name} task`,
          environment:
            name === 'reencrypt-objects' && pacing ? reencryptObjectsEnvironment(props.settings, pacing) : environment,
          logRetention: props.logRetention,
          logEncryptionKey: props.logEncryptionKey,
          ...FUNCTION_SIZES[name],
        },
      );
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
      hash
        .update(file)
        .update('\0')
        .update(readFileSync(path.join(ROOT, 'lambdas', file)))
        .update('\0');
    }
    hash.update(readFileSync(path.join(ROOT, 'package-lock.json')));
    sharedHash = hash.digest('hex');
  }
  return createHash('sha256').update(`${sharedHash}:${name}:node24:arm64:minify:sourcemap:cjs`).digest('hex');
}

function pascal(name: string): string {
  return name.replace(/(^|-)(\w)/g, (_m, _d, c: string) => c.toUpperCase());
}
