import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import type { HandlerName } from './functions';
import { failedStateName, STATE } from '../lambdas/domain/workflow-states';
import { APPROVAL_DENIED, APPROVE } from '../lambdas/domain/approval';
import type { IncidentRequest } from '../lambdas/domain/contracts';
import { FAILURE_CLASSES, isErrorGlob, UNCLASSIFIED } from '../lambdas/domain/failures';
import type { IntakeMode } from '../lambdas/domain/intake/intake';

/** Errors a Lambda invoke can raise that are worth retrying (Step Functions' own list). */
export const LAMBDA_TRANSIENT_ERRORS = [
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];
/** KMS errors that say "try again later" (the KMS API reference says each may be retried). */
export const KMS_TRANSIENT_ERRORS = ['ThrottlingException', 'KMSInternalException', 'DependencyTimeoutException'];


/** Names of the states tests and the local runner refer to (declared import-free for the CLI). */
export { STATE };

/** The request fields every key's iteration gets (all but `keys`); Intake and ClaimRequest set each. */
const REQUEST_FIELDS = [
  'requestId',
  'source',
  'findingId',
  'findingType',
  'severity',
  'severityLabel',
  'reason',
  'dryRun',
  'force',
  'breakGlass',
  'requestedBy',
  'account',
  'region',
  'duplicateOf',
] as const satisfies readonly (keyof IncidentRequest)[];
/** Fails to compile when IncidentRequest gains a field that REQUEST_FIELDS does not pass on. */
type AllFieldsPassed<T extends never> = T;
/** @public exported only so that the compiler checks it (nothing imports it). */
export type RequestFieldsComplete = AllFieldsPassed<Exclude<keyof IncidentRequest, 'keys' | (typeof REQUEST_FIELDS)[number]>>;

/** DynamoDB errors worth retrying (ledger steps). */
export const DYNAMODB_TRANSIENT_ERRORS = ['ProvisionedThroughputExceededException', 'RequestLimitExceeded', 'InternalServerError', 'ThrottlingException'];

export interface RotationWorkflowProps {
  functions: Record<HandlerName, lambda.IFunction>;
  logRetention: logs.RetentionDays;
  /** Upper bound for one execution. */
  timeout: Duration;
  /** How long a key tagged for approval waits for a decision, and what silence means. */
  approvalTimeout: Duration;
  approvalTimeoutAction: 'SKIP' | 'ROTATE';
  /**
   * Which requests this machine takes (two machines, one definition): `automatic` (finding events;
   * only the EventBridge rules may start it) or `manual` (the front door's requests only).
   */
  mode: IntakeMode;
}

/** Template metadata naming each state machine's mode (the local runner picks a machine by it). */
export const WORKFLOW_MODE_METADATA_KEY = 'kms-incident-rotation:mode';

/**
 * The incident workflow (Standard, JSONPath): Intake -> Map over keys (Assess -> Rotate ->
 * Wait/CheckRotation loop) -> Notify -> fail the execution if any key FAILED.
 */
export class RotationWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: RotationWorkflowProps) {
    super(scope, id);
    const fns = props.functions;

    const invoke = (name: string, fn: lambda.IFunction, extra: Partial<tasks.LambdaInvokeProps> = {}) => {
      const task = new tasks.LambdaInvoke(this, name, {
        stateName: name,
        lambdaFunction: fn,
        payloadResponseOnly: true,
        retryOnServiceExceptions: false,
        taskTimeout: sfn.Timeout.duration(Duration.seconds(60)),
        ...extra,
      });
      task.addRetry({
        errors: LAMBDA_TRANSIENT_ERRORS,
        interval: Duration.seconds(2),
        maxAttempts: 6,
        backoffRate: 2,
        jitterStrategy: sfn.JitterType.FULL,
      });
      return task;
    };
    const withRetry = (task: sfn.TaskStateBase, errors: string[]) =>
      task.addRetry({
        errors,
        interval: Duration.seconds(1),
        maxAttempts: 5,
        backoffRate: 2,
        maxDelay: Duration.seconds(30),
        jitterStrategy: sfn.JitterType.FULL,
      });

    // 1. Intake. Bad input ends the execution with the field named in the cause.
    // The mode is a constant of this machine's definition: no input can choose it.
    const intake = invoke(STATE.intake, fns.intake, { payload: sfn.TaskInput.fromObject({ mode: props.mode, 'input.$': '$' }) });
    const invalid = new sfn.Fail(this, STATE.invalidRequest, {
      stateName: STATE.invalidRequest,
      comment: 'The input is neither a supported finding event nor a manual request; the cause names the field.',
      errorPath: '$.error.Error',
      causePath: '$.error.Cause',
    });
    intake.addCatch(invalid, { errors: ['InvalidRequest'], resultPath: '$.error' });

    // Exactly-once per finding: a re-delivered finding is marked as a duplicate.
    const claim = invoke(STATE.claimRequest, fns['claim-request'], {
      payload: sfn.TaskInput.fromObject({ 'request.$': '$.request', 'executionArn.$': '$$.Execution.Id' }),
    });
    withRetry(claim, DYNAMODB_TRANSIENT_ERRORS);

    // 2-5. Per key: assess, [approval], lock, rotate, poll, record. Any error ends that key as
    // FAILED (classified, recorded), never the others.
    const keyDone = new sfn.Succeed(this, 'KeyDone', { stateName: 'KeyDone' });
    const record = invoke(STATE.record, fns.record);
    withRetry(record, DYNAMODB_TRANSIENT_ERRORS);
    // The outcome stands even if the audit entry cannot be written; the notification says so.
    record.addCatch(keyDone, { errors: ['States.ALL'], resultPath: '$.recordError' });
    record.next(keyDone);

    // Generated from the failure table (lambdas/domain/failures.ts), which classifyError also
    // evaluates: one declaration, so the deployed outcome and the TypeScript answer agree.
    const markFailed = (reason: string) =>
      new sfn.Pass(this, `Failed${reason}`, {
        stateName: failedStateName(reason),
        result: sfn.Result.fromObject({ outcome: 'FAILED', reason }),
        resultPath: '$.failure',
      }).next(record);
    const classify = new sfn.Choice(this, 'ClassifyFailure', { stateName: 'ClassifyFailure' });
    for (const { reason, errors } of FAILURE_CLASSES) {
      const conditions = errors.map((e) =>
        isErrorGlob(e) ? sfn.Condition.stringMatches('$.error.Error', e) : sfn.Condition.stringEquals('$.error.Error', e),
      );
      classify.when(sfn.Condition.or(...conditions), markFailed(reason));
    }
    classify.otherwise(markFailed(UNCLASSIFIED));
    const perKey = <T extends sfn.TaskStateBase>(task: T, transient: string[] = KMS_TRANSIENT_ERRORS): T => {
      withRetry(task, transient);
      task.addCatch(classify, { errors: ['States.ALL'], resultPath: '$.error' });
      return task;
    };

    const assess = perKey(invoke(STATE.assess, fns.assess));
    const lock = perKey(invoke(STATE.lockKey, fns['lock-key']), DYNAMODB_TRANSIENT_ERRORS);
    const rotate = perKey(invoke(STATE.rotate, fns.rotate));
    const check = perKey(invoke(STATE.checkRotation, fns['check-rotation']));
    const waitForRotation = new sfn.Wait(this, STATE.waitForRotation, {
      stateName: STATE.waitForRotation,
      time: sfn.WaitTime.secondsPath('$.waitSeconds'),
    });
    const waitBeforeRetry = new sfn.Wait(this, STATE.waitBeforeRetryingRotation, {
      stateName: STATE.waitBeforeRetryingRotation,
      comment: 'KMS answered ConflictException (automatic rotation running or due): wait, then try again.',
      time: sfn.WaitTime.secondsPath('$.waitSeconds'),
    });

    // Approval gate for keys tagged `<optOutTag>=approval`: wait for a task token.
    const approval = new tasks.LambdaInvoke(this, STATE.requestApproval, {
      stateName: STATE.requestApproval,
      lambdaFunction: fns['request-approval'],
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      payload: sfn.TaskInput.fromObject({ 'task.$': '$', token: sfn.JsonPath.taskToken }),
      resultPath: '$.approval',
      taskTimeout: sfn.Timeout.duration(props.approvalTimeout),
      comment: 'Stores the token under an approval id, publishes the request, then waits for the front door (`kms-rotate approve|deny <approval-id>`).',
    });
    approval.addRetry({ errors: LAMBDA_TRANSIENT_ERRORS, interval: Duration.seconds(2), maxAttempts: 6, backoffRate: 2, jitterStrategy: sfn.JitterType.FULL });
    approval.addCatch(record, { errors: [APPROVAL_DENIED], resultPath: '$.approvalError' });
    if (props.approvalTimeoutAction === 'ROTATE') {
      approval.addCatch(lock, { errors: ['States.Timeout'], resultPath: '$.approvalTimedOut' });
    } else {
      approval.addCatch(record, { errors: ['States.Timeout'], resultPath: '$.approvalError' });
    }
    approval.addCatch(classify, { errors: ['States.ALL'], resultPath: '$.error' });
    // Only an explicit approve goes on to rotate; any other success (e.g. {"decision":"deny"})
    // goes to Record, which settles it as SKIPPED APPROVAL_DENIED.
    approval.next(
      new sfn.Choice(this, 'AfterApproval', { stateName: 'AfterApproval' })
        .when(sfn.Condition.and(sfn.Condition.isPresent('$.approval.decision'), sfn.Condition.stringEquals('$.approval.decision', APPROVE)), lock)
        .otherwise(record),
    );

    assess.next(
      new sfn.Choice(this, 'AfterAssess', { stateName: 'AfterAssess' })
        .when(sfn.Condition.stringEquals('$.next', 'APPROVAL'), approval)
        .when(sfn.Condition.stringEquals('$.next', 'ROTATE'), lock)
        .when(sfn.Condition.stringEquals('$.next', 'POLL'), waitForRotation)
        .otherwise(record),
    );
    lock.next(
      new sfn.Choice(this, 'AfterLock', { stateName: 'AfterLock' })
        .when(sfn.Condition.stringEquals('$.next', 'ROTATE'), rotate)
        .otherwise(record),
    );
    rotate.next(
      new sfn.Choice(this, 'AfterRotate', { stateName: 'AfterRotate' })
        .when(sfn.Condition.stringEquals('$.next', 'POLL'), waitForRotation)
        .when(sfn.Condition.stringEquals('$.next', 'WAIT_THEN_ROTATE'), waitBeforeRetry)
        .otherwise(record),
    );
    waitBeforeRetry.next(rotate);
    waitForRotation.next(check);
    check.next(
      new sfn.Choice(this, 'AfterCheck', { stateName: 'AfterCheck' })
        .when(sfn.Condition.stringEquals('$.next', 'POLL'), waitForRotation)
        .otherwise(record),
    );

    const forEachKey = new sfn.Map(this, STATE.forEachKey, {
      stateName: STATE.forEachKey,
      itemsPath: '$.request.keys',
      // Each key gets the request without its key list: 50 keys x 50 copies of the list would
      // approach Step Functions' 256 KB payload limit.
      itemSelector: {
        'ref.$': '$$.Map.Item.Value',
        'executionArn.$': '$$.Execution.Id',
        request: {
          ...Object.fromEntries(REQUEST_FIELDS.map((field) => [`${field}.$`, `$.request.${field}`])),
          keys: [],
        },
      },
      // RotateKeyOnDemand allows 5 requests per second per account and Region.
      maxConcurrency: 3,
      resultPath: '$.results',
    });
    forEachKey.itemProcessor(assess);

    // 6-7. One notification for the whole execution; close the finding's claim; then fail
    // loudly if any key failed.
    const notify = invoke(STATE.notify, fns.notify, {
      payload: sfn.TaskInput.fromObject({
        'request.$': '$.request',
        'results.$': '$.results',
        'executionArn.$': '$$.Execution.Id',
        'startedAt.$': '$$.Execution.StartTime',
      }),
      resultPath: '$.notification',
    });
    notify.addRetry({
      errors: ['States.ALL'],
      interval: Duration.seconds(2),
      maxAttempts: 4,
      backoffRate: 2,
      jitterStrategy: sfn.JitterType.FULL,
    });
    const notificationFailed = new sfn.Fail(this, STATE.notificationFailed, {
      stateName: STATE.notificationFailed,
      comment: 'The keys were handled but nobody could be told: never a silent success.',
      errorPath: '$.notificationError.Error',
      causePath: '$.notificationError.Cause',
    });
    notify.addCatch(notificationFailed, { errors: ['States.ALL'], resultPath: '$.notificationError' });

    const close = invoke(STATE.closeRequest, fns['close-request'], {
      payload: sfn.TaskInput.fromObject({
        'request.$': '$.request',
        'executionArn.$': '$$.Execution.Id',
        'anyFailed.$': '$.notification.anyFailed',
      }),
      resultPath: sfn.JsonPath.DISCARD,
    });
    withRetry(close, DYNAMODB_TRANSIENT_ERRORS);

    const done = new sfn.Succeed(this, STATE.done, { stateName: STATE.done, outputPath: '$.notification.summary' });
    const keysFailed = new sfn.Fail(this, STATE.keysFailed, {
      stateName: STATE.keysFailed,
      error: 'KeyRotationFailed',
      cause: 'At least one key ended FAILED; the notification and the Notify state output say which and why.',
    });
    const anyKeyFailed = new sfn.Choice(this, 'AnyKeyFailed', { stateName: 'AnyKeyFailed' })
      .when(sfn.Condition.booleanEquals('$.notification.anyFailed', true), keysFailed)
      .otherwise(done);
    // A claim left open expires with its lease; it must not turn a handled incident into a failure.
    close.addCatch(anyKeyFailed, { errors: ['States.ALL'], resultPath: '$.closeError' });

    const definition = intake.next(claim).next(forEachKey).next(notify).next(close).next(anyKeyFailed);

    const logGroup = new logs.LogGroup(this, 'ExecutionLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout: props.timeout,
      tracingEnabled: true,
      comment: `kms-incident-rotation (${props.mode} requests): assess, rotate on demand, confirm, notify`,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    (this.stateMachine.node.defaultChild as sfn.CfnStateMachine).addMetadata(WORKFLOW_MODE_METADATA_KEY, props.mode);
  }
}
