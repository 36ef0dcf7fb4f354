/**
 * Poll schedule: the wait before poll number `attempt` (0-based) starts at `initialSeconds` and
 * doubles up to `maxSeconds`; never past the deadline (plus one second, so the poll after the
 * deadline sees it passed). Whole seconds: Step Functions' SecondsPath needs an integer.
 */
export function pollDelaySeconds(attempt: number, initialSeconds: number, maxSeconds: number, secondsToDeadline = Infinity): number {
  const exponent = Math.min(Math.max(0, attempt), 30);
  const delay = Math.min(maxSeconds, initialSeconds * 2 ** exponent);
  const bounded = Math.min(delay, Math.max(1, Math.ceil(secondsToDeadline) + 1));
  return Math.max(1, Math.round(bounded));
}
