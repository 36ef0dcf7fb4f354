import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { ConfigurationError } from '../config';

/* The ledger's attribute-value helpers and the table client every part of the ledger shares. */

/** A string attribute. */
export const s = (v: string): AttributeValue => ({ S: v });
/** A number attribute. */
export const n = (v: number): AttributeValue => ({ N: String(v) });
/** A string or number attribute, or NULL when absent. */
export const optional = (v: string | number | null | undefined): AttributeValue =>
  v === null || v === undefined ? { NULL: true } : typeof v === 'number' ? n(v) : s(v);

/** True when a conditional write was refused because its condition did not hold. */
export function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException || (error as Error)?.name === 'ConditionalCheckFailedException'
  );
}

/**
 * The ledger table and its client, and the two conditional puts the item kinds share. Takes its
 * table name (from the runtime config) and its client: a handler passes its per-Region client,
 * tests and local runs a client for dynalite.
 */
export class LedgerTable {
  constructor(
    readonly tableName: string,
    protected readonly client: DynamoDBClient,
  ) {
    // A function without its table is a deployment bug: say so by name, never retry it.
    if (!tableName) throw new ConfigurationError('the ledger table name is not set (LEDGER_TABLE)');
  }

  /**
   * The guard behind claims and locks: put `item` if `condition` holds; otherwise return the item
   * that holds the place, so callers can say who has it. DynamoDB hands the holder back with the
   * refusal (`ReturnValuesOnConditionCheckFailure: ALL_OLD`), so no second read is needed; where
   * the refusal carries no item (dynalite, the local ledger, ignores the parameter) the holder is
   * read back with a strongly consistent GetItem instead.
   */
  protected async putUnlessHeld(
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
      return (await this.consistentItem(item.pk.S!, item.sk.S!)) ?? {};
    }
  }

  /** One item by its keys, read consistently (every read of the ledger decides something); null when absent. */
  protected async consistentItem(pk: string, sk: string): Promise<Record<string, AttributeValue> | null> {
    const out = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: { pk: { S: pk }, sk: { S: sk } }, ConsistentRead: true }),
    );
    return out.Item ?? null;
  }

  /** Put an item that must not exist yet; finding it there already (an earlier attempt's write) is success. */
  protected async putNewItem(Item: Record<string, AttributeValue>): Promise<void> {
    try {
      await this.client.send(
        new PutItemCommand({ TableName: this.tableName, ConditionExpression: 'attribute_not_exists(pk)', Item }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }
}
