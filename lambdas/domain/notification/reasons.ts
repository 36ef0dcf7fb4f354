import type { Outcome, Reason } from '../contracts';

/**
 * The outcome vocabulary in words: what each reason code means and what a person should do about
 * it. Written for an on-call engineer reading a notification at 3 a.m.: plain sentences, the exact
 * command to run, and never a reason to spend a second rotation by accident. Notifications, the
 * CLI and the ledger all use these texts, so one change updates every place people read them.
 */

/** Each reason code in words: what happened to the key and why. */
export const REASON_TEXT: Record<Reason, string> = {
  NOT_FOUND:
    'KMS has no key with this id, ARN or alias in this account and Region (the key may have been deleted, or the reference is wrong).',
  AWS_MANAGED:
    'This is an AWS managed key (alias/aws/...): AWS rotates it every year and it cannot be rotated on demand.',
  UNSUPPORTED_KEY_SPEC:
    'The key is not a symmetric encryption key (it is asymmetric, HMAC or another special key spec); KMS rotates only SYMMETRIC_DEFAULT encryption keys on demand.',
  CUSTOM_KEY_STORE:
    'The key lives in a custom key store (AWS CloudHSM or an external key store); KMS cannot rotate such keys on demand.',
  IMPORTED_MATERIAL_NOT_STAGED:
    'The key uses imported key material; on-demand rotation needs new material imported first (ImportType NEW_KEY_MATERIAL, state PENDING_ROTATION), and none is staged.',
  KEY_NOT_ENABLED:
    'The key is not enabled (disabled, pending deletion, pending import or unavailable); KMS rotates only enabled keys.',
  FOREIGN_ACCOUNT: 'The key belongs to another AWS account; only the owning account can rotate a key.',
  OPTED_OUT:
    'The key carries the opt-out tag (the optOutTag setting, "kms-incident-rotation" by default, with the value "disabled"), so automation leaves it alone.',
  RECENTLY_ROTATED:
    'The key got new key material on demand within the cooldown window, or already had the daily cap (dailyRotationCap) of on-demand rotations in the last 24 h; rotating again would spend a rotation for nothing.',
  DUPLICATE_FINDING:
    'This finding was already handled for this key (findings are re-published and can arrive twice); no second rotation was spent.',
  BUDGET_RESERVE:
    "Few on-demand rotations are left in the key's lifetime budget; the last ones are kept for manual use, so automation did not spend one.",
  BUDGET_EXHAUSTED:
    'The key has used every on-demand rotation of its lifetime budget; KMS will never rotate it on demand again.',
  APPROVAL_DENIED: 'The key needs approval before it is rotated, and the approval was denied or not given in time.',
  MATERIAL_PREDATES_EXPOSURE:
    "A re-encrypt-only request: the key's newest key material was created before the exposure time given, so new data keys from it would still come from exposed material; nothing was re-encrypted.",
  FINDING_NOT_CONFIRMED:
    'The finding that started this run is not held by the service it claims to come from (GuardDuty, Security Hub or IAM Access Analyzer answered "not found", or the event did not say where to look): a hand-made or forged finding rotates nothing, and the key was not even looked up.',
  ROTATION_TIMEOUT:
    'The rotation was not confirmed before the deadline: either KMS accepted it and has not finished, or KMS kept refusing because an automatic rotation was running.',
  ACCESS_DENIED: 'AWS refused a call for lack of permission (IAM policy, key policy, grant or SCP).',
  THROTTLED: 'AWS rate-limited the calls (throttling) and the retries ran out.',
  KMS_ERROR: 'KMS returned an error for this key (for example its state changed, a conflicting rotation, or a quota).',
  INTERNAL: 'The workflow itself failed (a Lambda error, a bug or a step timeout); this is not a problem with the key.',
};

/** What to do about each reason: one or two sentences, with the command to run where there is one. */
export const NEXT_STEP: Record<Reason, string> = {
  NOT_FOUND:
    'Check the key reference in the finding or request. If the key was deleted there is nothing to rotate; if it lives in another Region, run `kms-rotate start --key <key ARN> --reason "<why>" --region <key Region>`.',
  AWS_MANAGED:
    'Nothing can be rotated on demand. If the data it protects may be exposed, move that data to a customer managed key and re-encrypt it.',
  UNSUPPORTED_KEY_SPEC:
    'To replace the key: create a new key, move the alias and its users to it, re-encrypt or re-sign with the new key, and schedule the old key for deletion once nothing uses it.',
  CUSTOM_KEY_STORE:
    'Rotate by hand: for CloudHSM create a new KMS key in the key store, move the alias and applications to it and re-encrypt the data; for an external key store rotate in the external key manager.',
  IMPORTED_MATERIAL_NOT_STAGED:
    'Import new key material with ImportType NEW_KEY_MATERIAL (multi-Region: then import the same material into every replica with EXISTING_KEY_MATERIAL), then rerun: `kms-rotate start --key <key ARN> --reason "<why>"`.',
  KEY_NOT_ENABLED:
    'If the key will be used again, enable it and rotate it before anything encrypts with it: `kms-rotate start --key <key ARN> --reason "<why>"`. If it is pending deletion, nothing needs rotating.',
  FOREIGN_ACCOUNT:
    'Rotate it from the owning account: tell that account\'s owners, or run `kms-rotate start --key <key ARN> --reason "<why>"` with credentials for that account.',
  OPTED_OUT:
    "The key's owner opted it out on purpose with the opt-out tag (the stack's optOutTag setting, value `disabled`): no request rotates it, manual or forced, while the tag is there. If it should be rotated, someone the key's owners allow to change its tags (kms:UntagResource; the on-call policy does not grant it) removes the tag, then: `kms-rotate start --key <key ARN> --reason \"<why>\"`.",
  RECENTLY_ROTATED:
    'Nothing, unless the exposure happened after that rotation; then rerun by hand with the break-glass policy: `kms-rotate start --key <key ARN> --reason "<why>" --force`. Forcing lifts the cooldown, not the daily cap: past it, wait until the time the key\'s line gives ("next rotation allowed from").',
  DUPLICATE_FINDING:
    'Nothing: the earlier run for this finding already dealt with the key. Check its notification or `kms-rotate check --key <key ARN>`.',
  BUDGET_RESERVE:
    'Decide whether this incident is worth one of the key\'s last rotations; if so, rerun by hand with the break-glass policy: `kms-rotate start --key <key ARN> --reason "<why>" --force`.',
  BUDGET_EXHAUSTED:
    'Replace the key: create a new key, move aliases and applications to it, re-encrypt the data under it, and schedule this key for deletion once nothing uses it.',
  FINDING_NOT_CONFIRMED:
    'Treat it as a security event: find who started the execution (CloudTrail StartExecution on the automatic state machine) and why. If the key really needs rotating, run `kms-rotate start --key <key ARN> --reason "<why>"`.',
  APPROVAL_DENIED:
    'If the key should be rotated after all, rerun and get a second person\'s approval: `kms-rotate start --key <key ARN> --reason "<why>"`.',
  MATERIAL_PREDATES_EXPOSURE:
    'Rotate the key first; the rotation re-encrypts the targets too: `kms-rotate start --key <key ARN> --reason "<why>" --reencrypt s3-sse-kms:<bucket>/<prefix>` (or envelope:<bucket>/<prefix>).',
  ROTATION_TIMEOUT:
    'The rotation may still complete; check `kms-rotate check --key <key ARN>` before starting another one, so that a second rotation is not spent.',
  ACCESS_DENIED:
    "Check the key policy and the workflow roles' permissions (kms:DescribeKey, kms:GetKeyRotationStatus, kms:ListKeyRotations, kms:RotateKeyOnDemand) and any SCP, then rerun.",
  THROTTLED:
    'Rerun in a few minutes; first check `kms-rotate check --key <key ARN>` in case a rotation already started.',
  KMS_ERROR:
    "Read the detail and the key's state in the KMS console; check `kms-rotate check --key <key ARN>` and rerun only if no rotation is in progress or done.",
  INTERNAL:
    'Open the execution in the Step Functions console to see which step failed; check `kms-rotate check --key <key ARN>` before rerunning, so that a rotation is not spent twice.',
};

/** Each outcome in words. */
export const OUTCOME_TEXT: Record<Outcome, string> = {
  ROTATED: 'rotated: new key material is confirmed and used for all new encryption',
  DRY_RUN: 'dry run: nothing was changed; the line says what a real run would do',
  SKIPPED: 'skipped: the key was not rotated',
  FAILED: 'failed: the rotation did not complete or could not be confirmed',
  REENCRYPT_ONLY:
    "re-encrypt only: no rotation was spent; the key's current material post-dates the exposure, and its data was re-encrypted under new data keys",
};

/**
 * SKIPPED reasons a person must act on: automation could not protect the key and there is a
 * specific thing a person can do (import material, rotate elsewhere, spend the reserve, replace the
 * key, decide on a disabled key, revisit a denied or unanswered approval). Not in the set: keys
 * already handled (DUPLICATE_FINDING, RECENTLY_ROTATED), deliberate opt-outs (OPTED_OUT), and
 * keys nobody can rotate on demand and that need no decision (AWS_MANAGED, NOT_FOUND).
 * APPROVAL_DENIED is in because the code does not tell an explicit denial from an approval that
 * timed out unanswered; FINDING_NOT_CONFIRMED because someone started the workflow with a finding
 * its source does not hold.
 */
export const ACTION_REQUIRED_SKIP_REASONS: ReadonlySet<Reason> = new Set<Reason>([
  'IMPORTED_MATERIAL_NOT_STAGED',
  'FOREIGN_ACCOUNT',
  'BUDGET_RESERVE',
  'BUDGET_EXHAUSTED',
  'KEY_NOT_ENABLED',
  'APPROVAL_DENIED',
  'UNSUPPORTED_KEY_SPEC',
  'CUSTOM_KEY_STORE',
  'MATERIAL_PREDATES_EXPOSURE',
  'FINDING_NOT_CONFIRMED',
]);

/** True when a key's result needs a person: any FAILED key, or a SKIPPED key with an action-required reason. */
export function needsAction(outcome: Outcome, reason: Reason | null): boolean {
  if (outcome === 'FAILED') return true;
  return outcome === 'SKIPPED' && reason !== null && ACTION_REQUIRED_SKIP_REASONS.has(reason);
}
