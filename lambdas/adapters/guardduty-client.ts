import { GuardDutyClient } from '@aws-sdk/client-guardduty';
import { cachedClient } from './clients';

/** GuardDuty for this Region (see clients.ts). */
export function guardDutyClient(region: string): GuardDutyClient {
  return cachedClient('GUARDDUTY', region, 'default', () => new GuardDutyClient({ region }));
}
