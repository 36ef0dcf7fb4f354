/** How a local execution ends when it fails, in the terms Step Functions reports. */
import { ExecutionTimeoutError } from 'aws-local-stepfunctions';
import type { FatalStatesError } from '../limits';
import type { DefinitionRunResult, RunEvent, RunMetrics } from './run-contract';

/**
 * How a failed execution ends, as Step Functions reports it: the execution's TimeoutSeconds as
 * States.Timeout, a rule the runner enforces (fatal) as its error, else the library's ExecutionFailed.
 */
export function failedRun(
  error: Error,
  failure: FatalStatesError | null,
  events: RunEvent[],
  metrics: RunMetrics,
  emit: (event: RunEvent) => void,
): DefinitionRunResult {
  if (!failure && error instanceof ExecutionTimeoutError) {
    // The definition's TimeoutSeconds (scaled): States.Timeout, as Step Functions ends the execution.
    emit({
      type: 'ExecutionFailed',
      timestamp: Date.now(),
      Error: 'States.Timeout',
      Cause: 'The execution timed out.',
    });
    return {
      status: 'FAILED',
      output: null,
      error: 'States.Timeout',
      cause: 'The execution timed out.',
      events,
      metrics,
    };
  } else if (failure) {
    emit({ type: 'ExecutionFailed', timestamp: Date.now(), Error: failure.name, Cause: failure.message });
    return { status: 'FAILED', output: null, error: failure.name, cause: failure.message, events, metrics };
  } else {
    const failed = [...events].reverse().find((e) => e.type === 'ExecutionFailed');
    return {
      status: 'FAILED',
      output: null,
      error: failed?.Error ?? error.name,
      cause: failed?.Cause === undefined ? error.message : String(failed.Cause),
      events,
      metrics,
    };
  }
}
