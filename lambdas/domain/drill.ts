/**
 * The drill component's constants (lambdas/drill, behind the front door's drill routes): the tag
 * its keys carry, their deletion window, its environment. Import-free, so lib/ and the CLI load it cheaply.
 */

/** The tag the drill component puts on its throwaway keys; its role's ScheduleKeyDeletion is conditioned on it. */
export const DRILL_TAG_KEY = 'kms-incident-rotation:drill';

/** The deletion window for drill keys: the shortest KMS allows. */
export const DRILL_DELETION_DAYS = 7;

/** The drill function's own environment (lib/drill.ts writes it). */
export const DRILL_ENV = {
  accountId: 'ACCOUNT_ID',
  partition: 'PARTITION',
  ledgerTable: 'LEDGER_TABLE',
} as const;
