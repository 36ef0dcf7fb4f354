import type { MemberRef, ModelExtract, Shape } from './types';

/**
 * Validation of requests and answers against a service's published Smithy model (an extract made
 * by extract.ts). Checked: required members (unless the member has a default, which a server fills
 * in), scalar types, @length (strings in code points, blobs in bytes, lists/maps in entries),
 * @range, @pattern (ECMAScript, not anchored, as Smithy defines it), enum and intEnum values,
 * unions (exactly one member), and members the shape does not have.
 *
 * Values may come in three forms, all accepted for the matching shape type:
 *   - JSON (awsJson bodies): strings, numbers, booleans, base64 strings for blobs, epoch seconds;
 *   - text (query parameters, HTTP headers and labels, XML text) when `text` is set: every scalar
 *     is a string and is parsed as the shape type says (booleans 'true'/'false', integers, dates);
 *   - SDK-deserialized answers: Date for timestamps, Uint8Array for blobs, `$metadata` ignored.
 */

export type IssueKind = 'required' | 'type' | 'length' | 'range' | 'pattern' | 'enum' | 'union' | 'unknown';

/** One way a value breaks the model. `path` uses AWS's form: 'keyId', 'tags.1.member.tagKey'. */
export interface ValidationIssue {
  kind: IssueKind;
  path: string;
  /** The value as AWS quotes it: `'abc'`, `null`, or '' for a sensitive value (AWS leaves it out). */
  shown: string;
  /** "Member must ..." for constraints; for `type`/`unknown` a description of the mismatch. */
  constraint: string;
}

export interface ValidateOptions {
  /** Scalars arrive as strings (query, headers, labels, XML). */
  text?: boolean;
  /** Skip `required` (answers, where a protocol may legitimately omit a member). Default false. */
  skipRequired?: boolean;
}

const INTEGER_RANGES: Record<string, [number, number]> = {
  byte: [-128, 127],
  short: [-32768, 32767],
  integer: [-2147483648, 2147483647],
  long: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};
const PRELUDE: Record<string, string> = {
  String: 'string',
  Blob: 'blob',
  Boolean: 'boolean',
  PrimitiveBoolean: 'boolean',
  Byte: 'byte',
  PrimitiveByte: 'byte',
  Short: 'short',
  PrimitiveShort: 'short',
  Integer: 'integer',
  PrimitiveInteger: 'integer',
  Long: 'long',
  PrimitiveLong: 'long',
  Float: 'float',
  PrimitiveFloat: 'float',
  Double: 'double',
  PrimitiveDouble: 'double',
  BigInteger: 'bigInteger',
  BigDecimal: 'bigDecimal',
  Timestamp: 'timestamp',
  Document: 'document',
  Unit: 'structure',
};

const regexCache = new Map<string, RegExp>();
function compiled(pattern: string): RegExp {
  let re = regexCache.get(pattern);
  if (!re) {
    try {
      re = new RegExp(pattern, 'u');
    } catch {
      // Some published patterns use escapes only legal outside Unicode mode (e.g. `\-` in a class).
      re = new RegExp(pattern);
    }
    regexCache.set(pattern, re);
  }
  return re;
}

/** The shape a member or id points at; prelude shapes are synthesized. */
export function shapeOf(model: ModelExtract, id: string): Shape {
  if (id.startsWith('smithy.api#')) {
    const type = PRELUDE[id.slice('smithy.api#'.length)];
    if (!type) throw new Error(`model ${model.source.service}: unknown prelude shape ${id}`);
    return { type, ...(id === 'smithy.api#Unit' ? { members: {} } : {}) };
  }
  const s = model.shapes[id];
  if (!s) throw new Error(`model ${model.source.service}: shape ${id} is not in the extract`);
  return s;
}

/** AWS reports member paths with the first letter in lower case ('KeyId' -> 'keyId'). */
export function awsMemberName(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

const enumCache = new WeakMap<Shape, (string | number)[] | undefined>();

/** Enum values of an enum shape (Smithy 2 members or the 1.0 @enum trait), undefined for others. */
export function enumValues(shape: Shape): (string | number)[] | undefined {
  if (enumCache.has(shape)) return enumCache.get(shape);
  let values: (string | number)[] | undefined;
  if (shape.type === 'enum' || shape.type === 'intEnum') {
    values = Object.entries(shape.members ?? {}).map(
      ([name, m]) => (m.traits?.['smithy.api#enumValue'] as string | number | undefined) ?? name,
    );
  } else values = (shape.traits?.['smithy.api#enum'] as { value: string }[] | undefined)?.map((e) => e.value);
  enumCache.set(shape, values);
  return values;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Date);
}

/** How AWS quotes a value in a validation message. */
function show(value: unknown, sensitive: boolean): string {
  if (sensitive) return '';
  if (value === undefined || value === null) return 'null';
  if (value instanceof Uint8Array) return `'java.nio.HeapByteBuffer[pos=0 lim=${value.length} cap=${value.length}]'`;
  if (Array.isArray(value))
    return `'[${value.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))).join(', ')}]'`;
  if (typeof value === 'object') return `'${JSON.stringify(value)}'`;
  return `'${String(value)}'`;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

interface Walk {
  model: ModelExtract;
  opts: ValidateOptions;
  issues: ValidationIssue[];
}

/** A scalar in its typed form, or a `type` issue's description when it cannot be one. */
function scalar(type: string, value: unknown, text: boolean): { value: unknown } | { mismatch: string } {
  const bad = (what: string) => ({ mismatch: `${describe(value)} can not be converted to ${what}` });
  switch (type) {
    case 'string':
      return typeof value === 'string' ? { value } : bad('a String');
    case 'boolean':
      if (typeof value === 'boolean') return { value };
      if (text && (value === 'true' || value === 'false')) return { value: value === 'true' };
      return bad('a Boolean');
    case 'byte':
    case 'short':
    case 'integer':
    case 'long':
    case 'bigInteger': {
      const n = text && typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isInteger(n)) return bad(type === 'long' ? 'a Long' : 'an Integer');
      const r = INTEGER_RANGES[type];
      if (r && (n < r[0] || n > r[1])) return bad(`a ${type}: out of range`);
      return { value: n };
    }
    case 'float':
    case 'double':
    case 'bigDecimal': {
      const n = text && typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      return typeof n === 'number' && !Number.isNaN(n) ? { value: n } : bad('a Double');
    }
    case 'timestamp': {
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? bad('a Date') : { value };
      if (typeof value === 'number' && Number.isFinite(value)) return { value };
      if (text && typeof value === 'string' && /^\d+(\.\d+)?$/.test(value)) return { value: Number(value) };
      if (text && typeof value === 'string' && !Number.isNaN(Date.parse(value))) return { value };
      return bad('a Date');
    }
    case 'blob': {
      if (value instanceof Uint8Array) return { value };
      if (typeof value === 'string' && BASE64.test(value)) return { value: Buffer.from(value, 'base64') };
      return bad('a ByteBuffer (base64)');
    }
    case 'document':
      return { value };
    default:
      throw new Error(`validator: unsupported shape type ${type}`);
  }
}

/** The JSON token name AWS's deserializer reports for a value of the wrong type. */
function describe(value: unknown): string {
  if (typeof value === 'string') return 'STRING_VALUE';
  if (typeof value === 'number') return 'NUMBER_VALUE';
  if (typeof value === 'boolean') return value ? 'TRUE_VALUE' : 'FALSE_VALUE';
  if (Array.isArray(value)) return 'START_ARRAY';
  if (value instanceof Date) return 'DATE_VALUE';
  if (typeof value === 'object' && value !== null) return 'START_OBJECT';
  return typeof value;
}

function checkLength(
  w: Walk,
  shape: Shape,
  ref: MemberRef | undefined,
  path: string,
  length: number,
  shown: () => string,
): void {
  const len = (ref?.traits?.['smithy.api#length'] ?? shape.traits?.['smithy.api#length']) as
    { min?: number; max?: number } | undefined;
  if (!len) return;
  if (len.min !== undefined && length < len.min)
    w.issues.push({
      kind: 'length',
      path,
      shown: shown(),
      constraint: `Member must have length greater than or equal to ${len.min}`,
    });
  if (len.max !== undefined && length > len.max)
    w.issues.push({
      kind: 'length',
      path,
      shown: shown(),
      constraint: `Member must have length less than or equal to ${len.max}`,
    });
}

function checkScalar(
  w: Walk,
  shape: Shape,
  ref: MemberRef | undefined,
  path: string,
  typed: unknown,
  shown: () => string,
): void {
  const values = enumValues(shape);
  if (values && !values.includes(typed as string | number)) {
    w.issues.push({
      kind: 'enum',
      path,
      shown: shown(),
      constraint: `Member must satisfy enum value set: [${values.join(', ')}]`,
    });
  }
  if (typeof typed === 'string') checkLength(w, shape, ref, path, [...typed].length, shown);
  if (typed instanceof Uint8Array) checkLength(w, shape, ref, path, typed.length, shown);
  const pattern = (ref?.traits?.['smithy.api#pattern'] ?? shape.traits?.['smithy.api#pattern']) as string | undefined;
  if (pattern && typeof typed === 'string' && !compiled(pattern).test(typed)) {
    w.issues.push({
      kind: 'pattern',
      path,
      shown: shown(),
      constraint: `Member must satisfy regular expression pattern: ${pattern}`,
    });
  }
  const range = (ref?.traits?.['smithy.api#range'] ?? shape.traits?.['smithy.api#range']) as
    { min?: number; max?: number } | undefined;
  if (range && typeof typed === 'number') {
    if (range.min !== undefined && typed < range.min)
      w.issues.push({
        kind: 'range',
        path,
        shown: shown(),
        constraint: `Member must have value greater than or equal to ${range.min}`,
      });
    if (range.max !== undefined && typed > range.max)
      w.issues.push({
        kind: 'range',
        path,
        shown: shown(),
        constraint: `Member must have value less than or equal to ${range.max}`,
      });
  }
}

function walk(w: Walk, shapeId: string, ref: MemberRef | undefined, path: string, value: unknown): void {
  const shape = shapeOf(w.model, shapeId);
  const sensitive =
    ref?.traits?.['smithy.api#sensitive'] !== undefined || shape.traits?.['smithy.api#sensitive'] !== undefined;
  // Rendering a value is costly (whole structures); only an issue needs it.
  let rendered: string | undefined;
  const shown = () => (rendered ??= show(value, sensitive));
  const type = shape.type === 'enum' ? 'string' : shape.type === 'intEnum' ? 'integer' : shape.type;
  if (type === 'structure' || type === 'union') {
    if (!isPlainObject(value)) {
      w.issues.push({
        kind: 'type',
        path,
        shown: shown(),
        constraint: `${describe(value)} can not be converted to a structure`,
      });
      return;
    }
    walkStructure(w, shape, type === 'union', path, value);
    return;
  }
  if (type === 'list' || type === 'set') {
    if (!Array.isArray(value)) {
      w.issues.push({
        kind: 'type',
        path,
        shown: shown(),
        constraint: `${describe(value)} can not be converted to a list`,
      });
      return;
    }
    checkLength(w, shape, ref, path, value.length, shown);
    value.forEach((item, i) => walk(w, shape.member!.target, shape.member, `${path}.${i + 1}.member`, item));
    return;
  }
  if (type === 'map') {
    if (!isPlainObject(value)) {
      w.issues.push({
        kind: 'type',
        path,
        shown: shown(),
        constraint: `${describe(value)} can not be converted to a map`,
      });
      return;
    }
    const entries = Object.entries(value);
    checkLength(w, shape, ref, path, entries.length, shown);
    // AWS does not document the path form for map entries; keys are reported at the map's path,
    // values at '<map>.<key>.member' (the form of list members).
    for (const [k, v] of entries) {
      walk(w, shape.key!.target, shape.key, path, k);
      walk(w, shape.value!.target, shape.value, `${path}.${k}.member`, v);
    }
    return;
  }
  const typed = scalar(type, value, !!w.opts.text);
  if ('mismatch' in typed) {
    w.issues.push({ kind: 'type', path, shown: shown(), constraint: typed.mismatch });
    return;
  }
  checkScalar(w, shape, ref, path, typed.value, shown);
}

function walkStructure(w: Walk, shape: Shape, union: boolean, path: string, value: Record<string, unknown>): void {
  const members = shape.members ?? {};
  const prefix = path ? `${path}.` : '';
  let set = 0;
  for (const [name, ref] of Object.entries(members)) {
    const v = value[name];
    const memberPath = `${prefix}${awsMemberName(name)}`;
    if (v === undefined || v === null) {
      const required =
        ref.traits?.['smithy.api#required'] !== undefined && ref.traits?.['smithy.api#default'] === undefined;
      if (required && !union && !w.opts.skipRequired)
        w.issues.push({ kind: 'required', path: memberPath, shown: 'null', constraint: 'Member must not be null' });
      continue;
    }
    set += 1;
    walk(w, ref.target, ref, memberPath, v);
  }
  for (const name of Object.keys(value)) {
    if (name === '$metadata' || members[name]) continue;
    if (value[name] === undefined) continue;
    w.issues.push({
      kind: 'unknown',
      path: `${prefix}${awsMemberName(name)}`,
      shown: show(value[name], false),
      constraint: `Unknown member ${name}: the shape has no such member`,
    });
  }
  if (union && set !== 1)
    w.issues.push({
      kind: 'union',
      path,
      shown: show(value, false),
      constraint: `Member must have exactly one member set (${set} set)`,
    });
}

function operation(model: ModelExtract, op: string): ModelExtract['operations'][string] {
  const o = model.operations[op];
  if (!o)
    throw new Error(
      `model ${model.source.service} has no operation ${op} (extract: ${Object.keys(model.operations).join(', ')})`,
    );
  return o;
}

/** Issues of an operation's input (empty when it is valid). */
export function validateInput(
  model: ModelExtract,
  op: string,
  input: unknown,
  opts: ValidateOptions = {},
): ValidationIssue[] {
  const w: Walk = { model, opts, issues: [] };
  walk(w, operation(model, op).input, undefined, '', input ?? {});
  return w.issues;
}

/** Issues of an operation's output (answers: types, enums, constraints, unknown members, required). */
export function validateOutput(
  model: ModelExtract,
  op: string,
  output: unknown,
  opts: ValidateOptions = {},
): ValidationIssue[] {
  const w: Walk = { model, opts, issues: [] };
  walk(w, operation(model, op).output, undefined, '', output ?? {});
  return w.issues;
}

/**
 * AWS's message for constraint violations (Coral services, e.g. KMS): "1 validation error
 * detected: Value '' at 'keyId' failed to satisfy constraint: Member must have length greater
 * than or equal to 1", N errors joined by "; ". A sensitive value is left out ("Value at 'plaintext'").
 */
export function validationMessage(issues: readonly ValidationIssue[]): string {
  const n = issues.length;
  const parts = issues.map(
    (i) => `Value${i.shown ? ` ${i.shown}` : ''} at '${i.path}' failed to satisfy constraint: ${i.constraint}`,
  );
  return `${n} validation error${n === 1 ? '' : 's'} detected: ${parts.join('; ')}`;
}
