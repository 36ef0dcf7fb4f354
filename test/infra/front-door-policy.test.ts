/**
 * The front door's API in the template: a resource policy admitting only the people the settings
 * name on each route (evaluated with the offline account's IAM, as API Gateway would for a caller
 * of its own account), stage throttling, and no test-invoke-stage permission anywhere.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { KmsIncidentRotationStack } from '../../lib/stack';
import { parseSettings, SettingsError } from '../../lib/settings/settings';
import { FRONT_DOOR_THROTTLE } from '../../lib/people/front-door';
import { FRONT_DOOR_ENV } from '../../lambdas/domain/approvals/front-door';
import { createAccountIam } from '../../local/iam';
import { parseWorld } from '../../local/world';
import type { CfnTemplate } from '../../local/template';

const env = { account: '111122223333', region: 'us-east-1' };
type Props = Record<string, any>;

function synth(settings: Record<string, unknown> = {}) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return Template.fromStack(
    new KmsIncidentRotationStack(app, 'KmsIncidentRotation', { settings: parseSettings(settings), env }),
  );
}

const CUSTOM = {
  requestRoles: ['SecOps', 'AWSReservedSSO_SecOps_*'],
  approveRoles: ['SecLead'],
  breakGlassRoles: ['AWSReservedSSO_SecBreakGlass_*'],
};
const t = synth(CUSTOM);
const json = t.toJSON() as CfnTemplate;

/** Everyone the world names, each with execute-api:Invoke on * (PowerUserAccess-like) besides the on-call policy. */
const INVOKE_ALL = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: '*' }],
};
const who = {
  secops: ['arn:aws:sts::111122223333:assumed-role/SecOps/erin', { sourceIdentity: 'erin' }],
  secopsNoSourceIdentity: ['arn:aws:sts::111122223333:assumed-role/SecOps/erin', {}],
  secopsOtherName: ['arn:aws:sts::111122223333:assumed-role/SecOps/erin-2', { sourceIdentity: 'erin' }],
  secopsSso: ['arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_SecOps_0a1b2c3d4e5f6789/erin', {}],
  fakeSso: ['arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_SecOps_0a1b2c3d4e5f6789/mallory', { rolePath: '/' }],
  lead: ['arn:aws:sts::111122223333:assumed-role/SecLead/frank', { sourceIdentity: 'frank' }],
  breakGlassSso: ['arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_SecBreakGlass_0a1b2c3d4e5f6789/gina', {}],
  oldOnCall: ['arn:aws:sts::111122223333:assumed-role/OnCall/alice', { sourceIdentity: 'alice' }],
  powerUser: ['arn:aws:iam::111122223333:user/paul', {}],
  federated: ['arn:aws:sts::111122223333:federated-user/paul', {}],
} as const;
const people = Object.fromEntries(
  Object.entries(who).map(([name, [arn, extra]], i) => [
    name.toLowerCase(),
    {
      arn,
      accessKeyId: `AKIAPOLICYTEST${String(i).padStart(6, '0')}`,
      secretAccessKey: 'policy-test-secret-not-real',
      breakGlass: true,
      policies: [INVOKE_ALL],
      ...extra,
    },
  ]),
);
const iam = createAccountIam({
  template: json,
  world: parseWorld({ ...env, people }, 'test'),
  account: env.account,
  region: env.region,
});
const routes = {
  request: 'POST/requests',
  approval: 'POST/approvals/ap-0123456789abcdef0123',
  breakGlass: 'POST/break-glass',
  drill: 'POST/drills',
};
const invoke = (name: keyof typeof who, route: keyof typeof routes) =>
  iam.authorize(
    iam.principals.person(name.toLowerCase()),
    'execute-api:Invoke',
    `arn:aws:execute-api:${env.region}:${env.account}:${iam.restApiId}/v1/${routes[route]}`,
    {},
    iam.restApiPolicy,
  );

describe('the REST API resource policy', () => {
  test('exists, denies only (identity policies still have to allow), and its iam-simulate validation passes', async () => {
    const [api] = Object.values(t.findResources('AWS::ApiGateway::RestApi')) as Props[];
    const statements: Props[] = api.Properties.Policy.Statement;
    expect(statements.map((s) => [s.Sid, s.Effect])).toEqual([
      ['OnlyTheirPeopleRequestDrillDrillCleanup', 'Deny'],
      ['OnlyTheirPeopleBreakGlass', 'Deny'],
      ['OnlyTheirPeopleApproval', 'Deny'],
      ['PeopleCarryASourceIdentity', 'Deny'],
      ['SessionNameIsTheSourceIdentity', 'Deny'],
    ]);
    await expect(iam.validate()).resolves.toBeUndefined();
  });

  test.each([
    ['a request role with a source identity equal to its session name', 'secops', 'request', true],
    ['the same role without a source identity', 'secopsNoSourceIdentity', 'request', false],
    ['the same role with a session name other than its source identity', 'secopsOtherName', 'request', false],
    ['the request permission set through Identity Center', 'secopsSso', 'request', true],
    ["an AWSReservedSSO_ role outside Identity Center's reserved path", 'fakeSso', 'request', false],
    ['a request role on the approvals route', 'secops', 'approval', false],
    ['the approve role on the approvals route', 'lead', 'approval', true],
    ['a request role on the break-glass route', 'secopsSso', 'breakGlass', false],
    ['the break-glass permission set on the break-glass route', 'breakGlassSso', 'breakGlass', true],
    ['the default OnCall role once the settings name others', 'oldOnCall', 'request', false],
    ['an IAM user allowed execute-api:Invoke on *', 'powerUser', 'request', false],
    ['an IAM user on the drill route', 'powerUser', 'drill', false],
    ['a federated user', 'federated', 'approval', false],
  ] as const)('%s: %s', (_what, name, route, allowed) => {
    const decision = invoke(name, route);
    expect(decision.allowed).toBe(allowed);
    if (!decision.allowed) expect(decision).toMatchObject({ explicit: true, policyType: 'resource' });
  });

  test('the front door function gets the same roles (it names why a caller is refused)', () => {
    const fns = Object.values(t.findResources('AWS::Lambda::Function')) as Props[];
    const frontDoor = fns.find((f) => f.Properties.Environment?.Variables?.[FRONT_DOOR_ENV.accessRoles]);
    expect(JSON.parse(frontDoor!.Properties.Environment.Variables[FRONT_DOOR_ENV.accessRoles])).toEqual({
      request: CUSTOM.requestRoles,
      approve: CUSTOM.approveRoles,
      breakGlass: CUSTOM.breakGlassRoles,
    });
  });
});

describe('the stage and its integrations', () => {
  test('throttling on every method of the stage', () => {
    const [stage] = Object.values(t.findResources('AWS::ApiGateway::Stage')) as Props[];
    expect(stage.Properties.MethodSettings).toEqual([
      expect.objectContaining({
        HttpMethod: '*',
        ResourcePath: '/*',
        ThrottlingRateLimit: FRONT_DOOR_THROTTLE.rateLimit,
        ThrottlingBurstLimit: FRONT_DOOR_THROTTLE.burstLimit,
      }),
    ]);
  });

  test('no test-invoke-stage permission anywhere: the functions accept calls from the v1 stage only', () => {
    const text = JSON.stringify(synth().toJSON());
    expect(text).not.toContain('test-invoke-stage');
    const permissions = Object.values(t.findResources('AWS::Lambda::Permission')) as Props[];
    const fromApi = permissions.filter((p) => p.Properties.Principal === 'apigateway.amazonaws.com');
    expect(fromApi.length).toBeGreaterThan(0);
    for (const p of fromApi)
      expect(JSON.stringify(p.Properties.SourceArn)).toMatch(
        /\{"Ref":"FrontDoorApiDeploymentStagev1[0-9A-F]{8}"\},"\/POST\//,
      );
  });
});

describe('role settings', () => {
  test.each([
    [{ approveRoles: [] }, /approveRoles: .*>=1|approveRoles: Too small/],
    [{ requestRoles: ['On Call'] }, /requestRoles\.0: an IAM role name pattern/],
    [
      { breakGlassRoles: ['arn:aws:iam::111122223333:role/BreakGlass'] },
      /breakGlassRoles\.0: an IAM role name pattern/,
    ],
  ])('refused at synth, naming the field: %j', (settings, message) => {
    expect(() => parseSettings(settings)).toThrow(SettingsError);
    expect(() => parseSettings(settings)).toThrow(message);
  });
});
