import { KMSClient } from '@aws-sdk/client-kms';
import { SNSClient } from '@aws-sdk/client-sns';

/**
 * AWS client factories. One client per Region (a multi-Region replica is rotated through its
 * primary, in the primary's Region), reused across invocations. The SDK reads endpoints from the
 * standard environment (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_KMS, ...), which is how local runs
 * reach the stand-in; the cache key includes them so a changed endpoint gets a new client.
 */
const kmsClients = new Map<string, KMSClient>();
const snsClients = new Map<string, SNSClient>();

function cacheKey(region: string, service: string): string {
  const endpoint = process.env[`AWS_ENDPOINT_URL_${service}`] ?? process.env.AWS_ENDPOINT_URL ?? '';
  return `${region}|${endpoint}`;
}

export function kmsClient(region: string): KMSClient {
  const key = cacheKey(region, 'KMS');
  let client = kmsClients.get(key);
  if (!client) {
    client = new KMSClient({ region });
    kmsClients.set(key, client);
  }
  return client;
}

export function snsClient(region: string): SNSClient {
  const key = cacheKey(region, 'SNS');
  let client = snsClients.get(key);
  if (!client) {
    client = new SNSClient({ region });
    snsClients.set(key, client);
  }
  return client;
}
