import { QueryCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AuditEntry } from '../lambdas/adapters/ledger/ledger-audit';
import type { Outcome, Reason, RequestSource } from '../lambdas/domain/contracts';

// Tests read a key's audit trail straight from the ledger table: the product only writes it
// (people read it in the console or with their own queries), so the reader lives here.

/** A key's audit trail (the `KEY#<arn>` partition), oldest first. */
export async function auditTrail(client: DynamoDBClient, tableName: string, keyArn: string): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: `KEY#${keyArn}` } },
        ExclusiveStartKey: start,
      }),
    );
    // Re-encryption entries (`kind: REENCRYPTION`) share the partition; this reader is for rotation entries.
    for (const item of page.Items ?? []) if (item.kind === undefined) entries.push(fromItem(item));
    start = page.LastEvaluatedKey;
  } while (start);
  return entries;
}

function fromItem(item: Record<string, AttributeValue>): AuditEntry {
  const str = (k: string) => item[k]?.S ?? null;
  const num = (k: string) => (item[k]?.N === undefined ? null : Number(item[k].N));
  return {
    keyArn: str('keyArn')!,
    at: str('at')!,
    outcome: str('outcome') as Outcome,
    reason: str('reason') as Reason | null,
    detail: str('detail'),
    source: str('source') as RequestSource,
    requestId: str('requestId')!,
    findingId: str('findingId'),
    findingType: str('findingType'),
    requestedBy: str('requestedBy'),
    breakGlass: item.breakGlass?.BOOL === true,
    approvedBy: str('approvedBy'),
    approvalReason: str('approvalReason'),
    executionArn: str('executionArn')!,
    via: str('via'),
    previousKeyMaterialId: str('previousKeyMaterialId'),
    currentKeyMaterialId: str('currentKeyMaterialId'),
    onDemandRotationsUsed: num('onDemandRotationsUsed'),
    rotationStartedAt: str('rotationStartedAt'),
    confirmedAt: str('confirmedAt'),
  };
}
