/**
 * EventBridge event-pattern matching, for the content filters this stack's rules use, as the
 * EventBridge user guide ("Event patterns", "Content filtering") describes it: every field of the
 * pattern must match; a leaf is a list of values and filters, matched when any value of the event
 * field equals or passes one of them; an event array matches when any element does; arrays of
 * objects are flattened, so each field path is matched on its own across the elements (the guide:
 * the rule matches when any finding matches, which is why intake checks each finding again). A
 * filter this module does not know is refused rather than guessed.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every value at `path` in `event`, arrays flattened at each step. */
function valuesAt(event: Json, path: string[]): Json[] {
  if (Array.isArray(event)) return event.flatMap((item) => valuesAt(item, path));
  if (path.length === 0) return [event];
  if (event === null || typeof event !== 'object' || !(path[0]! in event)) return [];
  return valuesAt(event[path[0]!]!, path.slice(1));
}

const NUMERIC: Record<string, (a: number, b: number) => boolean> = {
  '=': (a, b) => a === b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

/** Whether `value` passes a numeric filter such as ['>=', 4, '<', 7]. */
function numericMatch(value: Json, spec: Json[]): boolean {
  if (typeof value !== 'number') return false;
  for (let i = 0; i < spec.length; i += 2) {
    const op = NUMERIC[spec[i] as string];
    if (!op) throw new Error(`numeric operator ${String(spec[i])} is not modelled`);
    if (!op(value, spec[i + 1] as number)) return false;
  }
  return true;
}

/** Whether one event value matches one element of a pattern leaf. */
function leafMatch(value: Json, filter: Json): boolean {
  if (filter === null || typeof filter !== 'object') return value === filter;
  const [kind, arg] = Object.entries(filter)[0] ?? [];
  if (kind === 'prefix') return typeof value === 'string' && typeof arg === 'string' && value.startsWith(arg);
  if (kind === 'numeric') return numericMatch(value, arg as Json[]);
  throw new Error(`filter ${JSON.stringify(filter)} is not modelled`);
}

/** Whether `event` matches `pattern` (a rule's EventPattern, as in the synthesized template). */
export function matchesPattern(pattern: Record<string, Json>, event: Json, path: string[] = []): boolean {
  return Object.entries(pattern).every(([key, sub]) => {
    const at = [...path, key];
    if (Array.isArray(sub)) {
      const values = valuesAt(event, at);
      if (sub.some((f) => f !== null && typeof f === 'object' && 'exists' in f)) {
        throw new Error('exists filters are not modelled');
      }
      return values.some((v) => sub.some((f) => leafMatch(v, f)));
    }
    if (sub === null || typeof sub !== 'object') throw new Error(`pattern leaf ${key} must be a list`);
    return matchesPattern(sub, event, at);
  });
}

/** The template's intrinsic values this stack's patterns use, resolved for one account and Region. */
export function resolveIntrinsics(value: unknown, env: { account: string; region: string }): Json {
  if (Array.isArray(value)) return value.map((v) => resolveIntrinsics(v, env));
  if (value === null || typeof value !== 'object') return value as Json;
  const obj = value as Record<string, unknown>;
  if ('Ref' in obj) {
    const refs: Record<string, string> = {
      'AWS::Partition': 'aws',
      'AWS::Region': env.region,
      'AWS::AccountId': env.account,
    };
    const resolved = refs[obj.Ref as string];
    if (resolved === undefined) throw new Error(`Ref ${String(obj.Ref)} is not modelled`);
    return resolved;
  }
  if ('Fn::Join' in obj) {
    const [sep, parts] = obj['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => resolveIntrinsics(p, env)).join(sep);
  }
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, resolveIntrinsics(v, env)]));
}
