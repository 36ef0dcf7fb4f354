import {
  DeleteItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { LedgerApprovals } from './ledger-approvals';
import { isConditionFailure, s } from './ledger-base';

/*
 * The ledger's drill items: `DRILL#<keyArn>` records, the open-drills list (`DRILL#OPEN`) and
 * the per-person daily counts (`DRILL#COUNT#<person>`).
 */

/** The open-drills list's partition: one entry per drill started and not yet scheduled for deletion. */
const DRILL_OPEN_PK = 'DRILL#OPEN';

/** A drill about to create its key: the open-drills entry written before CreateKey. */
export interface DrillIntent {
  /** Random per drill: CreateKey's description names it, so the sweep can find a key whose record was never completed. */
  intentId: string;
  /** The verified caller ARN. */
  createdBy: string;
  /** The person's key (lambdas/domain/approvals/people.ts), whose daily cap the drill counted against. */
  person: string;
  createdAt: string;
}

/** An entry of the open-drills list: its key ARN once the drill completed its record, null before. */
export interface OpenDrill {
  /** The entry's sort key (closeOpenDrill takes it). */
  sk: string;
  intentId: string | null;
  keyArn: string | null;
  createdAt: string;
}

/** A drill key's record (`DRILL#<keyArn>`). */
export interface DrillRecord {
  createdBy: string;
  createdAt: string;
  status: string;
  /** Its entry in the open-drills list. */
  openSk: string;
}

/** The ledger's drill records (lambdas/drill). */
export class LedgerDrills extends LedgerApprovals {
  /**
   * Open a drill before its key exists (`DRILL#OPEN`, sorted by start time): if the drill dies
   * between CreateKey and completeDrill, the sweep still knows a key may exist and finds it by the
   * intent id in its description.
   */
  async openDrill(intent: DrillIntent): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          pk: s(DRILL_OPEN_PK),
          sk: s(openSkOf(intent)),
          intentId: s(intent.intentId),
          createdBy: s(intent.createdBy),
          person: s(intent.person),
          createdAt: s(intent.createdAt),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  /**
   * Complete a drill's record once its key exists: `DRILL#<keyArn>` (the cleanup route deletes
   * only keys with one) and the key ARN on its open-drills entry.
   */
  async completeDrill(intent: DrillIntent, keyArn: string): Promise<void> {
    const sk = openSkOf(intent);
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: {
          pk: s(`DRILL#${keyArn}`),
          sk: s('DRILL'),
          keyArn: s(keyArn),
          createdBy: s(intent.createdBy),
          person: s(intent.person),
          createdAt: s(intent.createdAt),
          intentId: s(intent.intentId),
          openSk: s(sk),
          status: s('CREATED'),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { pk: s(DRILL_OPEN_PK), sk: s(sk) },
        UpdateExpression: 'SET keyArn = :arn',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':arn': s(keyArn) },
      }),
    );
  }

  /** The drill key's record: who created it, when, and whether it was scheduled for deletion; null when this stack did not record it. */
  async getDrill(keyArn: string): Promise<DrillRecord | null> {
    const item = await this.consistentItem(`DRILL#${keyArn}`, 'DRILL');
    if (!item) return null;
    const createdAt = item.createdAt?.S ?? '';
    return {
      createdBy: item.createdBy?.S ?? 'unknown',
      createdAt,
      status: item.status?.S ?? 'CREATED',
      // Records written before drills opened their entry first: the entry was keyed by the key ARN.
      openSk: item.openSk?.S ?? `${createdAt}#${keyArn}`,
    };
  }

  /**
   * Count one drill for `person` on `now`'s UTC day (`DRILL#COUNT#<person>`, expiring after two
   * days); false, counting nothing, when `cap` drills were already counted that day.
   */
  async countDrill(person: string, now: Date, cap: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: s(`DRILL#COUNT#${person}`), sk: s(now.toISOString().slice(0, 10)) },
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
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Drills started before `cutoff` and not cleaned up (the open-drills list, oldest first). */
  async openDrillsBefore(cutoff: Date): Promise<OpenDrill[]> {
    const found: OpenDrill[] = [];
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
        found.push({
          sk: item.sk?.S ?? '',
          intentId: item.intentId?.S ?? null,
          keyArn: item.keyArn?.S ?? null,
          createdAt: item.createdAt?.S ?? '',
        });
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return found.filter((d) => d.sk !== '' && (d.keyArn !== null || d.intentId !== null));
  }

  /** Take a drill off the open-drills list (cleaned up, swept, or its key never created). */
  async closeOpenDrill(sk: string): Promise<void> {
    await this.client.send(
      new DeleteItemCommand({
        TableName: this.tableName,
        Key: { pk: s(DRILL_OPEN_PK), sk: s(sk) },
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

/** An intent's open-drills sort key: start time first, so the sweep reads the old ones by range. */
function openSkOf(intent: DrillIntent): string {
  return `${intent.createdAt}#${intent.intentId}`;
}
