import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AuditEntry } from '../../lambdas/adapters/ledger/ledger-audit';
import { LOCAL_LEDGER_TABLE } from '../../local/ledger-local';
import type { Simulation } from '../../local/simulate';
import { auditTrail } from '../audit-trail';
import { TEST_CREDENTIALS } from '../../local/iam';

// Shared by the workflow tests: a finding naming given keys, and a key's audit trail.

const sampleFinding = JSON.parse(
  readFileSync(path.join(__dirname, '../fixtures/guardduty/s3-bucket-kms.json'), 'utf8'),
);

/** A GuardDuty S3 finding (id `id`) whose buckets are encrypted with the given keys. */
export function guardDutyFinding(keyArns: string[], id = 'finding-1') {
  const finding = structuredClone(sampleFinding);
  finding.detail.id = id;
  const bucket = finding.detail.resource.s3BucketDetails[0];
  finding.detail.resource.s3BucketDetails = keyArns.map((k, i) => ({
    ...bucket,
    name: `bucket-${i}`,
    arn: `arn:aws:s3:::bucket-${i}`,
    defaultServerSideEncryption: { encryptionType: 'aws:kms', kmsMasterKeyArn: k },
  }));
  return finding;
}

/** A DynamoDB client on the simulation's local ledger. */
export function ledgerClientOf(sim: Simulation, region = 'us-east-1'): DynamoDBClient {
  return new DynamoDBClient({ endpoint: sim.ledgerEndpoint, region, credentials: { ...TEST_CREDENTIALS } }); // the test administrator inspects the ledger
}

/** A key's audit trail in the simulation's ledger, oldest first. */
export function auditTrailOf(sim: Simulation, keyArn: string): Promise<AuditEntry[]> {
  return auditTrail(ledgerClientOf(sim), LOCAL_LEDGER_TABLE, keyArn);
}
