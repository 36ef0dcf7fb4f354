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

/** `drillDailyCapPerPerson`'s default: drills one caller may start per UTC day. */
export const DEFAULT_DRILL_DAILY_CAP = 3;

/** The drill function's own environment (lib/drill.ts writes it). */
export const DRILL_ENV = {
  accountId: 'ACCOUNT_ID',
  partition: 'PARTITION',
  ledgerTable: 'LEDGER_TABLE',
  /** The drill function's role: the only principal its keys' policy lets tag and delete them. */
  roleArn: 'DRILL_ROLE_ARN',
  /** `drillDailyCapPerPerson`. */
  dailyCap: 'DRILL_DAILY_CAP',
} as const;

/**
 * The key policy of every drill key. It alone lets the drill role tag the key (with the drill tag
 * only) and schedule its deletion: no identity policy anywhere grants kms:TagResource or
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
        Sid: 'DrillRoleSchedulesDeletionOfThisKey',
        Effect: 'Allow',
        Principal: { AWS: drillRoleArn },
        Action: 'kms:ScheduleKeyDeletion',
        Resource: '*',
      },
    ],
  };
}
