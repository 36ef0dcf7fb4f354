import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { LedgerApprovals } from './ledger-approvals';
import { s } from './ledger-base';

/*
 * The ledger's drill items: `DRILL#<keyArn>` records, the open-drills list and the per-person daily counts.
 */

/** The open-drills list's partition: one entry per drill key not yet scheduled for deletion. */
const DRILL_OPEN_PK = 'DRILL#OPEN';

/** The ledger's drill records (lambdas/drill). */
export class LedgerDrills extends LedgerApprovals {
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
