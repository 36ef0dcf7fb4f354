// The jest matchers are registered by setupFilesAfterEnv; this brings their types into the program.
import type {} from 'aws-sdk-client-mock-jest';
import { KMSServiceException, type KeyMetadata, type RotationsListEntry } from '@aws-sdk/client-kms';
import type { AwsStub } from 'aws-sdk-client-mock';
import type { RuntimeConfig } from '../../../lambdas/adapters/config';
import { kmsClient, kmsClientWithoutRetries } from '../../../lambdas/adapters/kms-client';
import { KmsKeys } from '../../../lambdas/adapters/kms';
import type { IncidentRequest, KeyTask } from '../../../lambdas/domain/contracts';
import { newKeyTask } from '../../../lambdas/domain/rotation/key-task';

export const ACCOUNT = '111122223333';
export const OTHER_ACCOUNT = '444455556666';
export const REGION = 'us-east-1';
export const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
export const KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/${KEY_ID}`;
export const NOW = new Date('2025-06-01T12:00:00.000Z');

/** Budget 25, reserve 2, cooldown 1 h, polls 5 s doubling to 60 s, 30 min timeout. */
export function config(overrides: Partial<RuntimeConfig> = {}): RuntimeConfig {
  return {
    accountId: ACCOUNT,
    region: REGION,
    rotationBudget: 25,
    automaticReserve: 2,
    cooldownSeconds: 3600,
    pollInitialSeconds: 5,
    pollMaxSeconds: 60,
    rotationTimeoutSeconds: 1800,
    optOutTag: 'kms-incident-rotation',
    dryRun: false,
    topicArn: '',
    ledgerTable: '',
    approvalTimeoutSeconds: 0,
    approvalTimeoutAction: 'SKIP',
    executionTimeoutSeconds: 50_400,
    forceMinIntervalSeconds: 600,
    forceDailyCap: 2,
    dailyRotationCap: 3,
    securityHubSeverityLabels: ['HIGH', 'CRITICAL'],
    securityHubProductArnPrefixes: [`arn:aws:securityhub:${REGION}::product/aws/`],
    securityHubWorkflowUpdates: true,
    chatNotifications: false,
    autoReEncrypt: false,
    ...overrides,
  };
}

/** The KMS adapter wired as the handlers wire it (aws-sdk-client-mock intercepts every KMSClient). */
export const kmsKeys = new KmsKeys(kmsClient, kmsClientWithoutRetries);

/** A GuardDuty-triggered request (an automatic trigger: no force, no dry run). */
export function request(overrides: Partial<IncidentRequest> = {}): IncidentRequest {
  return {
    requestId: 'req-0001',
    source: 'guardduty',
    findingId: 'finding-0001',
    findingType: 'UnauthorizedAccess:IAMUser/AnomalousBehavior',
    severity: 8,
    severityLabel: 'HIGH',
    reason: 'Anomalous KMS Decrypt calls',
    keys: [KEY_ARN],
    dryRun: false,
    force: false,
    breakGlass: false,
    requestedBy: null,
    account: ACCOUNT,
    region: REGION,
    ...overrides,
  };
}

/** An enabled, customer managed, symmetric AWS_KMS key. */
export function metadata(overrides: Partial<KeyMetadata> = {}): KeyMetadata {
  return {
    KeyId: KEY_ID,
    Arn: KEY_ARN,
    AWSAccountId: ACCOUNT,
    KeyManager: 'CUSTOMER',
    KeySpec: 'SYMMETRIC_DEFAULT',
    KeyUsage: 'ENCRYPT_DECRYPT',
    Origin: 'AWS_KMS',
    KeyState: 'Enabled',
    Enabled: true,
    MultiRegion: false,
    CurrentKeyMaterialId: 'material-1',
    ...overrides,
  };
}

export function onDemand(date: string, material = `material-${date}`): RotationsListEntry {
  return { KeyId: KEY_ID, RotationDate: new Date(date), RotationType: 'ON_DEMAND', KeyMaterialId: material };
}

export function automatic(date: string): RotationsListEntry {
  return { KeyId: KEY_ID, RotationDate: new Date(date), RotationType: 'AUTOMATIC', KeyMaterialId: `auto-${date}` };
}

/** The task Assess hands to Rotate for an eligible key with one earlier on-demand rotation. */
export function assessedTask(overrides: Partial<KeyTask> = {}): KeyTask {
  return {
    ...newKeyTask({ ref: KEY_ARN, request: request() }),
    next: 'ROTATE',
    keyArn: KEY_ARN,
    detail: 'Eligible; rotating leaves 23 of 25 on-demand rotations.',
    onDemandRotationsUsed: 1,
    onDemandRotationsRemaining: 24,
    previousRotationDate: '2025-01-10T08:00:00.000Z',
    previousKeyMaterialId: 'material-1',
    currentKeyMaterialId: 'material-1',
    ...overrides,
  };
}

/** A task Rotate handed to the poll loop `secondsAgo` before NOW. */
export function pollingTask(overrides: Partial<KeyTask> = {}, secondsAgo = 10): KeyTask {
  const started = new Date(NOW.getTime() - secondsAgo * 1000);
  return assessedTask({
    next: 'POLL',
    detail: 'Rotation started.',
    rotationStartedAt: started.toISOString(),
    deadline: new Date(started.getTime() + 1800 * 1000).toISOString(),
    pollAttempt: 0,
    waitSeconds: 5,
    ...overrides,
  });
}

/** The resolved client setting a recorded call was sent with (the client instance it went through). */
export async function clientSetting(call: { thisValue: unknown }, setting: 'region' | 'maxAttempts'): Promise<unknown> {
  const client = call.thisValue as { config: Record<string, () => Promise<unknown>> };
  return client.config[setting]();
}

/** Names of the commands sent, in order. */
export function commandNames(mock: AwsStub<any, any, any>): string[] {
  return mock.calls().map((c) => (c.args[0] as object).constructor.name);
}

/**
 * KMS throttling as the SDK raises it. `ThrottlingException` is not a modeled KMS error class in
 * @aws-sdk/client-kms, so the SDK deserializes it as a KMSServiceException with that name.
 */
export function throttling(message = 'Rate exceeded'): KMSServiceException {
  return new KMSServiceException({
    name: 'ThrottlingException',
    $fault: 'client',
    message,
    $metadata: { httpStatusCode: 400 },
  });
}
