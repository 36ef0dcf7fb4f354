/**
 * Poll schedule of a key's rotation (and of its ConflictException back-off): the wait before the
 * next look grows with the time the rotation has run, so that a rotation is confirmed within
 * max(10 s, 15 % of its duration) of its real end, and a stalled one costs few polls (each poll
 * is ~9 history events; an execution has 25,000).
 *
 * A wait started `elapsed` seconds into the rotation is at most max(shortest, 15 % of elapsed):
 * if the rotation ends at D, the look after D comes at most that wait after the last look
 * before D, i.e. within max(shortest, 0.15 x D) of the end. With `shortest` = 10 s that is the
 * max(10 s, 15 %) promise; `pollMaxSeconds` caps the wait (it then only gets tighter).
 */

/** The share of the elapsed rotation time one wait may take (the 15 % rule). */
export const POLL_FRACTION = 0.15;

/** The poll settings: `shortestSeconds` is the pollInitialSeconds setting, `maxSeconds` pollMaxSeconds. */
export interface PollSettings {
  shortestSeconds: number;
  maxSeconds: number;
}

/**
 * The wait (whole seconds >= 1, for a Wait state's SecondsPath) before the next look at a rotation
 * that has run `elapsedSeconds`: floor(15 % of elapsed), at least `shortestSeconds`, at most
 * `maxSeconds`, and never past the deadline (plus one second, so the look after the deadline
 * sees it passed).
 */
export function pollDelaySeconds(elapsedSeconds: number, poll: PollSettings, secondsToDeadline = Infinity): number {
  const elapsed = Number.isFinite(elapsedSeconds) ? Math.max(0, elapsedSeconds) : 0;
  const grown = Math.floor(POLL_FRACTION * elapsed);
  const delay = Math.min(poll.maxSeconds, Math.max(poll.shortestSeconds, grown));
  const bounded = Math.min(delay, Math.max(1, Math.ceil(secondsToDeadline) + 1));
  return Math.max(1, Math.floor(bounded));
}

/**
 * The times (seconds after the rotation started) of every look until `totalSeconds` have passed,
 * the first look at or after `totalSeconds` included (the one that sees the deadline passed).
 */
export function pollTimes(poll: PollSettings, totalSeconds: number): number[] {
  const times: number[] = [];
  let elapsed = 0;
  // A wait is >= 1 s, so this ends; the cap only guards against absurd input.
  while (elapsed < totalSeconds && times.length < 1_000_000) {
    elapsed += pollDelaySeconds(elapsed, poll, totalSeconds - elapsed);
    times.push(elapsed);
  }
  return times;
}

/** How a rotation of a given duration is confirmed: after how long, and with how many looks. */
export interface Confirmation {
  /** Seconds between the rotation's real end and the look that confirms it. */
  delaySeconds: number;
  /** Looks (CheckRotation polls) until confirmed, the confirming one included. */
  polls: number;
}

/**
 * For a rotation that really takes `durationSeconds`: the first look at or after its end, and how
 * late that is. Pure; the bench prints it next to the stand-in's measured completion times.
 */
export function confirmation(durationSeconds: number, poll: PollSettings): Confirmation {
  let elapsed = 0;
  let polls = 0;
  do {
    elapsed += pollDelaySeconds(elapsed, poll);
    polls += 1;
  } while (elapsed < durationSeconds);
  return { delaySeconds: elapsed - durationSeconds, polls };
}

/** The promised bound: a rotation of D seconds is confirmed within max(10 s, 15 % of D). */
export function confirmationBoundSeconds(durationSeconds: number): number {
  return Math.max(10, POLL_FRACTION * durationSeconds);
}
