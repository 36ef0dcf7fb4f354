import type { FailReason } from './contracts';

/**
 * The failure table: which FAILED reason a caught error stands for, declared once. Two outputs
 * are made from it and must agree (test/unit/failures.test.ts runs every known error name through
 * both): the state machine's ClassifyFailure Choice (lib/workflow.ts), which decides the deployed
 * outcome, and `classifyError` below, used where no state machine classified the error.
 *
 * Patterns are what a Step Functions Choice rule can express: an exact, case-sensitive name
 * (StringEquals) or a glob whose only wildcard is `*` (StringMatches). Classes are checked in
 * order and the first match wins; an error no class matches is `UNCLASSIFIED`.
 *
 * Only FAILED reasons appear here. Errors that mean a key is ineligible (DisabledException,
 * NotFoundException, ... on RotateKeyOnDemand) are already turned into SKIPPED outcomes by the
 * handlers that call KMS; one that still reaches the Choice happened somewhere unexpected, and
 * FAILED is the honest answer there.
 */

/** One failure class: the reason, and the error names (exact or `*` globs) that mean it. */
export interface FailureClass {
  reason: Exclude<FailReason, typeof UNCLASSIFIED | 'ROTATION_TIMEOUT'>;
  errors: readonly string[];
}

/** The reason for an error no class matches: the workflow itself failed, not the key. */
export const UNCLASSIFIED = 'INTERNAL' as const satisfies FailReason;

/**
 * Every error the KMS API models (the exception classes `@aws-sdk/client-kms` exports; the test
 * fails when the SDK gains or drops one). A Lambda rethrowing an SDK error keeps its bare name.
 */
export const KMS_ERROR_NAMES = [
  'AlreadyExistsException',
  'CloudHsmClusterInUseException',
  'CloudHsmClusterInvalidConfigurationException',
  'CloudHsmClusterNotActiveException',
  'CloudHsmClusterNotFoundException',
  'CloudHsmClusterNotRelatedException',
  'ConflictException',
  'CustomKeyStoreHasCMKsException',
  'CustomKeyStoreInvalidStateException',
  'CustomKeyStoreNameInUseException',
  'CustomKeyStoreNotFoundException',
  'DependencyTimeoutException',
  'DisabledException',
  'DryRunOperationException',
  'ExpiredImportTokenException',
  'IncorrectKeyException',
  'IncorrectKeyMaterialException',
  'IncorrectTrustAnchorException',
  'InvalidAliasNameException',
  'InvalidArnException',
  'InvalidCiphertextException',
  'InvalidGrantIdException',
  'InvalidGrantTokenException',
  'InvalidImportTokenException',
  'InvalidKeyUsageException',
  'InvalidMarkerException',
  'KMSInternalException',
  'KMSInvalidMacException',
  'KMSInvalidSignatureException',
  'KMSInvalidStateException',
  'KeyUnavailableException',
  'LimitExceededException',
  'MalformedPolicyDocumentException',
  'NotFoundException',
  'TagException',
  'UnsupportedOperationException',
  'XksKeyAlreadyInUseException',
  'XksKeyInvalidConfigurationException',
  'XksKeyNotFoundException',
  'XksProxyIncorrectAuthenticationCredentialException',
  'XksProxyInvalidConfigurationException',
  'XksProxyInvalidResponseException',
  'XksProxyUriEndpointInUseException',
  'XksProxyUriInUseException',
  'XksProxyUriUnreachableException',
  'XksProxyVpcEndpointServiceInUseException',
  'XksProxyVpcEndpointServiceInvalidConfigurationException',
  'XksProxyVpcEndpointServiceNotFoundException',
] as const;

/** The failure classes, checked in this order (throttling and permissions before KMS's own errors). */
export const FAILURE_CLASSES: readonly FailureClass[] = [
  {
    // Rate limits in any service: KMS and DynamoDB `ThrottlingException`, SNS `Throttled`,
    // Lambda `TooManyRequestsException`, DynamoDB `RequestLimitExceeded` (account-wide) and
    // `ProvisionedThroughputExceededException` (table), bare or with a service prefix.
    reason: 'THROTTLED',
    errors: [
      '*Throttl*',
      'TooManyRequests',
      'TooManyRequestsException',
      '*.TooManyRequestsException',
      'RequestLimitExceeded',
      '*.RequestLimitExceeded',
      'ProvisionedThroughputExceededException',
      '*.ProvisionedThroughputExceededException',
    ],
  },
  {
    // `AccessDenied`, `AccessDeniedException`, `KMS.AccessDeniedException`, Lambda's
    // `KMSAccessDeniedException`: a permission problem wherever it happened.
    reason: 'ACCESS_DENIED',
    errors: ['*AccessDenied*'],
  },
  {
    // KMS's own errors: bare (a Lambda rethrew the SDK's error) or from an SDK integration.
    reason: 'KMS_ERROR',
    errors: [...KMS_ERROR_NAMES, 'KMS.*', 'Kms.*'],
  },
];

/** True when the pattern is a glob (StringMatches) rather than an exact name (StringEquals). */
export function isErrorGlob(pattern: string): boolean {
  return pattern.includes('*');
}

/** A Step Functions StringMatches glob as a regular expression: `*` is any run of characters, all else literal. */
function globRegExp(pattern: string): RegExp {
  const literal = (part: string) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${pattern.split('*').map(literal).join('.*')}$`, 's');
}

const COMPILED = FAILURE_CLASSES.map(({ reason, errors }) => ({
  reason,
  exact: new Set(errors.filter((e) => !isErrorGlob(e))),
  globs: errors.filter(isErrorGlob).map(globRegExp),
}));

/**
 * Map a Step Functions error name (a Lambda error's `name`, an SDK integration's
 * `<Service>.<Exception>`, or a `States.*` error) to the FAILED reason it stands for, exactly
 * as the state machine's ClassifyFailure Choice does: case-sensitive, exact names or `*` globs,
 * first class that matches wins, `INTERNAL` when none does (or the name is not a string).
 */
export function classifyError(errorName: string): FailReason {
  if (typeof errorName !== 'string') return UNCLASSIFIED;
  for (const { reason, exact, globs } of COMPILED) {
    if (exact.has(errorName) || globs.some((glob) => glob.test(errorName))) return reason;
  }
  return UNCLASSIFIED;
}
