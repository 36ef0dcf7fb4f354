import type { IncomingHttpHeaders } from 'node:http';
import { ServiceError } from '../standin/errors';
import type { MemberRef, ModelExtract, Shape } from './types';
import { shapeOf, validateInput, validateOutput, type ValidationIssue } from './validate';
import { loadModel, standInBug } from './model';
import { decodeXml, parseXml, xmlNameOf, type XmlNode } from './xml';

// S3's restXml protocol: a request's members bound from its labels, headers, query and payload as
// the model's HTTP traits say, and the stand-in's answers checked the same way.

export interface S3RawRequest {
  bucket: string;
  key: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
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
