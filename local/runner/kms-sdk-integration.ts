import {
  CreateGrantCommand,
  KMSClient,
  RetireGrantCommand,
  type CreateGrantCommandInput,
  type RetireGrantCommandInput,
} from '@aws-sdk/client-kms';
import type { Principal } from '../iam';

/** Step Functions' AWS SDK integration for KMS: `arn:aws:states:::aws-sdk:kms:<action>`. */
export const KMS_SDK_INTEGRATION = 'arn:aws:states:::aws-sdk:kms:';
/** The KMS actions the definitions call through the SDK integration (the per-run grant). */
const KMS_SDK_COMMANDS: Record<string, (input: unknown) => CreateGrantCommand | RetireGrantCommand> = {
  createGrant: (input) => new CreateGrantCommand(input as CreateGrantCommandInput),
  retireGrant: (input) => new RetireGrantCommand(input as RetireGrantCommandInput),
};

/** Where the task's KMS client sends its requests. */
export interface KmsEndpoint {
  endpoint: string;
  region: string;
}

/**
 * An SDK-integration task: the KMS call made as the state machine's role (signed, so the stand-in
 * authorizes it), its output the API's answer; a failure is named `Kms.<ErrorName>`, as Step
 * Functions names the errors of the SDK integrations.
 */
export function kmsSdkTask(
  action: string,
  at: KmsEndpoint,
  machineRole: Principal,
): (input: unknown) => Promise<unknown> {
  const command = KMS_SDK_COMMANDS[action];
  if (!command) throw new Error(`the runner does not implement the SDK integration kms:${action}`);
  const client = new KMSClient({
    endpoint: at.endpoint,
    region: at.region,
    maxAttempts: 1,
    credentials: { accessKeyId: machineRole.accessKeyId, secretAccessKey: machineRole.secretAccessKey },
  });
  return async (input: unknown) => {
    try {
      const { $metadata: _metadata, ...output } = await client.send(command(input) as CreateGrantCommand);
      return output;
    } catch (e) {
      const err = e as Error;
      throw Object.assign(new Error(err.message), { name: `Kms.${err.name}` });
    }
  };
}
