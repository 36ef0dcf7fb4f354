import { buffer as readBody } from 'node:stream/consumers';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AddressInfo } from 'node:net';
import { createServer, request, type Server, type ServerResponse } from 'node:http';
import type { CfnTemplate } from './template';
import { createAccountIam, SignatureRefused, type AccountIam } from './iam';
import { dynamodbChecks, type KeySchemas } from './iam/dynamodb';
import { parseWorld } from './world';

// dynalite: a DynamoDB implementation on LevelDB (in memory here), from npm. No types published.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- dynalite publishes no types or ES module
const dynalite: (opts: Record<string, unknown>) => Server = require('dynalite');

export interface LocalLedger {
  /** The IAM-checking front of the table (what the handlers and tests use). */
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
export async function startLocalLedger(
  template: CfnTemplate,
  region: string,
  opts: { iam?: AccountIam; account?: string } = {},
): Promise<LocalLedger> {
  const tables = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::DynamoDB::Table');
  if (tables.length !== 1) throw new Error(`expected one DynamoDB table in the template, found ${tables.length}`);
  const [logicalId, table] = tables[0];

  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const backend = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // Creating the table is CloudFormation's work: straight to dynalite, not through IAM.
  const client = new DynamoDBClient({
    endpoint: backend,
    region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
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
  const account = opts.iam?.account ?? opts.account ?? parseWorld({}, 'the local ledger').account;
  const iam =
    opts.iam ??
    createAccountIam({
      template,
      world: parseWorld({ account, region }, 'the local ledger'),
      account,
      region,
      resources: { [logicalId]: LOCAL_LEDGER_TABLE },
    });
  const schemas: KeySchemas = {
    table: hashKey(table.Properties.KeySchema),
    indexes: Object.fromEntries(
      (table.Properties.GlobalSecondaryIndexes ?? []).map((g: { IndexName: string; KeySchema: unknown }) => [
        g.IndexName,
        hashKey(g.KeySchema),
      ]),
    ),
  };
  const proxy = await startIamProxy(backend, iam, region, (name) =>
    name === LOCAL_LEDGER_TABLE ? schemas : undefined,
  );
  const closeServer = (srv: Server) =>
    new Promise<void>((resolve) => {
      (srv as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
      srv.close(() => resolve());
    });
  return {
    endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    tableName: LOCAL_LEDGER_TABLE,
    logicalId,
    close: async () => {
      await closeServer(proxy);
      await closeServer(server);
    },
  };
}

function hashKey(schema: unknown): string {
  return (
    ((schema as { AttributeName: string; KeyType: string }[]) ?? []).find((k) => k.KeyType === 'HASH')?.AttributeName ??
    ''
  );
}

/** DynamoDB's JSON error answer (awsJson1_0). */
function refuse(res: ServerResponse, code: string, message: string): void {
  res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
  res.end(JSON.stringify({ __type: `com.amazon.coral.service#${code}`, message }));
}

const AUTH_CODES: Record<SignatureRefused['reason'], string> = {
  missing: 'MissingAuthenticationTokenException',
  'unknown-key': 'UnrecognizedClientException',
  mismatch: 'InvalidSignatureException',
  incomplete: 'IncompleteSignatureException',
  expired: 'InvalidSignatureException',
  scope: 'InvalidSignatureException',
  'content-sha256': 'InvalidSignatureException',
};

/**
 * A SigV4-verifying, IAM-authorizing front for dynalite (which checks neither): each request's
 * signature is verified against the account's principals, `dynamodb:<Op>` authorized on the
 * table (or index) with `dynamodb:LeadingKeys` (local/iam/dynamodb.ts), then forwarded as is.
 */
async function startIamProxy(
  backend: string,
  iam: AccountIam,
  region: string,
  schemas: (table: string) => KeySchemas | undefined,
): Promise<Server> {
  const tableArnOf = (table: string) => `arn:aws:dynamodb:${region}:${iam.account}:table/${table}`;
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      let caller;
      try {
        caller = await iam.verify(
          { method: req.method ?? 'POST', url: new URL(req.url ?? '/', 'http://ledger'), headers: req.headers, body },
          'dynamodb',
        );
      } catch (e) {
        if (e instanceof SignatureRefused) return refuse(res, AUTH_CODES[e.reason], e.message);
        throw e;
      }
      const target = String(req.headers['x-amz-target'] ?? '');
      const op = target.startsWith('DynamoDB_20120810.') ? target.slice('DynamoDB_20120810.'.length) : '';
      if (op) {
        let input: Record<string, unknown>;
        try {
          input = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
        } catch {
          return refuse(res, 'SerializationException', 'Start of structure or map found where not expected.');
        }
        for (const check of dynamodbChecks(op, input, tableArnOf, schemas)) {
          const decision = iam.authorize(caller, check.action, check.resource, check.context);
          if (!decision.allowed) return refuse(res, 'AccessDeniedException', decision.message);
        }
      }
      const forward = request(`${backend}${req.url ?? '/'}`, { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 500, answer.headers);
        answer.pipe(res);
      });
      forward.on('error', (e) => refuse(res, 'InternalServerError', `local ledger: ${e.message}`));
      forward.end(body);
    })().catch((e: unknown) => {
      if (!res.headersSent) refuse(res, 'InternalServerError', `local ledger proxy: ${String(e)}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return server;
}
