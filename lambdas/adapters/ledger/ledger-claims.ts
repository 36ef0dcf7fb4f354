import { DeleteItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { isConditionFailure, LedgerTable, n, s } from './ledger-base';

/*
 * Claims, locks and markers of the ledger:
 * - `REQUEST#<requestId>` claims: which execution handles a finding (exactly-once per finding);
 * - `LOCK#<keyArn>` leases: which execution may rotate a key right now (one rotation at a time);
 * - `NOTIFY#<executionArn>` markers: the execution's notification was published (its message id),
 *   so a retried Notify does not publish it again.
 */

/** A notification already published for an execution. */
export interface SentNotification {
  messageId: string;
  at: string;
}

export type ClaimResult = { claimed: true } | { claimed: false; by: string; at: string };
export type LockResult = { acquired: true } | { acquired: false; owner: string; leaseUntil: string };

/** The ledger's claims, key locks and notification markers. */
export class LedgerClaims extends LedgerTable {
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

  /** The notification this execution already published, if any (consistent read). */
  async sentNotification(executionArn: string): Promise<SentNotification | null> {
    const item = await this.consistentItem(`NOTIFY#${executionArn}`, 'NOTIFY');
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
}
