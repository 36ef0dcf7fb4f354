import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { KmsIncidentRotationStack } from '../lib/stack';
import { STACK_NAME } from '../lib/names';
import type { Settings } from '../lib/settings/settings';
import { HANDLER_METADATA_KEY, type HandlerName } from '../lib/functions';
import { WORKFLOW_MODE_METADATA_KEY } from '../lib/workflow';
import type { IntakeMode } from '../lambdas/domain/intake/intake';

/** A synthesized CloudFormation template (JSON). */
export type CfnTemplate = {
  Resources: Record<string, { Type: string; Properties?: any; Metadata?: Record<string, unknown> }>;
};

/**
 * Synthesize the real stack in memory (no bundling: the local runner calls the handlers'
 * TypeScript directly) and return its template.
 */
export function synthTemplate(settings: Settings, env: { account: string; region: string }): CfnTemplate {
  // No bundling and no built-in CloudFormation validation (a WASM engine, ~4 s): `cdk synth`
  // and the infra tests run both; a local run only needs the definition and the environment.
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false });
  const stack = new KmsIncidentRotationStack(app, STACK_NAME, { settings, env });
  return Template.fromStack(stack).toJSON() as CfnTemplate;
}

export interface ResolveContext {
  account: string;
  region: string;
  partition?: string;
  /** Physical values for Refs/GetAtts of the template's own resources (e.g. the topic). */
  resources?: Record<string, string>;
}

/** Resolve the CloudFormation intrinsics the product's templates use: Ref, Fn::GetAtt, Fn::Join. */
export function resolveIntrinsics(value: unknown, ctx: ResolveContext): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveIntrinsics(v, ctx));
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length === 1) {
    const [k] = keys;
    const arg = obj[k];
    if (k === 'Ref') return resolveRef(String(arg), ctx);
    if (k === 'Fn::GetAtt') {
      const [logicalId, attribute] = arg as [string, string];
      return (
        ctx.resources?.[`${logicalId}.${attribute}`] ??
        ctx.resources?.[logicalId] ??
        `arn:aws:lambda:${ctx.region}:${ctx.account}:function:${logicalId}`
      );
    }
    if (k === 'Fn::Join') {
      const [sep, parts] = arg as [string, unknown[]];
      return parts.map((p) => String(resolveIntrinsics(p, ctx))).join(sep);
    }
  }
  return Object.fromEntries(keys.map((k) => [k, resolveIntrinsics(obj[k], ctx)]));
}

function resolveRef(name: string, ctx: ResolveContext): string {
  switch (name) {
    case 'AWS::AccountId':
      return ctx.account;
    case 'AWS::Region':
      return ctx.region;
    case 'AWS::Partition':
      return ctx.partition ?? 'aws';
    case 'AWS::URLSuffix':
      return 'amazonaws.com';
    default:
      return ctx.resources?.[name] ?? name;
  }
}

/**
 * The definition (ASL, parsed) of the state machine for `mode` (automatic: finding events;
 * manual: the front door's requests) and each Lambda-backed task function of the template.
 */
export function extractWorkflow(template: CfnTemplate, ctx: ResolveContext, mode: IntakeMode = 'automatic') {
  const machines = Object.entries(template.Resources).filter(
    ([, r]) => r.Type === 'AWS::StepFunctions::StateMachine' && r.Metadata?.[WORKFLOW_MODE_METADATA_KEY] === mode,
  );
  if (machines.length !== 1)
    throw new Error(`expected one ${mode} state machine in the template, found ${machines.length}`);
  const [, machine] = machines[0];
  const definition = JSON.parse(String(resolveIntrinsics(machine.Properties.DefinitionString, ctx)));

  const functions = new Map<
    string,
    { handler: HandlerName; environment: Record<string, string>; timeoutSeconds: number }
  >();
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const handler = resource.Metadata?.[HANDLER_METADATA_KEY];
    if (resource.Type !== 'AWS::Lambda::Function' || typeof handler !== 'string') continue;
    const environment = resolveIntrinsics(resource.Properties?.Environment?.Variables ?? {}, ctx) as Record<
      string,
      string
    >;
    functions.set(String(resolveIntrinsics({ 'Fn::GetAtt': [logicalId, 'Arn'] }, ctx)), {
      handler: handler as HandlerName,
      environment,
      timeoutSeconds: Number(resource.Properties?.Timeout ?? 3),
    });
  }
  return { definition, functions };
}
