import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceError } from '../standin/errors';
import type { MemberRef, ModelExtract, Shape } from './types';
import { shapeOf, validateInput, validateOutput, validationMessage, type ValidationIssue } from './validate';

/**
 * restJson1 services the stand-in serves (the finding sources: GuardDuty, Security Hub, IAM
 * Access Analyzer): binding an HTTP request to the operation's input shape (URI labels, query
 * parameters, JSON body members by their `jsonName`), and the JSON answer back to the output
 * shape, so both are validated against the published model (local/models/<service>.json).
 */

export type RestJsonService = 'guardduty' | 'securityhub' | 'accessanalyzer';

const cache = new Map<RestJsonService, ModelExtract>();

/** The pinned extract of a restJson1 service. */
export function loadRestJsonModel(service: RestJsonService): ModelExtract {
  let m = cache.get(service);
  if (!m) {
    m = JSON.parse(readFileSync(join(__dirname, `${service}.json`), 'utf8')) as ModelExtract;
    cache.set(service, m);
  }
  return m;
}

/**
 * The error each service's model lists for a request its model refuses (the operation's `errors`
 * in the published model): GuardDuty `BadRequestException`, Security Hub `InvalidInputException`,
 * Access Analyzer `ValidationException`. The message text is the stand-in's own (the services do
 * not document theirs for model violations).
 */
const VALIDATION_ERROR: Record<RestJsonService, string> = {
  guardduty: 'BadRequestException',
  securityhub: 'InvalidInputException',
  accessanalyzer: 'ValidationException',
};

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The wire name of a member: its `jsonName`, else the member name. */
function wireName(name: string, ref: MemberRef): string {
  return (ref.traits?.['smithy.api#jsonName'] as string | undefined) ?? name;
}

/**
 * A JSON value on the wire as the model's shape: object keys by `jsonName` to member names,
 * timestamps to Dates in the format the member has (restJson1's default is epoch seconds; a
 * `date-time` member is an RFC 3339 string). A key that names no member and a timestamp in the
 * wrong format are kept as they are, so that the validator reports them.
 */
export function fromWire(model: ModelExtract, shapeId: string, ref: MemberRef | undefined, value: unknown): unknown {
  const shape: Shape = shapeOf(model, shapeId);
  if ((shape.type === 'structure' || shape.type === 'union') && isPlainObject(value)) {
    const byWire = new Map(
      Object.entries(shape.members ?? {}).map(([name, m]) => [wireName(name, m), [name, m] as const]),
    );
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      const member = byWire.get(key);
      if (member) out[member[0]] = fromWire(model, member[1].target, member[1], v);
      else out[key] = v;
    }
    return out;
  }
  if ((shape.type === 'list' || shape.type === 'set') && Array.isArray(value))
    return value.map((v) => fromWire(model, shape.member!.target, shape.member, v));
  if (shape.type === 'map' && isPlainObject(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, fromWire(model, shape.value!.target, shape.value, v)]),
    );
  }
  if (shape.type === 'timestamp') {
    const format = (ref?.traits?.['smithy.api#timestampFormat'] ??
      shape.traits?.['smithy.api#timestampFormat'] ??
      'epoch-seconds') as string;
    if (format === 'epoch-seconds' && typeof value === 'number') return new Date(value * 1000);
    if (format === 'date-time' && typeof value === 'string' && !Number.isNaN(Date.parse(value))) return new Date(value);
  }
  return value;
}

/**
 * A JSON value in member names (as a finding is filed) on the wire: keys by `jsonName`, Dates and
 * ISO strings of timestamps in the member's format. The inverse of `fromWire`.
 */
export function toWire(model: ModelExtract, shapeId: string, ref: MemberRef | undefined, value: unknown): unknown {
  const shape: Shape = shapeOf(model, shapeId);
  if ((shape.type === 'structure' || shape.type === 'union') && isPlainObject(value)) {
    const members = shape.members ?? {};
    return Object.fromEntries(
      Object.entries(value).map(([key, v]) => {
        const m = members[key];
        return m ? [wireName(key, m), toWire(model, m.target, m, v)] : [key, v];
      }),
    );
  }
  if ((shape.type === 'list' || shape.type === 'set') && Array.isArray(value))
    return value.map((v) => toWire(model, shape.member!.target, shape.member, v));
  if (shape.type === 'map' && isPlainObject(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, toWire(model, shape.value!.target, shape.value, v)]),
    );
  }
  if (shape.type === 'timestamp' && (value instanceof Date || typeof value === 'string')) {
    const date = value instanceof Date ? value : new Date(value);
    if (Number.isNaN(date.getTime())) return value;
    const format = (ref?.traits?.['smithy.api#timestampFormat'] ??
      shape.traits?.['smithy.api#timestampFormat'] ??
      'epoch-seconds') as string;
    return format === 'date-time' ? date.toISOString() : date.getTime() / 1000;
  }
  return value;
}

/** An operation of a restJson1 service, found by its HTTP method and path, with its URI labels. */
export function restJsonOperation(
  service: RestJsonService,
  method: string,
  path: string,
): { op: string; labels: Record<string, string> } | undefined {
  const model = loadRestJsonModel(service);
  for (const [op, spec] of Object.entries(model.operations)) {
    if (!spec.http || spec.http.method !== method) continue;
    const names: string[] = [];
    const pattern = spec.http.uri
      .split('?')[0]
      .replace(/[.*+?^$()|[\]\\]/g, '\\$&')
      .replace(/\{([^}+]+)(\+?)\}/g, (_m, name: string, greedy: string) => {
        names.push(name);
        return greedy ? '(.+)' : '([^/]+)';
      });
    const m = new RegExp(`^${pattern}$`).exec(path);
    if (!m) continue;
    try {
      return { op, labels: Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1])])) };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * The operation's input from the request: URI labels and `httpQuery` members as strings (every
 * label and query member of the served operations is a string), the rest from the JSON body.
 * A body that is not a JSON object is refused as the service's validation error.
 */
export function restJsonInput(
  service: RestJsonService,
  op: string,
  labels: Record<string, string>,
  query: URLSearchParams,
  body: string,
): Record<string, unknown> {
  const model = loadRestJsonModel(service);
  const inputId = model.operations[op].input;
  let json: unknown = {};
  if (body.trim() !== '') {
    try {
      json = JSON.parse(body);
    } catch {
      throw new ServiceError(VALIDATION_ERROR[service], 'The request body is not valid JSON');
    }
  }
  if (!isPlainObject(json)) throw new ServiceError(VALIDATION_ERROR[service], 'The request body must be a JSON object');
  const input = fromWire(model, inputId, undefined, json) as Record<string, unknown>;
  for (const [name, ref] of Object.entries(shapeOf(model, inputId).members ?? {})) {
    if (ref.traits?.['smithy.api#httpLabel'] !== undefined && labels[name] !== undefined) input[name] = labels[name];
    const queryName = ref.traits?.['smithy.api#httpQuery'] as string | undefined;
    if (queryName !== undefined && query.has(queryName)) input[name] = query.get(queryName);
  }
  return input;
}

/** Refuses a request the model refuses, with the service's validation error and AWS's message form. */
export function checkRestJsonRequest(service: RestJsonService, op: string, input: Record<string, unknown>): void {
  const issues = validateInput(loadRestJsonModel(service), op, input);
  if (issues.length) throw new ServiceError(VALIDATION_ERROR[service], validationMessage(issues));
}

/**
 * GuardDuty's model bounds `Finding.Type` to 50 characters, but GuardDuty's own finding types are
 * longer (the GuardDuty User Guide's finding-type list has e.g.
 * `UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS`, 66): its answers carry
 * them, so that one bound is not applied to answers. Every other constraint is.
 */
function knownModelGap(service: RestJsonService, issue: ValidationIssue): boolean {
  return service === 'guardduty' && issue.kind === 'length' && /^findings\.\d+\.member\.type$/.test(issue.path);
}

/** Issues of an answer (member names) that the service could really send. */
export function answerIssues(service: RestJsonService, op: string, output: unknown): ValidationIssue[] {
  return validateOutput(loadRestJsonModel(service), op, output).filter((i) => !knownModelGap(service, i));
}

/** Checks an answer (in member names) against the output shape: `InternalFailure` ("stand-in bug") when the model does not allow it. */
export function checkRestJsonAnswer(service: RestJsonService, op: string, output: unknown): void {
  const issues = answerIssues(service, op, output);
  if (issues.length) {
    const detail = issues
      .slice(0, 10)
      .map((i) => `${i.path || '(answer)'}: ${i.constraint}${i.shown ? ` (got ${i.shown.slice(0, 200)})` : ''}`)
      .join('; ');
    throw new ServiceError(
      'InternalFailure',
      `stand-in bug: answer does not match the model: ${service} ${op}: ${detail}`,
      500,
    );
  }
}

/** The answer on the wire (jsonName keys, timestamps in their format). */
export function restJsonAnswer(service: RestJsonService, op: string, output: unknown): unknown {
  const model = loadRestJsonModel(service);
  return toWire(model, model.operations[op].output, undefined, output);
}
