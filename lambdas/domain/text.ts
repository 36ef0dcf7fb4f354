/**
 * Text helpers shared by every message people read (notifications, approval requests, audit
 * details): one clean line, cutting with an ellipsis, and reading a Step Functions error cause.
 * Pure; no layer below the domain.
 */

/** Longest error detail kept for people; longer messages are cut with an ellipsis. */
export const MAX_ERROR_DETAIL = 300;

export interface ParsedCause {
  message: string | null;
  errorType: string | null;
}

/**
 * Step Functions `Cause`: from a Lambda, JSON `{"errorType","errorMessage","trace",...}`; from an
 * SDK integration or a States.* error, plain text (or nothing).
 */
export function parseCause(cause: string | undefined | null): ParsedCause {
  if (typeof cause !== 'string' || cause.trim() === '') return { message: null, errorType: null };
  const trimmed = cause.trim();
  if (trimmed.startsWith('{')) {
    try {
      const json: unknown = JSON.parse(trimmed);
      if (json && typeof json === 'object' && !Array.isArray(json)) {
        const o = json as Record<string, unknown>;
        const message = firstString(o.errorMessage, o.message, o.Message, o.cause, o.Cause);
        const errorType = firstString(o.errorType, o.name, o.__type, o.code, o.Code);
        return { message: message === null ? null : cleanMessage(message), errorType };
      }
    } catch {
      // Not JSON after all: treat it as text.
    }
  }
  return { message: cleanMessage(trimmed), errorType: null };
}

function firstString(...values: unknown[]): string | null {
  for (const v of values) if (typeof v === 'string' && v.trim() !== '') return v;
  return null;
}

/** Drop stack frames, ANSI colour codes and control characters; keep one line. */
function cleanMessage(message: string): string {
  // A stack trace starts at the first "    at " frame line (Node) — everything after goes.
  const withoutStack = message.split(/\r?\n\s*at\s/)[0] ?? '';
  return oneLine(withoutStack, MAX_ERROR_DETAIL * 4);
}

/** Collapse a string to one clean line (no control or format characters), at most `max` characters. */
export function oneLine(text: string, max: number): string {
  const clean = String(text)
    // eslint-disable-next-line no-control-regex -- ESC (U+001B) starts the ANSI sequences removed here
    .replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, '') // ANSI escape sequences
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu, ' ') // control, format, separators, lone surrogates
    .replace(/\s+/gu, ' ')
    .trim();
  return cut(clean, max);
}

/** Cut to at most `max` characters (UTF-16 units, never splitting a pair), ending with an ellipsis when cut. */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 1) return max === 1 ? '…' : '';
  let end = max - 1;
  // Do not leave half a surrogate pair before the ellipsis.
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return `${text.slice(0, end).trimEnd()}…`;
}
