/**
 * The one sanitiser for terminal output. Execution data, findings and AWS answers can hold any
 * character: an escape sequence in a key id or a field name would clear another engineer's
 * screen, move the cursor or fake a line ("APPROVED"). Every such text is made harmless here:
 * C0 and C1 control characters (ESC, and so every ESC/CSI/OSC sequence, included), DEL, and the
 * bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069) are shown escaped
 * (`\x1B`, `\u202E`), so what was sent stays visible without acting on the terminal.
 */

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE_IN_LINE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

const escaped = (c: string): string => {
  const code = c.charCodeAt(0);
  return code <= 0xff
    ? `\\x${code.toString(16).toUpperCase().padStart(2, '0')}`
    : `\\u${code.toString(16).toUpperCase()}`;
};

/** One field for a terminal line: every control, escape and bidi override shown escaped (newlines too). */
export function clean(text: string): string {
  return String(text).replace(UNSAFE_IN_LINE, escaped);
}

/** A parsed JSON value with every string and every field name cleaned (execution data as the CLI reads it). */
export function cleanJson(value: unknown): unknown {
  if (typeof value === 'string') return clean(value);
  if (Array.isArray(value)) return value.map(cleanJson);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [clean(k), cleanJson(v)]),
    );
  }
  return value;
}

/**
 * The CLI's own sequences: colours (`ESC [ <digits;> m`, io.ts) and erase-line (`ESC [ K`, the
 * spinner in live/trace.ts). Data never carries an ESC this far (see cleanJson).
 */
// eslint-disable-next-line no-control-regex -- ESC starts the sequences kept here
const OWN_SEQUENCE = /\u001b\[[0-9;]*[mK]/y;

/**
 * The last line of defence, applied to everything the CLI writes: any control character other
 * than newline, tab, carriage return (the spinner) and the CLI's own sequences is shown escaped.
 */
export function guardOutput(chunk: string): string {
  let out = '';
  for (let i = 0; i < chunk.length; i++) {
    const c = chunk[i];
    if (c === '\u001b') {
      OWN_SEQUENCE.lastIndex = i;
      const m = OWN_SEQUENCE.exec(chunk);
      if (m) {
        out += m[0];
        i += m[0].length - 1;
        continue;
      }
    }
    out += c === '\n' || c === '\t' || c === '\r' ? c : c.replace(UNSAFE_IN_LINE, escaped);
  }
  return out;
}
