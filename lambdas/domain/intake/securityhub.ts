/** Security Hub CSPM findings (`aws.securityhub`, ASFF, detail-type `Security Hub Findings - Imported`). */
import type { KeyLocation } from './key-refs';
import { at, FindingFacts, IntakeContext, items, KeyCollector, namesKmsEncryption, own, text } from './read';
import { bucketOfArn, type BucketCollector } from './targets';

const ASFF_LABELS = new Set(['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL']);
/**
 * An ASFF finding is acted on only while ACTIVE and NEW, as the rule's pattern says. NOTIFIED is
 * what this workflow (or a person who took the finding) wrote with BatchUpdateFindings, and every
 * such update comes back as another "Imported" event: acting on it would start a run for our own
 * update. The rule matches when any finding of an event matches, so each finding is checked here.
 */
function isOpenAsff(finding: unknown): boolean {
  return own(finding, 'RecordState') === 'ACTIVE' && at(finding, 'Workflow', 'Status') === 'NEW';
}

function asffFacts(finding: unknown): FindingFacts {
  const label = at(finding, 'Severity', 'Label');
  const normalized = at(finding, 'Severity', 'Normalized');
  return {
    findingId: text(own(finding, 'Id')),
    findingType: text(items(own(finding, 'Types'))[0]),
    severity:
      typeof normalized === 'number' && Number.isFinite(normalized) && normalized >= 0 && normalized <= 100
        ? normalized / 10
        : undefined,
    severityLabel: typeof label === 'string' && ASFF_LABELS.has(label) ? label : undefined,
    title: text(own(finding, 'Title'), Infinity),
  };
}

/**
 * The rule matches an event when ANY of its findings matches, so each finding of a
 * multi-finding event is checked again here: its severity label is one acted on and its
 * ProductArn starts with an accepted prefix (anyone with securityhub:BatchImportFindings can
 * import findings under their own product ARN).
 */
function isActedOn(finding: unknown, checks: IntakeContext['securityHub']): boolean {
  if (!checks) return true;
  const label = at(finding, 'Severity', 'Label');
  const product = own(finding, 'ProductArn');
  return (
    typeof label === 'string' &&
    checks.severityLabels.includes(label) &&
    typeof product === 'string' &&
    checks.productArnPrefixes.some((prefix) => product.startsWith(prefix))
  );
}

/** The findings of an event that the workflow acts on: open (ACTIVE and NEW) and acted on (isActedOn). */
export function findingsActedOn(detail: unknown, ctx?: IntakeContext): unknown[] {
  return items(own(detail, 'findings')).filter(
    (finding) => isOpenAsff(finding) && isActedOn(finding, ctx?.securityHub),
  );
}

/**
 * Security Hub CSPM (ASFF): keys of `AwsKmsKey` resources and of S3 buckets' default encryption,
 * and the buckets whose default encryption named a key (re-encryption targets: the name from the
 * resource Id `arn:aws:s3:::name`, else `Details.AwsS3Bucket.Name`), from every open finding in `detail.findings` that is acted on (severity label and product, see
 * isActedOn). The facts (id, type, severity, title) are the first such finding's, or the first
 * finding's when none is (then there are no keys).
 */
export function readSecurityHub(
  detail: unknown,
  keys: KeyCollector,
  ctx?: IntakeContext,
  buckets?: BucketCollector,
): FindingFacts {
  const findings = items(own(detail, 'findings'));
  const open = findingsActedOn(detail, ctx);
  for (const finding of open) {
    const inFinding: KeyLocation = { account: own(finding, 'AwsAccountId'), region: own(finding, 'Region') };
    for (const resource of items(own(finding, 'Resources'))) {
      const inResource: KeyLocation = { region: own(resource, 'Region'), partition: own(resource, 'Partition') };
      const details = own(resource, 'Details');
      if (own(resource, 'Type') === 'AwsKmsKey') {
        // Id is the key ARN; KeyId only when Id is unusable (building an ARN from a bare id in
        // the wrong account would name a key that does not exist).
        const kmsKey = own(details, 'AwsKmsKey');
        if (!keys.add(own(resource, 'Id'), inResource, inFinding)) {
          keys.add(own(kmsKey, 'KeyId'), { account: own(kmsKey, 'AWSAccountId') }, inResource, inFinding);
        }
      }
      const bucket = own(details, 'AwsS3Bucket');
      const owner: KeyLocation = { account: own(bucket, 'OwnerAccountId') };
      let namesKey = false;
      for (const rule of items(at(bucket, 'ServerSideEncryptionConfiguration', 'Rules'))) {
        const byDefault = own(rule, 'ApplyServerSideEncryptionByDefault');
        if (namesKmsEncryption(own(byDefault, 'SSEAlgorithm'))) {
          namesKey = keys.add(own(byDefault, 'KMSMasterKeyID'), owner, inResource, inFinding) || namesKey;
        }
      }
      if (namesKey && own(resource, 'Type') === 'AwsS3Bucket')
        buckets?.add(bucketOfArn(own(resource, 'Id')) ?? own(bucket, 'Name'));
    }
  }
  const first = open[0] ?? findings[0];
  return first === undefined ? {} : asffFacts(first);
}
