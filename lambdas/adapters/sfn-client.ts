import { SFNClient } from '@aws-sdk/client-sfn';
import { cachedClient } from './clients';

/** Step Functions for this Region (see clients.ts): the front door starts executions and answers approvals. */
export function sfnClient(region: string): SFNClient {
  return cachedClient('SFN', region, 'default', () => new SFNClient({ region }));
}
