/**
 * What a person does about a KMS grant the run could not retire (RetireReencryptionGrant failed
 * after its retries): the grant still lets ReencryptObjects' role call Decrypt and GenerateDataKey
 * on the rotated key, until someone deletes it. From the KMS developer guide, "Retiring and
 * revoking grants" (https://docs.aws.amazon.com/kms/latest/developerguide/grant-delete.html):
 * RevokeGrant is allowed to any principal with kms:RevokeGrant on the key (key administrators have
 * it), so that is the command for a person; RetireGrant only to the grant's retiring principal
 * (here the state machine's role), its grantee when the grant includes RetireGrant (not here), or
 * the account that created it. "Viewing grants" (grant-view.html) lists grants with ListGrants
 * filtered by key and grant id: the check that it is gone. The guide manages grants through the
 * API, so every step is an AWS CLI command; KMS keys are regional, so each names the key's Region.
 */
import type { ReencryptionSummary } from '../reencryption';
import { oneLine } from '../text';
import { MAX_DETAIL, MAX_FIELD, shellWord } from './message-fields';

/**
 * Bound of a printed command: far above a real one (a key ARN and a grant id are bounded by KMS),
 * so a command is never cut (a cut command would fail when pasted).
 */
const MAX_COMMAND = 4096;

/** One grant left in place, as the run's summary reports it. */
export type GrantNotRetiredReport = NonNullable<ReencryptionSummary['grantsNotRetired']>[number];

/** The Region of a KMS key ARN (`arn:<partition>:kms:<region>:...`), or null. */
function regionOf(keyArn: string): string | null {
  return /^arn:[^:]+:kms:([a-z0-9-]+):/.exec(keyArn)?.[1] ?? null;
}

/** `aws kms <operation>` for the grant: its key by ARN, its id, the key's Region. */
function grantCommand(operation: 'revoke-grant' | 'retire-grant' | 'list-grants', g: GrantNotRetiredReport): string {
  const region = regionOf(g.keyArn);
  return [
    'aws kms',
    operation,
    ...(region ? ['--region', region] : []),
    '--key-id',
    shellWord(g.keyArn),
    '--grant-id',
    shellWord(g.grantId),
  ].join(' ');
}

/** The command that deletes the grant for a person with kms:RevokeGrant on the key. */
export const revokeGrantCommand = (g: GrantNotRetiredReport) => grantCommand('revoke-grant', g);

/**
 * The e-mail's lines about the grants left in place (none: no line): which grant on which key and
 * why RetireGrant failed, the command that deletes each, who else may retire it, and the check.
 */
export function grantNotRetiredLines(grants: readonly GrantNotRetiredReport[]): string[] {
  if (grants.length === 0) return [];
  return [
    `  ACTION REQUIRED: KMS grants not retired (${grants.length}): each still lets ReencryptObjects' role use its rotated key (Decrypt, GenerateDataKey). Revoke each one (this needs kms:RevokeGrant on the key, which key administrators have):`,
    ...grants.flatMap((g) => [
      `  - grant ${oneLine(g.grantId, MAX_FIELD)} on ${oneLine(g.keyArn, MAX_FIELD)} (RetireGrant failed: ${oneLine(g.error, MAX_DETAIL)})`,
      `    ${oneLine(revokeGrantCommand(g), MAX_COMMAND)}`,
      `    then check it is gone (no grant listed): ${oneLine(grantCommand('list-grants', g), MAX_COMMAND)}`,
    ]),
    "  The state machine's role (the grant's retiring principal) or the account's root may instead run `aws kms retire-grant` with the same arguments. Grants are managed through the KMS API: run these with the AWS CLI (AWS CloudShell in the console has it).",
  ];
}

/** The chat notification's next steps for the grants left in place, one per grant. */
export function grantNotRetiredSteps(grants: readonly GrantNotRetiredReport[]): string[] {
  return grants.map(
    (g) =>
      `Revoke the KMS grant \`${oneLine(g.grantId, MAX_FIELD)}\` left on \`${oneLine(g.keyArn, MAX_FIELD)}\` (RetireGrant failed; needs kms:RevokeGrant on the key): \`${oneLine(revokeGrantCommand(g), MAX_COMMAND)}\``,
  );
}
