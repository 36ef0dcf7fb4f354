import { DeleteItemCommand, DynamoDBClient, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { createAccountIam, type AccountIam, type Principal } from '../../local/iam';
import { LOCAL_LEDGER_TABLE, ledgerLogicalId, startLocalLedger, type LocalLedger } from '../../local/ledger-local';
import { synthTemplate } from '../../local/template';
import { parseSettings } from '../../lib/settings/settings';
import { parseWorld } from '../../local/world';

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const template = synthTemplate(parseSettings({}, 'test'), { account: ACCOUNT, region: REGION });
let iam: AccountIam;
let ledger: LocalLedger;
beforeAll(async () => {
  iam = createAccountIam({
    template,
    world: parseWorld({ account: ACCOUNT, region: REGION }, 'ddb test'),
    account: ACCOUNT,
    region: REGION,
    resources: { [ledgerLogicalId(template)]: LOCAL_LEDGER_TABLE },
  });
  ledger = await startLocalLedger(template, REGION, { iam });
});
afterAll(() => ledger.close());

const client = (p: { accessKeyId: string; secretAccessKey: string }) =>
  new DynamoDBClient({
    endpoint: ledger.endpoint,
    region: REGION,
    credentials: { accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey },
    maxAttempts: 1,
  });
const put = (p: Principal, pk: string) =>
  client(p).send(new PutItemCommand({ TableName: LOCAL_LEDGER_TABLE, Item: { pk: { S: pk }, sk: { S: 'x' } } }));
async function errorOf(promise: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await promise;
  } catch (e) {
    return { name: (e as Error).name, message: (e as Error).message };
  }
  return { name: 'none', message: '' };
}

describe('the local ledger: SigV4 and IAM in front of dynalite', () => {
  it('dynamodb:LeadingKeys: the Record role writes KEY# items only', async () => {
    const record = iam.principals.functionRole('record');
    await put(record, 'KEY#arn:aws:kms:us-east-1:111122223333:key/k');
    const denied = await errorOf(put(record, 'LOCK#arn:aws:kms:us-east-1:111122223333:key/k'));
    expect(denied.name).toBe('AccessDeniedException');
    expect(denied.message).toBe(
      `User: ${record.arn} is not authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${LOCAL_LEDGER_TABLE} because no identity-based policy allows the dynamodb:PutItem action`,
    );
    await client(record).send(
      new DeleteItemCommand({ TableName: LOCAL_LEDGER_TABLE, Key: { pk: { S: 'LOCK#k' }, sk: { S: 'x' } } }),
    );
  });

  it('an index Query is authorized on the index ARN, with the index partition key as the leading key', async () => {
    const watch = iam.principals.functionRole('approval-watch');
    const query = (value: string) =>
      client(watch).send(
        new QueryCommand({
          TableName: LOCAL_LEDGER_TABLE,
          IndexName: 'PendingApprovals',
          KeyConditionExpression: '#p = :p',
          ExpressionAttributeNames: { '#p': 'pendingApproval' },
          ExpressionAttributeValues: { ':p': { S: value } },
          Select: 'COUNT',
        }),
      );
    expect((await query('APPROVAL#PENDING')).Count).toBe(0);
    const denied = await errorOf(query('KEY#anything'));
    expect(denied.name).toBe('AccessDeniedException');
    expect(denied.message).toContain(`table/${LOCAL_LEDGER_TABLE}/index/PendingApprovals`);
  });

  it('an unknown access key or a wrong secret is refused before dynalite sees the request', async () => {
    expect((await errorOf(put({ ...iam.principals.test(), accessKeyId: 'AKIANOBODY0000000000' }, 'KEY#x'))).name).toBe(
      'UnrecognizedClientException',
    );
    expect((await errorOf(put({ ...iam.principals.test(), secretAccessKey: 'wrong-wrong-wrong' }, 'KEY#x'))).name).toBe(
      'InvalidSignatureException',
    );
  });
});
