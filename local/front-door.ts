import { buffer as readBody } from 'node:stream/consumers';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FrontDoorDeps } from '../lambdas/front-door/handler';
import type { DrillKeys } from '../lambdas/drill/handler';
import { prepareLocalHandlerEnvironment } from './runner/runner';

/**
 * The front door's and the drill's code, loaded on first use after the local Powertools settings
 * (as the runner loads the task handlers): loading it at import time would create the shared
 * Logger and Metrics before a test or `simulate` chose their settings.
 */
function frontDoorCode(): {
  handleFrontDoor: typeof import('../lambdas/front-door/handler').handleFrontDoor;
  handleDrill: typeof import('../lambdas/drill/handler').handleDrill;
} {
  prepareLocalHandlerEnvironment();
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded lazily, after the Powertools settings (see above) */
  return {
    handleFrontDoor: require('../lambdas/front-door/handler').handleFrontDoor,
    handleDrill: require('../lambdas/drill/handler').handleDrill,
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
}
import {
  ROUTES,
  type FrontDoorEvent,
  type FrontDoorResponse,
  type RouteName,
} from '../lambdas/domain/approvals/front-door';
import type { WorldPerson } from './world';
import { parseWorld } from './world';
import { createAccountIam, SignatureRefused, type AccountIam } from './iam';
import { synthTemplate, type CfnTemplate } from './template';
import { parseSettings } from '../lib/settings/settings';

/** The stage the deployed API uses (its FrontDoorUrl ends with it). */
const STAGE = 'v1';

export interface LocalFrontDoorOptions {
  region: string;
  account: string;
  people: Record<string, WorldPerson>;
  deps: FrontDoorDeps;
  /** The drill component behind the drill routes (absent: 404). */
  drills?: Pick<DrillKeys, 'create' | 'cleanup'>;
  /** Told about every answer (tests and the trace read them). */
  onResponse?: (entry: FrontDoorExchange) => void;
  /**
   * The account's IAM: who may call (any principal with a valid signature) and the policies that
   * decide execute-api:Invoke. Default: the stack synthesized with default settings, with `people`.
   */
  iam?: AccountIam;
}

const defaultTemplates = new Map<string, CfnTemplate>();

/** The account's IAM for a front door started without one: the default stack's policies, the given people. */
function defaultIam(opts: LocalFrontDoorOptions): AccountIam {
  const key = `${opts.account}/${opts.region}`;
  let template = defaultTemplates.get(key);
  if (!template) {
    template = synthTemplate(parseSettings({}, 'the local front door'), { account: opts.account, region: opts.region });
    defaultTemplates.set(key, template);
  }
  const world = {
    ...parseWorld({ account: opts.account, region: opts.region }, 'the local front door'),
    people: opts.people,
  };
  return createAccountIam({ template, world, account: opts.account, region: opts.region });
}

/** One request through the local front door and its answer. */
export interface FrontDoorExchange {
  route: RouteName | null;
  caller: string | null;
  statusCode: number;
  body: unknown;
}

/** A local front door on 127.0.0.1: `url` is what FrontDoorUrl is in a deployed stack. */
export interface LocalFrontDoor {
  url: string;
  close(): Promise<void>;
}

/** The route and path parameters of a path below the stage, as API Gateway matches them. */
function matchRoute(
  method: string,
  path: string,
): { route: RouteName; resource: string; params: Record<string, string> } | null {
  for (const [name, route] of Object.entries(ROUTES) as [RouteName, (typeof ROUTES)[RouteName]][]) {
    if (route.method !== method) continue;
    const names: string[] = [];
    const pattern = new RegExp(
      `^${route.resource.replace(/\{(\w+)\}/g, (_m, n: string) => (names.push(n), '([^/]+)'))}$`,
    );
    const m = pattern.exec(path);
    if (m)
      return {
        route: name,
        resource: route.resource,
        params: Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1])])),
      };
  }
  return null;
}

const answer = (statusCode: number, body: unknown): FrontDoorResponse => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/**
 * Starts the local front door: verifies each request's SigV4 signature against the account's
 * principals (local/iam), authorizes `execute-api:Invoke` on the route's ARN
 * (`arn:aws:execute-api:<region>:<account>:<apiId>/<stage>/<METHOD>/<path>`) with the caller's
 * identity policies (people: the stack's on-call policy, break-glass when attached) and the API's
 * resource policy (who is a person, per route; lib/people/front-door.ts), builds the
 * API Gateway event with `requestContext.identity` and calls the real front-door handler.
 */
export async function startLocalFrontDoor(opts: LocalFrontDoorOptions): Promise<LocalFrontDoor> {
  const iam = opts.iam ?? defaultIam(opts);
  const apiId = iam.restApiId ?? 'front-door';
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
      let response: FrontDoorResponse;
      let route: RouteName | null = null;
      let caller: string | null = null;
      const stagePrefix = `/${STAGE}`;
      const matched = url.pathname.startsWith(`${stagePrefix}/`)
        ? matchRoute(req.method ?? '', url.pathname.slice(stagePrefix.length))
        : null;
      let principal;
      try {
        principal = await iam.verify({ method: req.method ?? 'GET', url, headers: req.headers, body }, 'execute-api', {
          region: opts.region,
        });
      } catch (e) {
        if (!(e instanceof SignatureRefused)) throw e;
        principal = e;
      }
      if (principal instanceof SignatureRefused) {
        response = answer(403, { error: 'InvalidSignature', message: principal.message });
      } else if (!matched) {
        response = answer(404, { error: 'NotFound', message: `no such route: ${req.method} ${url.pathname}` });
      } else {
        route = matched.route;
        caller = principal.arn;
        const routeArn = `arn:aws:execute-api:${opts.region}:${opts.account}:${apiId}/${STAGE}/${req.method}${url.pathname.slice(stagePrefix.length)}`;
        // API Gateway with IAM authorization and a resource policy, caller in the API's account: the
        // identity policies OR the resource policy allow, an explicit deny in either wins ("How API
        // Gateway resource policies affect authorization workflow", table A) — IAM's same-account rule.
        const decision = iam.authorize(principal, 'execute-api:Invoke', routeArn, {}, iam.restApiPolicy);
        if (!decision.allowed) {
          // What API Gateway answers when the caller's policies or the API's resource policy do not allow execute-api:Invoke on the route.
          response = answer(403, { error: 'AccessDenied', message: decision.message });
        } else {
          const event: FrontDoorEvent = {
            resource: matched.resource,
            httpMethod: req.method,
            pathParameters: Object.keys(matched.params).length ? matched.params : null,
            body: body.toString('utf8'),
            isBase64Encoded: false,
            requestContext: {
              identity: { userArn: principal.arn, accountId: opts.account, caller: principal.accessKeyId },
            },
          };
          const drillRoute = route === 'drill' || route === 'drillCleanup';
          response = !drillRoute
            ? await frontDoorCode().handleFrontDoor(event, opts.deps)
            : opts.drills
              ? await frontDoorCode().handleDrill(event, opts.drills, opts.account, opts.deps.roles)
              : answer(404, { error: 'NotFound', message: 'no drill component in this simulation' });
        }
      }
      opts.onResponse?.({ route, caller, statusCode: response.statusCode, body: JSON.parse(response.body) as unknown });
      res.writeHead(response.statusCode, response.headers).end(response.body);
    })().catch((error: unknown) => {
      res
        .writeHead(500, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: 'InternalError', message: String(error) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/${STAGE}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
