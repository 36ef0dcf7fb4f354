import { ServiceError, NOT_IMPLEMENTED } from './errors';
import { answerIssues, fromWire, loadRestJsonModel, type RestJsonService } from '../models/rest-json';

/**
 * The finding sources as the stand-in holds them: GuardDuty (findings per detector), Security Hub
 * CSPM (ASFF findings by product ARN and id, with their workflow status and note) and IAM Access
 * Analyzer (external access findings per analyzer). Findings are held in the model's member names
 * (local/models/rest-json.ts puts them on the wire); `file` takes an EventBridge finding event and
 * files its finding as the service that sent the event holds it.
 */

/** The operations served, per service (the stand-in answers NotImplementedByStandIn for others). */
export const FINDING_OPERATIONS: Record<RestJsonService, readonly string[]> = {
  guardduty: ['GetFindings'],
  securityhub: ['GetFindings', 'BatchUpdateFindings'],
  accessanalyzer: ['GetFinding'],
};

/** One BatchUpdateFindings call as Security Hub received it (what `simulate --json` shows). */
export interface SecurityHubUpdate {
  at: string;
  caller: string | null;
  findings: { Id: string; ProductArn: string }[];
  workflowStatus: string | null;
  note: string | null;
  processed: number;
  unprocessed: { Id: string; ProductArn: string; ErrorCode: string }[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
/** A deep copy that keeps Dates (structuredClone's Dates can come from another realm under test runners). */
function clone<T>(v: T): T {
  if (v instanceof Date) return new Date(v.getTime()) as T;
  if (Array.isArray(v)) return v.map(clone) as T;
  if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clone(x)])) as T;
  return v;
}
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * ASFF Note.Text is at most 512 characters (Security Hub user guide, "ASFF attributes": Note);
 * the model gives no length, so the stand-in takes the guide's.
 */
const ASFF_NOTE_MAX = 512;
/** BatchUpdateFindings "can be used to update up to 100 findings at a time" (the model's documentation). */
const BATCH_UPDATE_MAX = 100;
/** The workflow statuses BatchUpdateFindings sets (WorkflowUpdate.Status's enum in the model). */
const WORKFLOW_STATUSES = new Set(['NEW', 'NOTIFIED', 'RESOLVED', 'SUPPRESSED']);

/** The filters of GetFindings the stand-in evaluates: string EQUALS on these fields. */
const SECURITY_HUB_FILTERS = new Set(['Id', 'ProductArn']);

/**
 * A filed finding must be one the model allows in the service's answers (so that a sample that
 * the real service could never hold fails at filing, naming the field, not later as a stand-in bug).
 */
function checkFiled(service: RestJsonService, op: string, output: unknown): void {
  const issues = answerIssues(service, op, output);
  if (issues.length) {
    const detail = issues
      .slice(0, 5)
      .map((i) => `${i.path}: ${i.constraint}`)
      .join('; ');
    throw new Error(`stand-in: the finding cannot be filed with ${service} as the service holds it: ${detail}`);
  }
}

/** EventBridge renders timestamps as ISO strings; the service holds them as instants. */
function eventTimestamps(model: ReturnType<typeof loadRestJsonModel>, shapeId: string, value: unknown): unknown {
  const shape = model.shapes[shapeId];
  if (!shape) return value;
  if (shape.type === 'timestamp' && typeof value === 'string' && !Number.isNaN(Date.parse(value)))
    return new Date(value);
  if ((shape.type === 'structure' || shape.type === 'union') && isObj(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        shape.members?.[k] ? eventTimestamps(model, shape.members[k].target, v) : v,
      ]),
    );
  }
  if ((shape.type === 'list' || shape.type === 'set') && Array.isArray(value))
    return value.map((v) => eventTimestamps(model, shape.member!.target, v));
  if (shape.type === 'map' && isObj(value))
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, eventTimestamps(model, shape.value!.target, v)]),
    );
  return value;
}

export class FindingSources {
  /** GuardDuty: detector id -> finding id -> finding (member names). */
  private readonly guardDuty = new Map<string, Map<string, Obj>>();
  /** Security Hub: `${ProductArn}\n${Id}` -> ASFF finding. */
  private readonly securityHub = new Map<string, Obj>();
  /** Access Analyzer: `${analyzerArn}\n${id}` -> finding. */
  private readonly accessAnalyzer = new Map<string, Obj>();
  readonly securityHubUpdates: SecurityHubUpdate[] = [];

  constructor(private readonly account: string) {}

  /**
   * Files the finding of an EventBridge finding event with its source service, as that service
   * holds it: GuardDuty's `detail` is the finding (GetFindings' JSON); Security Hub's
   * `detail.findings[]` are ASFF findings; Access Analyzer's `detail` with the analyzer of the
   * event's `resources`. Throws naming what is missing when the event does not say where the
   * service holds it (no detector id, no analyzer). Returns what was filed (ids).
   */
  file(event: unknown): string[] {
    if (!isObj(event)) throw new Error('stand-in: a finding event must be an object');
    const source = event.source;
    const detail = event.detail;
    if (source === 'aws.guardduty') return [this.fileGuardDuty(detail)];
    if (source === 'aws.securityhub') return this.fileSecurityHub(detail);
    if (source === 'aws.access-analyzer') return [this.fileAccessAnalyzer(event, detail)];
    throw new Error(`stand-in: no finding source for events of ${JSON.stringify(source)}`);
  }

  private fileGuardDuty(detail: unknown): string {
    const model = loadRestJsonModel('guardduty');
    const finding = eventTimestamps(model, 'Finding', fromWire(model, 'Finding', undefined, detail)) as Obj;
    const detectorId = str(isObj(finding.Service) ? finding.Service.DetectorId : undefined);
    const id = str(finding.Id);
    if (!detectorId || !id)
      throw new Error('stand-in: a GuardDuty finding needs detail.id and detail.service.detectorId to be filed');
    checkFiled('guardduty', 'GetFindings', { Findings: [finding] });
    let byId = this.guardDuty.get(detectorId);
    if (!byId) this.guardDuty.set(detectorId, (byId = new Map()));
    byId.set(id, finding);
    return id;
  }

  private fileSecurityHub(detail: unknown): string[] {
    const model = loadRestJsonModel('securityhub');
    const findings = isObj(detail) && Array.isArray(detail.findings) ? detail.findings : [];
    if (findings.length === 0) throw new Error('stand-in: a Security Hub event needs detail.findings[] to be filed');
    const filed = findings.map((raw) => eventTimestamps(model, 'AwsSecurityFinding', raw) as Obj);
    checkFiled('securityhub', 'GetFindings', { Findings: filed });
    for (const finding of filed)
      this.securityHub.set(`${String(finding.ProductArn)}\n${String(finding.Id)}`, clone(finding));
    return filed.map((f) => String(f.Id));
  }

  private fileAccessAnalyzer(event: Obj, detail: unknown): string {
    const analyzerArn = (Array.isArray(event.resources) ? event.resources : []).find(
      (r): r is string => typeof r === 'string' && /:analyzer\//.test(r),
    );
    if (!analyzerArn || !isObj(detail) || !str(detail.id))
      throw new Error(
        'stand-in: an Access Analyzer event needs detail.id and the analyzer ARN in resources[] to be filed',
      );
    // The event detail carries the finding's fields plus the event's own (version, accountId,
    // region, isDeleted); the finding has the owner account as resourceOwnerAccount.
    const { version: _v, accountId, region: _r, isDeleted: _d, ...fields } = detail;
    const model = loadRestJsonModel('accessanalyzer');
    const finding = eventTimestamps(model, 'Finding', {
      ...fields,
      resourceOwnerAccount: accountId ?? this.account,
    }) as Obj;
    checkFiled('accessanalyzer', 'GetFinding', { finding });
    this.accessAnalyzer.set(`${analyzerArn}\n${String(detail.id)}`, finding);
    return String(detail.id);
  }

  /** The ASFF finding as Security Hub now holds it (workflow status and note included). */
  securityHubFinding(productArn: string, id: string): Obj | undefined {
    return this.securityHub.get(`${productArn}\n${id}`);
  }

  /** Serves an operation (input and output in member names). */
  handle(service: RestJsonService, op: string, input: Obj, caller: string | null): Obj {
    if (service === 'guardduty' && op === 'GetFindings') return this.getGuardDutyFindings(input);
    if (service === 'securityhub' && op === 'GetFindings') return this.getSecurityHubFindings(input);
    if (service === 'securityhub' && op === 'BatchUpdateFindings') return this.batchUpdateFindings(input, caller);
    if (service === 'accessanalyzer' && op === 'GetFinding') return this.getAccessAnalyzerFinding(input);
    throw new ServiceError(
      NOT_IMPLEMENTED,
      `The kms-incident-rotation stand-in does not implement ${service} operation ${op} (it implements: ${FINDING_OPERATIONS[service].join(', ')})`,
    );
  }

  /**
   * GetFindings: the findings of the detector with the given ids; ids it does not hold are left
   * out (the API returns the findings it finds). A detector the account does not have is refused
   * with BadRequestException, as GuardDuty refuses a detector id not owned by the caller's account.
   */
  private getGuardDutyFindings(input: Obj): Obj {
    const byId = this.guardDuty.get(String(input.DetectorId));
    if (!byId)
      throw new ServiceError(
        'BadRequestException',
        'The request is rejected because the input detectorId is not owned by the current account.',
      );
    if (input.SortCriteria !== undefined)
      throw new ServiceError(NOT_IMPLEMENTED, 'The stand-in does not sort GuardDuty findings (SortCriteria)');
    const ids = Array.isArray(input.FindingIds) ? input.FindingIds : [];
    return {
      Findings: ids
        .map((id) => byId.get(String(id)))
        .filter((f): f is Obj => f !== undefined)
        .map((f) => clone(f)),
    };
  }

  /** The EQUALS values of a string filter; anything else is not evaluated by the stand-in. */
  private equalsValues(field: string, filter: unknown): string[] {
    if (!Array.isArray(filter)) return [];
    return filter.map((f) => {
      if (!isObj(f) || f.Comparison !== 'EQUALS' || typeof f.Value !== 'string') {
        throw new ServiceError(
          NOT_IMPLEMENTED,
          `The stand-in evaluates only Comparison EQUALS filters on ${field} (got ${JSON.stringify(f)})`,
        );
      }
      return f.Value;
    });
  }

  /**
   * GetFindings with Id and ProductArn filters (values of one field OR, fields AND, as the API
   * documents filters); other filters are not simulated. Without NextToken, up to MaxResults.
   */
  private getSecurityHubFindings(input: Obj): Obj {
    const filters = isObj(input.Filters) ? input.Filters : {};
    const unsupported = Object.keys(filters).filter((k) => !SECURITY_HUB_FILTERS.has(k));
    if (unsupported.length)
      throw new ServiceError(
        NOT_IMPLEMENTED,
        `The stand-in evaluates only the Id and ProductArn filters (got ${unsupported.join(', ')})`,
      );
    if (input.NextToken !== undefined || input.SortCriteria !== undefined)
      throw new ServiceError(NOT_IMPLEMENTED, 'The stand-in does not paginate or sort Security Hub findings');
    const ids = filters.Id === undefined ? null : this.equalsValues('Id', filters.Id);
    const products = filters.ProductArn === undefined ? null : this.equalsValues('ProductArn', filters.ProductArn);
    const max = typeof input.MaxResults === 'number' ? input.MaxResults : 100;
    const found = [...this.securityHub.values()].filter(
      (f) => (!ids || ids.includes(String(f.Id))) && (!products || products.includes(String(f.ProductArn))),
    );
    return { Findings: found.slice(0, max).map((f) => clone(f)) };
  }

  /**
   * BatchUpdateFindings: Workflow.Status and Note (other fields are not simulated). Each finding
   * the hub does not hold is UnprocessedFindings with FindingNotFound; a repeated identifier is
   * DuplicatedFindingIdentifier (the error codes the API reference lists).
   */
  private batchUpdateFindings(input: Obj, caller: string | null): Obj {
    const other = Object.keys(input).filter((k) => !['FindingIdentifiers', 'Workflow', 'Note'].includes(k));
    if (other.length)
      throw new ServiceError(NOT_IMPLEMENTED, `The stand-in updates only Workflow and Note (got ${other.join(', ')})`);
    const identifiers = (Array.isArray(input.FindingIdentifiers) ? input.FindingIdentifiers : []) as {
      Id: string;
      ProductArn: string;
    }[];
    if (identifiers.length === 0 || identifiers.length > BATCH_UPDATE_MAX) {
      throw new ServiceError(
        'InvalidInputException',
        `FindingIdentifiers must name 1 to ${BATCH_UPDATE_MAX} findings (got ${identifiers.length})`,
      );
    }
    const workflow = isObj(input.Workflow) ? str(input.Workflow.Status) : undefined;
    if (workflow !== undefined && !WORKFLOW_STATUSES.has(workflow))
      throw new ServiceError('InvalidInputException', `Invalid Workflow.Status ${workflow}`);
    const note = isObj(input.Note) ? input.Note : undefined;
    if (note && String(note.Text).length > ASFF_NOTE_MAX) {
      throw new ServiceError(
        'InvalidInputException',
        `Note.Text must be at most ${ASFF_NOTE_MAX} characters (got ${String(note.Text).length})`,
      );
    }
    if (!workflow && !note)
      throw new ServiceError('InvalidInputException', 'BatchUpdateFindings needs at least one field to update');
    const processed: { Id: string; ProductArn: string }[] = [];
    const unprocessed: {
      FindingIdentifier: { Id: string; ProductArn: string };
      ErrorCode: string;
      ErrorMessage: string;
    }[] = [];
    const seen = new Set<string>();
    const now = new Date().toISOString();
    for (const ident of identifiers) {
      const key = `${ident.ProductArn}\n${ident.Id}`;
      const finding = this.securityHub.get(key);
      if (seen.has(key))
        unprocessed.push({
          FindingIdentifier: ident,
          ErrorCode: 'DuplicatedFindingIdentifier',
          ErrorMessage: 'Duplicated finding identifier',
        });
      else if (!finding)
        unprocessed.push({ FindingIdentifier: ident, ErrorCode: 'FindingNotFound', ErrorMessage: 'Finding not found' });
      else {
        if (workflow) finding.Workflow = { Status: workflow };
        if (note) finding.Note = { Text: note.Text, UpdatedBy: note.UpdatedBy, UpdatedAt: now };
        processed.push(ident);
      }
      seen.add(key);
    }
    this.securityHubUpdates.push({
      at: now,
      caller,
      findings: identifiers.map((i) => ({ Id: i.Id, ProductArn: i.ProductArn })),
      workflowStatus: workflow ?? null,
      note: note ? String(note.Text) : null,
      processed: processed.length,
      unprocessed: unprocessed.map((u) => ({ ...u.FindingIdentifier, ErrorCode: u.ErrorCode })),
    });
    return { ProcessedFindings: processed, UnprocessedFindings: unprocessed };
  }

  /** GetFinding: ResourceNotFoundException when the analyzer does not hold the finding. */
  private getAccessAnalyzerFinding(input: Obj): Obj {
    const finding = this.accessAnalyzer.get(`${String(input.analyzerArn)}\n${String(input.id)}`);
    if (!finding)
      throw Object.assign(new ServiceError('ResourceNotFoundException', `Finding ${String(input.id)} not found`, 404), {
        resourceId: String(input.id),
        resourceType: 'Finding',
      });
    return { finding: clone(finding) };
  }
}
