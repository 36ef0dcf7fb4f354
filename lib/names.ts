/** Names shared by the stack and the CLI, in a module that loads nothing heavy (the CLI loads it cheaply). */

/** The tag the drill component puts on its throwaway keys (declared with the drill's contract). */
export { DRILL_TAG_KEY } from '../lambdas/domain/drill';

/** The stack's name: `kms-rotate` finds the state machine in its outputs. */
export const STACK_NAME = 'KmsIncidentRotation';

/** The stack output with the CloudWatch dashboard's console URL; `kms-rotate status` prints it. */
export const DASHBOARD_URL_OUTPUT = 'DashboardUrl';
