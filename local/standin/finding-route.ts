import type { IncomingMessage, ServerResponse } from 'node:http';
import type { World } from '../world';
import {
  checkRestJsonAnswer,
  checkRestJsonRequest,
  restJsonAnswer,
  restJsonInput,
  restJsonOperation,
} from '../models/rest-json';
import type { StandInCall } from './api';
import type { StandInAuthz } from './authz';
import { asServiceError, NOT_IMPLEMENTED, ServiceError, type FindingService } from './errors';
import type { FindingSources } from './findings';

/**
 * The stand-in's route for the restJson1 finding sources (GuardDuty, Security Hub, Access
 * Analyzer): what index.ts hands it, and the handler it gets back.
 */
export interface FindingRouteDeps {
  world: World;
  authz: StandInAuthz;
  findingSources: FindingSources;
  calls: StandInCall[];
  takeFault(service: FindingService, op: string): ServiceError | undefined;
  /** "GuardDuty (it implements: ...)"-style naming of the service for NotImplementedByStandIn. */
  label(service: FindingService): string;
  implemented(service: FindingService): readonly string[];
}

/** The finding-source request handler for one stand-in. */
export function findingSourceRoute(deps: FindingRouteDeps) {
  const { world, authz, findingSources, calls, takeFault } = deps;

  /** IAM action and resource of a finding source's operation (Service Authorization Reference). */
  function findingAction(
    service: FindingService,
    op: string,
    input: Record<string, unknown>,
    region: string,
  ): { action: string; resource: string } {
    if (service === 'guardduty')
      return {
        action: `guardduty:${op}`,
        resource: `arn:aws:guardduty:${region}:${world.account}:detector/${String(input.DetectorId)}`,
      };
    if (service === 'securityhub')
      return { action: `securityhub:${op}`, resource: `arn:aws:securityhub:${region}:${world.account}:hub/default` };
    return { action: `access-analyzer:${op}`, resource: String(input.analyzerArn) };
  }

  /**
   * A restJson1 finding source request: the operation from method and path, the input bound and
   * validated against the model, IAM, faults, then the answer validated and sent with jsonName
   * keys. Errors carry `x-amzn-errortype` and a JSON body, as restJson1 services send them.
   */
  async function serveFindingSource(
    service: FindingService,
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    body: Buffer,
    region: string,
    requestId: string,
    at: number,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    const found = restJsonOperation(service, method, url.pathname);
    const call: StandInCall = { service, operation: found?.op ?? `${method} ${url.pathname}`, region, input: {}, at };
    calls.push(call);
    try {
      const caller = await authz.authenticate(service, req, body);
      call.caller = caller.arn;
      if (!found)
        throw new ServiceError(
          NOT_IMPLEMENTED,
          `The kms-incident-rotation stand-in does not implement ${deps.label(service)} ${method} ${url.pathname} (it implements: ${deps.implemented(service).join(', ')})`,
        );
      const input = restJsonInput(service, found.op, found.labels, url.searchParams, body.toString('utf8'));
      call.input = input;
      checkRestJsonRequest(service, found.op, input);
      const { action, resource } = findingAction(service, found.op, input, region);
      authz.findingSource(caller, action, resource);
      const fault = takeFault(service, found.op);
      if (fault) throw fault;
      if (region !== world.region)
        throw new ServiceError(
          NOT_IMPLEMENTED,
          `The stand-in holds findings in ${world.region} only (the request was signed for ${region})`,
        );
      const output = findingSources.handle(service, found.op, input, caller.arn);
      checkRestJsonAnswer(service, found.op, output);
      res.writeHead(200, { 'content-type': 'application/json', 'x-amzn-requestid': requestId });
      res.end(JSON.stringify(restJsonAnswer(service, found.op, output)));
    } catch (e) {
      const err = asServiceError(e);
      call.error = err.code;
      const extra = Object.fromEntries(
        Object.entries(err).filter(([k, v]) => ['resourceId', 'resourceType'].includes(k) && typeof v === 'string'),
      );
      res.writeHead(err.status, {
        'content-type': 'application/json',
        'x-amzn-requestid': requestId,
        'x-amzn-errortype': err.code,
      });
      res.end(JSON.stringify({ __type: err.code, message: err.message, ...extra }));
    }
  }

  return serveFindingSource;
}
