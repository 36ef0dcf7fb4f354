import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { cachedClient } from './clients';

/** DynamoDB for this Region (see clients.ts). */
export function dynamoClient(region: string): DynamoDBClient {
  return cachedClient('DYNAMODB', region, 'default', () => new DynamoDBClient({ region }));
}
