import type { ApprovalTimeoutAction } from '../domain/approvals/approval-request';
import { ENV, REENCRYPT_OBJECTS_ENV, RESULTS_BUCKET_ENV } from '../domain/function-environment';

/**
 * Runtime settings of the Lambdas, read from the environment the stack sets (lib/functions.ts
 * writes the names of domain/function-environment.ts from the validated settings and their
 * derived values). Read on every invocation: cheap, and
 * lets local runs change settings between executions in one process.
 */
export interface RuntimeConfig {
  /** The account this stack runs in; keys of any other account are FOREIGN_ACCOUNT. */
  accountId: string;
  region: string;
  rotationBudget: number;
  automaticReserve: number;
  cooldownSeconds: number;
  pollInitialSeconds: number;
  pollMaxSeconds: number;
  rotationTimeoutSeconds: number;
  optOutTag: string;
  dryRun: boolean;
  topicArn: string;
  /** The ledger table (empty where a function does not use it). */
  ledgerTable: string;
  approvalTimeoutSeconds: number;
  /** What the approval gate does when nobody decides in time. */
  approvalTimeoutAction: ApprovalTimeoutAction;
  /** The state machine's execution timeout (derived from the settings): how long a claim protects a finding. */
  executionTimeoutSeconds: number;
  /** Break-glass bounds: no forced rotation within this long of the key's last on-demand rotation... */
  forceMinIntervalSeconds: number;
  /** ...nor past this many on-demand rotations of the key in the last 24 h. */
  forceDailyCap: number;
  /** Every source: no rotation once the key has this many on-demand rotations in the last 24 h. */
  dailyRotationCap: number;
  /** Security Hub findings acted on: these severity labels, from products whose ARN starts with one of the prefixes. */
  securityHubSeverityLabels: string[];
  securityHubProductArnPrefixes: string[];
  /** Security Hub findings that start a run get their workflow status and a note (BatchUpdateFindings). */
  securityHubWorkflowUpdates: boolean;
  /** Notifications carry per-protocol messages, with the chat custom notification for HTTPS subscribers. */
  chatNotifications: boolean;
  /** Setting `autoReEncrypt`: finding-triggered runs re-encrypt (PlanReencryption's mode). */
  autoReEncrypt: boolean;
}

/** What ReencryptObjects reads from its own environment (REENCRYPT_OBJECTS_ENV). */
export interface ReencryptObjectsConfig {
  /** The KMS requests per second this child is paced to (deriveRuntime's childKmsRequestsPerSecond). */
  childKmsRequestsPerSecond: number;
  /** Setting `reEncryptUpgradeEnvelopeSuite`: rewrite non-committing envelope messages in a committing suite. */
  upgradeEnvelopeSuite: boolean;
}

const APPROVAL_TIMEOUT_ACTIONS: readonly ApprovalTimeoutAction[] = ['SKIP', 'ROTATE'];

// The names live in the domain (lib/ writes them; this module reads them) and are re-exported
// for the handlers that read one directly.
export { ENV, REENCRYPT_OBJECTS_ENV, RESULTS_BUCKET_ENV };

/** Raised when the function's environment is incomplete: a deployment bug, never retried. */
export class ConfigurationError extends Error {
  override name = 'ConfigurationError';
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (value === undefined || value === '') throw new ConfigurationError(`environment variable ${name} is not set`);
  return value;
}

function number(env: NodeJS.ProcessEnv, name: string): number {
  const raw = required(env, name);
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    throw new ConfigurationError(`environment variable ${name} must be a non-negative number, got '${raw}'`);
  }
  return value;
}

function oneOf<T extends string>(env: NodeJS.ProcessEnv, name: string, allowed: readonly T[]): T {
  const raw = required(env, name);
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigurationError(`environment variable ${name} must be one of ${allowed.join(', ')}, got '${raw}'`);
  }
  return raw as T;
}

/** Read the config; every function gets the same environment, so every name is required. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): RuntimeConfig {
  return {
    accountId: required(env, ENV.accountId),
    region: required(env, 'AWS_REGION'),
    rotationBudget: number(env, ENV.rotationBudget),
    automaticReserve: number(env, ENV.automaticReserve),
    cooldownSeconds: number(env, ENV.cooldownSeconds),
    pollInitialSeconds: number(env, ENV.pollInitialSeconds),
    pollMaxSeconds: number(env, ENV.pollMaxSeconds),
    rotationTimeoutSeconds: number(env, ENV.rotationTimeoutSeconds),
    optOutTag: required(env, ENV.optOutTag),
    dryRun: env[ENV.dryRun] === 'true',
    topicArn: env[ENV.topicArn] ?? '',
    ledgerTable: env[ENV.ledgerTable] ?? '',
    approvalTimeoutSeconds: number(env, ENV.approvalTimeoutSeconds),
    approvalTimeoutAction: oneOf(env, ENV.approvalTimeoutAction, APPROVAL_TIMEOUT_ACTIONS),
    executionTimeoutSeconds: number(env, ENV.executionTimeoutSeconds),
    forceMinIntervalSeconds: number(env, ENV.forceMinIntervalSeconds),
    forceDailyCap: number(env, ENV.forceDailyCap),
    dailyRotationCap: number(env, ENV.dailyRotationCap),
    securityHubSeverityLabels: list(env, ENV.securityHubSeverityLabels),
    securityHubProductArnPrefixes: list(env, ENV.securityHubProductArnPrefixes),
    securityHubWorkflowUpdates: oneOf(env, ENV.securityHubWorkflowUpdates, ['true', 'false']) === 'true',
    chatNotifications: oneOf(env, ENV.chatNotifications, ['true', 'false']) === 'true',
    autoReEncrypt: oneOf(env, ENV.autoReEncrypt, ['true', 'false']) === 'true',
  };
}

/**
 * ReencryptObjects' config, from the names only its function gets (it reads nothing of
 * RuntimeConfig). Both required: a child that paced itself to nothing would spend the whole
 * account's KMS quota.
 */
export function loadReencryptObjectsConfig(env: NodeJS.ProcessEnv = process.env): ReencryptObjectsConfig {
  const rate = number(env, REENCRYPT_OBJECTS_ENV.childKmsRequestsPerSecond);
  if (rate === 0) {
    throw new ConfigurationError(
      `environment variable ${REENCRYPT_OBJECTS_ENV.childKmsRequestsPerSecond} must be above 0`,
    );
  }
  return {
    childKmsRequestsPerSecond: rate,
    upgradeEnvelopeSuite: oneOf(env, REENCRYPT_OBJECTS_ENV.upgradeEnvelopeSuite, ['true', 'false']) === 'true',
  };
}

/** A comma-separated list (the stack writes one; none of its values contains a comma). */
function list(env: NodeJS.ProcessEnv, name: string): string[] {
  return required(env, name)
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
}
