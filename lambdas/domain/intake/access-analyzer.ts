/** IAM Access Analyzer findings (`aws.access-analyzer`, detail-type `Access Analyzer Finding`). */
import { FindingFacts, isObj, KeyCollector, own, text } from './read';

/** A scalar as a short word; anything else as `?` (String() throws on some objects). */
function word(v: unknown): string {
  if (typeof v === 'string') return v.length > 128 ? `${v.slice(0, 128)}…` : v;
  return typeof v === 'number' || typeof v === 'boolean' ? String(v) : '?';
}

/** Words for an Access Analyzer principal map, e.g. `AWS: 444455556666`. */
function principalWords(principal: unknown): string | undefined {
  if (!isObj(principal)) return undefined;
  const parts = Object.entries(principal)
    .slice(0, 5)
    .map(([k, v]) => `${word(k)}: ${Array.isArray(v) ? v.slice(0, 5).map(word).join(', ') : word(v)}`);
  return parts.length > 0 ? parts.join('; ') : undefined;
}

/** IAM Access Analyzer: the finding's resource, when it is a KMS key and the finding is ACTIVE. */
export function readAccessAnalyzer(detail: unknown, keys: KeyCollector): FindingFacts {
  const isKey = own(detail, 'resourceType') === 'AWS::KMS::Key';
  if (isKey && own(detail, 'status') === 'ACTIVE') {
    keys.add(own(detail, 'resource'), { account: own(detail, 'accountId'), region: own(detail, 'region') });
  }
  const resource = text(own(detail, 'resource'), 400) ?? 'a resource';
  const what = isKey ? `KMS key ${resource}` : resource;
  const principal = principalWords(own(detail, 'principal'));
  const title =
    own(detail, 'isPublic') === true
      ? `IAM Access Analyzer: the policy of ${what} allows public access`
      : `IAM Access Analyzer: ${what} is shared outside the zone of trust${principal ? ` (principal ${principal})` : ''}`;
  return {
    findingId: text(own(detail, 'id')),
    // Resource findings are external-access findings (unused access has its own detail-type).
    findingType: text(own(detail, 'findingType')) ?? 'ExternalAccess',
    title,
  };
}
