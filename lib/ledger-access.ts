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

/**
 * Item-changing actions that could alter or remove an existing `KEY#` audit entry. PutItem is
 * not among them: IAM cannot see a ConditionExpression, so the entries' writers (Record, the
 * re-encryption summary) keep PutItem on KEY#, and "append-only" rests for PutItem on their
 * code (a put conditional on attribute_not_exists, with a sort key per event) and is enforced
 * by IAM for everything else. TransactWriteItems is authorized per item as these actions.
 */
export const AUDIT_ENTRY_CHANGES = [
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:PartiQLUpdate',
  'dynamodb:PartiQLDelete',
];

/** Denies `grantee` every change to an existing `KEY#` entry (AUDIT_ENTRY_CHANGES), whatever else it is granted. */
export function denyAuditEntryChanges(grantee: iam.IGrantable, table: dynamodb.ITable): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'AuditEntriesAreNeverChangedOrDeleted',
      effect: iam.Effect.DENY,
      actions: AUDIT_ENTRY_CHANGES,
      resources: [table.tableArn],
      conditions: { 'ForAnyValue:StringLike': { 'dynamodb:LeadingKeys': ['KEY#*'] } },
    }),
  );
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
