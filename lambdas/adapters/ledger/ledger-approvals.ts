import { PutItemCommand, QueryCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { PENDING_APPROVALS_INDEX } from '../../domain/approvals/approval';
import { LedgerAudit } from './ledger-audit';
import { isConditionFailure, n, optional, s } from './ledger-base';

/*
 * The ledger's `APPROVAL#<approval id>` pending approvals: the task token people never see, who
 * asked, for which key and execution, until when; answered once (conditional update).
 */

/** A pending approval as RequestApproval writes it (`APPROVAL#<approvalId>`). */
export interface ApprovalRecord {
  approvalId: string;
  /** The task token: stays in the stack (ledger and front door), never in a message. */
  token: string;
  /** Who asked (manual runs: the verified front-door caller), null for finding-triggered runs. */
  requestedBy: string | null;
  keyArn: string;
  executionArn: string;
  /** ISO time after which the approval gate has timed out. */
  expiresAt: string;
  /**
   * PENDING until the front door's answer reached the workflow (SendTaskSuccess/Failure succeeded),
   * then APPROVED or DENIED; EXPIRED when the answer came after the execution stopped waiting.
   */
  status: 'PENDING' | 'APPROVED' | 'DENIED' | 'EXPIRED';
  answeredBy?: string | null;
  /** The front door's answer in progress or given: its id (also in the SendTaskSuccess output), decision, person and time. */
  answer?: ApprovalAnswer | null;
}

/** An answer the front door writes before it calls Step Functions (LockKey checks the approval against it). */
export interface ApprovalAnswer {
  /** Random per answer: the SendTaskSuccess output carries it, so a token sent by anyone else matches no answer. */
  answerId: string;
  decision: 'approve' | 'deny';
  /** The verified caller ARN. */
  by: string;
  /** The two-person rule's key of the caller (domain/approvals/people.ts). */
  person: string;
  at: string;
  reason: string | null;
}

/** Why an answer was not recorded: someone answered first, or there is no such approval. */
export type AnswerResult = { answered: true } | { answered: false; status: string; by: string | null };

/** The ledger's pending approvals and their answers. */
export class LedgerApprovals extends LedgerAudit {
  /**
   * Store a pending approval; a retried RequestApproval (same token, same id) writes the same item.
   * It is also put in the sparse PendingApprovals index (with the time it becomes overdue) until
   * the front door answers it.
   */
  async putApproval(approval: ApprovalRecord & { overdueAt: string }): Promise<void> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            pk: s(`APPROVAL#${approval.approvalId}`),
            sk: s('APPROVAL'),
            token: s(approval.token),
            requestedBy: optional(approval.requestedBy),
            keyArn: s(approval.keyArn),
            executionArn: s(approval.executionArn),
            answerBy: s(approval.expiresAt),
            status: s('PENDING'),
            [PENDING_APPROVALS_INDEX.partitionKey]: s(PENDING_APPROVALS_INDEX.partitionValue),
            [PENDING_APPROVALS_INDEX.overdueAttribute]: s(approval.overdueAt),
            // The table's TTL attribute: the item goes a day after the approval window closed.
            expiresAt: n(Math.floor(Date.parse(approval.expiresAt) / 1000) + 86400),
          },
          ConditionExpression: 'attribute_not_exists(pk) OR #token = :token',
          ExpressionAttributeNames: { '#token': 'token' },
          ExpressionAttributeValues: { ':token': s(approval.token) },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error; // another token under the same id: never overwrite it
    }
  }

  /** A pending (or answered) approval by id; null when there is none. */
  async getApproval(approvalId: string): Promise<ApprovalRecord | null> {
    const item = await this.consistentItem(`APPROVAL#${approvalId}`, 'APPROVAL');
    if (!item) return null;
    const str = (name: string) => item[name]?.S ?? null;
    return {
      approvalId,
      token: str('token') ?? '',
      requestedBy: str('requestedBy'),
      keyArn: str('keyArn') ?? '',
      executionArn: str('executionArn') ?? '',
      expiresAt: str('answerBy') ?? '',
      status: (str('status') ?? 'PENDING') as ApprovalRecord['status'],
      answeredBy: str('answeredBy'),
      answer: str('answerId')
        ? {
            answerId: str('answerId')!,
            decision: str('decision') === 'approve' ? 'approve' : 'deny',
            by: str('answeredBy') ?? '',
            person: str('answeredPerson') ?? '',
            at: str('answeredAt') ?? '',
            reason: str('answerReason'),
          }
        : null,
    };
  }

  /**
   * The front door's first step: write its answer on a PENDING approval nobody is answering
   * (conditional), before it tells Step Functions. The status stays PENDING until confirmAnswer.
   */
  async claimAnswer(approvalId: string, answer: ApprovalAnswer): Promise<AnswerResult> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: s(`APPROVAL#${approvalId}`), sk: s('APPROVAL') },
          UpdateExpression:
            'SET answerId = :id, decision = :decision, answeredBy = :by, answeredPerson = :person, answeredAt = :at, answerReason = :reason',
          ConditionExpression: '#status = :pending AND attribute_not_exists(answerId)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':id': s(answer.answerId),
            ':decision': s(answer.decision),
            ':by': s(answer.by),
            ':person': s(answer.person),
            ':at': s(answer.at),
            ':reason': optional(answer.reason),
            ':pending': s('PENDING'),
          },
        }),
      );
      return { answered: true };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const current = await this.getApproval(approvalId);
      const status =
        current?.answer && current.status === 'PENDING' ? 'BEING_ANSWERED' : (current?.status ?? 'MISSING');
      return { answered: false, status, by: current?.answeredBy ?? null };
    }
  }

  /**
   * After Step Functions took the answer: PENDING -> APPROVED | DENIED (only the answer this
   * front door claimed), and out of the PendingApprovals index. False when it no longer applies.
   */
  async confirmAnswer(approvalId: string, answerId: string, status: 'APPROVED' | 'DENIED'): Promise<boolean> {
    return this.settleAnswer(approvalId, answerId, 'SET #status = :status REMOVE #pending', { ':status': s(status) });
  }

  /**
   * Step Functions no longer waits for the token (the execution ended or the window closed): the
   * approval becomes EXPIRED, with who answered too late; it never says APPROVED or DENIED.
   */
  async expireAnswer(approvalId: string, answerId: string): Promise<boolean> {
    const update = [
      'SET #status = :status, lateAnswerBy = answeredBy, lateAnswerAt = answeredAt',
      'REMOVE #pending, answerId, decision, answeredBy, answeredPerson, answeredAt, answerReason',
    ].join(' ');
    return this.settleAnswer(approvalId, answerId, update, { ':status': s('EXPIRED') });
  }

  /** Step Functions failed otherwise (throttled, unavailable): the claim is withdrawn so the person can answer again. */
  async withdrawAnswer(approvalId: string, answerId: string): Promise<boolean> {
    return this.settleAnswer(
      approvalId,
      answerId,
      'REMOVE answerId, decision, answeredBy, answeredPerson, answeredAt, answerReason',
      {},
    );
  }

  private async settleAnswer(
    approvalId: string,
    answerId: string,
    update: string,
    values: Record<string, AttributeValue>,
  ): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: s(`APPROVAL#${approvalId}`), sk: s('APPROVAL') },
          UpdateExpression: update,
          ConditionExpression: '#status = :pending AND answerId = :id',
          ExpressionAttributeNames: {
            '#status': 'status',
            ...(update.includes('#pending') ? { '#pending': PENDING_APPROVALS_INDEX.partitionKey } : {}),
          },
          ExpressionAttributeValues: { ':pending': s('PENDING'), ':id': s(answerId), ...values },
        }),
      );
      return true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return false;
    }
  }

  /** Answer an approval once: PENDING -> APPROVED | DENIED, with who and when (conditional update). */
  async answerApproval(
    approvalId: string,
    status: 'APPROVED' | 'DENIED',
    by: string,
    now: Date,
  ): Promise<AnswerResult> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: s(`APPROVAL#${approvalId}`), sk: s('APPROVAL') },
          // Answered: out of the PendingApprovals index (the overdue count no longer sees it).
          UpdateExpression: 'SET #status = :status, answeredBy = :by, answeredAt = :now REMOVE #pending',
          ConditionExpression: '#status = :pending',
          ExpressionAttributeNames: { '#status': 'status', '#pending': PENDING_APPROVALS_INDEX.partitionKey },
          ExpressionAttributeValues: {
            ':status': s(status),
            ':by': s(by),
            ':now': s(now.toISOString()),
            ':pending': s('PENDING'),
          },
        }),
      );
      return { answered: true };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const current = await this.getApproval(approvalId);
      return { answered: false, status: current?.status ?? 'MISSING', by: current?.answeredBy ?? null };
    }
  }

  /**
   * How many unanswered approvals are past half their window but not yet at its end (a Query of the
   * sparse PendingApprovals index: only open windows are read, never the whole table).
   */
  async countOverdueApprovals(now: Date): Promise<number> {
    const at = now.toISOString();
    let count = 0;
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: PENDING_APPROVALS_INDEX.name,
          KeyConditionExpression: '#pending = :pending AND #answerBy > :now',
          FilterExpression: '#overdueAt <= :now',
          ExpressionAttributeNames: {
            '#pending': PENDING_APPROVALS_INDEX.partitionKey,
            '#answerBy': PENDING_APPROVALS_INDEX.sortKey,
            '#overdueAt': PENDING_APPROVALS_INDEX.overdueAttribute,
          },
          ExpressionAttributeValues: { ':pending': s(PENDING_APPROVALS_INDEX.partitionValue), ':now': s(at) },
          Select: 'COUNT',
          ExclusiveStartKey: startKey,
        }),
      );
      count += out.Count ?? 0;
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return count;
  }
}
