import { buffer as readBody } from 'node:stream/consumers';
import {
  request as httpRequest,
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { credentialOf } from '../iam/sigv4';
import type { SandboxAccess, SandboxPrincipal } from './access';
import { cloudFormationAnswer, queryError, stsAnswer, type QueryAnswer, type SandboxStack } from './query';
import type { LocalStepFunctions } from './states';
import { SfnError } from './sfn-input';

/**
 * One endpoint for every service (what AWS_ENDPOINT_URL points at): a request goes where its
 * SigV4 credential scope's service says. kms, s3, sns: the stand-in; dynamodb: the ledger;
 * execute-api: the front door (each proxied unchanged, Host included, so signatures stay valid);
 * sts, cloudformation, states: answered here, after the access check.
 */
export interface RouterTargets {
  /** service name -> http://127.0.0.1:port of the server that answers it. */
  proxies: Record<string, string>;
  access: SandboxAccess;
  stack: SandboxStack;
  states: LocalStepFunctions;
  /** The front door's stage prefix (`/v1/`): unsigned requests there still go to the front door, which refuses them as API Gateway does. */
  frontDoorPrefix: string;
}

export interface Router {
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

function proxy(target: string, req: IncomingMessage, body: Buffer, res: ServerResponse): void {
  const url = new URL(target);
  const out = httpRequest(
    { host: url.hostname, port: url.port, method: req.method, path: req.url, headers: req.headers, agent: false },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  out.on('error', () => {
    // The target closed the connection without an answer (e.g. a stand-in NoResponse fault): so does the router.
    res.destroy();
  });
  out.end(body);
}

const xml = (res: ServerResponse, a: QueryAnswer): void =>
  void res.writeHead(a.status, { 'content-type': 'text/xml' }).end(a.body);
const sfnJson = (res: ServerResponse, status: number, body: unknown): void =>
  void res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify(body));
const sfnError = (res: ServerResponse, e: SfnError): void =>
  sfnJson(res, e.status, { __type: e.code, message: e.message });

/** Starts the router on 127.0.0.1 (a free port). */
export async function startRouter(targets: RouterTargets): Promise<Router> {
  const server: Server = createServer((req, res) => {
    void route(req, res, targets).catch((error: unknown) => {
      if (res.headersSent) return;
      res
        .writeHead(500, { 'content-type': 'application/json' })
        .end(JSON.stringify({ __type: 'InternalFailure', message: String(error) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The request's SigV4 credential scope, or null without a (well-formed) Authorization header. */
function credentialScopeOf(req: IncomingMessage): { service: string } | null {
  try {
    return credentialOf(req.headers);
  } catch {
    return null;
  }
}

async function route(req: IncomingMessage, res: ServerResponse, t: RouterTargets): Promise<void> {
  const body = await readBody(req);
  const scope = credentialScopeOf(req);
  const service = scope?.service ?? ((req.url ?? '').startsWith(t.frontDoorPrefix) ? 'execute-api' : null);
  if (service === null) {
    const message = 'Missing Authentication Token: the sandbox routes requests by their SigV4 credential scope';
    res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ message }));
    return;
  }
  const target = t.proxies[service];
  if (target) {
    proxy(target, req, body, res);
    return;
  }
  if (service !== 'sts' && service !== 'cloudformation' && service !== 'states') {
    res
      .writeHead(400, { 'content-type': 'application/json' })
      .end(JSON.stringify({ __type: 'UnknownService', message: `the sandbox serves no ${service}` }));
    return;
  }
  const headers = Object.fromEntries(
    Object.entries(req.headers).flatMap(([k, v]) => (typeof v === 'string' ? [[k, v]] : [])),
  );
  const text = body.toString('utf8');
  const verified = await t.access.verify(
    { method: req.method ?? 'POST', path: req.url ?? '/', headers, body: text },
    service,
  );
  if ('refused' in verified) {
    const { code, message } = verified.refused;
    if (service === 'states') sfnError(res, new SfnError(code, message, 403));
    else xml(res, queryError(403, code, message));
    return;
  }
  const principal: SandboxPrincipal = verified.principal;
  if (service === 'sts') return xml(res, stsAnswer(text, principal));
  if (service === 'cloudformation') return xml(res, cloudFormationAnswer(text, principal, t.access, t.stack));
  await answerStates(req, res, text, principal, t);
}

async function answerStates(
  req: IncomingMessage,
  res: ServerResponse,
  text: string,
  principal: SandboxPrincipal,
  t: RouterTargets,
): Promise<void> {
  const target = String(req.headers['x-amz-target'] ?? '');
  const m = /^AWSStepFunctions\.(\w+)$/.exec(target);
  if (!m)
    return sfnError(res, new SfnError('UnknownOperationException', `Unknown X-Amz-Target: ${target.slice(0, 80)}`));
  let input: unknown;
  try {
    input = text === '' ? {} : JSON.parse(text);
  } catch {
    return sfnError(res, new SfnError('SerializationException', 'The request body is not JSON'));
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return sfnError(res, new SfnError('SerializationException', 'The request body is not a JSON object'));
  }
  try {
    sfnJson(res, 200, await t.states.handle(m[1], input as Record<string, unknown>, principal, t.access));
  } catch (error) {
    if (error instanceof SfnError) return sfnError(res, error);
    throw error;
  }
}
