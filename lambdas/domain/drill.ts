/**
 * The drill component's constants (lambdas/drill, behind the front door's drill routes): the tag
 * its keys carry, their deletion window, its environment, the key policy its keys are created
 * with. Import-free, so lib/ and the CLI load it cheaply.
 */

/** The tag the drill component puts on its throwaway keys (after creation, through their key policy). */
export const DRILL_TAG_KEY = 'kms-incident-rotation:drill';

/** The deletion window for drill keys: the shortest KMS allows. */
export const DRILL_DELETION_DAYS = 7;

/** A drill key nobody cleaned up is scheduled for deletion by the stack's sweep once it is this old. */
export const DRILL_MAX_AGE_HOURS = 24;

/** `drillDailyCapPerPerson`'s default: drills one person may start per UTC day. */
export const DEFAULT_DRILL_DAILY_CAP = 3;

/** The drill function's own environment (lib/people/drill.ts writes it). */
export const DRILL_ENV = {
  accountId: 'ACCOUNT_ID',
  partition: 'PARTITION',
  ledgerTable: 'LEDGER_TABLE',
  /** The drill function's role: the only principal its keys' policy lets tag and delete them. */
  roleArn: 'DRILL_ROLE_ARN',
  /** `drillDailyCapPerPerson`. */
  dailyCap: 'DRILL_DAILY_CAP',
  /** Who may run drills: the front door's access roles (JSON, lambdas/domain/approvals/people.ts AccessRoles). */
  accessRoles: 'DRILL_ACCESS_ROLES',
} as const;

/**
 * How every drill key's description starts; the drill's intent id follows. The description is the
 * only thing CreateKey sets together with the key that the drill role may set (tags on CreateKey
 * need kms:TagResource on every key in an IAM policy), so it is how the sweep finds a key whose
 * drill died before recording it.
 */
export const DRILL_DESCRIPTION_PREFIX = 'kms-incident-rotation drill ';

/** The description of a drill key: the prefix, the intent id, the day and the person. */
export function drillDescription(intentId: string, day: string, person: string): string {
  return `${DRILL_DESCRIPTION_PREFIX}${intentId} ${day} for ${person} (throwaway; scheduled for deletion by the drill)`;
}

/** The intent id a drill key's description names; null for any other description. */
export function drillIntentOf(description: string | undefined): string | null {
  if (!description?.startsWith(DRILL_DESCRIPTION_PREFIX)) return null;
  const m = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}) /.exec(
    description.slice(DRILL_DESCRIPTION_PREFIX.length),
  );
  return m ? m[1] : null;
}

/**
 * The key policy of every drill key. It alone lets the drill role read the key (the sweep tells
 * drill keys from others by it), tag it (with the drill tag only) and schedule its deletion: no identity policy anywhere grants kms:TagResource or
 * kms:ScheduleKeyDeletion, so the drill role can delete only keys created with this policy.
 * The account statement is KMS's default key policy (IAM policies of the account apply): it keeps
 * the key manageable and passes CreateKey's policy lockout safety check; the workflow's roles
 * rotate the key through it, as any key of the account.
 */
export function drillKeyPolicy(partition: string, account: string, drillRoleArn: string): Record<string, unknown> {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'Enable IAM User Permissions',
        Effect: 'Allow',
        Principal: { AWS: `arn:${partition}:iam::${account}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
      {
        Sid: 'DrillRoleTagsWithTheDrillTagOnly',
        Effect: 'Allow',
        Principal: { AWS: drillRoleArn },
        Action: 'kms:TagResource',
        Resource: '*',
        Condition: {
          StringEquals: { [`aws:RequestTag/${DRILL_TAG_KEY}`]: 'true' },
          'ForAllValues:StringEquals': { 'aws:TagKeys': [DRILL_TAG_KEY] },
        },
      },
      {
        Sid: 'DrillRoleDescribesThisKey',
        Effect: 'Allow',
        Principal: { AWS: drillRoleArn },
        Action: 'kms:DescribeKey',
        Resource: '*',
      },
      {
        Sid: 'DrillRoleSchedulesDeletionOfThisKey',
        Effect: 'Allow',
        Principal: { AWS: drillRoleArn },
        Action: 'kms:ScheduleKeyDeletion',
        Resource: '*',
      },
    ],
  };
}
