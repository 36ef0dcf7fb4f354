/**
 * The elements of a JSON array read from a stream, one at a time, so that memory holds one element
 * (plus a chunk) however long the array is. Used for the Distributed Map's ResultWriter files: a
 * JSON array of child executions that reaches ~143 MB at a million objects (Step Functions guide,
 * "ResultWriter (Map)").
 *
 * The scanner only finds where each top-level element begins and ends (strings and escapes
 * respected); each element is then parsed by JSON.parse, so what is accepted is exactly JSON. The
 * top level must be an array of objects or arrays (what ResultWriter writes); anything else throws.
 */

/** Thrown when the stream is not a JSON array of objects/arrays. */
export class JsonArrayStreamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonArrayStreamError';
  }
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);

/** Yields each element of the top-level JSON array in `chunks` (bytes, UTF-8, split anywhere). */
export async function* jsonArrayElements(chunks: AsyncIterable<Uint8Array | string>): AsyncGenerator<unknown> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  /** 'start': before '['; 'between': inside the array between elements; 'element': inside one; 'end': after ']'. */
  let state: 'start' | 'between' | 'element' | 'end' = 'start';
  let sawComma = false;
  let elements = 0;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let pieces: string[] = [];

  function* scan(text: string): Generator<unknown> {
    let elementStart = state === 'element' ? 0 : -1;
    for (let i = 0; i < text.length; i++) {
      const ch = text[i]!;
      if (state === 'element') {
        if (inString) {
          if (escaped) escaped = false;
          else if (ch === '\\') escaped = true;
          else if (ch === '"') inString = false;
          continue;
        }
        if (ch === '"') inString = true;
        else if (ch === '{' || ch === '[') depth++;
        else if (ch === '}' || ch === ']') {
          depth--;
          if (depth === 0) {
            pieces.push(text.slice(elementStart, i + 1));
            const json = pieces.join('');
            pieces = [];
            state = 'between';
            sawComma = false;
            elements++;
            yield JSON.parse(json) as unknown;
          }
        }
        continue;
      }
      if (WHITESPACE.has(ch)) continue;
      if (state === 'start') {
        if (ch !== '[') throw new JsonArrayStreamError(`expected a JSON array, found ${JSON.stringify(ch)}`);
        state = 'between';
        sawComma = true; // an element (or ']') may follow directly
        continue;
      }
      if (state === 'end')
        throw new JsonArrayStreamError(`unexpected ${JSON.stringify(ch)} after the end of the array`);
      // state 'between'
      if (ch === ']') {
        if (sawComma && elements > 0) throw new JsonArrayStreamError('a comma before the end of the array');
        state = 'end';
      } else if (ch === ',') {
        if (sawComma) throw new JsonArrayStreamError('an element is missing between commas');
        sawComma = true;
      } else if (ch === '{' || ch === '[') {
        if (!sawComma) throw new JsonArrayStreamError('a comma is missing between elements');
        state = 'element';
        depth = 1;
        elementStart = i;
      } else {
        throw new JsonArrayStreamError(
          `expected an object or an array as element ${elements}, found ${JSON.stringify(ch)}`,
        );
      }
    }
    if (state === 'element') pieces.push(text.slice(Math.max(elementStart, 0)));
  }

  for await (const chunk of chunks) {
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    yield* scan(text);
  }
  yield* scan(decoder.decode());
  // (scan() moved the state on: TypeScript does not see assignments made inside it)
  if ((state as string) !== 'end') throw new JsonArrayStreamError('the array ends before its closing bracket');
}
