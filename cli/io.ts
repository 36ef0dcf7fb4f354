import { setTimeout as delay } from 'node:timers/promises';

/** Something text can be written to (process.stdout, a test's buffer). */
export interface Writer {
  write(chunk: string): unknown;
}

/**
 * Everything a command touches outside itself, so that tests drive `main` with fakes: output
 * streams, the environment, whether the streams are terminals, and the clock used for polling.
 */
export interface Io {
  stdout: Writer;
  stderr: Writer;
  env: Record<string, string | undefined>;
  /** stdout is a terminal (colour, countdowns). */
  isTTY?: boolean;
  /** stderr is a terminal (spinners). */
  stderrIsTTY?: boolean;
  /** Overrides the poll interval of watch/start/drill (tests use 0). */
  pollIntervalMs?: number;
  /** Overrides sleeping between polls. */
  sleep?: (ms: number) => Promise<void>;
  /** Overrides the clock (execution names, elapsed times). */
  now?: () => Date;
}

export const sleepOf = (io: Io): ((ms: number) => Promise<void>) => io.sleep ?? ((ms) => delay(ms));
export const nowOf = (io: Io): (() => Date) => io.now ?? (() => new Date());

/** Writes whole lines to a stream. */
export function lineWriter(w: Writer): (text?: string) => void {
  return (text = '') => {
    w.write(`${text}\n`);
  };
}

/** ANSI styles, or identity functions when colour is off. */
export interface Paint {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
  /** An outcome or status word in its colour (ROTATED green, SKIPPED yellow, FAILED red, ...). */
  outcome(s: string): string;
}

const sgr = (open: number, close: number) => (s: string) => `\u001b[${open}m${s}\u001b[${close}m`;

export function paint(enabled: boolean): Paint {
  if (!enabled) {
    const id = (s: string) => s;
    return { bold: id, dim: id, red: id, green: id, yellow: id, cyan: id, outcome: id };
  }
  const p = {
    bold: sgr(1, 22),
    dim: sgr(2, 22),
    red: sgr(31, 39),
    green: sgr(32, 39),
    yellow: sgr(33, 39),
    cyan: sgr(36, 39),
  };
  const outcome = (s: string): string => {
    if (/^(ROTATED|SUCCEEDED|PASS)\b/.test(s)) return p.green(s);
    if (/^(FAILED|TIMED_OUT|ABORTED|FAIL)\b/.test(s)) return p.red(s);
    if (/^SKIPPED\b/.test(s)) return p.yellow(s);
    if (/^(DRY_RUN|RUNNING)\b/.test(s)) return p.cyan(s);
    return s;
  };
  return { ...p, outcome };
}

/** Colour on a stream only when it is a terminal and NO_COLOR is not set. */
export function colourFor(io: Io, stream: 'stdout' | 'stderr'): Paint {
  const tty = stream === 'stdout' ? io.isTTY : io.stderrIsTTY;
  return paint(tty === true && io.env.NO_COLOR === undefined);
}
