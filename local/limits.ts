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

/**
 * A definition Step Functions would refuse (CreateStateMachine / ValidateStateMachineDefinition),
 * refused by the runner before any state runs; `problems` are lib/definition-check.ts's messages.
 */
export class DefinitionRefusedError extends Error {
  constructor(readonly problems: string[]) {
    super(`Step Functions would refuse this definition:\n${problems.map((p) => `- ${p}`).join('\n')}`);
    this.name = 'DefinitionRefusedError';
  }
}

/**
 * Where a ResultPath (a reference path such as `$.a.b`) cannot place a result into the state's raw
 * input: the input, or a field on the way, exists and is not a JSON object. The specification
 * creates missing intervening fields but never replaces an existing value to make room, and the
 * guide lists the failure to apply a path to a state's input among the `States.Runtime` errors,
 * which no Retry or Catch handles. The exact cause text AWS gives is not documented; the message
 * below names the state, the path and what is in the way. (aws-local-stepfunctions would silently
 * replace the value, or raise a catchable States.ResultPathMatchFailure.) Null: the path applies.
 */
export function resultPathConflict(rawInput: unknown, path: unknown, stateName: string): FatalStatesError | null {
  if (typeof path !== 'string' || path === '$') return null;
  const fields = referencePathFields(path);
  if (!fields) return null; // not a simple dotted path: left to the library
  let current: unknown = rawInput;
  for (let i = 0; i < fields.length; i++) {
    const isObject = typeof current === 'object' && current !== null && !Array.isArray(current);
    if (!isObject) {
      const at = i === 0 ? '$' : `$.${fields.slice(0, i).join('.')}`;
      return new FatalStatesError(
        'States.Runtime',
        `An error occurred while executing the state '${stateName}'. Unable to apply ResultPath '${path}': ` +
          `'${at}' is ${JSON.stringify(current ?? null).slice(0, 100)}, not an object.`,
      );
    }
    current = (current as Record<string, unknown>)[fields[i]!];
    if (current === undefined) return null; // the rest is created
  }
  return null;
}

/** `$.a.b` -> ['a', 'b']; anything else (brackets, wildcards) -> null. */
function referencePathFields(path: string): string[] | null {
  if (!/^\$(\.[A-Za-z_][A-Za-z0-9_-]*)+$/.test(path)) return null;
  return path.slice(2).split('.');
}
