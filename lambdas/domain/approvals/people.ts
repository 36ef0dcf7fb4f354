/**
 * Who is a person: the identity the two-person rule and every approval use, and which roles may
 * request, approve and break glass. Pure; shared by the front door, LockKey's approval check, the
 * stack (the API's resource policy) and the local front door.
 *
 * API Gateway's request context for AWS_IAM authorization carries the caller's ARN (`userArn`),
 * `caller`, `user`, `accountId`, `accessKey` and `principalOrgId`, never the session's
 * `sts:SourceIdentity`. So the person is read from the role session name, and only where nobody
 * but the identity provider chooses it:
 *
 * - IAM Identity Center: the `AWSReservedSSO_<permission set>_<hash>` role (path
 *   `/aws-reserved/sso.amazonaws.com/`, which nobody can create roles under) gets the user's
 *   Identity Center user name as its session name, set by Identity Center itself;
 * - any other allowed role: the API's resource policy denies a session without
 *   `aws:SourceIdentity`, or whose session name differs from it (`aws:userid` is
 *   `<role id>:<session name>`). A source identity is set once, by the identity provider or under
 *   the role's trust policy, and cannot be changed for the rest of the session or its role chain.
 *
 * IAM users, federated users (GetFederationToken names itself), the root user and role sessions
 * without a source identity are no person: they can neither request, approve nor break glass.
 */
import { oneLine } from '../text';

/** The role-name patterns (IAM wildcards `*` and `?`) allowed on each kind of route. */
export interface AccessRoles {
  /** `/requests` and the drill routes. */
  request: string[];
  /** `/approvals/{approvalId}`. */
  approve: string[];
  /** `/break-glass`. */
  breakGlass: string[];
}

/** What a role-name pattern may hold: IAM role-name characters and the wildcards `*` and `?`. */
export const ROLE_PATTERN = /^[\w+=,.@*?-]{1,64}$/;
/** Identity Center's roles: their names start with this, their path is IDENTITY_CENTER_ROLE_PATH. */
export const IDENTITY_CENTER_ROLE_PREFIX = 'AWSReservedSSO_';
/** The path of every Identity Center role (optionally followed by a Region); IAM refuses it to anyone else. */
export const IDENTITY_CENTER_ROLE_PATH = '/aws-reserved/sso.amazonaws.com/';

/** A verified person: who they are (the key the two-person rule compares) and how that is known. */
export interface Person {
  /** The comparison key: the session name, lower-case (Identity Center user names and source identities are case-insensitive). */
  key: string;
  /** As shown: the session name. */
  name: string;
  via: 'identity-center' | 'source-identity';
  roleName: string;
}

/** Why a caller is not a person allowed on a route: a code and a sentence saying what to configure. */
interface PersonRefusal {
  code: 'NotAPerson' | 'RoleNotAllowed';
  message: string;
}

const HOW_TO =
  'sign in through IAM Identity Center (permission set KmsRotateOnCall or KmsRotateBreakGlass), ' +
  'or assume an allowed role with a source identity equal to the session name (see README, "Permissions")';

/** True when `name` matches the IAM-style pattern (`*` any run of characters, `?` one character), case-sensitively as IAM role ARNs compare. */
function matchesRolePattern(name: string, pattern: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return regex.test(name);
}

/** True for a pattern that names Identity Center roles (it starts with the reserved prefix). */
export function isIdentityCenterPattern(pattern: string): boolean {
  return pattern.startsWith(IDENTITY_CENTER_ROLE_PREFIX);
}

/** The role name and session name of an assumed-role session ARN; null for anything else. */
function roleSessionOf(arn: string): { account: string; roleName: string; session: string } | null {
  const m = /^arn:aws[a-z-]*:sts::(\d{12}):assumed-role\/([^/]+)\/([^/]+)$/.exec(arn);
  return m ? { account: m[1], roleName: m[2], session: m[3] } : null;
}

/** The two-person rule's key for an ARN the front door accepted (a role session); null for any other ARN. */
export function personKeyOf(arn: string | null | undefined): string | null {
  if (!arn) return null;
  const session = roleSessionOf(arn);
  return session ? session.session.toLowerCase() : null;
}

/** Why an ARN that is not a role session is no person, in words. */
function notARole(arn: string): string {
  if (/:user\//.test(arn))
    return 'an IAM user (its long-term keys are not tied to one person and anyone holding them signs alike)';
  if (/:federated-user\//.test(arn)) return 'a federated user (GetFederationToken lets the caller name itself)';
  if (/:root$/.test(arn)) return 'the root user';
  return 'not a role session';
}

/**
 * The person behind a verified caller ARN on a route whose roles are `allowed`, or why not.
 * Identity Center sessions and (behind the resource policy) source-identity sessions only.
 */
export function personOf(arn: string, allowed: readonly string[], route: string): Person | PersonRefusal {
  const shown = oneLine(arn, 300);
  const session = roleSessionOf(arn);
  if (!session)
    return { code: 'NotAPerson', message: `${shown} is ${notARole(arn)}: only a person can use ${route}; ${HOW_TO}` };
  if (!allowed.some((p) => matchesRolePattern(session.roleName, p))) {
    return {
      code: 'RoleNotAllowed',
      message: `role ${oneLine(session.roleName, 64)} may not use ${route} (allowed: ${allowed.join(', ')}); ${HOW_TO}`,
    };
  }
  const via = session.roleName.startsWith(IDENTITY_CENTER_ROLE_PREFIX) ? 'identity-center' : 'source-identity';
  return { key: session.session.toLowerCase(), name: session.session, via, roleName: session.roleName };
}

/** True when personOf refused. */
export function isRefusal(value: Person | PersonRefusal): value is PersonRefusal {
  return 'code' in value;
}

/**
 * The default roles: the OnCall and BreakGlass roles (with a source identity) and the Identity
 * Center permission sets KmsRotateOnCall and KmsRotateBreakGlass. Break-glass people may also
 * request and approve (they are on call too).
 */
export const DEFAULT_ACCESS_ROLES: AccessRoles = {
  request: ['OnCall', 'BreakGlass', 'AWSReservedSSO_KmsRotateOnCall_*', 'AWSReservedSSO_KmsRotateBreakGlass_*'],
  approve: ['OnCall', 'BreakGlass', 'AWSReservedSSO_KmsRotateOnCall_*', 'AWSReservedSSO_KmsRotateBreakGlass_*'],
  breakGlass: ['BreakGlass', 'AWSReservedSSO_KmsRotateBreakGlass_*'],
};

/** Reads the roles from the front door's environment (JSON written by the stack); throws on anything else. */
export function parseAccessRoles(text: string | undefined): AccessRoles {
  const parsed: unknown = JSON.parse(text ?? 'null');
  const list = (v: unknown) =>
    Array.isArray(v) && v.length > 0 && v.every((p) => typeof p === 'string' && ROLE_PATTERN.test(p));
  const o = parsed as Record<string, unknown> | null;
  if (!o || !list(o.request) || !list(o.approve) || !list(o.breakGlass)) {
    throw new Error(
      'access roles: expected {"request":[...],"approve":[...],"breakGlass":[...]} of role-name patterns',
    );
  }
  return { request: o.request as string[], approve: o.approve as string[], breakGlass: o.breakGlass as string[] };
}
