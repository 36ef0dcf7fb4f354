/**
 * Every Task state's retriers, declared once: lib/workflow.ts builds each Task's Retry array
 * from this table (and names the retriers in the Task's Comment), lib/limits.ts counts their
 * attempts for the worst-case history and the execution timeout, and test/infra reads the
 * synthesized template's Retry arrays back and compares them with it. No CDK import, so the
 * settings schema can use it.
 */

/** Errors a Lambda invoke can raise that are worth retrying (Step Functions' own list). */
export const LAMBDA_TRANSIENT_ERRORS = [
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];
/** KMS errors on KMS's side that say "try again later" (aws-facts.md). */
const KMS_SERVER_ERRORS = ['KMSInternalException', 'DependencyTimeoutException'];
/** KMS errors that say "try again later", throttling included (aws-facts.md). */
export const KMS_TRANSIENT_ERRORS = ['ThrottlingException', ...KMS_SERVER_ERRORS];
/** DynamoDB errors worth retrying (ledger steps). */
export const DYNAMODB_TRANSIENT_ERRORS = [
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ThrottlingException',
];

/** One retrier, in Step Functions' terms (seconds). */
export interface RetrierSpec {
  errors: readonly string[];
  intervalSeconds: number;
  maxAttempts: number;
  backoffRate: number;
  maxDelaySeconds?: number;
  jitter: 'FULL' | 'NONE';
}

/** The retriers by name (the names Task comments list). */
export const RETRIERS = {
  /** Lambda service hiccups (Step Functions' recommended list), for every Lambda task. */
  lambdaTransient: {
    errors: LAMBDA_TRANSIENT_ERRORS,
    intervalSeconds: 2,
    maxAttempts: 6,
    backoffRate: 2,
    jitter: 'FULL',
  },
  /**
   * RotateKeyOnDemand allows 5 requests per second per account and Region, and every key's
   * Rotate may run at once (the Map is not bounded: approvals must not hold rotation slots).
   * Full jitter over up to 8 s spreads 50 keys' calls; 10 attempts make 50 simultaneous keys
   * all get through. Retrying Rotate is safe: it reads the rotation state first and never
   * starts a second rotation (SDK retries are off for the call itself).
   */
  rotateThrottling: {
    errors: ['ThrottlingException'],
    intervalSeconds: 1,
    maxAttempts: 10,
    backoffRate: 2,
    maxDelaySeconds: 8,
    jitter: 'FULL',
  },
  kmsTransient: {
    errors: KMS_TRANSIENT_ERRORS,
    intervalSeconds: 1,
    maxAttempts: 5,
    backoffRate: 2,
    maxDelaySeconds: 30,
    jitter: 'FULL',
  },
  /**
   * kmsTransient without throttling, for Rotate: Step Functions applies the FIRST retrier whose
   * ErrorEquals names the error, so a ThrottlingException listed again after rotateThrottling
   * would never be retried by it. One retrier per error name (test/infra/definition-check.test.ts).
   */
  kmsServerErrors: {
    errors: KMS_SERVER_ERRORS,
    intervalSeconds: 1,
    maxAttempts: 5,
    backoffRate: 2,
    maxDelaySeconds: 30,
    jitter: 'FULL',
  },
  dynamodbTransient: {
    errors: DYNAMODB_TRANSIENT_ERRORS,
    intervalSeconds: 1,
    maxAttempts: 5,
    backoffRate: 2,
    maxDelaySeconds: 30,
    jitter: 'FULL',
  },
  /**
   * Notify: anything, a few times. Safe since Notify remembers a successful publish (ledger
   * NOTIFY#<execution>), so a retry after a lost response does not publish again.
   */
  notifyAnything: { errors: ['States.ALL'], intervalSeconds: 2, maxAttempts: 4, backoffRate: 2, jitter: 'FULL' },
  /**
   * KMS through Step Functions' AWS SDK integration (the per-run grant's CreateGrant and
   * RetireGrant): errors are named `<Service>.<Error>` in Pascal case. Whether KMSInternalException
   * keeps its capitals there is not documented, so both spellings are listed. CreateGrant is safe
   * to retry: the grant is named per execution and unit, and a retry returns the same grant.
   */
  kmsSdkTransient: {
    errors: [
      'Kms.ThrottlingException',
      'Kms.KMSInternalException',
      'Kms.KmsInternalException',
      'Kms.DependencyTimeoutException',
    ],
    intervalSeconds: 1,
    maxAttempts: 5,
    backoffRate: 2,
    maxDelaySeconds: 30,
    jitter: 'FULL',
  },
} as const satisfies Record<string, RetrierSpec>;
export type RetrierName = keyof typeof RETRIERS;

/**
 * Each Task state's retriers, in the order Step Functions tries them (the first whose errors
 * match applies). RequestApproval gets no CDK default retrier: only the ones named here.
 */
export const TASK_RETRIERS = {
  Intake: ['lambdaTransient'],
  ClaimRequest: ['lambdaTransient', 'dynamodbTransient'],
  Assess: ['lambdaTransient', 'kmsTransient'],
  RequestApproval: ['lambdaTransient'],
  LockKey: ['lambdaTransient', 'dynamodbTransient'],
  Rotate: ['lambdaTransient', 'rotateThrottling', 'kmsServerErrors'],
  CheckRotation: ['lambdaTransient', 'kmsTransient'],
  Record: ['lambdaTransient', 'dynamodbTransient'],
  Notify: ['lambdaTransient', 'notifyAnything'],
  CloseRequest: ['lambdaTransient', 'dynamodbTransient'],
  // Re-encryption. PlanReencryption calls no AWS API. ReencryptObjects (the Distributed
  // Map child's task) retries S3/KMS throttling itself, with back-off, and counts it: only Lambda's
  // own hiccups are retried here. SummarizeReencryption reads the ResultWriter files and appends
  // the ledger's audit entry.
  PlanReencryption: ['lambdaTransient'],
  ReencryptObjects: ['lambdaTransient'],
  SummarizeReencryption: ['lambdaTransient', 'dynamodbTransient'],
  // The per-run grant on the rotated key (lib/reencryption/reencryption-grant.ts): SDK integration tasks.
  CreateReencryptionGrant: ['kmsSdkTransient'],
  RetireReencryptionGrant: ['kmsSdkTransient'],
} as const satisfies Record<string, readonly RetrierName[]>;
export type RetriedTask = keyof typeof TASK_RETRIERS;

/** A Task's retriers as Amazon States Language, for states written as JSON (CustomState). */
export function retryAsl(task: RetriedTask): Record<string, unknown>[] {
  return TASK_RETRIERS[task].map((name) => {
    const r: RetrierSpec = RETRIERS[name];
    return {
      ErrorEquals: [...r.errors],
      IntervalSeconds: r.intervalSeconds,
      MaxAttempts: r.maxAttempts,
      BackoffRate: r.backoffRate,
      ...(r.maxDelaySeconds === undefined ? {} : { MaxDelaySeconds: r.maxDelaySeconds }),
      JitterStrategy: r.jitter,
    };
  });
}

/** The comment naming a Task's retriers, e.g. "Retry: lambdaTransient, kmsTransient." */
export function retryComment(task: RetriedTask): string {
  return `Retry: ${TASK_RETRIERS[task].join(', ')}.`;
}

/** Most failed attempts a Task can make before it succeeds or its error is caught. */
export function maxRetries(task: RetriedTask): number {
  // Retriers match different errors, so in the worst case each one's budget is spent.
  return TASK_RETRIERS[task].reduce((n, name) => n + (RETRIERS[name].maxAttempts as number), 0);
}

/** Longest total wait between attempts a Task's retriers can add (every delay at its cap). */
export function maxRetryDelaySeconds(task: RetriedTask): number {
  let total = 0;
  for (const name of TASK_RETRIERS[task]) {
    const r: RetrierSpec = RETRIERS[name];
    for (let attempt = 0; attempt < r.maxAttempts; attempt++) {
      total += Math.min(r.maxDelaySeconds ?? Infinity, r.intervalSeconds * r.backoffRate ** attempt);
    }
  }
  return total;
}
