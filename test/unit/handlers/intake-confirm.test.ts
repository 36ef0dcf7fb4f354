import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  BadRequestException,
  GetFindingsCommand as GetGuardDutyFindings,
  GuardDutyClient,
} from '@aws-sdk/client-guardduty';
import {
  GetFindingsCommand as GetHubFindings,
  SecurityHubClient,
  type AwsSecurityFinding,
} from '@aws-sdk/client-securityhub';
import { AccessAnalyzerClient, GetFindingCommand, ResourceNotFoundException } from '@aws-sdk/client-accessanalyzer';
import { mockClient } from 'aws-sdk-client-mock';
import { AwsFindingSources, type FindingSourceReader } from '../../../lambdas/adapters/finding-sources';
import { intake } from '../../../lambdas/intake/handler';
import { locateFinding, type FindingLocator, type SourceCopy } from '../../../lambdas/domain/intake/confirm';
import { findingRequestId } from '../../../lambdas/domain/intake/intake';
import { logger } from '../../../lambdas/adapters/lambda-handler';
import { config } from './fixtures';

const guardDuty = mockClient(GuardDutyClient);
const securityHub = mockClient(SecurityHubClient);
const accessAnalyzer = mockClient(AccessAnalyzerClient);
const sources = () =>
  new AwsFindingSources(
    {
      guardDuty: () => new GuardDutyClient({}),
      securityHub: () => new SecurityHubClient({}),
      accessAnalyzer: () => new AccessAnalyzerClient({}),
    },
    'us-east-1',
  );

const fixture = (name: string) => JSON.parse(readFileSync(path.join(__dirname, '../../fixtures', name), 'utf8'));
const K1 = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const K2 = 'arn:aws:kms:us-east-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321';
const DETECTOR = '12abc34d567e8fa901bc2d34e56789f0';
const ANALYZER = 'arn:aws:access-analyzer:us-east-1:111122223333:analyzer/ConsoleAnalyzer-3f1c';

/** A reader answering from a table (what the source holds). */
const reader = (answer: (l: FindingLocator) => SourceCopy): FindingSourceReader & { asked: FindingLocator[] } => {
  const asked: FindingLocator[] = [];
  return { asked, fetch: (l) => (asked.push(l), Promise.resolve(answer(l))) };
};

beforeAll(() => logger.setLogLevel('SILENT'));
beforeEach(() => {
  guardDuty.reset();
  securityHub.reset();
  accessAnalyzer.reset();
});

describe('locateFinding: where the source holds the finding', () => {
  test('each source', () => {
    expect(locateFinding('guardduty', fixture('guardduty/s3-bucket-kms.json'))).toEqual({
      source: 'guardduty',
      detectorId: DETECTOR,
      findingId: '5ec4b7b1a8d3f0e2c6a9b4d1e7f3a2c8',
    });
    const hub = fixture('securityhub/kms-key-resource.json');
    expect(locateFinding('securityhub', hub)).toEqual({
      source: 'securityhub',
      findings: [
        { Id: hub.detail.findings[0].Id, ProductArn: 'arn:aws:securityhub:us-east-1::product/aws/access-analyzer' },
      ],
    });
    expect(locateFinding('access-analyzer', fixture('access-analyzer/kms-key-active.json'))).toMatchObject({
      analyzerArn: ANALYZER,
      findingId: 'a5019b0e-9b2c-4a6b-8b57-8c6b7f0b7a11',
    });
  });

  test('an event that does not say where is unlocatable (never confirmed)', () => {
    const gd = fixture('guardduty/s3-bucket-kms.json');
    delete gd.detail.service.detectorId;
    expect(locateFinding('guardduty', gd)).toEqual({ unlocatable: expect.stringMatching(/detectorId/) });
    const aa = fixture('access-analyzer/kms-key-active.json');
    aa.resources = ['arn:aws:kms:us-east-1:111122223333:key/x'];
    expect(locateFinding('access-analyzer', aa)).toEqual({ unlocatable: expect.stringMatching(/analyzer/) });
  });
});

describe('AwsFindingSources: the calls and what "not held" is', () => {
  test('GuardDuty: GetFindings for the one id; the copy in the event form Intake reads', async () => {
    guardDuty.on(GetGuardDutyFindings).resolves({
      Findings: [
        {
          Id: 'f1',
          Type: 'T',
          AccountId: '111122223333',
          Region: 'us-east-1',
          Arn: 'a',
          CreatedAt: 'c',
          UpdatedAt: 'u',
          SchemaVersion: '2.0',
          Severity: 8,
          Resource: {
            S3BucketDetails: [
              { Name: 'b', DefaultServerSideEncryption: { EncryptionType: 'aws:kms', KmsMasterKeyArn: K1 } },
            ],
          },
          Service: { DetectorId: DETECTOR },
        },
      ],
    });
    const copy = await sources().fetch({ source: 'guardduty', detectorId: DETECTOR, findingId: 'f1' });
    expect(guardDuty.commandCalls(GetGuardDutyFindings)[0].args[0].input).toEqual({
      DetectorId: DETECTOR,
      FindingIds: ['f1'],
    });
    expect(copy).toMatchObject({
      found: true,
      detail: {
        id: 'f1',
        severity: 8,
        resource: {
          s3BucketDetails: [
            { name: 'b', defaultServerSideEncryption: { encryptionType: 'aws:kms', kmsMasterKeyArn: K1 } },
          ],
        },
      },
    });
  });

  test('GuardDuty: no finding, or a detector refused, is "not held"; access denied propagates', async () => {
    guardDuty
      .on(GetGuardDutyFindings)
      .resolvesOnce({ Findings: [] })
      .rejectsOnce(new BadRequestException({ message: 'not owned', $metadata: {} }));
    expect(await sources().fetch({ source: 'guardduty', detectorId: DETECTOR, findingId: 'f1' })).toMatchObject({
      found: false,
    });
    expect(await sources().fetch({ source: 'guardduty', detectorId: DETECTOR, findingId: 'f1' })).toMatchObject({
      found: false,
      why: expect.stringMatching(/not owned/),
    });
    guardDuty.on(GetGuardDutyFindings).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    await expect(sources().fetch({ source: 'guardduty', detectorId: DETECTOR, findingId: 'f1' })).rejects.toThrow(
      'denied',
    );
  });

  test('Security Hub: filters on Id and ProductArn, keeps only the exact pairs of the event', async () => {
    const wanted = { Id: 'id-1', ProductArn: 'arn:aws:securityhub:us-east-1::product/aws/guardduty' };
    securityHub.on(GetHubFindings).resolves({
      Findings: [
        { ...wanted },
        { Id: 'id-1', ProductArn: 'arn:aws:securityhub:us-east-1:111122223333:product/111122223333/default' },
      ] as AwsSecurityFinding[],
    });
    const copy = await sources().fetch({ source: 'securityhub', findings: [wanted] });
    expect(securityHub.commandCalls(GetHubFindings)[0].args[0].input).toEqual({
      Filters: {
        Id: [{ Value: 'id-1', Comparison: 'EQUALS' }],
        ProductArn: [{ Value: wanted.ProductArn, Comparison: 'EQUALS' }],
      },
      MaxResults: 100,
    });
    expect(copy).toEqual({ found: true, detail: { findings: [wanted] } });
  });

  test('Access Analyzer: GetFinding; ResourceNotFoundException is "not held"', async () => {
    accessAnalyzer
      .on(GetFindingCommand)
      .rejects(
        new ResourceNotFoundException({ message: 'nope', resourceId: 'x', resourceType: 'Finding', $metadata: {} }),
      );
    expect(await sources().fetch({ source: 'access-analyzer', analyzerArn: ANALYZER, findingId: 'x' })).toMatchObject({
      found: false,
    });
    expect(accessAnalyzer.commandCalls(GetFindingCommand)[0].args[0].input).toEqual({ analyzerArn: ANALYZER, id: 'x' });
  });
});

describe('intake: the request comes from the confirmed copy', () => {
  test('a finding its source does not hold: every named key, FINDING_NOT_CONFIRMED, a request id of its own', async () => {
    const event = fixture('guardduty/s3-bucket-kms.json');
    const { request } = await intake(
      { mode: 'automatic', input: event },
      config(),
      reader(() => ({ found: false, why: 'no such finding' })),
    );
    expect(request.keys).toEqual([K1]);
    expect(request.notConfirmed).toMatch(
      /GuardDuty does not confirm finding 5ec4b7b1a8d3f0e2c6a9b4d1e7f3a2c8: no such finding/,
    );
    expect(request.requestId).not.toBe(findingRequestId('guardduty', event.detail.id));
    expect(request.securityHubFindings).toBeUndefined();
  });

  test('a confirmed finding: keys from the source copy, not from the event', async () => {
    const event = fixture('guardduty/s3-bucket-kms.json');
    const copy = structuredClone(event.detail);
    copy.resource.s3BucketDetails[0].defaultServerSideEncryption.kmsMasterKeyArn = K2;
    const source = reader(() => ({ found: true, detail: copy }));
    const { request } = await intake({ mode: 'automatic', input: event }, config(), source);
    expect(source.asked).toEqual([{ source: 'guardduty', detectorId: DETECTOR, findingId: event.detail.id }]);
    expect(request.keys).toEqual([K2]);
    expect(request.notConfirmed).toBeNull();
    expect(request.requestId).toBe(findingRequestId('guardduty', event.detail.id));
  });

  test('Security Hub: the confirmed findings acted on are kept for the workflow status updates', async () => {
    const event = fixture('securityhub/kms-key-resource.json');
    const { request } = await intake(
      { mode: 'automatic', input: event },
      config(),
      reader(() => ({ found: true, detail: event.detail })),
    );
    expect(request.securityHubFindings).toEqual([
      { Id: event.detail.findings[0].Id, ProductArn: event.detail.findings[0].ProductArn },
    ]);
  });

  test('manual requests are not confirmed with anything', async () => {
    const source = reader(() => ({ found: false, why: 'x' }));
    const { request } = await intake(
      {
        mode: 'manual',
        input: { keyId: K1, reason: 'INC-1', requestedBy: 'arn:aws:sts::111122223333:assumed-role/OnCall/alice' },
      },
      config(),
      source,
    );
    expect(source.asked).toEqual([]);
    expect(request.notConfirmed).toBeNull();
  });
});
