import { resolveIntrinsics, type CfnTemplate } from '../template';
import type { World } from '../world';
import { evaluate, evaluateNow, type Decision } from './engine';
import { buildPrincipals, type Principal } from './principals';
import { physicalResources } from './resources';
export { defaultKeyPolicy } from './requests';
import { verifySigV4, SignatureRefused } from './sigv4';

export { type Decision } from './engine';
export { TEST_CREDENTIALS, type Principal } from './principals';
export { SignatureRefused } from './sigv4';

/** A request as a server received it. */
export interface SignedRequest {
  method: string;
  /** The URL as received; its path and query are what was signed. */
  url: URL;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer | string;
}

/** The IAM of one offline account: who may sign requests, and what each may do. */
export interface AccountIam {
  account: string;
  region: string;
  /** Physical names/ARNs of the template's resources, as the policies were resolved with. */
  resources: Record<string, string>;
  /** The template's resource policies by resource ARN (SNS topic policies). */
  resourcePolicies: Map<string, unknown>;
  /** The KMS key (ARN and key policy) each of the template's encrypted SNS topics uses, by topic ARN. */
  topicKeys: Map<string, { keyArn: string; policy: unknown }>;
  /** Each state machine's ARN by mode (`automatic`, `manual`), as the template's policies name it. */
  stateMachineArns: Record<string, string>;
  /** The front door's REST API id as the template's policies name it (execute-api ARNs). */
  restApiId: string | undefined;
  /** The front door's REST API resource policy (intrinsics resolved); undefined when the API has none. */
  restApiPolicy: unknown;
  principals: {
    all(): Principal[];
    byAccessKey(id: string): Principal | undefined;
    person(name: string): Principal;
    functionRole(handlerName: string): Principal;
    /** The role a state machine runs with (`automatic` or `manual`). */
    stateMachineRole(mode: string): Principal;
    /** The role the EventBridge rule that takes events of `source` (e.g. `aws.guardduty`) starts its target with. */
    eventRuleRole(source: string): Principal;
    /** The administrator the stand-in's own tests sign with. */
    test(): Principal;
  };
  /** Verifies the request's SigV4 signature for `service` (and `region`, when one endpoint serves one Region); throws SignatureRefused. */
  verify(request: SignedRequest, service: string, opts?: { region?: string }): Promise<Principal>;
  /**
   * Validates every identity policy of every principal and every given resource policy with
   * iam-simulate's checks (authorize() skips them: see evaluateNow), once per AccountIam; a
   * malformed policy is an IamEvaluationError naming it.
   */
  validate(resourcePolicies?: unknown[]): Promise<void>;
  /** Evaluates `action` on `resource` by `principal` with the request context AWS would set (synchronous: see evaluateNow). */
  authorize(
    principal: Principal,
    action: string,
    resource: string,
    context?: Record<string, string | string[]>,
    resourcePolicy?: unknown,
  ): Decision;
}

/**
 * The request context every authenticated request carries (IAM condition keys reference): who
 * calls, from which account, when, and over TLS (the SDK in Lambda always uses HTTPS; offline
 * the transport is plain HTTP only because the stand-in listens on 127.0.0.1).
 */
function globalContext(p: Principal, region: string): Record<string, string> {
  const now = new Date();
  const isRole = p.arn.includes(':assumed-role/');
  return {
    'aws:PrincipalArn': p.principalArn,
    'aws:PrincipalAccount': p.account,
    'aws:PrincipalType': isRole ? 'AssumedRole' : 'User',
    'aws:userid': isRole ? `AROA${p.accessKeyId.slice(4)}:${p.arn.split('/').pop()}` : p.accessKeyId,
    'aws:SecureTransport': 'true',
    'aws:RequestedRegion': region,
    'aws:CurrentTime': now.toISOString(),
    'aws:EpochTime': String(Math.floor(now.getTime() / 1000)),
    // Present only when the session has one (STS: set once, kept through role chaining).
    ...(p.sourceIdentity !== undefined ? { 'aws:SourceIdentity': p.sourceIdentity } : {}),
  };
}

/**
 * An API Gateway resource policy as API Gateway saves it: each abbreviated resource
 * (`execute-api:/<stage>/<METHOD>/<path>`) expanded to the API's full ARN ("Access policy language
 * overview for Amazon API Gateway": abbreviated syntax is expanded when the policy is saved).
 */
function expandApiPolicy(policy: unknown, apiArn: string): unknown {
  const expand = (r: unknown) =>
    typeof r === 'string' && r.startsWith('execute-api:/') ? `${apiArn}/${r.slice('execute-api:/'.length)}` : r;
  const doc = policy as { Statement?: unknown };
  const statements = (Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement]) as Record<string, unknown>[];
  return {
    ...doc,
    Statement: statements.map((st) => {
      if (st.Resource === undefined) return st;
      return { ...st, Resource: Array.isArray(st.Resource) ? st.Resource.map(expand) : expand(st.Resource) };
    }),
  };
}

/**
 * The offline account's IAM from the synthesized template: each function's and state machine's
 * role (with every policy attached to it), the world's people (on-call, break-glass, their own
 * policies) and the stand-in's test administrator, each with credentials.
 */
export function createAccountIam(opts: {
  template: CfnTemplate;
  world: World;
  account: string;
  region: string;
  resources?: Record<string, string>;
}): AccountIam {
  const resources = physicalResources(opts.template, opts.account, opts.region, opts.resources);
  const all = buildPrincipals(opts.template, opts.world, opts.account, opts.region, resources);
  const byKey = new Map(all.map((p) => [p.accessKeyId, p]));
  const resourcePolicies = new Map<string, unknown>();
  const validated = new WeakSet<Principal>();
  const validatedPolicies = new Set<unknown>();
  for (const r of Object.values(opts.template.Resources)) {
    if (r.Type !== 'AWS::SNS::TopicPolicy') continue;
    const resolved = resolveIntrinsics(r.Properties, { account: opts.account, region: opts.region, resources }) as {
      PolicyDocument: unknown;
      Topics: string[];
    };
    for (const topic of resolved.Topics) resourcePolicies.set(topic, resolved.PolicyDocument);
  }
  // SNS encrypts a topic's messages under its KmsMasterKeyId (the product key): the publisher must
  // be allowed the key's GenerateDataKey and Decrypt through SNS.
  const topicKeys = new Map<string, { keyArn: string; policy: unknown }>();
  for (const [id, r] of Object.entries(opts.template.Resources)) {
    const keyId = (r.Properties?.KmsMasterKeyId?.['Fn::GetAtt'] ?? [])[0] as string | undefined;
    if (r.Type !== 'AWS::SNS::Topic' || !keyId || opts.template.Resources[keyId]?.Type !== 'AWS::KMS::Key') continue;
    const policy = resolveIntrinsics(opts.template.Resources[keyId].Properties?.KeyPolicy, {
      account: opts.account,
      region: opts.region,
      resources,
    });
    topicKeys.set(resources[id], { keyArn: resources[`${keyId}.Arn`], policy });
  }
  const restApi = Object.entries(opts.template.Resources).find(([, r]) => r.Type === 'AWS::ApiGateway::RestApi');
  const restApiPolicy: unknown =
    restApi?.[1].Properties?.Policy === undefined
      ? undefined
      : expandApiPolicy(
          resolveIntrinsics(restApi[1].Properties.Policy, { account: opts.account, region: opts.region, resources }),
          `arn:aws:execute-api:${opts.region}:${opts.account}:${resources[restApi[0]]}`,
        );
  const find = (kind: Principal['kind'], name: string): Principal => {
    const p = all.find((x) => x.kind === kind && x.name === name);
    if (!p)
      throw new Error(
        `IAM: no ${kind} principal ${JSON.stringify(name)} in this account (have: ${all
          .filter((x) => x.kind === kind)
          .map((x) => x.name)
          .join(', ')})`,
      );
    return p;
  };
  return {
    account: opts.account,
    region: opts.region,
    resources,
    resourcePolicies,
    topicKeys,
    stateMachineArns: Object.fromEntries(
      Object.entries(opts.template.Resources)
        .filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine')
        .map(([id, r]) => [String(r.Metadata?.['kms-incident-rotation:mode'] ?? id), resources[id]]),
    ),
    restApiId: Object.entries(opts.template.Resources)
      .filter(([, r]) => r.Type === 'AWS::ApiGateway::RestApi')
      .map(([id]) => resources[id])[0],
    restApiPolicy,
    principals: {
      all: () => [...all],
      byAccessKey: (id) => byKey.get(id),
      person: (name) => find('person', name),
      functionRole: (name) => find('function', name),
      stateMachineRole: (mode) => find('service', `states:${mode}`),
      eventRuleRole: (source) => {
        const rule = Object.entries(opts.template.Resources).find(
          ([, r]) =>
            r.Type === 'AWS::Events::Rule' && ((r.Properties?.EventPattern?.source ?? []) as string[]).includes(source),
        );
        if (!rule) throw new Error(`IAM: no EventBridge rule takes events of source ${JSON.stringify(source)}`);
        return find('service', `events:${rule[0]}`);
      },
      test: () => find('test', 'test'),
    },
    verify(request, service, verifyOpts = {}) {
      const { accessKeyId, region } = verifySigV4(
        {
          method: request.method,
          rawPath: `${request.url.pathname}${request.url.search}`,
          headers: request.headers,
          body: request.body,
        },
        service,
        (id) => byKey.get(id)?.secretAccessKey ?? null,
      );
      if (verifyOpts.region !== undefined && region !== verifyOpts.region) {
        throw new SignatureRefused(
          'scope',
          `Credential should be scoped to a valid region. (scope ${region}, expected ${verifyOpts.region})`,
        );
      }
      return Promise.resolve(byKey.get(accessKeyId)!);
    },
    async validate(extra = []) {
      const probe = (p: Principal, resourcePolicy?: unknown) =>
        evaluate({
          principalArn: p.arn,
          principalAccount: p.account,
          policies: p.policies,
          action: 'sts:GetCallerIdentity',
          resource: '*',
          resourcePolicy,
        });
      const pending = [...all.filter((p) => !validated.has(p)).map((p) => probe(p).then(() => validated.add(p)))];
      const test = all.find((p) => p.kind === 'test')!;
      const apiPolicy = restApiPolicy === undefined ? [] : [restApiPolicy];
      for (const policy of [...resourcePolicies.values(), ...apiPolicy, ...extra]) {
        if (validatedPolicies.has(policy)) continue;
        pending.push(
          evaluate({
            principalArn: test.arn,
            principalAccount: test.account,
            policies: [],
            action: 'sns:Publish',
            resource: `arn:aws:sns:${opts.region}:${opts.account}:probe`,
            resourcePolicy: policy,
          }).then(() => validatedPolicies.add(policy)),
        );
      }
      await Promise.all(pending);
    },
    authorize(principal, action, resource, context = {}, resourcePolicy) {
      const resourceAccount = /^arn:[^:]+:[^:]+:[^:]*:(\d{12}):/.exec(resource)?.[1] ?? opts.account;
      return evaluateNow({
        principalArn: principal.arn,
        principalAccount: principal.account,
        policies: principal.policies,
        action,
        resource,
        resourceAccount,
        context: { ...globalContext(principal, opts.region), ...context },
        resourcePolicy,
      });
    },
  };
}
