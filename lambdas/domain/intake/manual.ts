/**
 * Manual requests: `{ keyId, reason, dryRun?, force?, breakGlass?, requestedBy?, reEncrypt? }` from an on-call
 * engineer. The manual state machine takes them only from the front door, which sets requestedBy
 * (the verified caller) and breakGlass (its break-glass route); see parseForMode.
 */
import { randomUUID } from 'node:crypto';
import * as z from 'zod/mini';
import type { IncidentRequest } from '../contracts';
import { classifyKeyRef, resolveLocation, toKmsArn } from './key-refs';
import { IntakeContext, InvalidRequestError, MAX_REASON_LENGTH, Obj, shown } from './read';
import { fieldPath, knownFieldsAt, ReEncryptSchema, requestTargets } from './targets';
import { readReencryptOnly } from '../reencryption/reencrypt-only';

const MANUAL_FIELDS = [
  'keyId',
  'reason',
  'dryRun',
  'force',
  'breakGlass',
  'requestedBy',
  'reEncrypt',
  'reEncryptOnly',
  'exposedAt',
] as const;
const KEY_EXPECTED = 'expected a KMS key id, key ARN, alias name or alias ARN';

// zod/mini: the same validation as zod's classic API, tree-shakable; the Intake bundle drops from
// ~500 KB to well under 400 KB (docs/operating.md "Lean functions").
const ManualRequest = z.strictObject({
  keyId: z.string({ error: (i) => `${KEY_EXPECTED}, got ${shown(i.input)}` }).check(z.trim()),
  reason: z
    .string({ error: (i) => `expected a non-empty string saying why, got ${shown(i.input)}` })
    .check(
      z.trim(),
      z.minLength(1, { error: 'expected a non-empty string saying why, got an empty one' }),
      z.maxLength(MAX_REASON_LENGTH, { error: `expected at most ${MAX_REASON_LENGTH} characters` }),
    ),
  dryRun: z.optional(z.boolean({ error: (i) => `expected true or false, got ${shown(i.input)}` })),
  force: z.optional(z.boolean({ error: (i) => `expected true or false, got ${shown(i.input)}` })),
  breakGlass: z.optional(z.boolean({ error: (i) => `expected true or false, got ${shown(i.input)}` })),
  requestedBy: z.optional(
    z
      .string({ error: (i) => `expected a string (an IAM principal), got ${shown(i.input)}` })
      .check(
        z.trim(),
        z.minLength(1, { error: 'expected a non-empty string (an IAM principal)' }),
        z.maxLength(2048, { error: 'expected at most 2048 characters' }),
      ),
  ),
  /** Data to re-encrypt under new data keys after the rotation. */
  reEncrypt: z.optional(ReEncryptSchema),
  /** Re-encrypt only, without a rotation (domain/reencryption/reencrypt-only.ts checks these two together). */
  reEncryptOnly: z.optional(z.unknown()),
  exposedAt: z.optional(z.unknown()),
});

/** A manual request as an `IncidentRequest`; throws `InvalidRequestError` naming the field and what was expected. */
export function parseManual(input: Obj, ctx: IntakeContext): IncidentRequest {
  const parsed = ManualRequest.safeParse(input);
  if (!parsed.success) {
    throw new InvalidRequestError(issueMessages(parsed.error.issues).join('; '));
  }
  const req = parsed.data;
  const info = classifyKeyRef(req.keyId);
  if (!info) throw new InvalidRequestError(`keyId: ${KEY_EXPECTED}, got ${shown(req.keyId)}`);
  let key = req.keyId;
  if (info.kind === 'keyId') {
    const arn = toKmsArn(req.keyId, { account: ctx.account, region: ctx.region, partition: ctx.partition ?? 'aws' });
    if (!arn) {
      throw new InvalidRequestError(
        `keyId: a bare key id needs this deployment's account and Region to become a key ARN, and they ` +
          `are not valid (account ${shown(ctx.account)}, region ${shown(ctx.region)}); give the key ARN`,
      );
    }
    key = arn;
  }
  const loc = resolveLocation({ account: ctx.account, region: ctx.region, partition: ctx.partition ?? 'aws' });
  const targets = requestTargets(req.reEncrypt);
  const only = readReencryptOnly(
    {
      reEncryptOnly: req.reEncryptOnly,
      exposedAt: req.exposedAt,
      hasTargets: !!targets?.length,
      forced: req.force === true || req.breakGlass === true,
    },
    new Date(),
  );
  if ('error' in only) throw new InvalidRequestError(only.error);
  return {
    requestId: ctx.newRequestId?.() ?? randomUUID(),
    source: 'manual',
    findingId: null,
    findingType: null,
    severity: null,
    severityLabel: null,
    reason: req.reason,
    keys: [key],
    dryRun: req.dryRun ?? false,
    force: req.force ?? req.breakGlass ?? false,
    breakGlass: req.breakGlass ?? false,
    requestedBy: req.requestedBy ?? null,
    account: loc?.account ?? null,
    region: loc?.region ?? null,
    ...withTargets(targets),
    ...(only.value ? { reEncryptOnly: only.value } : {}),
  };
}

/** `reEncryptTargets` only when there are some (the field is absent otherwise). */
function withTargets(targets: IncidentRequest['reEncryptTargets']): Pick<IncidentRequest, 'reEncryptTargets'> {
  return targets ? { reEncryptTargets: targets } : {};
}

/** One message per issue, naming the field (`reEncrypt.targets[2].bucket: ...`). */
function issueMessages(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const path = issue.path;
    if (issue.code === 'unrecognized_keys') {
      const where = fieldPath(path);
      const known = knownFieldsAt(path) ?? `a manual request has ${MANUAL_FIELDS.join(', ')}`;
      return `${issue.keys.map((k) => (where ? `${where}.${k}` : k)).join(', ')}: unknown field; ${known}`;
    }
    return `${fieldPath(path) || 'request'}: ${issue.message}`;
  });
}
