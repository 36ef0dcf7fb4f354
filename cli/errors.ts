import { EXIT, type ExitCode } from './exit-codes';

/**
 * An expected failure: printed as one message (no stack trace) and mapped to its exit code.
 * Everything a person can cause or fix (input, configuration, credentials, permissions) is one.
 */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
  }
}

export const usageError = (message: string): CliError => new CliError(message, EXIT.USAGE);
export const awsError = (message: string): CliError => new CliError(message, EXIT.AWS);

/** What the AWS call was, for messages: `states:StartExecution`. */
export interface CallContext {
  operation?: string;
  /** The caller's ARN, when already known. */
  identity?: string;
  profile?: string;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ECONNABORTED',
]);
const EXPIRED = new Set([
  'ExpiredToken',
  'ExpiredTokenException',
  'TokenRefreshRequired',
  'RequestExpired',
  'TokenExpiredException',
]);
const BAD_CREDENTIALS = new Set([
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'InvalidAccessKeyId',
  'MissingAuthenticationToken',
]);
const DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'AuthorizationError',
  'UnauthorizedOperation',
  'UnauthorizedAccess',
  'KMSAccessDeniedException',
]);
const THROTTLED = /throttl|toomanyrequests|requestlimitexceeded|slowdown/i;

type ErrorLike = Error & { code?: string; $metadata?: unknown; $fault?: string; Code?: string };

function nameOf(e: ErrorLike): string {
  return e.name && e.name !== 'Error' ? e.name : (e.Code ?? e.code ?? e.name ?? 'Error');
}

/** The first line of an AWS error message, bounded. */
function firstLine(message: string | undefined): string {
  const line = (message ?? '').split('\n')[0]!.trim();
  return line.length > 400 ? `${line.slice(0, 399)}…` : line;
}

/** `User: arn:... is not authorized to perform: states:StartExecution on resource: arn:... because ...` */
const NOT_AUTHORIZED =
  /User: (\S+) is not authorized to perform: (\S+?)(?: on resource: (\S+?))?(?: (?:because|with an explicit deny)(.*))?$/;

/**
 * Maps an error from the AWS SDK (a service error, a credentials-provider error, a network error)
 * to a CliError with a person-readable message. Returns undefined for anything else: that is a
 * bug, reported as an unexpected error.
 */
export function fromAwsError(error: unknown, ctx: CallContext = {}): CliError | undefined {
  if (!(error instanceof Error)) return undefined;
  if (error instanceof CliError) return error;
  const e = error as ErrorLike;
  const name = nameOf(e);
  const message = firstLine(e.message);
  const what = ctx.operation ? ` calling ${ctx.operation}` : '';
  const profileHint = ctx.profile ? ` --profile ${ctx.profile}` : '';

  if (/Region is missing/i.test(e.message)) {
    return new CliError(
      'No AWS Region is configured: pass --region REGION or set AWS_REGION (or give the profile a region).',
      EXIT.USAGE,
    );
  }
  if (
    EXPIRED.has(name) ||
    ((name === 'CredentialsProviderError' || name === 'TokenProviderError') && /expired|refresh/i.test(e.message))
  ) {
    return awsError(
      `Your AWS session has expired${what} (${name}). Run \`aws sso login${profileHint}\` or refresh your credentials, then rerun.`,
    );
  }
  if (
    name === 'CredentialsProviderError' ||
    name === 'TokenProviderError' ||
    /Could not load credentials/i.test(e.message)
  ) {
    return awsError(
      `No AWS credentials found. Set AWS_PROFILE or run \`aws sso login\` (or pass --profile NAME; AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY also work). Detail: ${message}`,
    );
  }
  if (BAD_CREDENTIALS.has(name)) {
    return awsError(
      `AWS rejected the credentials${what} (${name}: ${message}). Check the profile or access keys in use${ctx.profile ? ` (profile ${ctx.profile})` : ''}.`,
    );
  }
  if (DENIED.has(name) || /AccessDenied/i.test(name)) {
    const m = NOT_AUTHORIZED.exec(message);
    const action = m?.[2] ?? ctx.operation ?? 'the call';
    const who = m?.[1] ?? ctx.identity;
    const on = m?.[3] ? ` on ${m[3]}` : '';
    const because = m?.[4] ? ` (${m[4].trim().replace(/\.$/, '')})` : '';
    return awsError(
      `AWS denied ${action}${on}${who ? ` to ${who}` : ''}${because}. Use a role that allows ${action} (--profile), or ask for it to be granted.${m ? '' : ` AWS said: ${name}: ${message}`}`,
    );
  }
  const code = e.code ?? (e as { cause?: ErrorLike }).cause?.code;
  if (
    (code && NETWORK_CODES.has(code)) ||
    name === 'TimeoutError' ||
    name === 'NetworkingError' ||
    /getaddrinfo|socket hang up|connect ECONNREFUSED/i.test(e.message)
  ) {
    return awsError(
      `Cannot reach AWS${what}: ${code ?? name} (${message}). Check the network, VPN or proxy, the Region (--region) and AWS_ENDPOINT_URL if set.`,
    );
  }
  if (THROTTLED.test(name)) {
    return awsError(`AWS throttled the request${what} (${name}). Wait a minute and rerun.`);
  }
  if (e.$metadata !== undefined || e.$fault !== undefined) {
    return awsError(`AWS refused${what || ' the request'}: ${name}: ${message}`);
  }
  return undefined;
}
