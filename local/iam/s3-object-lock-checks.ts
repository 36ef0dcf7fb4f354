/**
 * The IAM side of S3 Object Lock (Service Authorization Reference, "Actions defined by Amazon S3",
 * and the S3 model's operation texts):
 *
 * - GetObjectRetention / GetObjectLegalHold -> s3:GetObjectRetention / s3:GetObjectLegalHold;
 *   HEAD/GET answer the retention and legal-hold headers only to a caller holding these rights
 *   (not a refusal: the headers are left out; see `LOCK_READ_ACTIONS`).
 * - PutObjectRetention -> s3:PutObjectRetention (s3:object-lock-mode, -retain-until-date,
 *   -remaining-retention-days of the new retention), PutObjectLegalHold -> s3:PutObjectLegalHold
 *   (s3:object-lock-legal-hold); `x-amz-bypass-governance-retention: true` also needs
 *   s3:BypassGovernanceRetention ("Bypassing a Governance Retention configuration requires the
 *   s3:BypassGovernanceRetention permission", PutObjectRetention). Whether S3 asks for it when the
 *   header is sent but no bypass is needed is not documented: the stand-in always asks (strict).
 * - A write that sets Object Lock fields (PutObject, CopyObject, CreateMultipartUpload with
 *   x-amz-object-lock-mode / -retain-until-date / -legal-hold) places a retention or a legal hold
 *   on the new version: it needs s3:PutObjectRetention / s3:PutObjectLegalHold as the operations
 *   that place them do. The API reference texts found do not say so for the write operations
 *   (the Service Authorization Reference lists the lock condition keys on s3:PutObject too);
 *   asking for both is the strict answer. The lock condition keys are added to the s3:PutObject
 *   check as well.
 *
 * s3:object-lock-remaining-retention-days is whole days from now to the retain-until date,
 * rounded up (the rounding is not documented).
 */

/** requests.ts's AuthorizationCheck, by shape: requests.ts imports this module, not the reverse. */
interface AuthorizationCheck {
  action: string;
  resource: string;
  context: Record<string, string | string[]>;
  resourcePolicy?: unknown;
}

/** A check on the request's object for `action` with `context`. */
export type OnObject = (action: string, context?: Record<string, string>) => AuthorizationCheck;
type Headers = Record<string, string | string[] | undefined>;

const DAY_MS = 86_400_000;

/** The rights HEAD/GET need to answer the Object Lock headers. */
export const LOCK_READ_ACTIONS = { retention: 's3:GetObjectRetention', legalHold: 's3:GetObjectLegalHold' } as const;

const first = (h: Headers, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

/** The retention condition keys of a mode and a retain-until date. */
function retentionKeys(mode: string | undefined, until: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (mode) out['s3:object-lock-mode'] = mode;
  if (until) {
    out['s3:object-lock-retain-until-date'] = until;
    const ms = new Date(until).getTime();
    if (!Number.isNaN(ms))
      out['s3:object-lock-remaining-retention-days'] = String(Math.ceil((ms - Date.now()) / DAY_MS));
  }
  return out;
}

/** The Object Lock condition keys of a write's x-amz-object-lock-* headers (for its s3:PutObject check). */
export function lockWriteKeys(h: Headers): Record<string, string> {
  const hold = first(h, 'x-amz-object-lock-legal-hold');
  return {
    ...retentionKeys(first(h, 'x-amz-object-lock-mode'), first(h, 'x-amz-object-lock-retain-until-date')),
    ...(hold !== undefined ? { 's3:object-lock-legal-hold': hold } : {}),
  };
}

/** The rights a write that sets Object Lock fields needs besides s3:PutObject. */
export function lockWriteChecks(h: Headers, on: OnObject): AuthorizationCheck[] {
  const mode = first(h, 'x-amz-object-lock-mode');
  const until = first(h, 'x-amz-object-lock-retain-until-date');
  const hold = first(h, 'x-amz-object-lock-legal-hold');
  const out: AuthorizationCheck[] = [];
  if (mode !== undefined || until !== undefined) out.push(on('s3:PutObjectRetention', retentionKeys(mode, until)));
  if (hold !== undefined) out.push(on('s3:PutObjectLegalHold', { 's3:object-lock-legal-hold': hold }));
  return out;
}

/** The element text of `name` in an XML body (Object Lock bodies are flat; no entities expected). */
function element(xml: string, name: string): string | undefined {
  return new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
}

/** The checks of the four Object Lock operations; undefined for any other operation. */
export function lockOperationChecks(
  operation: string,
  h: Headers,
  body: Buffer | undefined,
  on: OnObject,
): AuthorizationCheck[] | undefined {
  const xml = body?.toString('utf8') ?? '';
  switch (operation) {
    case 'GetObjectRetention':
      return [on(LOCK_READ_ACTIONS.retention)];
    case 'GetObjectLegalHold':
      return [on(LOCK_READ_ACTIONS.legalHold)];
    case 'PutObjectRetention': {
      const bypass = first(h, 'x-amz-bypass-governance-retention')?.toLowerCase() === 'true';
      return [
        on('s3:PutObjectRetention', retentionKeys(element(xml, 'Mode'), element(xml, 'RetainUntilDate'))),
        ...(bypass ? [on('s3:BypassGovernanceRetention')] : []),
      ];
    }
    case 'PutObjectLegalHold': {
      const status = element(xml, 'Status');
      return [on('s3:PutObjectLegalHold', status !== undefined ? { 's3:object-lock-legal-hold': status } : {})];
    }
    default:
      return undefined;
  }
}
