/**
 * How a setting reaches a function: the one transport for what a function reads at run time.
 * The stack (lib/functions.ts functionEnvironment) writes each runtime setting, in the unit the
 * function uses, as the environment variable named here; adapters/config.ts loadConfig reads the
 * same names back (required, typed, refused when malformed). One module owns the names and both
 * sides import it; lib/ may import lambdas/, never the other way.
 *
 * Not through this route, and why: the buckets and targets of re-encryption (`reEncryptBuckets`,
 * `reEncryptTargets`) are PlanReencryption's payload, a constant of the state machine definition
 * (lib/workflow.ts), because Lambda holds at most 4 KB of environment variables per function and
 * 100 bucket names alone may exceed it; what the definition itself needs (the Distributed Map's
 * MaxConcurrency and MaxItemsPerBatch, timeouts, retriers) is written there by lib from the one
 * deriveRuntime object; the unit and the grant token of a batch vary per execution (BatchInput).
 * The front door and the drill function have their own names (domain/approvals/front-door.ts,
 * domain/drill.ts).
 */

/** The environment variable of each runtime setting (adapters/config.ts RuntimeConfig, less the Region Lambda sets). */
export const ENV = {
  accountId: 'ACCOUNT_ID',
  rotationBudget: 'ROTATION_BUDGET',
  automaticReserve: 'AUTOMATIC_RESERVE',
  cooldownSeconds: 'COOLDOWN_SECONDS',
  pollInitialSeconds: 'POLL_INITIAL_SECONDS',
  pollMaxSeconds: 'POLL_MAX_SECONDS',
  rotationTimeoutSeconds: 'ROTATION_TIMEOUT_SECONDS',
  optOutTag: 'OPT_OUT_TAG',
  dryRun: 'DRY_RUN',
  topicArn: 'TOPIC_ARN',
  ledgerTable: 'LEDGER_TABLE',
  approvalTimeoutSeconds: 'APPROVAL_TIMEOUT_SECONDS',
  approvalTimeoutAction: 'APPROVAL_TIMEOUT_ACTION',
  executionTimeoutSeconds: 'EXECUTION_TIMEOUT_SECONDS',
  forceMinIntervalSeconds: 'FORCE_MIN_INTERVAL_SECONDS',
  forceDailyCap: 'FORCE_DAILY_CAP',
  dailyRotationCap: 'DAILY_ROTATION_CAP',
  securityHubSeverityLabels: 'SECURITY_HUB_SEVERITY_LABELS',
  securityHubProductArnPrefixes: 'SECURITY_HUB_PRODUCT_ARN_PREFIXES',
  securityHubWorkflowUpdates: 'SECURITY_HUB_WORKFLOW_UPDATES',
  chatNotifications: 'CHAT_NOTIFICATIONS',
  autoReEncrypt: 'AUTO_REENCRYPT',
} as const;

/**
 * ReencryptObjects only (deployed with the re-encryption branch; adapters/config.ts
 * loadReencryptObjectsConfig): the KMS rate one Distributed Map child is paced to (deriveRuntime's
 * childKmsRequestsPerSecond) and setting `reEncryptUpgradeEnvelopeSuite`.
 */
export const REENCRYPT_OBJECTS_ENV = {
  childKmsRequestsPerSecond: 'CHILD_KMS_REQUESTS_PER_SECOND',
  upgradeEnvelopeSuite: 'UPGRADE_ENVELOPE_SUITE',
} as const;

/** SummarizeReencryption only (not a setting): the results bucket, where a failed map run's files are looked for. */
export const RESULTS_BUCKET_ENV = 'RESULTS_BUCKET';
