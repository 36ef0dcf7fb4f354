import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';

/**
 * AWS client factories. One client per Region (a multi-Region replica is rotated through its
 * primary, in the primary's Region), reused across invocations. The SDK reads endpoints from the
 * standard environment (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_KMS, ...), which is how local runs
 * reach the stand-in; the cache key includes them so a changed endpoint gets a new client.
 */
const clients = new Map<string, unknown>();

function cached<T>(service: string, region: string, variant: string, create: () => T): T {
  const endpoint = process.env[`AWS_ENDPOINT_URL_${service}`] ?? process.env.AWS_ENDPOINT_URL ?? '';
  const key = `${service}|${variant}|${region}|${endpoint}`;
  let client = clients.get(key) as T | undefined;
  if (!client) {
    client = create();
    clients.set(key, client);
  }
  return client;
}

export function kmsClient(region: string): KMSClient {
  return cached('KMS', region, 'default', () => new KMSClient({ region }));
}

/**
 * KMS with SDK retries OFF, for RotateKeyOnDemand only: an SDK retry after a lost response could
 * start a second rotation. Step Functions retries the whole Rotate task instead, behind its guard.
 */
export function kmsClientWithoutRetries(region: string): KMSClient {
  return cached('KMS', region, 'no-retries', () => new KMSClient({ region, maxAttempts: 1 }));
}

export function snsClient(region: string): SNSClient {
  return cached('SNS', region, 'default', () => new SNSClient({ region }));
}

export function dynamoClient(region: string): DynamoDBClient {
  return cached('DYNAMODB', region, 'default', () => new DynamoDBClient({ region }));
}

export function sfnClient(region: string): SFNClient {
  return cached('SFN', region, 'default', () => new SFNClient({ region }));
}
