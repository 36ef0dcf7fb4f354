/** Names shared by the stack and the CLI, in a module with no imports (the CLI loads it cheaply). */

/** The tag `kms-rotate drill` puts on its throwaway keys; the on-call policy keys its conditions on it. */
export const DRILL_TAG_KEY = 'kms-incident-rotation:drill';

/** The stack's name: `kms-rotate` finds the state machine in its outputs. */
export const STACK_NAME = 'KmsIncidentRotation';

/** The stack output with the CloudWatch dashboard's console URL; `kms-rotate status` prints it. */
export const DASHBOARD_URL_OUTPUT = 'DashboardUrl';
