import { routePath, type RouteName } from '../lambdas/domain/approvals/front-door';
import type { Aws } from './aws';
import { CliError, usageError } from './errors';
import { EXIT } from './exit-codes';
import type { Io } from './io';
import { signedPost, type FrontDoorAnswer } from '../local/front-door-client';

/** Where the front door is when not read from the stack (tests, local runs, other stacks). */
export const FRONT_DOOR_ENV = 'KMS_ROTATE_FRONT_DOOR_URL';

/**
 * The front door's answer as the CLI's exit codes say: 2 for what the person can fix (bad input,
 * unknown, answered or expired approval), 4 for a refusal (403: IAM, the two-person rule,
 * break-glass) or a failure on the AWS side.
 */
export function frontDoorError(answer: FrontDoorAnswer, what: string): CliError {
  const message = typeof answer.body.message === 'string' ? answer.body.message : `HTTP ${answer.status}`;
  const code = typeof answer.body.error === 'string' ? ` (${answer.body.error})` : '';
  if (answer.status === 403)
    return new CliError(`The front door refused ${what}${code}: ${message}${resourcePolicyHint(message)}`, EXIT.AWS);
  if (answer.status >= 400 && answer.status < 500)
    return usageError(`The front door could not ${what}${code}: ${message}`);
  return new CliError(`The front door failed to ${what} (HTTP ${answer.status})${code}: ${message}`, EXIT.AWS);
}

/**
 * API Gateway's refusal by the API's resource policy names no reason: say what it admits (the
 * front door's own refusals name theirs).
 */
function resourcePolicyHint(message: string): string {
  if (!/explicit deny in a resource-based policy/.test(message)) return '';
  return (
    ". The front door admits only people, each route only from the roles the stack's settings name (requestRoles, approveRoles, breakGlassRoles):" +
    ' sign in through IAM Identity Center, or use a role session whose source identity equals its session name (docs/permissions.md)'
  );
}

/** The front door's URL: $KMS_ROTATE_FRONT_DOOR_URL, else the stack's FrontDoorUrl output. */
export async function frontDoorUrl(aws: Aws, io: Io, stackName: string): Promise<string> {
  const given = io.env[FRONT_DOOR_ENV];
  if (given) return given;
  const outputs = await aws.stackOutputs(stackName);
  const url = outputs?.FrontDoorUrl;
  if (!url)
    throw usageError(
      `No front door found: the stack ${stackName} has no FrontDoorUrl output (deploy the current stack, or set ${FRONT_DOOR_ENV}).`,
    );
  return url;
}

/** POST to the front door with the credentials and Region this command uses; a CliError for anything but 200. */
export async function callFrontDoor(
  aws: Aws,
  io: Io,
  stackName: string,
  route: RouteName,
  params: Record<string, string>,
  body: unknown,
  what: string,
): Promise<Record<string, unknown>> {
  const url = await frontDoorUrl(aws, io, stackName);
  const region = await aws.region();
  const credentials = await aws.call('loading AWS credentials', () => aws.credentials());
  const answer = await aws.call(`the front door (${routePath(route, params)})`, () =>
    signedPost(url, route, params, body, credentials, region),
  );
  if (answer.status !== 200) throw frontDoorError(answer, what);
  return answer.body;
}
