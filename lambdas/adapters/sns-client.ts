import { SNSClient } from '@aws-sdk/client-sns';
import { cachedClient } from './clients';

/** SNS for this Region (see clients.ts). */
export function snsClient(region: string): SNSClient {
  return cachedClient('SNS', region, 'default', () => new SNSClient({ region }));
}
