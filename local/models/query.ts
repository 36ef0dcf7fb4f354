import { ServiceError } from '../standin/errors';
import type { MemberRef, ModelExtract, Shape } from './types';
import { shapeOf, validateInput, validateOutput, validationMessage, type ValidationIssue } from './validate';
import { loadModel, standInBug } from './model';
import { decodeXml, parseXml, xmlNameOf } from './xml';

// SNS's awsQuery protocol: form parameters bound to the input shape (lists and maps by index), and
// the stand-in's XML answers checked against the output shape.

type Params = ReadonlyMap<string, string>;

function hasPrefix(params: Params, key: string): boolean {
  for (const k of params.keys()) if (k === key || k.startsWith(`${key}.`)) return true;
  return false;
}

/** The 1-based indexes N present under `<key>.N.` (or `<key>.N`). */
function indexesUnder(params: Params, key: string): number[] {
  const seen = new Set<number>();
  const re = new RegExp(`^${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d+)(?:\\.|$)`);
  for (const k of params.keys()) {
    const m = re.exec(k);
    if (m) seen.add(Number(m[1]));
  }
  return [...seen].sort((a, b) => a - b);
}

/**
 * Decodes query-protocol parameters at `key` as the shape says: structures as `key.Member`, lists
 * as `key.member.N` (flattened: `key.N`), maps as `key.entry.N.<key name>` / `.<value name>`.
 * Parameters that bind to no member (Action, Version, anything else) are not members: ignored.
 */
function decodeQuery(
  model: ModelExtract,
  shape: Shape,
  ref: MemberRef | undefined,
  params: Params,
  key: string,
): unknown {
  const type = shape.type;
  const flattened = ref?.traits?.['smithy.api#xmlFlattened'] !== undefined;
  if (type === 'structure' || type === 'union') {
    const out: Record<string, unknown> = {};
    for (const [name, m] of Object.entries(shape.members ?? {})) {
      const k = key ? `${key}.${xmlNameOf(name, m)}` : xmlNameOf(name, m);
      if (hasPrefix(params, k)) out[name] = decodeQuery(model, shapeOf(model, m.target), m, params, k);
    }
    return out;
  }
  if (type === 'list' || type === 'set') {
    const base = flattened ? key : `${key}.${xmlNameOf('member', shape.member)}`;
    const member = shapeOf(model, shape.member!.target);
    return indexesUnder(params, base).map((n) => decodeQuery(model, member, shape.member, params, `${base}.${n}`));
  }
  if (type === 'map') {
    const base = flattened ? key : `${key}.entry`;
    const out: Record<string, unknown> = {};
    for (const n of indexesUnder(params, base)) {
      const k = params.get(`${base}.${n}.${xmlNameOf('key', shape.key)}`);
      const v = `${base}.${n}.${xmlNameOf('value', shape.value)}`;
      out[k ?? ''] = hasPrefix(params, v)
        ? decodeQuery(model, shapeOf(model, shape.value!.target), shape.value, params, v)
        : undefined;
    }
    return out;
  }
  return params.get(key);
}

/** The input an SNS query request binds to (exported for tests). */
export function snsInput(op: string, form: URLSearchParams): Record<string, unknown> {
  const model = loadModel('sns');
  const params = new Map<string, string>();
  for (const [k, v] of form) if (!params.has(k)) params.set(k, v);
  return decodeQuery(model, shapeOf(model, model.operations[op].input), undefined, params, '') as Record<
    string,
    unknown
  >;
}

/**
 * Refuses an SNS request the model refuses. SNS documents its own checks as `InvalidParameter`,
 * but not what it answers for a request that breaks the model itself; AWS query-protocol services
 * (IAM, STS) answer those with `ValidationError` and the "N validation error(s) detected: …"
 * message, which the stand-in uses for SNS too (400, Sender).
 */
export function checkSnsRequest(op: string, form: URLSearchParams): void {
  const model = loadModel('sns');
  if (!model.operations[op]) return;
  const issues = validateInput(model, op, snsInput(op, form), { text: true });
  if (issues.length) throw new ServiceError('ValidationError', validationMessage(issues));
}

// ---------------------------------------------------------------- S3 (restXml)

/** Checks an SNS answer (the `<Op>Result` element of the XML the stand-in is about to send). */
export function checkSnsAnswer(op: string, xml: string): void {
  const model = loadModel('sns');
  if (!model.operations[op]) return;
  const issues: ValidationIssue[] = [];
  let output: unknown = {};
  try {
    const result = parseXml(xml).children.find((c) => c.name === `${op}Result`);
    if (!result) throw new Error(`no <${op}Result> element`);
    output = decodeXml(model, shapeOf(model, model.operations[op].output), result);
  } catch (e) {
    issues.push({ kind: 'type', path: '(body)', shown: '', constraint: (e as Error).message });
  }
  issues.push(...validateOutput(model, op, output, { text: true }));
  if (issues.length) throw standInBug('SNS', op, issues);
}
