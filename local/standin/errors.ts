export type Service = 'kms' | 'sns' | 's3' | FindingService;
/** The finding sources (restJson1; local/standin/findings.ts), named as their model files. */
export type FindingService = 'guardduty' | 'securityhub' | 'accessanalyzer';

/** An AWS-shaped error: `code` is what the SDK turns into the error's `name`. */
export class ServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number = httpStatusFor(code),
    /** Extra elements for S3 error XML (e.g. Key, BucketName). */
    readonly extra: Record<string, string> = {},
  ) {
    super(message);
    this.name = code;
  }
}

/** Unexpected exceptions become InternalFailure (500) with the message, so bugs are visible. */
export function asServiceError(e: unknown): ServiceError {
  if (e instanceof ServiceError) return e;
  return new ServiceError('InternalFailure', `stand-in bug: ${(e as Error)?.stack ?? String(e)}`, 500);
}

/** The code the stand-in uses for any operation it does not implement (never a real AWS error name). */
export const NOT_IMPLEMENTED = 'NotImplementedByStandIn';

const SERVER_FAULTS = new Set([
  'KMSInternalException',
  'DependencyTimeoutException',
  'InternalError',
  'InternalFailure',
  'KeyUnavailableException',
]);
const UNAVAILABLE = new Set(['ServiceUnavailable', 'SlowDown']);
const NOT_FOUND = new Set(['NoSuchKey', 'NoSuchBucket', 'NoSuchUpload', 'NoSuchVersion', 'NotFound']);
const FORBIDDEN = new Set(['AccessDenied', 'AuthorizationError', 'InvalidAccessKeyId', 'SignatureDoesNotMatch']);
const TOO_MANY = new Set(['Throttled']); // SNS throttling (the SDK models it as HTTP 429)

/**
 * HTTP status for an error code: 500 for internal faults, 503 for ServiceUnavailable/SlowDown (as
 * real AWS), 404/403 for S3/SNS not-found/forbidden codes, 400 for every other client error (KMS
 * sends 400 for all of its client errors, AccessDeniedException and NotFoundException included;
 * ThrottlingException too), 429 for SNS `Throttled`.
 */
export function httpStatusFor(code: string): number {
  if (SERVER_FAULTS.has(code)) return 500;
  if (UNAVAILABLE.has(code)) return 503;
  if (NOT_FOUND.has(code)) return 404;
  if (FORBIDDEN.has(code)) return 403;
  if (TOO_MANY.has(code)) return 429;
  return 400;
}

export function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

export function xmlUnescape(s: string): string {
  return s.replace(/&(lt|gt|amp|apos|quot|#\d+|#x[0-9a-fA-F]+);/g, (_, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return ({ lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' } as Record<string, string>)[e];
  });
}
