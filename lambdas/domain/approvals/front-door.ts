/**
 * The front door's contract: the routes people use (through an IAM-authenticated API), how a
 * caller is known (ONLY from the request context AWS filled in after verifying the signature),
 * what a body may say, and the answers. Shared by the front-door Lambda, the CLI and the local
 * front door. Pure.
 *
 * A body can never set who is asking, `force`, the source or any finding field: who asks comes
 * from AWS authentication, `force` from the route (only `/break-glass` sets it, a separate IAM
 * right), and the manual state machine takes nothing but these requests.
 */
import { APPROVAL_ID_PATTERN } from './approval';
import { MAX_REASON_LENGTH } from '../intake/read';
import { fieldPath, knownFieldsAt, ReEncryptSchema } from '../intake/targets';
import type { ReencryptTargetSpec } from '../reencryption';
import { readReencryptOnly, type ReencryptOnly } from '../reencryption/reencrypt-only';
import { oneLine } from '../text';
import { isRefusal, personKeyOf, personOf, type AccessRoles, type Person } from './people';

/** The routes, as API Gateway names them (`resource`), with their method. */
export const ROUTES = {
  request: { method: 'POST', resource: '/requests' },
  breakGlass: { method: 'POST', resource: '/break-glass' },
  approval: { method: 'POST', resource: '/approvals/{approvalId}' },
  drill: { method: 'POST', resource: '/drills' },
  drillCleanup: { method: 'POST', resource: '/drills/{keyId}/cleanup' },
} as const;

export type RouteName = keyof typeof ROUTES;

/** The concrete path of a route (path parameters filled in, URI-encoded). */
export function routePath(route: RouteName, params: Record<string, string> = {}): string {
  return ROUTES[route].resource.replace(/\{(\w+)\}/g, (_m, name: string) => encodeURIComponent(params[name] ?? ''));
}

/** The part of an API Gateway (REST, AWS_IAM authorization) proxy event the front door reads. */
export interface FrontDoorEvent {
  resource?: string;
  httpMethod?: string;
  pathParameters?: Record<string, string | undefined> | null;
  body?: string | null;
  isBase64Encoded?: boolean;
  requestContext?: {
    identity?: { userArn?: string | null; accountId?: string | null; caller?: string | null } | null;
  } | null;
}

export interface FrontDoorResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** The verified caller: API Gateway fills this in only after IAM authenticated the signature. */
export interface Caller {
  arn: string;
  account: string;
}

/** The caller from the request context; null when there is none (the API is misconfigured). */
export function callerOf(event: FrontDoorEvent): Caller | null {
  const identity = event.requestContext?.identity;
  const arn = identity?.userArn;
  const account = identity?.accountId;
  if (typeof arn !== 'string' || !arn.startsWith('arn:') || typeof account !== 'string' || !/^\d{12}$/.test(account))
    return null;
  return { arn, account };
}

/** Which route an event is for; null for anything else. */
export function routeOf(event: FrontDoorEvent): RouteName | null {
  for (const [name, route] of Object.entries(ROUTES) as [RouteName, (typeof ROUTES)[RouteName]][]) {
    if (event.resource === route.resource && event.httpMethod === route.method) return name;
  }
  return null;
}

/** A refusal: the HTTP status and a sentence for the person. */
export class FrontDoorError extends Error {
  override name = 'FrontDoorError';
  constructor(
    readonly statusCode: 400 | 403 | 404 | 409 | 410 | 500,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function respond(statusCode: number, body: unknown): FrontDoorResponse {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/** The JSON object a body holds; a FrontDoorError(400) otherwise. */
export function bodyObject(event: FrontDoorEvent): Record<string, unknown> {
  const raw =
    event.isBase64Encoded && event.body ? Buffer.from(event.body, 'base64').toString('utf8') : (event.body ?? '');
  let parsed: unknown;
  try {
    parsed = raw === '' ? {} : JSON.parse(raw);
  } catch {
    throw new FrontDoorError(400, 'BadRequest', 'body: expected a JSON object');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new FrontDoorError(400, 'BadRequest', 'body: expected a JSON object');
  return parsed as Record<string, unknown>;
}

/**
 * Identity fields a body may carry (older CLIs sent requestedBy): ignored, never used; the
 * caller is the request context's.
 */
const IGNORED_IDENTITY_FIELDS = new Set(['requestedBy', 'approvedBy', 'by', 'caller', 'identity', 'userArn']);

/** What a person may ask for on `/requests` and `/break-glass`. */
export interface RunRequestBody {
  keyId: string;
  reason: string;
  dryRun: boolean;
  /** The execution name the CLI chose (it prints it); else the front door makes one. */
  name: string | null;
  /** Data to re-encrypt after the rotation (`kms-rotate start --reencrypt`); absent when none. */
  reEncrypt?: ReEncryptRequest;
  /** Re-encrypt only, without a rotation (`kms-rotate reencrypt`): the exposure time; absent for a rotation. */
  reEncryptOnly?: ReencryptOnly;
}

/** What a person may ask to re-encrypt: targets as given (Intake fills in the prefix and de-duplicates). */
export interface ReEncryptRequest {
  targets: (Omit<ReencryptTargetSpec, 'prefix'> & { prefix?: string })[];
}

const RUN_FIELDS = ['keyId', 'reason', 'dryRun', 'name', 'reEncrypt', 'reEncryptOnly', 'exposedAt'];
/** Step Functions execution names: at most 80 characters; ours are `manual-...` or `drill-...`. */
const EXECUTION_NAME = /^(manual|drill)-[A-Za-z0-9_-]{1,73}$/;

/**
 * Reads a run request. `force` is refused on `/requests` (it is the break-glass route's), and any
 * finding-shaped or unknown field is refused: the manual machine takes only this shape.
 */
export function readRunRequest(
  body: Record<string, unknown>,
  route: 'request' | 'breakGlass' | 'drill',
): RunRequestBody {
  if (Object.hasOwn(body, 'force') || Object.hasOwn(body, 'breakGlass')) {
    if (route === 'request') {
      throw new FrontDoorError(
        403,
        'BreakGlassRequired',
        'force: a forced rotation needs the break-glass right (POST /break-glass, kms-rotate start --force with the break-glass policy); this route never forces',
      );
    }
    throw new FrontDoorError(400, 'BadRequest', 'force: not a body field; the route decides');
  }
  const unknown = Object.keys(body).filter((k) => !RUN_FIELDS.includes(k) && !IGNORED_IDENTITY_FIELDS.has(k));
  if (unknown.length > 0) {
    throw new FrontDoorError(
      400,
      'BadRequest',
      `${unknown
        .slice(0, 5)
        .map((k) => oneLine(k, 40))
        .join(', ')}: unknown field; a request has ${RUN_FIELDS.join(', ')}`,
    );
  }
  const { keyId, reason, dryRun, name, reEncrypt, reEncryptOnly, exposedAt } = body;
  if (typeof keyId !== 'string' || keyId.trim() === '')
    throw new FrontDoorError(400, 'BadRequest', 'keyId: expected a KMS key id, key ARN, alias name or alias ARN');
  if (typeof reason !== 'string' || reason.trim() === '')
    throw new FrontDoorError(400, 'BadRequest', 'reason: expected a non-empty string saying why');
  if (reason.trim().length > MAX_REASON_LENGTH)
    throw new FrontDoorError(400, 'BadRequest', `reason: expected at most ${MAX_REASON_LENGTH} characters`);
  const cleanReason = cleanText(reason);
  if (cleanReason === '')
    throw new FrontDoorError(
      400,
      'BadRequest',
      'reason: expected a non-empty string saying why (it had only control characters)',
    );
  if (dryRun !== undefined && typeof dryRun !== 'boolean')
    throw new FrontDoorError(400, 'BadRequest', 'dryRun: expected true or false');
  if (name !== undefined && (typeof name !== 'string' || !EXECUTION_NAME.test(name))) {
    throw new FrontDoorError(
      400,
      'BadRequest',
      'name: expected manual-... or drill-... (letters, digits, - and _, at most 80 characters)',
    );
  }
  const targets = reEncrypt === undefined ? undefined : readReEncrypt(reEncrypt);
  const only = readReencryptOnly(
    { reEncryptOnly, exposedAt, hasTargets: !!targets, forced: route === 'breakGlass' },
    new Date(),
  );
  if ('error' in only) throw new FrontDoorError(400, 'BadRequest', only.error);
  return {
    keyId: keyId.trim(),
    reason: cleanReason,
    dryRun: dryRun === true,
    name: typeof name === 'string' ? name : null,
    ...(targets ? { reEncrypt: targets } : {}),
    ...(only.value ? { reEncryptOnly: only.value } : {}),
  };
}

/**
 * A body's `reEncrypt`, checked by the same rules as Intake's (a 400 naming the field now, rather
 * than a failed execution later); undefined when it lists no target.
 */
function readReEncrypt(value: unknown): ReEncryptRequest | undefined {
  const parsed = ReEncryptSchema.safeParse(value);
  if (!parsed.success) {
    const messages = parsed.error.issues.slice(0, 5).map((issue) => {
      const path = ['reEncrypt', ...issue.path];
      if (issue.code === 'unrecognized_keys') {
        return `${issue.keys
          .slice(0, 5)
          .map((k) => `${fieldPath(path)}.${oneLine(k, 40)}`)
          .join(', ')}: unknown field; ${knownFieldsAt(path) ?? ''}`;
      }
      return `${fieldPath(path)}: ${issue.message}`;
    });
    throw new FrontDoorError(400, 'BadRequest', messages.join('; '));
  }
  return parsed.data.targets.length > 0 ? { targets: parsed.data.targets } : undefined;
}

/** The manual state machine's input: what the front door alone may start it with. */
export interface ManualRunInput {
  keyId: string;
  reason: string;
  dryRun: boolean;
  /** Set by the route (`/break-glass`), never by the body. */
  breakGlass: boolean;
  /** The verified caller. */
  requestedBy: string;
  /** Passed on from the body (Intake validates it again and makes it `reEncryptTargets`). */
  reEncrypt?: ReEncryptRequest;
  /** Re-encrypt only: passed on as the manual request's `reEncryptOnly: true, exposedAt` (Intake checks them again). */
  reEncryptOnly?: boolean;
  exposedAt?: string;
}

/** An approval decision as the body of `POST /approvals/{approvalId}`. */
export interface DecisionBody {
  decision: 'approve' | 'deny';
  reason: string | null;
}

/** Reads a decision: exactly `approve` or `deny` (a denial needs a reason). */
export function readDecision(body: Record<string, unknown>): DecisionBody {
  const { decision, reason } = body;
  if (decision !== 'approve' && decision !== 'deny')
    throw new FrontDoorError(400, 'BadRequest', 'decision: expected "approve" or "deny"');
  if (reason !== undefined && reason !== null && typeof reason !== 'string')
    throw new FrontDoorError(400, 'BadRequest', 'reason: expected a string');
  const raw = typeof reason === 'string' ? reason.trim() : '';
  if (raw.length > MAX_REASON_LENGTH)
    throw new FrontDoorError(400, 'BadRequest', `reason: expected at most ${MAX_REASON_LENGTH} characters`);
  const text = cleanText(raw);
  if (decision === 'deny' && text === '')
    throw new FrontDoorError(400, 'BadRequest', 'reason: a denial needs a reason');
  return { decision, reason: text === '' ? null : text };
}

/** The approval id of the path; a FrontDoorError(400) when it is not one. */
export function approvalIdParam(event: FrontDoorEvent): string {
  const id = event.pathParameters?.approvalId;
  if (typeof id !== 'string' || !APPROVAL_ID_PATTERN.test(id))
    throw new FrontDoorError(
      400,
      'BadRequest',
      'approval id: expected ap- and 20 hex characters, as the notification gives it',
    );
  return id;
}

/**
 * The two-person rule, by person (domain/approvals/people.ts), not by ARN: whoever asked for a manual run
 * cannot approve it under any session or role (a finding-triggered run has no requester: any
 * on-call approver). Denying one's own request is allowed: it spends nothing. A requester that is
 * no person (an approval stored before people were required) cannot be told apart: refused.
 */
export function twoPersonRefusal(
  requestedBy: string | null,
  caller: Caller,
  decision: DecisionBody['decision'],
  approver: Person,
): FrontDoorError | null {
  if (decision !== 'approve' || requestedBy === null) return null;
  const requester = personKeyOf(requestedBy);
  if (requester === null) {
    const who = oneLine(requestedBy, 300);
    const why = 'so nobody can be shown to be someone else; rerun kms-rotate start as a person';
    return new FrontDoorError(403, 'TwoPersonRule', `two-person rule: the requester ${who} is no person, ${why}`);
  }
  if (requester === approver.key) {
    const asked = `${approver.name}, who requested this rotation as ${oneLine(requestedBy, 300)}`;
    const message = `two-person rule: ${oneLine(caller.arn, 300)} is ${asked} and cannot also approve it; another on-call engineer must`;
    return new FrontDoorError(403, 'TwoPersonRule', message);
  }
  return null;
}

/** The routes' role lists, by route name. */
export function rolesFor(route: RouteName, roles: AccessRoles): readonly string[] {
  if (route === 'breakGlass') return roles.breakGlass;
  if (route === 'approval') return roles.approve;
  return roles.request;
}

/** The person calling `route`, or a FrontDoorError(403) naming why not and what to configure. */
export function requirePerson(caller: Caller, route: RouteName, roles: AccessRoles): Person {
  const { method, resource } = ROUTES[route];
  const person = personOf(caller.arn, rolesFor(route, roles), `${method} ${resource}`);
  if (isRefusal(person)) throw new FrontDoorError(403, person.code, person.message);
  return person;
}

/** The front door function's own environment (lib/people/front-door.ts writes it). */
export const FRONT_DOOR_ENV = {
  accountId: 'ACCOUNT_ID',
  ledgerTable: 'LEDGER_TABLE',
  manualStateMachineArn: 'MANUAL_STATE_MACHINE_ARN',
  /** JSON of AccessRoles: who may use which route (settings requestRoles, approveRoles, breakGlassRoles). */
  accessRoles: 'ACCESS_ROLES',
} as const;

/**
 * A person's text as the workflow stores and shows it: one line without control or format
 * characters (escape sequences, line breaks, bidirectional overrides), so the execution input, its
 * history, the ledger and every notification carry only what a reader sees.
 */
function cleanText(text: string): string {
  return oneLine(text, MAX_REASON_LENGTH);
}
