import { parseJson } from '../keys';

/**
 * The live view of an execution, shared by `simulate` (the local runner's events) and
 * `watch`/`start`/`drill` (Step Functions execution history), so both read the same:
 *
 *     00:03  Assess            key/1234abcd-...  -> ROTATE (Eligible; rotating leaves 22 of 25 ...)
 *
 * Each source is first translated into TraceEvents (local-events.ts, history-events.ts);
 * LiveTrace (trace.ts) renders them, describe.ts says what each state's output means. On a terminal, a
 * status line (spinner, wait countdowns, "next check in") sits below the trace and is cleared
 * before every trace line.
 */
export type TraceEvent =
  | { kind: 'started'; at: number }
  | { kind: 'entered'; at: number; state: string; type: string; key: string | null; input: unknown }
  | { kind: 'exited'; at: number; state: string; type: string; key: string | null; output: unknown }
  /** A Wait state: `seconds` as the definition asked, `realSeconds` as it actually lasts (scaled locally). */
  | { kind: 'wait'; at: number; state: string; key: string | null; seconds: number | null; realSeconds: number | null }
  | { kind: 'error'; at: number; state: string; key: string | null; error: string; cause: string | null }
  | { kind: 'retried'; at: number; state: string; key: string | null; attempt: number | null }
  /** An approval answer a person gave (offline: the world's `approvals`) and the front door's answer to it. */
  | {
      kind: 'approval';
      at: number;
      state: string;
      key: string | null;
      decision: string;
      by: string | null;
      reason: string | null;
      statusCode: number | null;
      message: string | null;
    }
  | { kind: 'succeeded'; at: number }
  | { kind: 'failed'; at: number; status: string; error: string | null; cause: string | null };

type Loose = Record<string, unknown> | undefined;
/** The value as a plain object, or undefined: event payloads are untrusted JSON. */
export const obj = (v: unknown): Loose =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
/** A non-empty string, or null. */
export const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
/** A finite number, or null. */
export const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The key a per-key state works on: the reference as named (stable across the key's states). */
export function keyOf(v: unknown): string | null {
  const o = obj(v);
  return str(o?.ref) ?? str(o?.keyArn);
}

/** An error cause as text: a Lambda error's `errorMessage` when it is one, else the cause itself. */
export function causeText(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  const parsed = obj(parseJson(text));
  return str(parsed?.errorMessage) ?? text;
}

/** The length of an array, or null for anything else. */
export function arrayLength(v: unknown): number | null {
  return Array.isArray(v) ? v.length : null;
}
