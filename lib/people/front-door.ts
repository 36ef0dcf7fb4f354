import { Aws, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { DRILL_ENV } from '../../lambdas/domain/drill';
import { FRONT_DOOR_ENV, rolesFor, ROUTES, type RouteName } from '../../lambdas/domain/approvals/front-door';
import {
  IDENTITY_CENTER_ROLE_PATH,
  isIdentityCenterPattern,
  type AccessRoles,
} from '../../lambdas/domain/approvals/people';
import { productFunction } from '../functions';

/** The stage the API is deployed to (FrontDoorUrl ends with it; IAM and the resource policy name it). */
export const FRONT_DOOR_STAGE = 'v1';

/**
 * The stage's throttling (every method): people type a handful of commands per incident, so a
 * steady 5 requests per second with bursts of 10 serves an incident room while a runaway script
 * gets 429s long before it could start executions faster than the daily caps refuse them.
 */
export const FRONT_DOOR_THROTTLE = { rateLimit: 5, burstLimit: 10 } as const;

/**
 * The route in the resource policy's abbreviated form, which API Gateway expands to this API's full
 * ARN when it saves the policy (`arn:<partition>:execute-api:<region>:<account>:<api id>/...`); the
 * API's own id cannot be referenced in its own policy (a circular dependency).
 */
function routeArn(route: RouteName): string {
  const { method, resource } = ROUTES[route];
  return `execute-api:/${FRONT_DOOR_STAGE}/${method}${resource.replace(/\{\w+\}/g, '*')}`;
}

/** `aws:PrincipalArn` patterns of a role-name pattern: Identity Center roles under their reserved path, other roles with or without a path. */
function principalArnPatterns(pattern: string): string[] {
  const role = `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role`;
  if (isIdentityCenterPattern(pattern)) return [`${role}${IDENTITY_CENTER_ROLE_PATH}*${pattern}`];
  return [`${role}/${pattern}`, `${role}/*/${pattern}`];
}

/**
 * The API's resource policy: who may call each route, beside the identity policies. Deny-only:
 * API Gateway with IAM authorization in one account allows a call that the caller's identity
 * policy OR the resource policy allows, and an explicit deny in either wins ("How API Gateway
 * resource policies affect authorization workflow", table A), so only denies can narrow what an
 * identity policy such as PowerUserAccess (execute-api:Invoke on *) grants. A call needs the
 * on-call (or break-glass) policy AND must pass every statement here:
 * - the route's roles (settings requestRoles / approveRoles / breakGlassRoles) only: IAM users,
 *   federated users, the root user and every other role are denied;
 * - outside Identity Center's reserved path, the session must carry `aws:SourceIdentity` and its
 *   session name must equal it (`aws:userid` = `<role id>:<session name>`), so the name the front
 *   door reads is one the caller could not choose (domain/approvals/people.ts).
 */
export function frontDoorResourcePolicy(roles: AccessRoles): iam.PolicyDocument {
  const routes = Object.keys(ROUTES) as RouteName[];
  const statements: iam.PolicyStatement[] = [];
  const groups = new Map<string, RouteName[]>();
  for (const route of routes) {
    const key = JSON.stringify(rolesFor(route, roles));
    groups.set(key, [...(groups.get(key) ?? []), route]);
  }
  for (const [key, members] of groups) {
    const patterns = (JSON.parse(key) as string[]).flatMap(principalArnPatterns);
    statements.push(
      new iam.PolicyStatement({
        sid: `OnlyTheirPeople${members.map((r) => r[0].toUpperCase() + r.slice(1)).join('')}`,
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['execute-api:Invoke'],
        resources: members.map(routeArn),
        conditions: { ArnNotLike: { 'aws:PrincipalArn': patterns } },
      }),
    );
  }
  const identityCenterRoles = `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role${IDENTITY_CENTER_ROLE_PATH}*`;
  const outsideIdentityCenter = { ArnNotLike: { 'aws:PrincipalArn': identityCenterRoles } };
  statements.push(
    new iam.PolicyStatement({
      sid: 'PeopleCarryASourceIdentity',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['execute-api:Invoke'],
      resources: routes.map(routeArn),
      conditions: { ...outsideIdentityCenter, Null: { 'aws:SourceIdentity': 'true' } },
    }),
    new iam.PolicyStatement({
      sid: 'SessionNameIsTheSourceIdentity',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['execute-api:Invoke'],
      resources: routes.map(routeArn),
      conditions: { ...outsideIdentityCenter, StringNotLike: { 'aws:userid': '*:${aws:SourceIdentity}' } },
    }),
  );
  return new iam.PolicyDocument({ statements });
}

/** Template metadata naming a function that is not a workflow task (the local runner skips it). */
export const COMPONENT_METADATA_KEY = 'kms-incident-rotation:component';

export interface FrontDoorProps {
  manualStateMachine: sfn.StateMachine;
  ledgerTable: string;
  logRetention: logs.RetentionDays;
  /** Encrypts the front door's log groups (the product key). */
  logEncryptionKey?: kms.IKey;
  environment?: Record<string, string>;
  /** Which roles' people may use which route (settings requestRoles, approveRoles, breakGlassRoles). */
  roles: AccessRoles;
}

/**
 * People's one way in: an API Gateway REST API with AWS_IAM authorization on every route (IAM
 * grants execute-api:Invoke per stage, method and path, so on-call and break-glass are separate
 * rights; REST APIs exist in every commercial Region, unlike Lambda function URLs), in front of
 * one Lambda that reads the caller from the request context and starts the manual machine or
 * answers approvals itself.
 */
export class FrontDoor extends Construct {
  readonly api: apigateway.RestApi;
  /** Manual runs and approval answers. */
  readonly function: lambda.Function;
  /** The drill component: creates throwaway drill keys and schedules their deletion. */
  readonly drillFunction: lambda.Function;

  constructor(scope: Construct, id: string, props: FrontDoorProps) {
    super(scope, id);
    const account = Stack.of(this).account;
    this.function = this.component(
      'front-door',
      'Function',
      'front door: verified caller -> manual run or approval answer',
      props,
      {
        [FRONT_DOOR_ENV.accountId]: account,
        [FRONT_DOOR_ENV.ledgerTable]: props.ledgerTable,
        [FRONT_DOOR_ENV.manualStateMachineArn]: props.manualStateMachine.stateMachineArn,
        [FRONT_DOOR_ENV.accessRoles]: JSON.stringify(props.roles),
      },
    );
    this.drillFunction = this.component(
      'drill',
      'Drill',
      'drill component: creates drill-tagged throwaway keys and schedules their deletion',
      props,
      {
        [DRILL_ENV.accountId]: account,
        [DRILL_ENV.partition]: Aws.PARTITION,
        [DRILL_ENV.ledgerTable]: props.ledgerTable,
        [DRILL_ENV.accessRoles]: JSON.stringify(props.roles),
      },
    );

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      encryptionKey: props.logEncryptionKey,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.api = new apigateway.RestApi(this, 'Api', {
      description: 'kms-incident-rotation front door (IAM-authenticated)',
      endpointTypes: [apigateway.EndpointType.REGIONAL],
      cloudWatchRole: false,
      policy: frontDoorResourcePolicy(props.roles),
      deployOptions: {
        stageName: FRONT_DOOR_STAGE,
        throttlingRateLimit: FRONT_DOOR_THROTTLE.rateLimit,
        throttlingBurstLimit: FRONT_DOOR_THROTTLE.burstLimit,
        accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields(),
        tracingEnabled: true,
      },
      defaultMethodOptions: { authorizationType: apigateway.AuthorizationType.IAM },
    });
    // No test-invoke-stage permission: a console test invocation skips IAM authorization and the
    // resource policy, so the functions accept calls from the deployed stage only.
    const integration = new apigateway.LambdaIntegration(this.function, { proxy: true, allowTestInvoke: false });
    const drillIntegration = new apigateway.LambdaIntegration(this.drillFunction, {
      proxy: true,
      allowTestInvoke: false,
    });
    const validator = this.api.addRequestValidator('Validator', {
      validateRequestParameters: true,
      validateRequestBody: false,
    });
    const resources = new Map<string, apigateway.IResource>([['', this.api.root]]);
    const resourceFor = (resourcePath: string): apigateway.IResource => {
      const known = resources.get(resourcePath);
      if (known) return known;
      const cut = resourcePath.lastIndexOf('/');
      const created = resourceFor(resourcePath.slice(0, cut)).addResource(resourcePath.slice(cut + 1));
      resources.set(resourcePath, created);
      return created;
    };
    for (const name of Object.keys(ROUTES) as RouteName[]) {
      const route = ROUTES[name];
      const target = name === 'drill' || name === 'drillCleanup' ? drillIntegration : integration;
      resourceFor(route.resource).addMethod(route.method, target, {
        authorizationType: apigateway.AuthorizationType.IAM,
        requestValidator: validator,
      });
    }
  }

  /** One function of the front door, with its own role (logs to its own group only). */
  private component(
    handlerFolder: string,
    id: string,
    what: string,
    props: FrontDoorProps,
    environment: Record<string, string>,
  ): lambda.Function {
    const fn = productFunction(
      this,
      { logs: `${id}Logs`, role: `${id}Role`, fn: id },
      {
        folder: handlerFolder,
        description: `kms-incident-rotation ${what}`,
        roleDescription: `kms-incident-rotation ${handlerFolder}`,
        environment: { ...props.environment, ...environment },
        logRetention: props.logRetention,
        logEncryptionKey: props.logEncryptionKey,
        timeout: Duration.seconds(29),
      },
    );
    (fn.node.defaultChild as lambda.CfnFunction).addMetadata(COMPONENT_METADATA_KEY, handlerFolder);
    return fn;
  }
}
