import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { PENDING_APPROVALS_INDEX } from '../lambdas/domain/approvals/approval';

export interface LedgerTableProps {
  encryptionKey: kms.IKey;
  deletionProtection: boolean;
}

/**
 * The ledger table (see lambdas/adapters/ledger/index.ts for the item layout): finding claims, key
 * locks and the audit trail. On-demand billing, encrypted with the product's key, point-in-time
 * recovery, TTL on expired claims, retained when the stack goes away.
 */
export class LedgerTable extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: LedgerTableProps) {
    super(scope, id);
    // Table, not TableV2: TableV2's customer managed key cannot render in a Region-agnostic stack.
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.encryptionKey,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: props.deletionProtection,
      timeToLiveAttribute: 'expiresAt',
      removalPolicy: props.deletionProtection ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    // Sparse: only unanswered approvals carry its partition key. The approval watch Queries it
    // (a Scan would read the whole audit trail, and IAM's LeadingKeys cannot bound a Scan). The
    // token is not projected: the watch counts, it never sees one.
    this.table.addGlobalSecondaryIndex({
      indexName: PENDING_APPROVALS_INDEX.name,
      partitionKey: { name: PENDING_APPROVALS_INDEX.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: PENDING_APPROVALS_INDEX.sortKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.INCLUDE,
      nonKeyAttributes: [PENDING_APPROVALS_INDEX.overdueAttribute],
    });
  }
}
