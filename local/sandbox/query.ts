import { randomUUID } from 'node:crypto';
import type { SandboxAccess, SandboxPrincipal } from './access';

/**
 * STS and CloudFormation as the AWS query protocol serves them: a form body with `Action=` and
 * `Version=`, an XML answer `<{Action}Response xmlns=...><{Action}Result>...` and errors as
 * `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>` (the shapes
 * of aws-sdk-js-v3's sts.json and cloudformation.json models).
 */

/** One answer: HTTP status and XML body. */
export interface QueryAnswer {
  status: number;
  body: string;
}

const NAMESPACES = {
  sts: { version: '2011-06-15', xmlns: 'https://sts.amazonaws.com/doc/2011-06-15/' },
  cloudformation: { version: '2010-05-15', xmlns: 'http://cloudformation.amazonaws.com/doc/2010-05-15/' },
} as const;

export function xmlEscape(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

export function queryError(
  status: number,
  code: string,
  message: string,
  type: 'Sender' | 'Receiver' = 'Sender',
): QueryAnswer {
  return {
    status,
    body:
      `<ErrorResponse><Error><Type>${type}</Type><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(message)}</Message></Error>` +
      `<RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  };
}

function response(service: keyof typeof NAMESPACES, action: string, result: string): QueryAnswer {
  const ns = NAMESPACES[service].xmlns;
  return {
    status: 200,
    body:
      `<${action}Response xmlns="${ns}"><${action}Result>${result}</${action}Result>` +
      `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`,
  };
}

/** The form's Action and Version, or the error the service answers when either is wrong. */
function actionOf(service: keyof typeof NAMESPACES, params: URLSearchParams): { action: string } | QueryAnswer {
  const action = params.get('Action');
  if (!action) return queryError(400, 'MissingAction', 'Missing Action');
  const version = params.get('Version');
  if (version !== NAMESPACES[service].version) {
    return queryError(
      400,
      'InvalidAction',
      `Could not find operation ${action} for version ${version ?? 'NO_VERSION_SPECIFIED'}`,
    );
  }
  return { action };
}

/** STS GetCallerIdentity: who signed (no permission needed, as in AWS). */
export function stsAnswer(body: string, principal: SandboxPrincipal): QueryAnswer {
  const a = actionOf('sts', new URLSearchParams(body));
  if (!('action' in a)) return a;
  if (a.action !== 'GetCallerIdentity')
    return queryError(400, 'InvalidAction', `The sandbox's STS does not implement ${a.action}.`);
  const result = `<Arn>${xmlEscape(principal.arn)}</Arn><UserId>${xmlEscape(principal.userId)}</UserId><Account>${principal.account}</Account>`;
  return response('sts', 'GetCallerIdentity', result);
}

/** The stack as DescribeStacks shows it. */
export interface SandboxStack {
  name: string;
  stackId: string;
  createdAt: Date;
  description?: string;
  outputs: { key: string; value: string; description?: string; exportName?: string }[];
}

/** CloudFormation DescribeStacks (one stack: the sandbox's), authorized on the stack's id. */
export function cloudFormationAnswer(
  body: string,
  principal: SandboxPrincipal,
  access: SandboxAccess,
  stack: SandboxStack,
): QueryAnswer {
  const params = new URLSearchParams(body);
  const a = actionOf('cloudformation', params);
  if (!('action' in a)) return a;
  if (a.action !== 'DescribeStacks')
    return queryError(400, 'InvalidAction', `The sandbox's CloudFormation does not implement ${a.action}.`);
  const asked = params.get('StackName');
  // IAM sees the stack's ARN: this stack's id, or for a name of no stack `stack/<name>/*`
  // (so a caller allowed only this stack is refused, not told whether another exists); without
  // StackName, DescribeStacks lists every stack and the resource is "*".
  const ours = asked === stack.name || asked === stack.stackId;
  const otherStack = (name: string) =>
    name.startsWith('arn:') ? name : `${stack.stackId.replace(/:stack\/.*$/, '')}:stack/${name}/*`;
  const resource = asked === null ? '*' : ours ? stack.stackId : otherStack(asked);
  const decision = access.authorize(principal, 'cloudformation:DescribeStacks', resource);
  if (!decision.allowed) return queryError(403, 'AccessDenied', decision.message);
  if (asked !== null && !ours) return queryError(400, 'ValidationError', `Stack with id ${asked} does not exist`);
  const outputs = stack.outputs.map(outputMember).join('');
  const member = [
    `<StackId>${xmlEscape(stack.stackId)}</StackId>`,
    `<StackName>${xmlEscape(stack.name)}</StackName>`,
    stack.description ? `<Description>${xmlEscape(stack.description)}</Description>` : '',
    `<CreationTime>${stack.createdAt.toISOString()}</CreationTime>`,
    '<StackStatus>CREATE_COMPLETE</StackStatus>',
    '<DisableRollback>false</DisableRollback>',
    '<Capabilities><member>CAPABILITY_IAM</member></Capabilities>',
    `<Outputs>${outputs}</Outputs>`,
    '<Tags/>',
    '<EnableTerminationProtection>false</EnableTerminationProtection>',
    '<DriftInformation><StackDriftStatus>NOT_CHECKED</StackDriftStatus></DriftInformation>',
  ].join('');
  return response('cloudformation', 'DescribeStacks', `<Stacks><member>${member}</member></Stacks>`);
}

function outputMember(o: SandboxStack['outputs'][number]): string {
  const description = o.description ? `<Description>${xmlEscape(o.description)}</Description>` : '';
  const exportName = o.exportName ? `<ExportName>${xmlEscape(o.exportName)}</ExportName>` : '';
  return `<member><OutputKey>${xmlEscape(o.key)}</OutputKey><OutputValue>${xmlEscape(o.value)}</OutputValue>${description}${exportName}</member>`;
}
