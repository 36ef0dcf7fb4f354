/**
 * The approval watch's count against dynalite, with the ledger table and PendingApprovals index
 * exactly as the stack declares them (lib/ledger.ts synthesized): which approvals are overdue.
 */
import { App, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Template } from 'aws-cdk-lib/assertions';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Ledger } from '../../lambdas/adapters/ledger';
import { approvalOverdueAt } from '../../lambdas/domain/approvals/approval';
import { LedgerTable } from '../../lib/ledger';
import { startLocalLedger } from '../../local/ledger-local';
import { TEST_CREDENTIALS } from '../../local/iam';

const NOW = new Date('2025-06-01T12:00:00.000Z');

describe('against dynalite, with the table and index the stack declares', () => {
  test('counts only unanswered approvals past half their window whose window is still open', async () => {
    // Given: the real LedgerTable construct, synthesized, is what dynalite creates.
    const stack = new Stack(new App(), 'Ledger');
    new LedgerTable(stack, 'Ledger', { encryptionKey: new kms.Key(stack, 'Key'), deletionProtection: false });
    const local = await startLocalLedger(
      Template.fromStack(stack).toJSON() as Parameters<typeof startLocalLedger>[0],
      'us-east-1',
    );
    const client = new DynamoDBClient({
      endpoint: local.endpoint,
      region: 'us-east-1',
      credentials: { ...TEST_CREDENTIALS },
    });
    try {
      const real = new Ledger(local.tableName, client);
      const request = (id: string, minutesAgo: number, windowMinutes: number) => {
        const at = new Date(NOW.getTime() - minutesAgo * 60_000);
        return real.putApproval({
          approvalId: id,
          token: `T-${id}`,
          requestedBy: null,
          keyArn: 'k',
          executionArn: 'e',
          expiresAt: new Date(at.getTime() + windowMinutes * 60_000).toISOString(),
          overdueAt: approvalOverdueAt(at, windowMinutes * 60),
          status: 'PENDING',
        });
      };
      await request('ap-fresh', 10, 60); // a sixth of its window gone
      await request('ap-overdue', 40, 60); // two thirds gone: counts
      await request('ap-answered', 50, 60); // overdue, but answered below
      await request('ap-timed-out', 90, 60); // its window closed: the timeout action has run
      await real.answerApproval('ap-answered', 'DENIED', 'bob', NOW);

      // When / Then
      expect(await real.countOverdueApprovals(NOW)).toBe(1);
      expect(await real.countOverdueApprovals(new Date(NOW.getTime() + 25 * 60_000))).toBe(1); // fresh now overdue, the other expired
      expect(await real.countOverdueApprovals(new Date(NOW.getTime() - 30 * 60_000))).toBe(0);
    } finally {
      client.destroy();
      await local.close();
    }
  });
});
