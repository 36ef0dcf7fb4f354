import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { CfnTemplate } from './template';

// dynalite: a DynamoDB implementation on LevelDB (in memory here), from npm. No types published.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- dynalite publishes no types or ES module
const dynalite: (opts: Record<string, unknown>) => Server = require('dynalite');

export interface LocalLedger {
  endpoint: string;
  tableName: string;
  /** The ledger table's logical id in the template (its Ref resolves to `tableName`). */
  logicalId: string;
  close(): Promise<void>;
}

/** The local table's name: what `Ref` of the ledger resolves to in local runs. */
export const LOCAL_LEDGER_TABLE = 'kms-incident-rotation-ledger';

/** The ledger table's logical id in the template (exactly one DynamoDB table). */
export function ledgerLogicalId(template: CfnTemplate): string {
  const tables = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::DynamoDB::Table');
  if (tables.length !== 1) throw new Error(`expected one DynamoDB table in the template, found ${tables.length}`);
  return tables[0][0];
}

/**
 * Start dynalite on 127.0.0.1 (a free port, in memory) and create the ledger table with the key
 * schema the synthesized template declares.
 */
export async function startLocalLedger(template: CfnTemplate, region: string): Promise<LocalLedger> {
  const tables = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::DynamoDB::Table');
  if (tables.length !== 1) throw new Error(`expected one DynamoDB table in the template, found ${tables.length}`);
  const [logicalId, table] = tables[0];

  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({ endpoint, region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    await client.send(
      new CreateTableCommand({
        TableName: LOCAL_LEDGER_TABLE,
        KeySchema: table.Properties.KeySchema,
        AttributeDefinitions: table.Properties.AttributeDefinitions,
        // The sparse PendingApprovals index (the approval watch's Query).
        GlobalSecondaryIndexes: table.Properties.GlobalSecondaryIndexes,
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } finally {
    client.destroy();
  }
  return {
    endpoint,
    tableName: LOCAL_LEDGER_TABLE,
    logicalId,
    close: () =>
      new Promise<void>((resolve) => {
        (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
