import type { AuthorizationCheck } from './requests';

/**
 * DynamoDB authorization (Service Authorization Reference, "Actions defined by Amazon DynamoDB";
 * DynamoDB developer guide, "Using IAM policy conditions for fine-grained access control"):
 * `dynamodb:<Op>` on the table ARN, or on `<table ARN>/index/<name>` for a Query or Scan of an
 * index, with `dynamodb:LeadingKeys` = the partition key values the request names (the table's
 * partition key, or the index's for an index Query).
 */

type AttributeValue = Record<string, unknown>;
type Input = Record<string, unknown>;

/** The partition key attribute of the table and of each index. */
export interface KeySchemas {
  table: string;
  indexes: Record<string, string>;
}

function scalar(value: unknown): string | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const v = value as AttributeValue;
  for (const type of ['S', 'N', 'B']) if (typeof v[type] === 'string') return v[type] as string;
  return undefined;
}

/**
 * The partition key values of a KeyConditionExpression: `<name> = <:value>` terms whose name is
 * the partition key (directly or through ExpressionAttributeNames).
 */
function keyConditionValues(input: Input, partitionKey: string): string[] {
  const expression = typeof input.KeyConditionExpression === 'string' ? input.KeyConditionExpression : '';
  const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
  const values = (input.ExpressionAttributeValues ?? {}) as Record<string, unknown>;
  const out: string[] = [];
  for (const m of expression.matchAll(/([#A-Za-z0-9_.-]+)\s*=\s*(:[A-Za-z0-9_]+)/g)) {
    const name = m[1].startsWith('#') ? names[m[1]] : m[1];
    const value = scalar(values[m[2]]);
    if (name === partitionKey && value !== undefined) out.push(value);
  }
  return out;
}

/** The authorization a DynamoDB request needs; `op` from `X-Amz-Target: DynamoDB_20120810.<Op>`. */
export function dynamodbChecks(
  op: string,
  input: Input,
  tableArnOf: (table: string) => string,
  schemas: (table: string) => KeySchemas | undefined,
): AuthorizationCheck[] {
  const table = String(input.TableName ?? '');
  const schema = schemas(table);
  const indexName = typeof input.IndexName === 'string' ? input.IndexName : undefined;
  const resource = indexName ? `${tableArnOf(table)}/index/${indexName}` : tableArnOf(table);
  const context: Record<string, string | string[]> = {};
  if (schema) {
    const partitionKey = indexName ? schema.indexes[indexName] : schema.table;
    let leading: string[] = [];
    if (op === 'GetItem' || op === 'DeleteItem' || op === 'UpdateItem')
      leading = [scalar((input.Key as Input | undefined)?.[partitionKey])].filter((v): v is string => v !== undefined);
    else if (op === 'PutItem')
      leading = [scalar((input.Item as Input | undefined)?.[partitionKey])].filter((v): v is string => v !== undefined);
    else if (op === 'Query' && partitionKey) leading = keyConditionValues(input, partitionKey);
    if (leading.length) context['dynamodb:LeadingKeys'] = leading;
  }
  return [{ action: `dynamodb:${op}`, resource, context }];
}
