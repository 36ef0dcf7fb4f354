/** KMS ARN helpers. Pure. */

export interface KmsArn {
  partition: string;
  region: string;
  account: string;
  resourceType: 'key' | 'alias';
  resource: string;
}

// Region: `us-east-1`, `us-gov-west-1`, `eu-isoe-west-1`, `eusc-de-east-1` (4-letter prefix), ...
const KMS_ARN = /^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|aws-iso-e|aws-iso-f|aws-eusc):kms:([a-z]{2,4}(?:-[a-z]+)+-\d{1,2}):(\d{12}):(key|alias)\/([A-Za-z0-9/_+=.@-]{1,256})$/;

export function parseKmsArn(value: string): KmsArn | null {
  const m = KMS_ARN.exec(value);
  if (!m) return null;
  return { partition: m[1], region: m[2], account: m[3], resourceType: m[4] as 'key' | 'alias', resource: m[5] };
}

export function keyArn(partition: string, region: string, account: string, keyId: string): string {
  return `arn:${partition}:kms:${region}:${account}:key/${keyId}`;
}

/** The partition of a Region (enough for the Regions KMS runs in). */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  if (region.startsWith('eu-isoe-')) return 'aws-iso-e';
  if (region.startsWith('us-isof-')) return 'aws-iso-f';
  if (region.startsWith('eusc-')) return 'aws-eusc';
  return 'aws';
}
