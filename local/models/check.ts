import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { ServiceError } from '../standin/errors';
import type { MemberRef, ModelExtract, Shape } from './types';
import { shapeOf, validateInput, validateOutput, validationMessage, type ValidationIssue } from './validate';

/**
 * The stand-in's model checks, one per protocol: a request is decoded the way the service binds
 * it to the operation's input shape and refused with the service's own error when the published
 * model refuses it; the stand-in's own answers are checked against the output shape and answered
 * as `InternalFailure` ("stand-in bug") when they do not match. Always on: there is no switch.
 */

const MODEL_DIR = __dirname;
const cache = new Map<string, ModelExtract>();

/** The pinned extract of a service (local/models/<service>.json). */
export function loadModel(service: 'kms' | 's3' | 'sns' | 'sts' | 'sfn' | 'cloudformation' | 'dynamodb'): ModelExtract {
  let m = cache.get(service);
  if (!m) {
    m = JSON.parse(readFileSync(join(MODEL_DIR, `${service}.json`), 'utf8')) as ModelExtract;
    cache.set(service, m);
  }
  return m;
}

const DESERIALIZATION: ReadonlySet<ValidationIssue['kind']> = new Set(['type', 'unknown', 'union']);

/** `InternalFailure` for an answer the model does not allow: the stand-in, not the caller, is wrong. */
function standInBug(service: string, op: string, issues: readonly ValidationIssue[]): ServiceError {
  const detail = issues
    .map((i) => `${i.path || '(answer)'}: ${i.constraint}${i.shown ? ` (got ${i.shown.slice(0, 200)})` : ''}`)
    .join('; ');
  return new ServiceError(
    'InternalFailure',
    `stand-in bug: answer does not match the model: ${service} ${op}: ${detail}`,
    500,
  );
}

// ---------------------------------------------------------------- KMS (awsJson1_1)

/**
 * Refuses a KMS request the model refuses. A value of the wrong JSON type is refused by KMS's
 * deserializer with `SerializationException` (e.g. "STRING_VALUE can not be converted to an
 * Integer", as KMS users report it). A member the input shape does not have: AWS does not document
 * what KMS answers (its deserializer may ignore it); the stand-in refuses it, also as
 * `SerializationException`, so a misspelt member cannot pass unnoticed. Constraint violations
 * (required, length, pattern, range, enum) are `ValidationException` with AWS's message
 * ("1 validation error detected: Value '…' at 'keyId' failed to satisfy constraint: …").
 * Operations not in the extract are left to the stand-in's NotImplemented answer.
 */
export function checkKmsRequest(op: string, input: unknown): void {
  const model = loadModel('kms');
  if (!model.operations[op]) return;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ServiceError(
      'SerializationException',
      'Start of structure or map expected: the request body must be a JSON object',
    );
  }
  const issues = validateInput(model, op, input);
  const serialization = issues.find((i) => DESERIALIZATION.has(i.kind));
  if (serialization)
    throw new ServiceError('SerializationException', `${serialization.constraint} (at '${serialization.path}')`);
  if (issues.length) throw new ServiceError('ValidationException', validationMessage(issues));
}

/** Checks a KMS answer (the JSON the stand-in is about to send) against the output shape. */
export function checkKmsAnswer(op: string, output: unknown): void {
  const model = loadModel('kms');
  if (!model.operations[op]) return;
  const issues = validateOutput(model, op, output);
  if (issues.length) throw standInBug('KMS', op, issues);
}

// ---------------------------------------------------------------- SNS (awsQuery)

type Params = ReadonlyMap<string, string>;

function xmlNameOf(name: string, ref: MemberRef | undefined): string {
  return (ref?.traits?.['smithy.api#xmlName'] as string | undefined) ?? name;
}

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

export interface S3RawRequest {
  bucket: string;
  key: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

interface XmlNode {
  name: string;
  children: XmlNode[];
  text: string;
}

/** A small XML reader for S3 request payloads (elements and text; attributes and namespaces ignored). */
export function parseXml(xml: string): XmlNode {
  const root: XmlNode = { name: '#document', children: [], text: '' };
  const stack: XmlNode[] = [root];
  const re = /<\?[^>]*\?>|<!--[\s\S]*?-->|<!\[CDATA\[([\s\S]*?)\]\]>|<\/([^\s>]+)\s*>|<([^\s/>]+)[^>]*?(\/)?>|([^<]+)/g;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(xml))) {
    if (m.index !== consumed) throw new Error('not well-formed');
    consumed = re.lastIndex;
    const top = stack[stack.length - 1];
    if (m[1] !== undefined) top.text += m[1];
    else if (m[2]) {
      if (stack.length < 2 || localName(top.name) !== localName(m[2])) throw new Error(`unexpected </${m[2]}>`);
      stack.pop();
    } else if (m[3]) {
      const node: XmlNode = { name: localName(m[3]), children: [], text: '' };
      top.children.push(node);
      if (!m[4]) stack.push(node);
    } else if (m[5] !== undefined) top.text += unescapeXml(m[5]);
  }
  if (consumed !== xml.length || stack.length !== 1) throw new Error('not well-formed');
  if (root.children.length !== 1) throw new Error('one root element expected');
  return root.children[0];
}

function localName(n: string): string {
  return n.includes(':') ? n.slice(n.indexOf(':') + 1) : n;
}

function unescapeXml(s: string): string {
  return s.replace(/&(lt|gt|amp|apos|quot|#\d+|#x[0-9a-fA-F]+);/g, (_, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return ({ lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' } as Record<string, string>)[e];
  });
}

/**
 * An XML element's content as the shape says (restXml: lists wrap `<member>` unless flattened,
 * maps wrap `<entry><key/><value/></entry>`). An element no member binds to is kept under its
 * own name so the validator reports it as an unknown member.
 */
function decodeXml(model: ModelExtract, shape: Shape, node: XmlNode): unknown {
  if (shape.type === 'structure' || shape.type === 'union') {
    const out: Record<string, unknown> = {};
    const members = Object.entries(shape.members ?? {});
    for (const child of node.children) {
      const hit = members.find(([name, m]) => xmlNameOf(name, m) === child.name);
      if (!hit) {
        out[child.name] = child.text;
        continue;
      }
      const [name, m] = hit;
      const target = shapeOf(model, m.target);
      if ((target.type === 'list' || target.type === 'set') && m.traits?.['smithy.api#xmlFlattened'] !== undefined) {
        ((out[name] ??= []) as unknown[]).push(decodeXml(model, shapeOf(model, target.member!.target), child));
      } else out[name] = decodeXml(model, target, child);
    }
    return out;
  }
  if (shape.type === 'list' || shape.type === 'set') {
    const itemName = xmlNameOf('member', shape.member);
    const item = shapeOf(model, shape.member!.target);
    return node.children.map((c) => (c.name === itemName ? decodeXml(model, item, c) : { [c.name]: c.text }));
  }
  if (shape.type === 'map') {
    const out: Record<string, unknown> = {};
    for (const entry of node.children) {
      const k = entry.children.find((c) => c.name === xmlNameOf('key', shape.key));
      const v = entry.children.find((c) => c.name === xmlNameOf('value', shape.value));
      out[k?.text ?? ''] = v ? decodeXml(model, shapeOf(model, shape.value!.target), v) : undefined;
    }
    return out;
  }
  return node.text;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(',') : v;
}

type Binding = { kind: 'label' | 'header' | 'prefix' | 'query' | 'payload'; name: string };

function bindingOf(ref: MemberRef, memberName: string): Binding | undefined {
  const t = ref.traits ?? {};
  if (t['smithy.api#httpLabel'] !== undefined) return { kind: 'label', name: memberName };
  if (t['smithy.api#httpHeader'] !== undefined) return { kind: 'header', name: t['smithy.api#httpHeader'] as string };
  if (t['smithy.api#httpPrefixHeaders'] !== undefined)
    return { kind: 'prefix', name: t['smithy.api#httpPrefixHeaders'] as string };
  if (t['smithy.api#httpQuery'] !== undefined) return { kind: 'query', name: t['smithy.api#httpQuery'] as string };
  if (t['smithy.api#httpPayload'] !== undefined) return { kind: 'payload', name: memberName };
  return undefined;
}

/** What S3 answers for a payload it cannot read (S3's documented MalformedXML). */
const MALFORMED_XML = 'The XML you provided was not well-formed or did not validate against our published schema';

/** One bound member's value from the request; `undefined` when absent. */
function s3MemberValue(model: ModelExtract, b: Binding, ref: MemberRef, req: S3RawRequest): unknown {
  const target = shapeOf(model, ref.target);
  switch (b.kind) {
    case 'label':
      return (b.name === 'Bucket' ? req.bucket : b.name === 'Key' ? req.key : undefined) || undefined;
    case 'header': {
      const v = header(req.headers, b.name);
      if (v === undefined) return undefined;
      return target.type === 'list' ? v.split(',').map((s) => s.trim()) : v;
    }
    case 'prefix': {
      const prefix = b.name.toLowerCase();
      const entries = Object.entries(req.headers)
        .filter(([k]) => k.startsWith(prefix))
        .map(([k, v]) => [k.slice(prefix.length), Array.isArray(v) ? v.join(',') : v]);
      return entries.length ? Object.fromEntries(entries) : undefined;
    }
    case 'query': {
      if (!req.query.has(b.name)) return undefined;
      return target.type === 'list' ? req.query.getAll(b.name) : req.query.get(b.name);
    }
    case 'payload': {
      // A blob payload is the object's data (PutObject Body): nothing to check in it.
      if (target.type !== 'structure') return undefined;
      if (!req.body.length) return undefined;
      let root: XmlNode;
      try {
        root = parseXml(req.body.toString('utf8'));
      } catch {
        throw new ServiceError('MalformedXML', MALFORMED_XML, 400);
      }
      // The payload's root element is named by the member's @xmlName, else by the target shape.
      if (root.name !== xmlNameOf(ref.target, ref)) throw new ServiceError('MalformedXML', MALFORMED_XML, 400);
      return decodeXml(model, target, root);
    }
  }
}

interface BoundMember {
  name: string;
  ref: MemberRef;
  binding: Binding;
}
const inputBindings = new Map<string, BoundMember[]>();

/** The members of an operation's input that bind to the HTTP request (computed once per operation). */
function boundMembers(model: ModelExtract, op: string): BoundMember[] {
  let list = inputBindings.get(op);
  if (!list) {
    const shape = shapeOf(model, model.operations[op].input);
    list = Object.entries(shape.members ?? {}).flatMap(([name, ref]) => {
      const binding = bindingOf(ref, name);
      return binding ? [{ name, ref, binding }] : [];
    });
    inputBindings.set(op, list);
  }
  return list;
}

/** The input an S3 REST request binds to (labels, headers, prefix headers, query, XML payload). */
export function s3Input(
  op: string,
  req: S3RawRequest,
): { input: Record<string, unknown>; bindings: Map<string, Binding> } {
  const model = loadModel('s3');
  const input: Record<string, unknown> = {};
  const bindings = new Map<string, Binding>();
  for (const { name, ref, binding } of boundMembers(model, op)) {
    bindings.set(name, binding);
    const v = s3MemberValue(model, binding, ref, req);
    if (v !== undefined) input[name] = v;
  }
  return { input, bindings };
}

/**
 * Refuses an S3 request the model refuses. S3 does not answer Coral validation messages; it uses
 * its documented codes: `MissingRequestBodyError` ("Request Body is empty") for a missing XML
 * payload, `MalformedXML` for a payload that does not fit the schema, `InvalidStorageClass` for
 * an unknown storage class, and `InvalidArgument` with ArgumentName/ArgumentValue for any other
 * bad header, query parameter or label (S3's generic answer; the exact message per header is not
 * documented, so the stand-in names the member and the constraint).
 */
export function checkS3Request(op: string, req: S3RawRequest): void {
  const model = loadModel('s3');
  if (!model.operations[op]) return;
  const { input, bindings } = s3Input(op, req);
  const issues = validateInput(model, op, input, { text: true });
  if (!issues.length) return;
  const first = issues[0];
  const top = Object.keys(input)
    .concat([...bindings.keys()])
    .find((n) => first.path.split('.')[0] === n.charAt(0).toLowerCase() + n.slice(1));
  const b = top ? bindings.get(top) : undefined;
  if (b?.kind === 'payload') {
    if (first.kind === 'required' && first.path === top!.charAt(0).toLowerCase() + top!.slice(1))
      throw new ServiceError('MissingRequestBodyError', 'Request Body is empty', 400);
    throw new ServiceError('MalformedXML', MALFORMED_XML, 400);
  }
  if (top === 'StorageClass')
    throw new ServiceError('InvalidStorageClass', 'The storage class you specified is not valid', 400, {
      StorageClassRequested: String(input.StorageClass),
    });
  const argName = b ? (b.kind === 'label' ? top! : b.name) : first.path;
  const argValue = top && typeof input[top] === 'string' ? (input[top] as string) : '';
  const what =
    b?.kind === 'header' ? `header ${argName}` : b?.kind === 'query' ? `query parameter ${argName}` : argName;
  throw new ServiceError('InvalidArgument', `Invalid value for ${what}: ${first.constraint}`, 400, {
    ArgumentName: argName,
    ArgumentValue: argValue,
  });
}

/** Headers every S3 answer carries that no output member binds to (request ids, HTTP framing). */
const S3_ENVELOPE_HEADERS = new Set(['x-amz-request-id', 'x-amz-id-2']);

/**
 * The XML body of an S3 answer as the output shape's members: the payload member's structure when
 * one is bound (CopyObject's CopyObjectResult), else the members bound to no header or status
 * under the output's root element (ListObjectsV2's ListBucketResult).
 */
function s3AnswerBody(
  model: ModelExtract,
  shape: Shape,
  body: string,
  issues: ValidationIssue[],
): Record<string, unknown> {
  let root: XmlNode;
  try {
    root = parseXml(body);
  } catch (e) {
    issues.push({
      kind: 'type',
      path: '(body)',
      shown: '',
      constraint: `the answer body is not well-formed XML: ${(e as Error).message}`,
    });
    return {};
  }
  const members = Object.entries(shape.members ?? {});
  const payload = members.find(([, m]) => m.traits?.['smithy.api#httpPayload'] !== undefined);
  if (payload) return { [payload[0]]: decodeXml(model, shapeOf(model, payload[1].target), root) };
  const unbound = members.filter(
    ([, m]) =>
      !['smithy.api#httpHeader', 'smithy.api#httpPrefixHeaders', 'smithy.api#httpResponseCode'].some(
        (t) => m.traits?.[t] !== undefined,
      ),
  );
  return decodeXml(model, { type: 'structure', members: Object.fromEntries(unbound) }, root) as Record<string, unknown>;
}

interface AnswerBindings {
  headers: Map<string, string>;
  prefixes: [string, string][];
  blobPayload: boolean;
}
const answerBindings = new Map<string, AnswerBindings>();

/** Header name (lower case) -> output member, prefix headers, and whether the payload is a blob; once per operation. */
function answerBindingsOf(model: ModelExtract, op: string, shape: Shape): AnswerBindings {
  let b = answerBindings.get(op);
  if (!b) {
    b = { headers: new Map(), prefixes: [], blobPayload: false };
    for (const [name, m] of Object.entries(shape.members ?? {})) {
      const header = m.traits?.['smithy.api#httpHeader'] as string | undefined;
      const prefix = m.traits?.['smithy.api#httpPrefixHeaders'] as string | undefined;
      if (header) b.headers.set(header.toLowerCase(), name);
      if (prefix) b.prefixes.push([prefix.toLowerCase(), name]);
      if (m.traits?.['smithy.api#httpPayload'] !== undefined && shapeOf(model, m.target).type === 'blob')
        b.blobPayload = true;
    }
    answerBindings.set(op, b);
  }
  return b;
}

/**
 * Checks an S3 answer: each `x-amz-*` header must bind to a member of the output shape
 * (httpHeader or httpPrefixHeaders), and the XML body must decode to the output shape's members;
 * every value must be one the member's shape allows. A blob payload (GetObject's data) is not read.
 */
export function checkS3Answer(op: string, headers: Record<string, string>, body?: Buffer | string): void {
  const model = loadModel('s3');
  if (!model.operations[op]) return;
  const shape = shapeOf(model, model.operations[op].output);
  const bound = answerBindingsOf(model, op, shape);
  const output: Record<string, unknown> = {};
  const issues: ValidationIssue[] = [];
  for (const [h, v] of Object.entries(headers)) {
    const name = h.toLowerCase();
    if (!name.startsWith('x-amz-') || S3_ENVELOPE_HEADERS.has(name)) continue;
    const direct = bound.headers.get(name);
    if (direct) {
      output[direct] = v;
      continue;
    }
    const prefixed = bound.prefixes.find(([p]) => name.startsWith(p));
    if (prefixed) {
      ((output[prefixed[1]] ??= {}) as Record<string, string>)[name.slice(prefixed[0].length)] = v;
      continue;
    }
    issues.push({
      kind: 'unknown',
      path: name,
      shown: `'${v}'`,
      constraint: `header ${name} binds to no member of ${model.operations[op].output}`,
    });
  }
  const text = body === undefined ? '' : body.toString();
  if (text.length && !bound.blobPayload) Object.assign(output, s3AnswerBody(model, shape, text, issues));
  // Required members are not checked: a header-bound output member is legitimately absent at times.
  issues.push(...validateOutput(model, op, output, { text: true, skipRequired: true }));
  if (issues.length) throw standInBug('S3', op, issues);
}

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
