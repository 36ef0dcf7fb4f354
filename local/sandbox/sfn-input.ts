// Step Functions' request members as its API refuses them (awsJson1_0: ValidationException,
// SerializationException, InvalidArn, InvalidToken) and its pagination, for the sandbox's
// Step Functions.

/** An error as the awsJson1_0 protocol sends it: HTTP status, `__type` and `message`. */
export class SfnError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** Names: 1-80 characters, no whitespace, wildcards, brackets, punctuation listed or control characters (StartExecution's `name`). */
const NAME_FORBIDDEN = /[\s<>{}[\]?*"#%\\^|~`$&,;:/]/;
const isControl = (c: string) => c.charCodeAt(0) < 0x20 || (c.charCodeAt(0) >= 0x7f && c.charCodeAt(0) <= 0x9f);
/** A valid execution name (StartExecution's `name`). */
export const isName = (name: string) =>
  name.length >= 1 && name.length <= 80 && !NAME_FORBIDDEN.test(name) && ![...name].some(isControl);
/** The shape of an execution ARN and of a state machine ARN. */
export const EXECUTION_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[^:]+:[^:]+$/;
export const MACHINE_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[^:]+$/;
/** PageSize in the model: 0-1000; 0 (or absent) means the default page, 100. */
const DEFAULT_PAGE = 100;

/** A required ARN field of the shape `pattern` (else InvalidArn, as Step Functions names it). */
export function arnOf(input: Record<string, unknown>, field: string, pattern: RegExp): string {
  const arn = requiredString(input, field, 256);
  if (!pattern.test(arn)) throw new SfnError('InvalidArn', `Invalid Arn: '${arn}'`);
  return arn;
}

/** A ValidationException with AWS's "1 validation error detected" wording. */
export function validation(message: string): SfnError {
  return new SfnError('ValidationException', `1 validation error detected: ${message}`);
}

/** A required string member of at most `max` bytes. */
export function requiredString(input: Record<string, unknown>, field: string, max: number): string {
  const v = optionalString(input, field, max);
  if (v === undefined)
    throw validation(`Value null at '${field}' failed to satisfy constraint: Member must not be null`);
  return v;
}

/** An optional string member of at most `max` bytes (empty only where the model allows it). */
export function optionalString(input: Record<string, unknown>, field: string, max: number): string | undefined {
  const v = input[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string')
    throw new SfnError('SerializationException', `Unexpected value type for '${field}': expected a string`);
  if (v.length < 1 && field !== 'output' && field !== 'cause' && field !== 'error') {
    throw validation(
      `Value '' at '${field}' failed to satisfy constraint: Member must have length greater than or equal to 1`,
    );
  }
  if (Buffer.byteLength(v) > max)
    throw validation(
      `Value at '${field}' failed to satisfy constraint: Member must have length less than or equal to ${max}`,
    );
  return v;
}

/** An optional boolean member. */
export function optionalBoolean(input: Record<string, unknown>, field: string): boolean | undefined {
  const v = input[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean')
    throw new SfnError('SerializationException', `Unexpected value type for '${field}': expected a boolean`);
  return v;
}

/**
 * One page (maxResults 0-1000, 0 = 100) and the token of the next. A token is bound to the
 * listing it came from: given to another (or made up) it is InvalidToken, as Step Functions says.
 */
export function paginate<T>(
  items: readonly T[],
  input: Record<string, unknown>,
  listing: string,
): { items: T[]; nextToken?: string } {
  const max = input.maxResults;
  if (
    max !== undefined &&
    max !== null &&
    (typeof max !== 'number' || !Number.isInteger(max) || max < 0 || max > 1000)
  ) {
    const bound = Number(max) < 0 ? 'greater than or equal to 0' : 'less than or equal to 1000';
    throw validation(
      `Value '${String(max)}' at 'maxResults' failed to satisfy constraint: Member must have value ${bound}`,
    );
  }
  const size = typeof max === 'number' && max > 0 ? max : DEFAULT_PAGE;
  const token = optionalString(input, 'nextToken', 3096);
  let from = 0;
  if (token !== undefined) {
    const decoded = decodeToken(token);
    if (!decoded || decoded.listing !== listing)
      throw new SfnError('InvalidToken', `Invalid Token: '${token.slice(0, 40)}'`);
    from = decoded.from;
  }
  const page = items.slice(from, from + size);
  const next =
    from + size < items.length
      ? Buffer.from(JSON.stringify({ listing, from: from + size })).toString('base64')
      : undefined;
  return { items: page, ...(next ? { nextToken: next } : {}) };
}

function decodeToken(token: string): { listing: string; from: number } | null {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { listing?: unknown; from?: unknown };
    return typeof v.listing === 'string' && typeof v.from === 'number' && Number.isInteger(v.from) && v.from >= 0
      ? { listing: v.listing, from: v.from }
      : null;
  } catch {
    return null;
  }
}
