import { Aws, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { DRILL_ENV } from '../lambdas/domain/drill';
import { FRONT_DOOR_ENV, ROUTES, type RouteName } from '../lambdas/domain/front-door';
import { productFunction } from './functions';

/** Template metadata naming a function that is not a workflow task (the local runner skips it). */
export const COMPONENT_METADATA_KEY = 'kms-incident-rotation:component';

export interface FrontDoorProps {
  manualStateMachine: sfn.StateMachine;
  ledgerTable: string;
  logRetention: logs.RetentionDays;
  /** Encrypts the front door's log groups (the product key). */
  logEncryptionKey?: kms.IKey;
  environment?: Record<string, string>;
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
    this.function = this.component('front-door', 'Function', 'front door: verified caller -> manual run or approval answer', props, {
      [FRONT_DOOR_ENV.accountId]: account,
      [FRONT_DOOR_ENV.ledgerTable]: props.ledgerTable,
      [FRONT_DOOR_ENV.manualStateMachineArn]: props.manualStateMachine.stateMachineArn,
    });
    this.drillFunction = this.component('drill', 'Drill', 'drill component: creates drill-tagged throwaway keys and schedules their deletion', props, {
      [DRILL_ENV.accountId]: account,
      [DRILL_ENV.partition]: Aws.PARTITION,
      [DRILL_ENV.ledgerTable]: props.ledgerTable,
    });

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: props.logRetention, encryptionKey: props.logEncryptionKey, removalPolicy: RemovalPolicy.DESTROY });
    this.api = new apigateway.RestApi(this, 'Api', {
      description: 'kms-incident-rotation front door (IAM-authenticated)',
      endpointTypes: [apigateway.EndpointType.REGIONAL],
      cloudWatchRole: false,
      deployOptions: {
        stageName: 'v1',
        accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields(),
        tracingEnabled: true,
      },
      defaultMethodOptions: { authorizationType: apigateway.AuthorizationType.IAM },
    });
    const integration = new apigateway.LambdaIntegration(this.function, { proxy: true });
    const drillIntegration = new apigateway.LambdaIntegration(this.drillFunction, { proxy: true });
    const validator = this.api.addRequestValidator('Validator', { validateRequestParameters: true, validateRequestBody: false });
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
      resourceFor(route.resource).addMethod(route.method, target, { authorizationType: apigateway.AuthorizationType.IAM, requestValidator: validator });
    }
  }

  /** One function of the front door, with its own role (logs to its own group only). */
  private component(handlerFolder: string, id: string, what: string, props: FrontDoorProps, environment: Record<string, string>): lambda.Function {
    const fn = productFunction(this, { logs: `${id}Logs`, role: `${id}Role`, fn: id }, {
      folder: handlerFolder,
      description: `kms-incident-rotation ${what}`,
      roleDescription: `kms-incident-rotation ${handlerFolder}`,
      environment: { ...props.environment, ...environment },
      logRetention: props.logRetention,
      logEncryptionKey: props.logEncryptionKey,
      timeout: Duration.seconds(29),
    });
    (fn.node.defaultChild as lambda.CfnFunction).addMetadata(COMPONENT_METADATA_KEY, handlerFolder);
    return fn;
  }
}
