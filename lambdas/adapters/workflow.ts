import {
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  StartExecutionCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';

/**
 * What the front door does to the workflow: start the manual state machine and answer approval
 * gates. The Lambda's implementation sends Step Functions API calls; the local front door
 * (local/front-door.ts) runs the synthesized machine and answers through the local task tokens.
 */
export interface WorkflowControl {
  /** Starts the manual machine; resolves with the execution's ARN once it is started. */
  startManual(name: string, input: unknown): Promise<{ executionArn: string; startDate: string | null }>;
  sendTaskSuccess(token: string, output: string): Promise<void>;
  sendTaskFailure(token: string, error: string, cause: string): Promise<void>;
}

/** Step Functions as the deployed front door uses it (the manual machine only). */
export class StepFunctionsControl implements WorkflowControl {
  constructor(
    private readonly client: SFNClient,
    private readonly manualStateMachineArn: string,
  ) {}

  async startManual(name: string, input: unknown): Promise<{ executionArn: string; startDate: string | null }> {
    const out = await this.client.send(
      new StartExecutionCommand({ stateMachineArn: this.manualStateMachineArn, name, input: JSON.stringify(input) }),
    );
    return { executionArn: out.executionArn ?? '', startDate: out.startDate?.toISOString() ?? null };
  }

  async sendTaskSuccess(token: string, output: string): Promise<void> {
    await this.client.send(new SendTaskSuccessCommand({ taskToken: token, output }));
  }

  async sendTaskFailure(token: string, error: string, cause: string): Promise<void> {
    await this.client.send(new SendTaskFailureCommand({ taskToken: token, error, cause }));
  }
}
