import {
  GetFindingsCommand as GetGuardDutyFindingsCommand,
  type Finding as GuardDutyFinding,
  type GuardDutyClient,
} from '@aws-sdk/client-guardduty';
import {
  GetFindingsCommand as GetSecurityHubFindingsCommand,
  type SecurityHubClient,
} from '@aws-sdk/client-securityhub';
import { GetFindingCommand, type AccessAnalyzerClient } from '@aws-sdk/client-accessanalyzer';
import type { FindingLocator, SourceCopy } from '../domain/intake/confirm';
import type { Obj } from '../domain/intake/read';

/** Reads a finding's copy from its source service. */
export interface FindingSourceReader {
  /** The source's copy in the event's `detail` form, or why the source does not hold it. Other errors propagate. */
  fetch(locator: FindingLocator): Promise<SourceCopy>;
}

/** The clients of the three finding sources, created on first use (each costs a module load). */
export interface FindingSourceClients {
  guardDuty: () => GuardDutyClient;
  securityHub: () => SecurityHubClient;
  accessAnalyzer: () => AccessAnalyzerClient;
}

const errorName = (e: unknown): string => (e as { name?: string } | null)?.name ?? '';
const message = (e: unknown): string => String((e as { message?: string } | null)?.message ?? e).slice(0, 200);

/**
 * A GuardDuty finding (SDK shape) as the EventBridge `detail` Intake reads: the event carries the
 * finding's API JSON (jsonName keys, the GuardDuty model), so the fields Intake reads are mapped
 * member by member (the SDK's names are the model's member names). Nothing else of the copy is read.
 */
export function guardDutyDetail(f: GuardDutyFinding): Obj {
  const call = f.Service?.Action?.AwsApiCallAction;
  return {
    id: f.Id,
    type: f.Type,
    title: f.Title,
    severity: f.Severity,
    accountId: f.AccountId,
    region: f.Region,
    partition: f.Partition,
    service: {
      archived: f.Service?.Archived,
      detectorId: f.Service?.DetectorId,
      action: call
        ? { awsApiCallAction: { serviceName: call.ServiceName, affectedResources: call.AffectedResources } }
        : undefined,
    },
    resource: {
      s3BucketDetails: f.Resource?.S3BucketDetails?.map((b) => ({
        name: b.Name,
        arn: b.Arn,
        defaultServerSideEncryption: b.DefaultServerSideEncryption
          ? {
              encryptionType: b.DefaultServerSideEncryption.EncryptionType,
              kmsMasterKeyArn: b.DefaultServerSideEncryption.KmsMasterKeyArn,
            }
          : undefined,
      })),
      ebsVolumeDetails: f.Resource?.EbsVolumeDetails
        ? {
            scannedVolumeDetails: f.Resource.EbsVolumeDetails.ScannedVolumeDetails?.map((v) => ({
              volumeArn: v.VolumeArn,
              kmsKeyArn: v.KmsKeyArn,
            })),
          }
        : undefined,
    },
  };
}

/**
 * The finding sources through the AWS SDK, in this function's Region (findings reach EventBridge
 * in the Region where they arise). "Not held" is: GuardDuty returning no finding for the id (or
 * refusing the detector as not this account's, BadRequestException), Security Hub returning none
 * of the event's (Id, ProductArn) pairs, Access Analyzer answering ResourceNotFoundException.
 */
export class AwsFindingSources implements FindingSourceReader {
  constructor(
    private readonly clients: FindingSourceClients,
    private readonly region: string,
  ) {}

  async fetch(locator: FindingLocator): Promise<SourceCopy> {
    if (locator.source === 'guardduty') return this.guardDuty(locator);
    if (locator.source === 'securityhub') return this.securityHub(locator);
    return this.accessAnalyzer(locator);
  }

  private async guardDuty(l: Extract<FindingLocator, { source: 'guardduty' }>): Promise<SourceCopy> {
    try {
      const out = await this.clients
        .guardDuty()
        .send(new GetGuardDutyFindingsCommand({ DetectorId: l.detectorId, FindingIds: [l.findingId] }));
      const finding = out.Findings?.find((f) => f.Id === l.findingId);
      if (!finding) return { found: false, why: `detector ${l.detectorId} holds no finding ${l.findingId}` };
      return { found: true, detail: guardDutyDetail(finding) };
    } catch (e) {
      if (errorName(e) === 'BadRequestException')
        return { found: false, why: `GuardDuty refused detector ${l.detectorId}: ${message(e)}` };
      throw e;
    }
  }

  private async securityHub(l: Extract<FindingLocator, { source: 'securityhub' }>): Promise<SourceCopy> {
    const eq = (values: string[]) => [...new Set(values)].map((Value) => ({ Value, Comparison: 'EQUALS' as const }));
    const out = await this.clients.securityHub().send(
      new GetSecurityHubFindingsCommand({
        Filters: { Id: eq(l.findings.map((f) => f.Id)), ProductArn: eq(l.findings.map((f) => f.ProductArn)) },
        MaxResults: 100,
      }),
    );
    // Only the exact (Id, ProductArn) pairs of the event: the filters match values independently.
    const wanted = new Set(l.findings.map((f) => `${f.ProductArn}\n${f.Id}`));
    const held = (out.Findings ?? []).filter((f) => wanted.has(`${f.ProductArn}\n${f.Id}`));
    if (held.length === 0)
      return {
        found: false,
        why: `Security Hub holds none of the event's findings (${l.findings
          .map((f) => f.Id)
          .join(', ')
          .slice(0, 300)})`,
      };
    return { found: true, detail: { findings: held } };
  }

  private async accessAnalyzer(l: Extract<FindingLocator, { source: 'access-analyzer' }>): Promise<SourceCopy> {
    try {
      const { finding: f } = await this.clients
        .accessAnalyzer()
        .send(new GetFindingCommand({ analyzerArn: l.analyzerArn, id: l.findingId }));
      if (!f) return { found: false, why: `analyzer ${l.analyzerArn} answered without a finding` };
      // The event's detail form: the finding's fields, the owner as accountId, and the Region.
      return {
        found: true,
        detail: {
          id: f.id,
          resource: f.resource,
          resourceType: f.resourceType,
          status: f.status,
          isPublic: f.isPublic,
          principal: f.principal,
          action: f.action,
          accountId: f.resourceOwnerAccount,
          region: this.region,
        },
      };
    } catch (e) {
      if (errorName(e) === 'ResourceNotFoundException')
        return { found: false, why: `analyzer ${l.analyzerArn} holds no finding ${l.findingId}` };
      throw e;
    }
  }
}
