import { createHash, createHmac } from 'node:crypto';
import { HANDLER_METADATA_KEY } from '../../lib/functions';
import { resolveIntrinsics, type CfnTemplate } from '../template';
import type { World } from '../world';
import { IDENTITY_CENTER_ROLE_PATH, IDENTITY_CENTER_ROLE_PREFIX } from '../../lambdas/domain/approvals/people';

/** Someone or something that signs requests in the offline account. */
export interface Principal {
  /** The caller as AWS reports it (`aws:userid`'s ARN): a role session ARN for roles. */
  arn: string;
  /** `aws:PrincipalArn`: the role ARN for a role session, else `arn`. */
  principalArn: string;
  account: string;
  accessKeyId: string;
  secretAccessKey: string;
  kind: 'function' | 'person' | 'service' | 'test';
  /** Identity policies (policy documents, intrinsics resolved). */
  policies: unknown[];
  /** Handler name (functions), person name, state machine mode (services), `test`. */
  name: string;
  /** The session's source identity (`aws:SourceIdentity`), for people whose session carries one. */
  sourceIdentity?: string;
}

/** The stand-in's own test principal: administrator of the account, for tests that inspect the stand-in directly. */
export const TEST_PRINCIPAL_NAME = 'stand-in-test';
/** Its credentials (fixed, so that test helpers can sign with them). */
export const TEST_CREDENTIALS = {
  accessKeyId: 'AKIASTANDINTEST00001',
  secretAccessKey: 'stand-in-test-secret-not-a-real-key',
} as const;
const ADMIN_POLICY = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };

type Resources = Record<string, string>;
type Template = CfnTemplate['Resources'];

function policyDocument(doc: unknown, account: string, region: string, resources: Resources): unknown {
  return resolveIntrinsics(doc, { account, region, resources });
}

/** Logical id a `{ Ref: id }` (or a resolved name) points to. */
function refTarget(value: unknown): string | undefined {
  return value && typeof value === 'object' && 'Ref' in value ? String((value as { Ref: unknown }).Ref) : undefined;
}

/**
 * Every identity policy of the role `roleId`, as IAM would attach them: the role's inline
 * `Policies`, its `ManagedPolicyArns` (the template's own managed policies; an AWS managed policy's
 * text is not in the template and grants nothing offline — strict), and the AWS::IAM::Policy /
 * AWS::IAM::ManagedPolicy resources that name the role in `Roles`.
 */
export function rolePolicies(
  template: Template,
  roleId: string,
  account: string,
  region: string,
  resources: Resources,
): unknown[] {
  const role = template[roleId];
  if (role?.Type !== 'AWS::IAM::Role') throw new Error(`IAM: ${roleId} is not an AWS::IAM::Role of the template`);
  const docs: unknown[] = [];
  for (const inline of role.Properties?.Policies ?? []) docs.push(inline.PolicyDocument);
  const managedArns = (role.Properties?.ManagedPolicyArns ?? []).map((arn: unknown) =>
    String(resolveIntrinsics(arn, { account, region, resources })),
  );
  for (const [id, r] of Object.entries(template)) {
    if (r.Type === 'AWS::IAM::ManagedPolicy' && managedArns.includes(resources[id]))
      docs.push(r.Properties.PolicyDocument);
    const attached = (r.Properties?.Roles ?? []) as unknown[];
    if (
      (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') &&
      attached.some((x) => refTarget(x) === roleId || x === resources[roleId])
    ) {
      docs.push(r.Properties.PolicyDocument);
    }
  }
  return docs.map((d) => policyDocument(d, account, region, resources));
}

/** A deterministic access key id (AWS's shape: 20 upper-case characters) for a role session. */
function accessKeyIdFor(seed: string): string {
  return `ASIA${createHash('sha256').update(seed).digest('hex').slice(0, 16).toUpperCase()}`;
}

/**
 * A role session's secret, derived from the session so that every AccountIam built from the same
 * template agrees (the runner and a stand-in started apart, as tests do). Offline only: nothing
 * here is a credential of a real account.
 */
function secretFor(seed: string): string {
  return createHmac('sha256', 'kms-incident-rotation offline account').update(seed).digest('base64').slice(0, 40);
}

function roleSession(
  kind: Principal['kind'],
  name: string,
  roleName: string,
  sessionName: string,
  account: string,
  policies: unknown[],
): Principal {
  return {
    arn: `arn:aws:sts::${account}:assumed-role/${roleName}/${sessionName}`,
    principalArn: `arn:aws:iam::${account}:role/${roleName}`,
    account,
    accessKeyId: accessKeyIdFor(`${account}/${roleName}/${sessionName}`),
    secretAccessKey: secretFor(`${account}/${roleName}/${sessionName}`),
    kind,
    policies,
    name,
  };
}

/** The template's managed policy whose logical id starts with `prefix` (the stack's OnCall ones). */
function managedPolicyDoc(template: Template, match: (id: string) => boolean): unknown | undefined {
  const found = Object.entries(template).find(([id, r]) => r.Type === 'AWS::IAM::ManagedPolicy' && match(id));
  return found?.[1].Properties.PolicyDocument;
}

/** A person's policies: the on-call policy, break-glass when `breakGlass`, and `policies` of the world (names of the template's managed policies or documents). */
function personPolicies(
  template: Template,
  person: World['people'][string],
  account: string,
  region: string,
  resources: Resources,
): unknown[] {
  const docs: unknown[] = [];
  const onCall = managedPolicyDoc(template, (id) => /^OnCallPolicy[0-9A-F]{8}$/.test(id));
  const breakGlass = managedPolicyDoc(template, (id) => /^OnCallBreakGlassPolicy[0-9A-F]{8}$/.test(id));
  if (onCall) docs.push(onCall);
  if (person.breakGlass && breakGlass) docs.push(breakGlass);
  for (const p of person.policies ?? []) {
    if (typeof p !== 'string') {
      docs.push(p);
      continue;
    }
    const doc = managedPolicyDoc(template, (id) => id === p || id.replace(/[0-9A-F]{8}$/, '') === p);
    if (!doc) throw new Error(`IAM: people policy ${JSON.stringify(p)} is not a managed policy of the template`);
    docs.push(doc);
  }
  return docs.map((d) => policyDocument(d, account, region, resources));
}

/** Every principal of the offline account: functions' roles, the state machines' roles, the world's people, the test principal. */
export function buildPrincipals(
  template: CfnTemplate,
  world: World,
  account: string,
  region: string,
  resources: Resources,
): Principal[] {
  const out: Principal[] = [];
  const res = template.Resources;
  for (const [id, r] of Object.entries(res)) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const roleId = refTarget({ Ref: (r.Properties?.Role?.['Fn::GetAtt'] ?? [])[0] });
    if (!roleId || !res[roleId]) continue;
    const handler = r.Metadata?.[HANDLER_METADATA_KEY];
    const component = r.Metadata?.['kms-incident-rotation:component'];
    const name = typeof handler === 'string' ? handler : typeof component === 'string' ? component : id;
    out.push(
      roleSession(
        'function',
        name,
        resources[roleId],
        resources[id],
        account,
        rolePolicies(res, roleId, account, region, resources),
      ),
    );
  }
  for (const [id, r] of Object.entries(res)) {
    if (r.Type !== 'AWS::StepFunctions::StateMachine') continue;
    const roleId = (r.Properties?.RoleArn?.['Fn::GetAtt'] ?? [])[0] as string | undefined;
    if (!roleId || !res[roleId]) continue;
    const mode = String(r.Metadata?.['kms-incident-rotation:mode'] ?? id);
    out.push(
      roleSession(
        'service',
        `states:${mode}`,
        resources[roleId],
        'states-execution',
        account,
        rolePolicies(res, roleId, account, region, resources),
      ),
    );
  }
  // EventBridge rules start executions with their target's role (one principal per rule).
  for (const [id, r] of Object.entries(res)) {
    if (r.Type !== 'AWS::Events::Rule') continue;
    for (const target of (r.Properties?.Targets ?? []) as { RoleArn?: { 'Fn::GetAtt'?: [string, string] } }[]) {
      const roleId = target.RoleArn?.['Fn::GetAtt']?.[0];
      if (!roleId || !res[roleId]) continue;
      out.push(
        roleSession(
          'service',
          `events:${id}`,
          resources[roleId],
          'events-target',
          account,
          rolePolicies(res, roleId, account, region, resources),
        ),
      );
    }
  }
  for (const [name, person] of Object.entries(world.people)) {
    out.push({
      arn: person.arn,
      principalArn: principalArnOf(person.arn, person.rolePath),
      ...(person.sourceIdentity !== undefined ? { sourceIdentity: person.sourceIdentity } : {}),
      account,
      accessKeyId: person.accessKeyId,
      secretAccessKey: person.secretAccessKey,
      kind: 'person',
      policies: personPolicies(res, person, account, region, resources),
      name,
    });
  }
  out.push({
    arn: `arn:aws:iam::${account}:user/${TEST_PRINCIPAL_NAME}`,
    principalArn: `arn:aws:iam::${account}:user/${TEST_PRINCIPAL_NAME}`,
    account,
    ...TEST_CREDENTIALS,
    kind: 'test',
    policies: [ADMIN_POLICY],
    name: 'test',
  });
  return out;
}

/**
 * `aws:PrincipalArn` of a caller: the role's ARN, with its path, for an assumed-role session (IAM
 * condition keys reference). IAM Identity Center's `AWSReservedSSO_*` roles live under
 * `/aws-reserved/sso.amazonaws.com/` unless `rolePath` says otherwise.
 */
export function principalArnOf(arn: string, rolePath?: string): string {
  const m = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(arn);
  if (!m) return arn;
  const path = rolePath ?? (m[3].startsWith(IDENTITY_CENTER_ROLE_PREFIX) ? IDENTITY_CENTER_ROLE_PATH : '/');
  return `arn:${m[1]}:iam::${m[2]}:role${path}${m[3]}`;
}
