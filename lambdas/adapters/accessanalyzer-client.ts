import { AccessAnalyzerClient } from '@aws-sdk/client-accessanalyzer';
import { cachedClient } from './clients';

/** IAM Access Analyzer for this Region (see clients.ts). */
export function accessAnalyzerClient(region: string): AccessAnalyzerClient {
  return cachedClient('ACCESSANALYZER', region, 'default', () => new AccessAnalyzerClient({ region }));
}
