import { Aws } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';

/** Item operations on the ledger's items whose partition key starts with `prefix` (e.g. `LOCK#`). */
export interface LedgerItemAccess {
  actions: string[];
  prefix: 'REQUEST#' | 'LOCK#' | 'KEY#' | 'APPROVAL#' | 'NOTIFY#' | 'DRILL#';
}

/**
 * Grants `grantee` exactly these item operations, each only on its own item kind: IAM's
 * `dynamodb:LeadingKeys` condition names the partition-key prefix, so (for example) the lock
 * role cannot touch a `KEY#` audit entry and nothing but Record may append one.
 */
export function grantLedgerItems(grantee: iam.IGrantable, table: dynamodb.ITable, access: LedgerItemAccess[]): void {
  for (const { actions, prefix } of access) {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions,
        resources: [table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${prefix}*`] } },
      }),
    );
  }
}

/** The AWS services that use the product key on a function's behalf. */
export type ProductKeyUser = 'dynamodb' | 'sns' | 'sqs' | 's3';

/**
 * Lets `grantee` use the product key only through the named services (`kms:ViaService`): the
 * ledger (DynamoDB), the topic (SNS) and the re-encryption results bucket (S3) encrypt with it for the caller; a direct kms:Decrypt
 * with the role's credentials is refused.
 */
export function grantProductKeyVia(grantee: iam.IGrantable, key: kms.IKey, services: ProductKeyUser[]): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      resources: [key.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': services.map((s) => `${s}.${Aws.REGION}.amazonaws.com`) } },
    }),
  );
}
