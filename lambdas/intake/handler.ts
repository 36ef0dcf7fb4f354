import type { IncidentRequest } from '../domain/contracts';
import { loadConfig, type RuntimeConfig } from '../adapters/config';
import { taskHandler, logger } from '../adapters/lambda-handler';
import { inputKind, parseForMode, type IntakeContext, type IntakeMode } from '../domain/intake/intake';
import {
  confirmedEvent,
  confirmedSecurityHubFindings,
  locateFinding,
  unconfirmedRequest,
} from '../domain/intake/confirm';
import type { Obj } from '../domain/intake/read';
import { partitionOf } from '../domain/arn';
import { AwsFindingSources, type FindingSourceReader } from '../adapters/finding-sources';
import { guardDutyClient } from '../adapters/guardduty-client';
import { securityHubClient } from '../adapters/securityhub-client';
import { accessAnalyzerClient } from '../adapters/accessanalyzer-client';

/**
 * What the Intake task is given: the execution input and which state machine it serves (a
 * constant in the task's parameters, set by the stack, never by the input).
 */
export interface IntakeInput {
  mode: IntakeMode;
  input: unknown;
}

function intakeContext(config: RuntimeConfig): IntakeContext {
  return {
    account: config.accountId,
    region: config.region,
    partition: partitionOf(config.region),
    securityHub: {
      severityLabels: config.securityHubSeverityLabels,
      productArnPrefixes: config.securityHubProductArnPrefixes,
    },
  };
}

/**
 * A finding event, confirmed with its source service: the request is read from the source's own
 * copy of the finding (its keys, buckets, severity, status), never from the event's claims. A
 * finding the source does not hold becomes a request whose keys all end SKIPPED
 * FINDING_NOT_CONFIRMED without being looked up. Errors of the source service other than "not
 * held" (access denied, throttling) propagate: the task is retried, then the execution fails
 * having rotated nothing.
 */
async function confirmedFindingRequest(
  input: unknown,
  ctx: IntakeContext,
  sources: FindingSourceReader,
): Promise<IncidentRequest> {
  // Validates the event (an unknown source or detail-type is InvalidRequest) and keeps what it claims for the report.
  const claimed = parseForMode(input, ctx, 'automatic');
  const source = claimed.source === 'manual' ? null : claimed.source;
  if (!source) throw new Error('intake: a finding request without a finding source');
  const event = input as Obj;
  const where = locateFinding(source, event);
  const copy = 'unlocatable' in where ? { found: false as const, why: where.unlocatable } : await sources.fetch(where);
  if (!copy.found) {
    logger.warn('finding not confirmed by its source', { source, findingId: claimed.findingId, why: copy.why });
    return unconfirmedRequest(claimed, source, event.id, copy.why);
  }
  const request = parseForMode(confirmedEvent(event, copy.detail), ctx, 'automatic');
  return {
    ...request,
    notConfirmed: null,
    ...(source === 'securityhub' ? { securityHubFindings: confirmedSecurityHubFindings(copy.detail, ctx) } : {}),
  };
}

/**
 * Intake: a finding event (automatic machine) or a front-door request (manual machine) in, a
 * normalised IncidentRequest out. Input of the other machine's shape, or bad input, throws
 * InvalidRequest (the state machine ends in a Fail state naming the field). A finding is
 * confirmed with its source service first (confirmedFindingRequest).
 */
export async function intake(
  event: IntakeInput,
  config: RuntimeConfig,
  sources?: FindingSourceReader,
): Promise<{ request: IncidentRequest }> {
  const ctx = intakeContext(config);
  const mode = event.mode === 'manual' ? 'manual' : 'automatic';
  const request =
    mode === 'automatic' && inputKind(event.input) === 'finding'
      ? await confirmedFindingRequest(event.input, ctx, sources ?? defaultSources(config.region))
      : { ...parseForMode(event.input, ctx, mode), notConfirmed: null };
  // The stack-wide dry-run setting wins over a request that asks for a real rotation.
  if (config.dryRun) request.dryRun = true;
  // Every later line of this invocation carries the request id (the raw finding had none).
  logger.appendKeys({ requestId: request.requestId });
  logger.info('intake', {
    requestId: request.requestId,
    source: request.source,
    findingId: request.findingId,
    keys: request.keys.length,
    breakGlass: request.breakGlass,
    confirmed: !request.notConfirmed,
  });
  return { request };
}

function defaultSources(region: string): FindingSourceReader {
  return new AwsFindingSources(
    {
      guardDuty: () => guardDutyClient(region),
      securityHub: () => securityHubClient(region),
      accessAnalyzer: () => accessAnalyzerClient(region),
    },
    region,
  );
}

export const handler = taskHandler('intake', async (event: IntakeInput) => intake(event, loadConfig()));
