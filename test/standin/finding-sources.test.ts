import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { GetFindingsCommand as GetGuardDutyFindings, GuardDutyClient } from '@aws-sdk/client-guardduty';
import {
  BatchUpdateFindingsCommand,
  GetFindingsCommand as GetHubFindings,
  SecurityHubClient,
} from '@aws-sdk/client-securityhub';
import { AccessAnalyzerClient, GetFindingCommand } from '@aws-sdk/client-accessanalyzer';
import { startStandIn, type StandIn } from '../../local/standin';
import { credentials, errorName, world } from './helpers';

// The finding sources of the stand-in (local/standin/findings.ts) through the real SDK clients:
// every finding fixture is filed as its service holds it and read back; what the services refuse.

const FIXTURES = path.join(__dirname, '../fixtures');
const fixture = (dir: string, file: string) =>
  JSON.parse(readFileSync(path.join(FIXTURES, dir, file), 'utf8')) as Record<string, any>;
const DETECTOR = '12abc34d567e8fa901bc2d34e56789f0';
const ANALYZER = 'arn:aws:access-analyzer:us-east-1:111122223333:analyzer/ConsoleAnalyzer-3f1c';

let s: StandIn;
const base = () => ({ endpoint: s.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });

beforeEach(async () => {
  s = await startStandIn(world({}));
});
afterEach(async () => {
  await s.close();
});

describe('stand-in finding sources', () => {
  it.each(readdirSync(path.join(FIXTURES, 'guardduty')))(
    'files and answers GuardDuty finding %s as GetFindings returns it',
    async (file) => {
      const event = fixture('guardduty', file);
      expect(s.fileFinding(event)).toEqual([event.detail.id]);
      const out = await new GuardDutyClient(base()).send(
        new GetGuardDutyFindings({ DetectorId: DETECTOR, FindingIds: [event.detail.id, 'unknown'] }),
      );
      expect(out.Findings?.map((f) => f.Id)).toEqual([event.detail.id]);
      expect(out.Findings?.[0].Type).toBe(event.detail.type);
    },
  );

  it.each(readdirSync(path.join(FIXTURES, 'securityhub')))(
    'files and answers Security Hub finding %s',
    async (file) => {
      const event = fixture('securityhub', file);
      s.fileFinding(event);
      const first = event.detail.findings[0];
      const out = await new SecurityHubClient(base()).send(
        new GetHubFindings({
          Filters: {
            Id: [{ Value: first.Id, Comparison: 'EQUALS' }],
            ProductArn: [{ Value: first.ProductArn, Comparison: 'EQUALS' }],
          },
        }),
      );
      expect(out.Findings?.map((f) => f.Id)).toEqual([first.Id]);
    },
  );

  it.each(readdirSync(path.join(FIXTURES, 'access-analyzer')))(
    'files and answers Access Analyzer finding %s',
    async (file) => {
      const event = fixture('access-analyzer', file);
      s.fileFinding(event);
      const out = await new AccessAnalyzerClient(base()).send(
        new GetFindingCommand({ analyzerArn: ANALYZER, id: event.detail.id }),
      );
      expect(out.finding?.resource).toBe(event.detail.resource);
      expect(out.finding?.createdAt).toEqual(new Date(event.detail.createdAt));
    },
  );

  it('answers "not found" as each service does for a finding it does not hold', async () => {
    expect(
      await errorName(
        new GuardDutyClient(base()).send(new GetGuardDutyFindings({ DetectorId: DETECTOR, FindingIds: ['x'] })),
      ),
    ).toBe('BadRequestException');
    s.fileFinding(fixture('guardduty', 's3-bucket-kms.json'));
    expect(
      (await new GuardDutyClient(base()).send(new GetGuardDutyFindings({ DetectorId: DETECTOR, FindingIds: ['x'] })))
        .Findings,
    ).toEqual([]);
    expect(
      (
        await new SecurityHubClient(base()).send(
          new GetHubFindings({ Filters: { Id: [{ Value: 'x', Comparison: 'EQUALS' }] } }),
        )
      ).Findings,
    ).toEqual([]);
    expect(
      await errorName(new AccessAnalyzerClient(base()).send(new GetFindingCommand({ analyzerArn: ANALYZER, id: 'x' }))),
    ).toBe('ResourceNotFoundException');
  });

  it('refuses requests the published models refuse', async () => {
    s.fileFinding(fixture('guardduty', 's3-bucket-kms.json'));
    // FindingIds: 0..50 entries (GuardDuty model); analyzerArn: the model's pattern.
    const ids = Array.from({ length: 51 }, (_, i) => `f${i}`);
    expect(
      await errorName(
        new GuardDutyClient(base()).send(new GetGuardDutyFindings({ DetectorId: DETECTOR, FindingIds: ids })),
      ),
    ).toBe('BadRequestException');
    expect(
      await errorName(
        new AccessAnalyzerClient(base()).send(new GetFindingCommand({ analyzerArn: 'not-an-analyzer', id: 'x' })),
      ),
    ).toBe('ValidationException');
    expect(await errorName(new SecurityHubClient(base()).send(new GetHubFindings({ MaxResults: 101 })))).toBe(
      'InvalidInputException',
    );
  });

  it('BatchUpdateFindings sets the workflow status and note, reports unknown findings, and records the call', async () => {
    const event = fixture('securityhub', 'kms-key-resource.json');
    s.fileFinding(event);
    const { Id, ProductArn } = event.detail.findings[0];
    const out = await new SecurityHubClient(base()).send(
      new BatchUpdateFindingsCommand({
        FindingIdentifiers: [
          { Id, ProductArn },
          { Id: 'nope', ProductArn },
        ],
        Workflow: { Status: 'NOTIFIED' },
        Note: { Text: 'rotation started', UpdatedBy: 'kms-incident-rotation' },
      }),
    );
    expect(out.ProcessedFindings).toEqual([{ Id, ProductArn }]);
    expect(out.UnprocessedFindings).toEqual([
      {
        FindingIdentifier: { Id: 'nope', ProductArn },
        ErrorCode: 'FindingNotFound',
        ErrorMessage: 'Finding not found',
      },
    ]);
    expect(s.securityHubFinding(ProductArn, Id)).toMatchObject({
      Workflow: { Status: 'NOTIFIED' },
      Note: { Text: 'rotation started', UpdatedBy: 'kms-incident-rotation' },
    });
    expect(s.securityHubUpdates).toEqual([
      expect.objectContaining({ workflowStatus: 'NOTIFIED', note: 'rotation started', processed: 1 }),
    ]);
    // ASFF Note.Text is at most 512 characters.
    const tooLong = new BatchUpdateFindingsCommand({
      FindingIdentifiers: [{ Id, ProductArn }],
      Note: { Text: 'x'.repeat(513), UpdatedBy: 'me' },
    });
    expect(await errorName(new SecurityHubClient(base()).send(tooLong))).toBe('InvalidInputException');
  });
});
