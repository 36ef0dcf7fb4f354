/**
 * The Step Functions (Standard) service limits the local runner enforces, so that an execution
 * that would fail in AWS fails offline too. Each names the AWS page it follows.
 */

/**
 * 256 KiB for a state's input, output, result and a task's parameters, measured as UTF-8 bytes of
 * the JSON. Over it, the execution fails with `States.DataLimitExceeded`, which no Catch
 * (not even `States.ALL`) handles.
 * https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html (Maximum input or
 * output size for a task, state, or execution) and .../concepts-error-handling.html.
 */
export const PAYLOAD_LIMIT_BYTES = 262_144;

/**
 * 25,000 events in one execution's history (declared once, in lib/limits.ts, which the settings
 * validation also uses). When event 25,000 is not `ExecutionSucceeded`, the execution fails.
 * https://docs.aws.amazon.com/step-functions/latest/dg/bp-history-limit.html
 */
export { HISTORY_EVENT_LIMIT } from '../lib/limits';

/** UTF-8 size of a value as Step Functions serialises it (JSON). */
export function payloadBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value ?? null) ?? 'null', 'utf8');
}

/**
 * An error Step Functions raises itself that ends the execution: neither Retry nor Catch applies
 * (aws-local-stepfunctions honours `isRetryable` / `isCatchable` on thrown errors).
 */
export class FatalStatesError extends Error {
  readonly isRetryable = false;
  readonly isCatchable = false;
  constructor(name: 'States.DataLimitExceeded' | 'States.Runtime', message: string) {
    super(message);
    this.name = name;
  }
}

/**
 * What a Wait state's `SecondsPath` must resolve to: a non-negative integer (a JSON number).
 * Step Functions fails the execution (`States.Runtime`) for a missing value, a fraction, a
 * negative number or a string, even "3".
 * https://docs.aws.amazon.com/step-functions/latest/dg/state-wait.html
 */
export function waitSecondsOrThrow(value: unknown, stateName: string, path: string): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  const shown = value === undefined ? 'nothing' : JSON.stringify(value);
  throw new FatalStatesError(
    'States.Runtime',
    `An error occurred while executing the state '${stateName}'. The SecondsPath parameter does not reference a valid non-negative integer: '${path}' resolved to ${shown}.`,
  );
}
