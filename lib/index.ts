/**
 * The package's entry point for CDK apps (package.json `main`/`types`):
 *
 *     import { KmsIncidentRotation } from 'kms-incident-rotation';
 *     new KmsIncidentRotation(this, 'Default', { notificationEmails: ['oncall@example.com'] });
 */
export { KmsIncidentRotation, type KmsIncidentRotationProps } from './kms-incident-rotation';
export { KmsIncidentRotationStack, type KmsIncidentRotationStackProps } from './stack';
export { SettingsError, type Settings } from './settings/settings';
