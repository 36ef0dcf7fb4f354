/** GuardDuty findings (`aws.guardduty`, detail-type `GuardDuty Finding`). */
import { classifyKeyRef, type KeyLocation } from './key-refs';
import {
  at,
  FindingFacts,
  IntakeContext,
  isObj,
  items,
  KeyCollector,
  MAX_SCAN,
  namesKmsEncryption,
  own,
  text,
} from './read';
import type { BucketCollector } from './targets';

/** GuardDuty's bands (current): Low 1.0–3.9, Medium 4.0–6.9, High 7.0–8.9, Critical 9.0–10.0. */
export function guardDutySeverityLabel(score: number): 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL' | null {
  if (!Number.isFinite(score) || score < 0 || score > 10) return null;
  if (score < 4) return 'LOW';
  if (score < 7) return 'MEDIUM';
  if (score < 9) return 'HIGH';
  return 'CRITICAL';
}

/**
 * GuardDuty: keys of S3 buckets' default encryption, of scanned EBS volumes, and of KMS API calls
 * (`affectedResources`). A bucket whose default encryption names a key (`s3BucketDetails[].name`)
 * is a re-encryption target: its objects may be under that key. An archived finding
 * (`service.archived`) names no keys and no buckets.
 */
export function readGuardDuty(
  detail: unknown,
  keys: KeyCollector,
  _ctx?: IntakeContext,
  buckets?: BucketCollector,
): FindingFacts {
  const score = own(detail, 'severity');
  const severity = typeof score === 'number' && guardDutySeverityLabel(score) ? score : undefined;
  const facts: FindingFacts = {
    findingId: text(own(detail, 'id')),
    findingType: text(own(detail, 'type')),
    severity,
    severityLabel: severity === undefined ? undefined : (guardDutySeverityLabel(severity) ?? undefined),
    title: text(own(detail, 'title'), Infinity),
  };
  if (at(detail, 'service', 'archived') === true) return facts;

  const where: KeyLocation = {
    account: own(detail, 'accountId'),
    region: own(detail, 'region'),
    partition: own(detail, 'partition'),
  };
  const resource = own(detail, 'resource');
  for (const bucket of items(own(resource, 's3BucketDetails'))) {
    const sse = own(bucket, 'defaultServerSideEncryption');
    if (namesKmsEncryption(own(sse, 'encryptionType')) && keys.add(own(sse, 'kmsMasterKeyArn'), where))
      buckets?.add(own(bucket, 'name'));
  }
  for (const volume of items(at(resource, 'ebsVolumeDetails', 'scannedVolumeDetails'))) {
    keys.add(own(volume, 'kmsKeyArn'), where);
  }
  const call = at(detail, 'service', 'action', 'awsApiCallAction');
  const affected = own(call, 'affectedResources');
  if (own(call, 'serviceName') === 'kms.amazonaws.com' && isObj(affected)) {
    for (const [type, value] of Object.entries(affected).slice(0, MAX_SCAN)) {
      if (type === 'AWS::KMS::Key') keys.add(value, where);
      // Another label, but the value is plainly a key ARN: keep it (never a bare id: ambiguous).
      else if (typeof value === 'string' && classifyKeyRef(value)?.kind === 'keyArn') keys.add(value);
    }
  }
  return facts;
}
