import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2 } from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import type { TaskFunctionMap } from './functions';
import { failedStateName, STATE } from '../lambdas/domain/workflow-states';
import { APPROVAL_DENIED, APPROVE } from '../lambdas/domain/approvals/approval';
import { KEY_REQUEST_FIELDS, type KeyResult } from '../lambdas/domain/contracts';
import { FAILURE_CLASSES, isErrorGlob, UNCLASSIFIED } from '../lambdas/domain/failures';
import type { IntakeMode } from '../lambdas/domain/intake/intake';
import { RETRIERS, retryComment, TASK_RETRIERS, type RetriedTask, type RetrierSpec } from './retriers';
import { REENCRYPT_TASK_TIMEOUT_SECONDS, TASK_TIMEOUT_SECONDS } from './limits';
import { reencryptTargetMap, type ReencryptionResources } from './reencryption/reencryption';
import { grantCreationStatement, reencryptionGrantStates } from './reencryption/reencryption-grant';
import { synthesizedDefinition } from './synthesized-definition';

import { definitionProblems } from './definition-check';
import { NOTHING_PLANNED, type ReencryptionTargetSettings } from '../lambdas/domain/reencryption';
import type { DerivedReencryption } from './settings/derived';
import {
  ROTATE_CONSISTENCY_DELAY_SECONDS,
  ROTATE_FUNCTION_TIMED_OUT_ERRORS,
} from '../lambdas/domain/rotation/rotation';

/** Names of the states tests and the local runner refer to (declared import-free for the CLI). */
export { STATE };

/**
 * What one key's Map result holds: the KeyResult fields only (Record's ResultSelector), not the
 * key's whole state, so 50 results stay small.
 */
export const KEY_RESULT_FIELDS = [
  'ref',
  'keyArn',
  'via',
  'aliases',
  'moreAliases',
  'outcome',
  'reason',
  'detail',
  'onDemandRotationsUsed',
  'onDemandRotationsRemaining',
  'previousKeyMaterialId',
  'currentKeyMaterialId',
  'joined',
  'rotationStartedAt',
  'confirmedAt',
  'approvedBy',
  'approvalReason',
] as const satisfies readonly (keyof KeyResult)[];
/** Fails to compile when KeyResult gains a field that KEY_RESULT_FIELDS does not keep. */
type AllFieldsKept<T extends never> = T;
/** @public exported only so that the compiler checks it (nothing imports it). */
export type KeyResultFieldsComplete = AllFieldsKept<Exclude<keyof KeyResult, (typeof KEY_RESULT_FIELDS)[number]>>;

/** A retrier of the table (lib/retriers.ts) in CDK's terms. */
function retryProps(spec: RetrierSpec): sfn.RetryProps {
  return {
    errors: [...spec.errors],
    interval: Duration.seconds(spec.intervalSeconds),
    maxAttempts: spec.maxAttempts,
    backoffRate: spec.backoffRate,
    ...(spec.maxDelaySeconds === undefined ? {} : { maxDelay: Duration.seconds(spec.maxDelaySeconds) }),
    jitterStrategy: spec.jitter === 'FULL' ? sfn.JitterType.FULL : sfn.JitterType.NONE,
  };
}

/** Give a Task exactly the retriers the table names for it, in order. */
function addRetriers(task: sfn.TaskStateBase, name: RetriedTask): void {
  for (const retrier of TASK_RETRIERS[name]) task.addRetry(retryProps(RETRIERS[retrier]));
}

export interface RotationWorkflowProps {
  /** The task functions; the branch's two are present exactly when `reencryption` is given. */
  functions: TaskFunctionMap<lambda.IFunction>;
  /** The re-encryption settings PlanReencryption gets in its payload (a constant of the definition: too large for the environment). */
  reencryptionTargets: ReencryptionTargetSettings;
  /** The Distributed Map's pacing (deriveRuntime); present exactly when `reencryption` is. */
  reencryptionPacing?: DerivedReencryption;
  /** The Distributed Map branch's resources (results bucket, listed buckets); absent: no branch. */
  reencryption?: ReencryptionResources;
  logRetention: logs.RetentionDays;
  /** Encrypts the execution log group (the key policy must allow CloudWatch Logs: lib/compliance/compliance.ts). */
  logEncryptionKey?: kms.IKey;
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
    // The Distributed Map renders its ResultWriterV2 (Bucket, Prefix.$) whatever the app's flags.
    this.node.setContext(STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2, true);
    const fns = props.functions;

    // Every Lambda Task: no CDK default retrier (retryOnServiceExceptions: false), only the
    // retriers lib/retriers.ts names for it, listed in its comment.
    const invoke = (name: RetriedTask, fn: lambda.IFunction, extra: Partial<tasks.LambdaInvokeProps> = {}) => {
      const task = new tasks.LambdaInvoke(this, name, {
        stateName: name,
        lambdaFunction: fn,
        payloadResponseOnly: true,
        retryOnServiceExceptions: false,
        taskTimeout: sfn.Timeout.duration(Duration.seconds(TASK_TIMEOUT_SECONDS)),
        ...extra,
        comment: [extra.comment, retryComment(name)].filter(Boolean).join(' '),
      });
      addRetriers(task, name);
      return task;
    };

    // 1. Intake. Bad input ends the execution with the field named in the cause.
    // The mode is a constant of this machine's definition: no input can choose it.
    const intake = invoke(STATE.intake, fns.intake, {
      payload: sfn.TaskInput.fromObject({ mode: props.mode, 'input.$': '$' }),
    });
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

    // 2-5. Per key: assess, [approval], lock, rotate, poll, record. Any error ends that key as
    // FAILED (classified, recorded), never the others.
    const keyDone = new sfn.Succeed(this, 'KeyDone', { stateName: 'KeyDone' });
    // Each key's Map result is its KeyResult only (Record returns every KeyResult field).
    const record = invoke(STATE.record, fns.record, {
      resultSelector: Object.fromEntries(KEY_RESULT_FIELDS.map((field) => [`${field}.$`, `$.${field}`])),
    });
    // The outcome stands even if the audit entry cannot be written; the notification says so.
    // (That path keeps the key's whole state as its result: still bounded, aliases and texts are capped.)
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
        isErrorGlob(e)
          ? sfn.Condition.stringMatches('$.error.Error', e)
          : sfn.Condition.stringEquals('$.error.Error', e),
      );
      classify.when(sfn.Condition.or(...conditions), markFailed(reason));
    }
    classify.otherwise(markFailed(UNCLASSIFIED));
    const perKey = <T extends sfn.TaskStateBase>(task: T): T => {
      task.addCatch(classify, { errors: ['States.ALL'], resultPath: '$.error' });
      return task;
    };

    const assess = perKey(invoke(STATE.assess, fns.assess));
    const lock = perKey(invoke(STATE.lockKey, fns['lock-key']));
    // Rotate timed out (Lambda.Unknown, States.Timeout): its RotateKeyOnDemand may have been
    // performed. Not retried at once (the retry's reads may not show the rotation yet): the task
    // records it and waits the consistency delay; the next Rotate then confirms from every read
    // before calling KMS again. Lost answers inside the function take the same wait (rotate handler).
    const rotate = invoke(STATE.rotate, fns.rotate);
    const rotateTimedOut = new sfn.Pass(this, 'RotateTimedOut', {
      stateName: 'RotateTimedOut',
      comment: `Rotate timed out after perhaps calling RotateKeyOnDemand: wait ${ROTATE_CONSISTENCY_DELAY_SECONDS} s, then Rotate confirms before calling again.`,
      result: sfn.Result.fromNumber(ROTATE_CONSISTENCY_DELAY_SECONDS),
      resultPath: '$.waitSeconds',
    });
    rotate.addCatch(rotateTimedOut, { errors: [...ROTATE_FUNCTION_TIMED_OUT_ERRORS], resultPath: '$.rotateTimedOut' });
    perKey(rotate);
    const check = perKey(invoke(STATE.checkRotation, fns['check-rotation']));
    const waitForRotation = new sfn.Wait(this, STATE.waitForRotation, {
      stateName: STATE.waitForRotation,
      time: sfn.WaitTime.secondsPath('$.waitSeconds'),
    });
    const waitBeforeRetry = new sfn.Wait(this, STATE.waitBeforeRetryingRotation, {
      stateName: STATE.waitBeforeRetryingRotation,
      comment:
        'KMS answered ConflictException (automatic rotation running or due), or its answer was lost: wait, then try again.',
      time: sfn.WaitTime.secondsPath('$.waitSeconds'),
    });

    // Approval gate for keys tagged `<optOutTag>=approval`: wait for a task token.
    // The Map is not bounded (below), so a key waiting here holds no other key back.
    const approval = new tasks.LambdaInvoke(this, STATE.requestApproval, {
      stateName: STATE.requestApproval,
      lambdaFunction: fns['request-approval'],
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      payload: sfn.TaskInput.fromObject({ 'task.$': '$', token: sfn.JsonPath.taskToken }),
      resultPath: '$.approval',
      taskTimeout: sfn.Timeout.duration(props.approvalTimeout),
      // CDK would otherwise put its own Lambda retrier (no jitter) before ours.
      retryOnServiceExceptions: false,
      comment: `Stores the token under an approval id, publishes the request, then waits for the front door (\`kms-rotate approve|deny <approval-id>\`). ${retryComment(STATE.requestApproval)}`,
    });
    addRetriers(approval, STATE.requestApproval);
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
        .when(
          sfn.Condition.and(
            sfn.Condition.isPresent('$.approval.decision'),
            sfn.Condition.stringEquals('$.approval.decision', APPROVE),
          ),
          lock,
        )
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
    rotateTimedOut.next(waitBeforeRetry);
    waitForRotation.next(check);
    check.next(
      new sfn.Choice(this, 'AfterCheck', { stateName: 'AfterCheck' })
        .when(sfn.Condition.stringEquals('$.next', 'POLL'), waitForRotation)
        .otherwise(record),
    );

    const forEachKey = new sfn.Map(this, STATE.forEachKey, {
      stateName: STATE.forEachKey,
      itemsPath: '$.request.keys',
      // Each key gets only the request fields it needs (KEY_REQUEST_FIELDS): no key list.
      itemSelector: {
        'ref.$': '$$.Map.Item.Value',
        'executionArn.$': '$$.Execution.Id',
        request: Object.fromEntries(KEY_REQUEST_FIELDS.map((field) => [`${field}.$`, `$.request.${field}`])),
      },
      // Not bounded (Step Functions runs up to 40 inline iterations at once): a key waiting for
      // an approval must not hold a slot another key's rotation needs. RotateKeyOnDemand's
      // 5/s is absorbed by Rotate's own throttling retrier (full jitter, 10 attempts), which is
      // safe because Rotate re-reads the rotation state before it calls KMS (SDK retries off).
      resultPath: '$.results',
    });
    forEachKey.itemProcessor(assess);

    // 6. Re-encryption: PlanReencryption always runs (it refuses every target when the
    // stack has no branch, or reports what would run); the loop runs its units one at a time.
    const plan = invoke(STATE.planReencryption, fns['plan-reencryption'], {
      payload: sfn.TaskInput.fromObject({
        'request.$': '$.request',
        'results.$': '$.results',
        settings: props.reencryptionTargets,
      }),
      resultPath: '$.reencryption',
    });

    // 7-8. One notification for the whole execution; close the finding's claim; then fail
    // loudly if any key failed.
    // Notify replaces the state with { request, notification }: the per-key results live on in
    // notification.summary only (once, not twice). A retry after a successful publish does not
    // publish again (Notify remembers it in the ledger).
    const notify = invoke(STATE.notify, fns.notify, {
      payload: sfn.TaskInput.fromObject({
        'request.$': '$.request',
        'results.$': '$.results',
        'executionArn.$': '$$.Execution.Id',
        'startedAt.$': '$$.Execution.StartTime',
        'reencryption.$': '$.reencryption',
      }),
      resultSelector: {
        'request.$': '$.request',
        notification: {
          'summary.$': '$.summary',
          'messageId.$': '$.messageId',
          'anyFailed.$': '$.anyFailed',
          'reencryptionFailed.$': '$.reencryptionFailed',
        },
      },
      // No ResultPath: the selected result replaces the state.
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

    const done = new sfn.Succeed(this, STATE.done, { stateName: STATE.done, outputPath: '$.notification.summary' });
    const keysFailed = new sfn.Fail(this, STATE.keysFailed, {
      stateName: STATE.keysFailed,
      error: 'KeyRotationFailed',
      cause: 'At least one key ended FAILED; the notification and the Notify state output say which and why.',
    });
    // A failed re-encryption does not undo a rotation: the keys stay ROTATED and the notification
    // says what failed; the execution fails so that the alarm fires.
    const reencryptionFailed = new sfn.Fail(this, STATE.reencryptionFailed, {
      stateName: STATE.reencryptionFailed,
      error: 'ReencryptionFailed',
      cause:
        'The keys stayed rotated, but re-encrypting the affected data did not fully succeed (objects failed, a map run failed or a target was refused); the notification lists what failed.',
    });
    const anyKeyFailed = new sfn.Choice(this, 'AnyKeyFailed', { stateName: 'AnyKeyFailed' })
      .when(sfn.Condition.booleanEquals('$.notification.anyFailed', true), keysFailed)
      .when(sfn.Condition.booleanEquals('$.notification.reencryptionFailed', true), reencryptionFailed)
      .otherwise(done);
    // A claim left open expires with its lease; it must not turn a handled incident into a failure.
    close.addCatch(anyKeyFailed, { errors: ['States.ALL'], resultPath: '$.closeError' });

    // The re-encryption's own bookkeeping failing (Plan or Summarize, after their retries) must
    // not keep the notification from going out: the keys are settled. Notify reports the error
    // (`branchError`), and the execution then fails with ReencryptionFailed.
    const notPlanned = new sfn.Pass(this, 'ReencryptionNotPlanned', {
      stateName: 'ReencryptionNotPlanned',
      comment: 'PlanReencryption failed: nothing re-encrypted; Notify reports the error.',
      parameters: { ...NOTHING_PLANNED, 'branchError.$': '$.reencryptionPlanError' },
      resultPath: '$.reencryption',
    });
    plan.addCatch(notPlanned, { errors: ['States.ALL'], resultPath: '$.reencryptionPlanError' });
    notPlanned.next(notify);

    if (props.reencryption) {
      const reencryptObjects = fns['reencrypt-objects'];
      const summarizeFn = fns['summarize-reencryption'];
      if (!reencryptObjects || !summarizeFn || !props.reencryptionPacing)
        throw new Error(
          'RotationWorkflow: the re-encryption branch needs the reencrypt-objects and summarize-reencryption functions and the derived pacing',
        );
      // The child's only task: one batch (ReencryptBatchInput) -> its TargetReport.
      // `childStartedAt`: the CHILD execution's own start (its `$$`), where its 5-minute deadline counts from.
      const child = invoke(STATE.reencryptObjects, reencryptObjects, {
        taskTimeout: sfn.Timeout.duration(Duration.seconds(REENCRYPT_TASK_TIMEOUT_SECONDS)),
        payload: sfn.TaskInput.fromObject({
          'BatchInput.$': '$.BatchInput',
          'Items.$': '$.Items',
          'childStartedAt.$': '$$.Execution.StartTime',
        }),
      });
      const map = reencryptTargetMap(this, {
        resources: props.reencryption,
        processor: child,
        pacing: props.reencryptionPacing,
      });
      const summarize = invoke(STATE.summarizeReencryption, summarizeFn, {
        payload: sfn.TaskInput.fromObject({ 'reencryption.$': '$.reencryption', 'executionArn.$': '$$.Execution.Id' }),
        resultPath: '$.reencryption',
      });
      // The envelope path's per-unit KMS grant, created before the map and retired after it.
      const grant = reencryptionGrantStates(this, {
        map,
        next: summarize,
        grantee: reencryptObjects.role!,
        retiringRoleArn: () => this.stateMachine.role.roleArn,
      });
      // A map run that fails (listing refused, too many failed children) is reported, not fatal.
      map.addCatch(grant.end, { errors: ['States.ALL'], resultPath: '$.reencryption.mapRunError' });
      // Summarize failed: the targets not yet summarised are not reported as done; stop the loop.
      summarize.addCatch(notify, { errors: ['States.ALL'], resultPath: '$.reencryption.branchError' });
      const more = new sfn.Choice(this, STATE.moreToReencrypt, { stateName: STATE.moreToReencrypt })
        .when(sfn.Condition.numberGreaterThan('$.reencryption.remaining', 0), grant.start)
        .otherwise(notify);
      map.next(grant.end);
      summarize.next(more);
      plan.next(more);
    } else {
      plan.next(notify);
    }
    notify.next(close).next(anyKeyFailed);
    const definition = intake.next(claim).next(forEachKey).next(plan);

    const logGroup = new logs.LogGroup(this, 'ExecutionLogs', {
      retention: props.logRetention,
      encryptionKey: props.logEncryptionKey,
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
    const grantee = props.reencryption ? fns['reencrypt-objects']?.role : undefined;
    if (grantee) this.stateMachine.addToRolePolicy(grantCreationStatement(grantee, this.stateMachine.role));
    const cfnMachine = this.stateMachine.node.defaultChild as sfn.CfnStateMachine;
    cfnMachine.addMetadata(WORKFLOW_MODE_METADATA_KEY, props.mode);
    // `cdk synth` fails, naming the state and the rule, on what CreateStateMachine would refuse at
    // deploy time (lib/definition-check.ts), checked on the definition the template carries.
    this.stateMachine.node.addValidation({
      validate: () => definitionProblems(synthesizedDefinition(cfnMachine), 'STANDARD'),
    });
  }
}
