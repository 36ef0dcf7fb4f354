import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import type { Outcome, Reason, RequestSource } from '../domain/contracts';
import type { TargetReport } from '../domain/reencryption';
import { PENDING_APPROVALS_INDEX } from '../domain/approval';
import { ConfigurationError } from './config';

/**
 * The ledger: one DynamoDB table holding
 * - `REQUEST#<requestId>` claims: which execution handles a finding (exactly-once per finding);
 * - `LOCK#<keyArn>` leases: which execution may rotate a key right now (one rotation at a time);
 * - `KEY#<keyArn>` audit entries, sorted by time: every decision about a key;
 * - `NOTIFY#<executionArn>` markers: the execution's notification was published (its message id),
 *   so a retried Notify does not publish it again.
 * - `KEY#<keyArn>` audit entries, sorted by time: every decision about a key. Append-only: each
 *   is a conditional put on a new sort key; nothing overwrites or deletes one (IAM also says so:
 *   each role's `dynamodb:LeadingKeys` names only its own item kinds, see lib/ledger-access.ts);
 * - `APPROVAL#<approval id>` pending approvals: the task token people never see, who asked, for
 *   which key and execution, until when; answered once (conditional update).
 * All writes that guard the rotation budget are conditional writes.
 */

export interface AuditEntry {
  keyArn: string;
  at: string;
  outcome: Outcome;
  reason: Reason | null;
  detail: string | null;
  source: RequestSource;
  requestId: string;
  findingId: string | null;
  findingType: string | null;
  requestedBy: string | null;
  /** Break-glass request (forced through its own IAM right). */
  breakGlass: boolean;
  /** The verified approver and their reason, when the key went through the approval gate. */
  approvedBy: string | null;
  approvalReason: string | null;
  executionArn: string;
  via: string | null;
  previousKeyMaterialId: string | null;
  currentKeyMaterialId: string | null;
  onDemandRotationsUsed: number | null;
  rotationStartedAt: string | null;
  confirmedAt: string | null;
}

/**
 * A re-encryption audit entry: one target's report for a rotated key, in the key's `KEY#`
 * partition next to its rotation entries (attribute `kind: REENCRYPTION` tells them apart; the
 * rotation entries have no `kind`).
 */
export interface ReencryptionAuditEntry {
  keyArn: string;
  at: string;
  executionArn: string;
  /** The unit's index in the execution's plan (one execution may re-encrypt several targets per key). */
  index: number;
  report: TargetReport;
}

/** The `kind` attribute of re-encryption audit entries. */
export const REENCRYPTION_ENTRY_KIND = 'REENCRYPTION';

/** A notification already published for an execution. */
export interface SentNotification {
  messageId: string;
  at: string;
}

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
  /** The two-person rule's key of the caller (domain/people.ts). */
  person: string;
  at: string;
  reason: string | null;
}

/** Why an answer was not recorded: someone answered first, or there is no such approval. */
export type AnswerResult = { answered: true } | { answered: false; status: string; by: string | null };

export type ClaimResult = { claimed: true } | { claimed: false; by: string; at: string };
export type LockResult = { acquired: true } | { acquired: false; owner: string; leaseUntil: string };

const s = (v: string): AttributeValue => ({ S: v });
/** The open-drills list's partition: one entry per drill key not yet scheduled for deletion. */
const DRILL_OPEN_PK = 'DRILL#OPEN';
const n = (v: number): AttributeValue => ({ N: String(v) });
const optional = (v: string | number | null | undefined): AttributeValue =>
  v === null || v === undefined ? { NULL: true } : typeof v === 'number' ? n(v) : s(v);

function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException || (error as Error)?.name === 'ConditionalCheckFailedException'
  );
}

/**
 * The ledger adapter. Takes its table name (from the runtime config) and its client: a handler
 * passes its per-Region client, tests and local runs a client for dynalite.
 */
export class Ledger {
  constructor(
    readonly tableName: string,
    private readonly client: DynamoDBClient,
  ) {
    // A function without its table is a deployment bug: say so by name, never retry it.
    if (!tableName) throw new ConfigurationError('the ledger table name is not set (LEDGER_TABLE)');
  }

  /**
   * Claim a finding for an execution. A claim can be taken over only when the execution that
   * holds it failed (CloseRequest marked it FAILED) or its lease ran out (it never closed).
   */
  async claimRequest(requestId: string, executionArn: string, now: Date, leaseSeconds: number): Promise<ClaimResult> {
    const holder = await this.putUnlessHeld(
      {
        pk: s(`REQUEST#${requestId}`),
        sk: s('CLAIM'),
        executionArn: s(executionArn),
        claimedAt: s(now.toISOString()),
        status: s('IN_PROGRESS'),
        leaseUntil: s(new Date(now.getTime() + leaseSeconds * 1000).toISOString()),
        // Claims expire (DynamoDB TTL) after the 90 days Step Functions keeps execution names.
        expiresAt: n(Math.floor(now.getTime() / 1000) + 90 * 86400),
      },
      'attribute_not_exists(pk) OR executionArn = :me OR #status = :failed OR leaseUntil < :now',
      { '#status': 'status' },
      { ':me': s(executionArn), ':failed': s('FAILED'), ':now': s(now.toISOString()) },
    );
    return holder
      ? { claimed: false, by: holder.executionArn?.S ?? 'unknown', at: holder.claimedAt?.S ?? 'unknown' }
      : { claimed: true };
  }

  /** Close a claim: DONE keeps later deliveries of the finding out; FAILED lets one retry. */
  async closeRequest(requestId: string, executionArn: string, status: 'DONE' | 'FAILED'): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: s(`REQUEST#${requestId}`), sk: s('CLAIM') },
          UpdateExpression: 'SET #status = :status',
          ConditionExpression: 'executionArn = :me',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':status': s(status), ':me': s(executionArn) },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error; // someone else's claim now: leave it alone
    }
  }

  /** Take a key's rotation lock for `leaseSeconds`; an expired lease can be taken over. */
  async acquireKeyLock(keyArn: string, owner: string, now: Date, leaseSeconds: number): Promise<LockResult> {
    const leaseUntil = new Date(now.getTime() + leaseSeconds * 1000).toISOString();
    const holder = await this.putUnlessHeld(
      {
        pk: s(`LOCK#${keyArn}`),
        sk: s('LOCK'),
        owner: s(owner),
        leaseUntil: s(leaseUntil),
        takenAt: s(now.toISOString()),
      },
      'attribute_not_exists(pk) OR leaseUntil < :now OR #owner = :me',
      { '#owner': 'owner' },
      { ':now': s(now.toISOString()), ':me': s(owner) },
    );
    return holder
      ? { acquired: false, owner: holder.owner?.S ?? 'unknown', leaseUntil: holder.leaseUntil?.S ?? 'unknown' }
      : { acquired: true };
  }

  /**
   * The guard behind claims and locks: put `item` if `condition` holds; otherwise return the item
   * that holds the place, so callers can say who has it. DynamoDB hands the holder back with the
   * refusal (`ReturnValuesOnConditionCheckFailure: ALL_OLD`), so no second read is needed; where
   * the refusal carries no item (dynalite, the local ledger, ignores the parameter) the holder is
   * read back with a strongly consistent GetItem instead.
   */
  private async putUnlessHeld(
    item: Record<string, AttributeValue>,
    condition: string,
    names: Record<string, string>,
    values: Record<string, AttributeValue>,
  ): Promise<Record<string, AttributeValue> | null> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return null;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const holder = (error as ConditionalCheckFailedException).Item;
      if (holder) return holder;
      const existing = await this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: { pk: item.pk, sk: item.sk }, ConsistentRead: true }),
      );
      return existing.Item ?? {};
    }
  }

  /** The notification this execution already published, if any (consistent read). */
  async sentNotification(executionArn: string): Promise<SentNotification | null> {
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { pk: s(`NOTIFY#${executionArn}`), sk: s('NOTIFY') },
        ConsistentRead: true,
      }),
    );
    const item = out.Item;
    if (!item) return null;
    return { messageId: item.messageId?.S ?? '', at: item.at?.S ?? '' };
  }

  /** Remember that this execution's notification was published (expires after 90 days, like claims). */
  async rememberNotification(executionArn: string, messageId: string, now: Date): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          pk: s(`NOTIFY#${executionArn}`),
          sk: s('NOTIFY'),
          messageId: s(messageId),
          at: s(now.toISOString()),
          expiresAt: n(Math.floor(now.getTime() / 1000) + 90 * 86400),
        },
      }),
    );
  }

  /** Release the lock if we still hold it. */
  async releaseKeyLock(keyArn: string, owner: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: { pk: s(`LOCK#${keyArn}`), sk: s('LOCK') },
          ConditionExpression: '#owner = :me',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':me': s(owner) },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /**
   * Append an audit entry: a conditional put on a new sort key (time + execution), so an entry is
   * never overwritten. A retried write of the same entry finds it already there: that is success.
   */
  async recordOutcome(entry: AuditEntry): Promise<void> {
    // A retried write of the same entry (an earlier attempt of this Record) finds it there.
    await this.putNewItem({
      pk: s(`KEY#${entry.keyArn}`),
      sk: s(`${entry.at}#${entry.executionArn}`),
      keyArn: s(entry.keyArn),
      at: s(entry.at),
      outcome: s(entry.outcome),
      reason: optional(entry.reason),
      detail: optional(entry.detail),
      source: s(entry.source),
      requestId: s(entry.requestId),
      findingId: optional(entry.findingId),
      findingType: optional(entry.findingType),
      requestedBy: optional(entry.requestedBy),
      breakGlass: { BOOL: entry.breakGlass },
      approvedBy: optional(entry.approvedBy),
      approvalReason: optional(entry.approvalReason),
      executionArn: s(entry.executionArn),
      via: optional(entry.via),
      previousKeyMaterialId: optional(entry.previousKeyMaterialId),
      currentKeyMaterialId: optional(entry.currentKeyMaterialId),
      onDemandRotationsUsed: optional(entry.onDemandRotationsUsed),
      rotationStartedAt: optional(entry.rotationStartedAt),
      confirmedAt: optional(entry.confirmedAt),
    });
  }

  /**
   * Append a re-encryption audit entry for a key (SummarizeReencryption): a conditional put on a
   * new sort key `<at>#<executionArn>#REENCRYPT#<index>`, never overwriting; a retried write of the
   * same entry finds it there. Texts are the report's, already bounded (errors 300, keys 256 chars).
   */
  async recordReencryption(entry: ReencryptionAuditEntry): Promise<void> {
    const r = entry.report;
    // A retried write of the same entry (an earlier attempt of this Summarize) finds it there.
    await this.putNewItem({
      pk: s(`KEY#${entry.keyArn}`),
      sk: s(`${entry.at}#${entry.executionArn}#REENCRYPT#${entry.index}`),
      kind: s(REENCRYPTION_ENTRY_KIND),
      keyArn: s(entry.keyArn),
      at: s(entry.at),
      executionArn: s(entry.executionArn),
      targetType: s(r.type),
      bucket: s(r.bucket),
      prefix: s(r.prefix),
      origin: s(r.origin),
      status: s(r.status),
      error: optional(r.error),
      objectsScanned: n(r.objectsScanned),
      objectsReencrypted: n(r.objectsReencrypted),
      objectsSkipped: n(r.objectsSkipped),
      skippedByReason: s(JSON.stringify(r.skippedByReason)),
      objectsFailed: n(r.objectsFailed),
      failures: s(JSON.stringify(r.failures)),
      objectsChangedDuringRun: n(r.objectsChangedDuringRun),
      bytesReencrypted: n(r.bytesReencrypted),
      oldVersionsLeft: n(r.oldVersionsLeft),
      bucketKeys: { BOOL: r.bucketKeys },
      throttlesRetried: n(r.throttlesRetried),
      batches: n(r.batches),
      batchesFailed: n(r.batchesFailed),
      durationMs: n(r.durationMs),
    });
  }

  /** Put an item that must not exist yet; finding it there already (an earlier attempt's write) is success. */
  private async putNewItem(Item: Record<string, AttributeValue>): Promise<void> {
    try {
      await this.client.send(
        new PutItemCommand({ TableName: this.tableName, ConditionExpression: 'attribute_not_exists(pk)', Item }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

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
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { pk: s(`APPROVAL#${approvalId}`), sk: s('APPROVAL') },
        ConsistentRead: true,
      }),
    );
    const item = out.Item;
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

  /**
   * Record a drill key this stack created (`DRILL#<keyArn>`): the drill component deletes only
   * these. Its entry in the open-drills list (`DRILL#OPEN`, sorted by creation time) is written
   * first, so the hourly sweep finds every recorded key that nobody cleaned up.
   */
  async putDrill(keyArn: string, createdBy: string, now: Date): Promise<void> {
    const createdAt = now.toISOString();
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: { pk: s(DRILL_OPEN_PK), sk: s(`${createdAt}#${keyArn}`), keyArn: s(keyArn), createdAt: s(createdAt) },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          pk: s(`DRILL#${keyArn}`),
          sk: s('DRILL'),
          keyArn: s(keyArn),
          createdBy: s(createdBy),
          createdAt: s(createdAt),
          status: s('CREATED'),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  /** The drill key's record: who created it, when, and whether it was scheduled for deletion; null when this stack did not create it. */
  async getDrill(keyArn: string): Promise<{ createdBy: string; createdAt: string; status: string } | null> {
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { pk: s(`DRILL#${keyArn}`), sk: s('DRILL') },
        ConsistentRead: true,
      }),
    );
    return out.Item
      ? {
          createdBy: out.Item.createdBy?.S ?? 'unknown',
          createdAt: out.Item.createdAt?.S ?? '',
          status: out.Item.status?.S ?? 'CREATED',
        }
      : null;
  }

  /**
   * Count one drill for `caller` on `now`'s UTC day (`DRILL#COUNT#<caller>`, expiring after two
   * days); false, counting nothing, when `cap` drills were already counted that day.
   */
  async countDrill(caller: string, now: Date, cap: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: s(`DRILL#COUNT#${caller}`), sk: s(now.toISOString().slice(0, 10)) },
          UpdateExpression: 'ADD drills :one SET expiresAt = :expires',
          ConditionExpression: 'attribute_not_exists(drills) OR drills < :cap',
          ExpressionAttributeValues: {
            ':one': { N: '1' },
            ':cap': { N: String(cap) },
            ':expires': { N: String(Math.floor(now.getTime() / 1000) + 2 * 86400) },
          },
        }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  /** Drill keys created before `cutoff` and not cleaned up (the open-drills list, oldest first). */
  async openDrillsBefore(cutoff: Date): Promise<{ keyArn: string; createdAt: string }[]> {
    const found: { keyArn: string; createdAt: string }[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :open AND sk < :cutoff',
          ExpressionAttributeValues: { ':open': s(DRILL_OPEN_PK), ':cutoff': s(cutoff.toISOString()) },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of out.Items ?? [])
        found.push({ keyArn: item.keyArn?.S ?? '', createdAt: item.createdAt?.S ?? '' });
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return found.filter((d) => d.keyArn !== '');
  }

  /** Take a drill key off the open-drills list (cleaned up or swept). */
  async closeOpenDrill(keyArn: string, createdAt: string): Promise<void> {
    await this.client.send(
      new DeleteItemCommand({
        TableName: this.tableName,
        Key: { pk: s(DRILL_OPEN_PK), sk: s(`${createdAt}#${keyArn}`) },
      }),
    );
  }

  /** Mark a drill key scheduled for deletion (by whom, when). */
  async markDrillDeleted(keyArn: string, by: string, now: Date): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { pk: s(`DRILL#${keyArn}`), sk: s('DRILL') },
        UpdateExpression: 'SET #status = :deleted, deletedBy = :by, deletedAt = :now',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':deleted': s('SCHEDULED_FOR_DELETION'),
          ':by': s(by),
          ':now': s(now.toISOString()),
        },
      }),
    );
  }
}
