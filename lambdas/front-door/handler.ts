import { randomBytes } from 'node:crypto';
import { dynamoClient } from '../adapters/dynamodb-client';
import { sfnClient } from '../adapters/sfn-client';
import { logger } from '../adapters/lambda-handler';
import { Ledger } from '../adapters/ledger';
import { StepFunctionsControl, type WorkflowControl } from '../adapters/workflow';
import { APPROVAL_DENIED, encodeApproval, encodeDenial } from '../domain/approvals/approval';
import {
  approvalIdParam,
  bodyObject,
  callerOf,
  FRONT_DOOR_ENV,
  FrontDoorError,
  readDecision,
  readRunRequest,
  requirePerson,
  respond,
  routeOf,
  twoPersonRefusal,
  type Caller,
  type FrontDoorEvent,
  type FrontDoorResponse,
  type ManualRunInput,
} from '../domain/approvals/front-door';
import { ConfigurationError } from '../adapters/config';
import { parseAccessRoles, type AccessRoles, type Person } from '../domain/approvals/people';

/** What the front door needs; the Lambda wires the AWS adapters, the local front door its own. */
export interface FrontDoorDeps {
  /** The account the stack runs in: callers of other accounts are refused. */
  accountId: string;
  workflow: WorkflowControl;
  approvals: Pick<Ledger, 'getApproval' | 'claimAnswer' | 'confirmAnswer' | 'expireAnswer' | 'withdrawAnswer'>;
  /** Which roles' people may use which route (settings requestRoles, approveRoles, breakGlassRoles). */
  roles: AccessRoles;
  now?: () => Date;
  /** The answer id of an approval answer (random; tests fix it). */
  answerId?: () => string;
}

/** Step Functions answers for a token that no longer waits. */
const TOKEN_GONE = new Set(['TaskDoesNotExist', 'TaskTimedOut', 'InvalidToken']);

/**
 * The front door: people's one way into the workflow. Reads the caller ONLY from the request
 * context (API Gateway fills it in after IAM verified the SigV4 signature), starts the manual
 * machine (`/requests`, or `/break-glass` with force) and answers approval gates by approval id
 * (two-person rule, answered once). The drill routes go to the drill component (lambdas/drill).
 */
export async function handleFrontDoor(event: FrontDoorEvent, deps: FrontDoorDeps): Promise<FrontDoorResponse> {
  try {
    const caller = callerOf(event);
    if (!caller)
      throw new FrontDoorError(
        403,
        'NoIdentity',
        'no IAM identity in the request context: the route must use AWS_IAM authorization',
      );
    if (caller.account !== deps.accountId)
      throw new FrontDoorError(
        403,
        'ForeignAccount',
        `callers of account ${caller.account} cannot use this front door`,
      );
    const route = routeOf(event);
    const now = deps.now?.() ?? new Date();
    // Only people (domain/approvals/people.ts), each route only for its roles: the API's resource policy
    // enforces the same, this names why and what to configure.
    const person = route ? requirePerson(caller, route, deps.roles) : null;
    switch (route) {
      case 'request':
      case 'breakGlass': {
        const body = readRunRequest(bodyObject(event), route);
        const input: ManualRunInput = {
          keyId: body.keyId,
          reason: body.reason,
          dryRun: body.dryRun,
          breakGlass: route === 'breakGlass',
          requestedBy: caller.arn,
          ...(body.reEncrypt ? { reEncrypt: body.reEncrypt } : {}),
          ...(body.reEncryptOnly ? { reEncryptOnly: true, exposedAt: body.reEncryptOnly.exposedAt } : {}),
        };
        const name =
          body.name ??
          `manual-${now
            .toISOString()
            .replace(/\.\d+Z$/, '')
            .replace(/[-:]/g, '')}-${randomBytes(4).toString('hex')}`;
        const started = await deps.workflow.startManual(name, input);
        logger.info('manual run started', {
          caller: caller.arn,
          breakGlass: input.breakGlass,
          reEncryptTargets: input.reEncrypt?.targets.length ?? 0,
          executionArn: started.executionArn,
        });
        return respond(200, { executionArn: started.executionArn, name, startDate: started.startDate, input });
      }
      case 'approval':
        return await answerApproval(event, caller, person!, deps, now);
      default:
        // The drill routes are served by the drill component (lambdas/drill) behind the same API.
        throw new FrontDoorError(
          404,
          'NotFound',
          `no such route: ${String(event.httpMethod)} ${String(event.resource)}`,
        );
    }
  } catch (error) {
    if (error instanceof FrontDoorError)
      return respond(error.statusCode, { error: error.code, message: error.message });
    logger.error('front door failed', { error: error as Error });
    return respond(500, { error: 'InternalError', message: 'the front door failed; see its logs' });
  }
}

async function answerApproval(
  event: FrontDoorEvent,
  caller: Caller,
  person: Person,
  deps: FrontDoorDeps,
  now: Date,
): Promise<FrontDoorResponse> {
  const approvalId = approvalIdParam(event);
  const decision = readDecision(bodyObject(event));
  const approval = await deps.approvals.getApproval(approvalId);
  if (!approval)
    throw new FrontDoorError(404, 'UnknownApproval', `no approval ${approvalId} in this account and Region`);
  if (approval.status !== 'PENDING' || approval.answer) {
    const state = approval.answer && approval.status === 'PENDING' ? 'being answered' : approval.status;
    const by = approval.answeredBy ? ` by ${approval.answeredBy}` : '';
    throw new FrontDoorError(409, 'AlreadyAnswered', `approval ${approvalId} was already answered (${state}${by})`);
  }
  if (Date.parse(approval.expiresAt) <= now.getTime()) {
    throw new FrontDoorError(
      410,
      'Expired',
      `approval ${approvalId} expired at ${approval.expiresAt}: the approval window closed; rerun kms-rotate start if the key should still be rotated`,
    );
  }
  const refusal = twoPersonRefusal(approval.requestedBy, caller, decision.decision, person);
  if (refusal) throw refusal;
  // Answer once: the conditional write decides between two people answering at the same time. The
  // approval stays PENDING until Step Functions took the answer (LockKey checks it against this).
  const answerId = deps.answerId?.() ?? randomBytes(16).toString('hex');
  const claim = {
    answerId,
    decision: decision.decision,
    by: caller.arn,
    person: person.key,
    at: now.toISOString(),
    reason: decision.reason,
  };
  const claimed = await deps.approvals.claimAnswer(approvalId, claim);
  if (!claimed.answered) {
    throw new FrontDoorError(
      409,
      'AlreadyAnswered',
      `approval ${approvalId} was already answered (${claimed.status}${claimed.by ? ` by ${claimed.by}` : ''})`,
    );
  }
  try {
    if (decision.decision === 'approve')
      await deps.workflow.sendTaskSuccess(
        approval.token,
        encodeApproval(caller.arn, decision.reason, approvalId, answerId),
      );
    else
      await deps.workflow.sendTaskFailure(
        approval.token,
        APPROVAL_DENIED,
        encodeDenial(caller.arn, decision.reason ?? ''),
      );
  } catch (error) {
    if (error instanceof Error && TOKEN_GONE.has(error.name)) {
      // Never "APPROVED by ..." for an execution that did not take the answer.
      await deps.approvals.expireAnswer(approvalId, answerId);
      throw new FrontDoorError(
        410,
        'Expired',
        `approval ${approvalId} is no longer waiting (${error.name}): the execution ended or the window closed`,
      );
    }
    await deps.approvals.withdrawAnswer(approvalId, answerId);
    throw error;
  }
  await deps.approvals.confirmAnswer(approvalId, answerId, decision.decision === 'approve' ? 'APPROVED' : 'DENIED');
  logger.info('approval answered', {
    approvalId,
    decision: decision.decision,
    by: caller.arn,
    person: person.key,
    executionArn: approval.executionArn,
  });
  return respond(200, {
    approvalId,
    decision: decision.decision,
    by: caller.arn,
    reason: decision.reason,
    keyArn: approval.keyArn,
    executionArn: approval.executionArn,
  });
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new ConfigurationError(`environment variable ${name} is not set`);
  return value;
}

export const handler = async (event: FrontDoorEvent): Promise<FrontDoorResponse> => {
  const region = required('AWS_REGION');
  return handleFrontDoor(event, {
    accountId: required(FRONT_DOOR_ENV.accountId),
    workflow: new StepFunctionsControl(sfnClient(region), required(FRONT_DOOR_ENV.manualStateMachineArn)),
    approvals: new Ledger(required(FRONT_DOOR_ENV.ledgerTable), dynamoClient(region)),
    roles: parseAccessRoles(required(FRONT_DOOR_ENV.accessRoles)),
  });
};
