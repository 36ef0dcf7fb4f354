import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { cachedClient } from './clients';

/** Security Hub for this Region (see clients.ts). */
export function securityHubClient(region: string): SecurityHubClient {
  return cachedClient('SECURITYHUB', region, 'default', () => new SecurityHubClient({ region }));
}
