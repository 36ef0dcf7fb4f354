/**
 * How a setting reaches a function: the one transport for what a function reads at run time.
 * The stack (lib/functions.ts functionEnvironment) writes each runtime setting, in the unit the
 * function uses, as the environment variable named here; adapters/config.ts loadConfig reads the
 * same names back (required, typed, refused when malformed). One module owns the names and both
 * sides import it; lib/ may import lambdas/, never the other way.
 *
 * Not through this route, and why: the re-encryption settings (buckets, targets, auto, rate,
 * suite) are PlanReencryption's input, a constant of the state machine definition
 * (lib/workflow.ts), because the definition also paces the Distributed Map from them; the front
 * door and the drill function have their own names (domain/approvals/front-door.ts, domain/drill.ts).
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
} as const;

/** SummarizeReencryption only (not a setting): the results bucket, where a failed map run's files are looked for. */
export const RESULTS_BUCKET_ENV = 'RESULTS_BUCKET';
