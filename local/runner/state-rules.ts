/** Rules Step Functions applies to states that aws-local-stepfunctions leaves out (local/README.md). */
import { FatalStatesError } from '../limits';

/**
 * Step Functions fails a state (States.Runtime, which no Catch handles) when a ResultSelector path
 * matches nothing in the task's result; aws-local-stepfunctions would drop the field silently.
 * Simple paths (`$.a.b`) are checked; a value that is present but null matches.
 */
export function selectorPathsMissing(selector: unknown, result: unknown, stateName: string): FatalStatesError | null {
  if (!selector || typeof selector !== 'object') return null;
  for (const [field, value] of Object.entries(selector)) {
    if (
      field.endsWith('.$') &&
      typeof value === 'string' &&
      /^\$(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(value) &&
      !hasPath(result, value)
    ) {
      return new FatalStatesError(
        'States.Runtime',
        `An error occurred while executing the state '${stateName}'. The JSONPath '${value}' specified for the field '${field}' could not be found in the input '${JSON.stringify(result ?? null).slice(0, 200)}'`,
      );
    }
    if (!field.endsWith('.$')) {
      const nested = selectorPathsMissing(value, result, stateName);
      if (nested) return nested;
    }
  }
  return null;
}

function hasPath(value: unknown, path: string): boolean {
  let current: unknown = value;
  for (const key of path.slice(2).split('.')) {
    if (current === null || typeof current !== 'object' || !(key in current)) return false;
    current = (current as Record<string, unknown>)[key];
  }
  return true;
}

/**
 * A missed heartbeat fails the task with `States.HeartbeatTimeout`, and a retrier or catcher naming
 * `States.Timeout` matches it too: the guide's error names say States.Timeout is "a Task state
 * either ran longer than the TimeoutSeconds value, or failed to send a heartbeat for a period
 * longer than the HeartbeatSeconds value". The library matches names exactly, so the working copy's
 * handler (validated as written before) names both.
 */
export function matchHeartbeatAsTimeout(handler: { ErrorEquals?: unknown }): void {
  const errors = handler.ErrorEquals;
  if (Array.isArray(errors) && errors.includes('States.Timeout') && !errors.includes('States.HeartbeatTimeout'))
    errors.push('States.HeartbeatTimeout');
}
