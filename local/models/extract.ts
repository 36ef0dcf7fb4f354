/**
 * Trims a published AWS Smithy JSON model to the operations the stand-in (and a sandbox) serve,
 * with every shape their inputs and outputs reach, and only the traits the validator reads. Run by
 * hand when a model is refreshed:
 *
 *   npx tsx local/models/extract.ts <service> <model.json> <repository> <commit> <file-in-repository>
 *
 * e.g. `npx tsx local/models/extract.ts kms /tmp/kms.json smithy-lang/smithy-rs 56ee88c5... aws/sdk/aws-models/kms.json`.
 * The result is written to local/models/<service>.json and records where it came from.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelExtract, Shape } from './types';
import { KMS_OPERATIONS } from '../standin/kms';
import { S3_OPERATIONS } from '../standin/s3-request';

/** Operations kept per service: what the stand-in implements (its own lists) plus what a sandbox will serve. */
export const EXTRACT_OPERATIONS: Record<string, readonly string[]> = {
  kms: KMS_OPERATIONS,
  s3: S3_OPERATIONS,
  sns: ['CreateTopic', 'Publish'],
  sts: ['GetCallerIdentity'],
  sfn: [
    'StartExecution',
    'DescribeExecution',
    'GetExecutionHistory',
    'ListExecutions',
    'SendTaskSuccess',
    'SendTaskFailure',
    'SendTaskHeartbeat',
  ],
  cloudformation: ['DescribeStacks'],
  dynamodb: ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query', 'TransactWriteItems', 'BatchGetItem'],
  // The finding sources Intake confirms a finding with (and Security Hub's workflow update).
  guardduty: ['GetFindings'],
  securityhub: ['GetFindings', 'BatchUpdateFindings'],
  accessanalyzer: ['GetFinding'],
};

/**
 * Shapes whose members are cut to those the product reads or the stand-in answers with (the rest
 * of the shape is not in the extract, so the validator refuses those members as unknown): ASFF's
 * ResourceDetails has hundreds of resource types, of which only KMS keys and S3 buckets matter.
 */
export const EXTRACT_PRUNED_MEMBERS: Record<string, Record<string, readonly string[]>> = {
  securityhub: { ResourceDetails: ['AwsKmsKey', 'AwsS3Bucket', 'Other'] },
};

/** Traits the validator and the protocol bindings read; documentation and examples are dropped. */
const KEPT_TRAITS = new Set([
  'smithy.api#required',
  'smithy.api#length',
  'smithy.api#range',
  'smithy.api#pattern',
  'smithy.api#enum',
  'smithy.api#enumValue',
  'smithy.api#default',
  'smithy.api#sensitive',
  'smithy.api#timestampFormat',
  'smithy.api#jsonName',
  'smithy.api#http',
  'smithy.api#httpLabel',
  'smithy.api#httpHeader',
  'smithy.api#httpQuery',
  'smithy.api#httpQueryParams',
  'smithy.api#httpPayload',
  'smithy.api#httpPrefixHeaders',
  'smithy.api#httpResponseCode',
  'smithy.api#xmlName',
  'smithy.api#xmlFlattened',
  'smithy.api#xmlAttribute',
  'smithy.api#streaming',
  'smithy.api#idempotencyToken',
  'aws.protocols#ec2QueryName',
]);
const PROTOCOL_TRAITS = [
  'aws.protocols#awsJson1_0',
  'aws.protocols#awsJson1_1',
  'aws.protocols#awsQuery',
  'aws.protocols#restXml',
  'aws.protocols#restJson1',
];

type RawShape = {
  type: string;
  traits?: Record<string, unknown>;
  members?: Record<string, { target: string; traits?: Record<string, unknown> }>;
} & Record<string, unknown>;

function keepTraits(traits: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!traits) return undefined;
  const kept = Object.fromEntries(Object.entries(traits).filter(([k]) => KEPT_TRAITS.has(k)));
  return Object.keys(kept).length ? kept : undefined;
}

/** `com.amazonaws.kms#KeyIdType` -> `KeyIdType`; prelude shapes keep their full id. */
function shortId(id: string, namespace: string): string {
  return id.startsWith(`${namespace}#`) ? id.slice(namespace.length + 1) : id;
}

/** The shape with only the kept members, when the service prunes it. */
function pruned(shape: RawShape, keep: readonly string[] | undefined): RawShape {
  if (!keep || !shape.members) return shape;
  return {
    ...shape,
    members: Object.fromEntries(Object.entries(shape.members).filter(([name]) => keep.includes(name))),
  };
}

function targetsOf(shape: RawShape): string[] {
  const out: string[] = [];
  for (const k of ['member', 'key', 'value'] as const) {
    const m = shape[k] as { target: string } | undefined;
    if (m) out.push(m.target);
  }
  // Enum members target smithy.api#Unit, which needs no shape.
  if (shape.type !== 'enum' && shape.type !== 'intEnum')
    for (const m of Object.values(shape.members ?? {})) out.push(m.target);
  return out;
}

function trimShape(shape: RawShape, ns: string): Shape {
  const ref = (m: { target: string; traits?: Record<string, unknown> }) => ({
    target: shortId(m.target, ns),
    ...(keepTraits(m.traits) ? { traits: keepTraits(m.traits) } : {}),
  });
  const out: Record<string, unknown> = { type: shape.type };
  const traits = keepTraits(shape.traits);
  if (traits) out.traits = traits;
  for (const k of ['member', 'key', 'value'] as const) {
    const m = shape[k] as { target: string; traits?: Record<string, unknown> } | undefined;
    if (m) out[k] = ref(m);
  }
  if (shape.members) out.members = Object.fromEntries(Object.entries(shape.members).map(([name, m]) => [name, ref(m)]));
  return out as unknown as Shape;
}

/** Builds the extract of `service` from a full model. */
export function extract(
  service: string,
  model: { shapes: Record<string, RawShape> },
  source: ModelExtract['source'],
): ModelExtract {
  const entries = Object.entries(model.shapes);
  const [serviceId, serviceShape] = entries.find(([, s]) => s.type === 'service') ?? [];
  if (!serviceId || !serviceShape) throw new Error('no service shape in the model');
  const ns = serviceId.split('#')[0];
  const protocol = PROTOCOL_TRAITS.find((p) => serviceShape.traits?.[p] !== undefined);
  if (!protocol) throw new Error(`no known protocol trait on ${serviceId}`);
  const wanted = EXTRACT_OPERATIONS[service];
  if (!wanted) throw new Error(`no operation list for service ${service}`);
  const operations: ModelExtract['operations'] = {};
  const shapes: Record<string, Shape> = {};
  const queue: string[] = [];
  for (const name of wanted) {
    const op = model.shapes[`${ns}#${name}`];
    if (op?.type !== 'operation') throw new Error(`operation ${name} is not in the model`);
    const input = (op.input as { target: string } | undefined)?.target ?? 'smithy.api#Unit';
    const output = (op.output as { target: string } | undefined)?.target ?? 'smithy.api#Unit';
    const http = op.traits?.['smithy.api#http'] as ModelExtract['operations'][string]['http'];
    operations[name] = { input: shortId(input, ns), output: shortId(output, ns), ...(http ? { http } : {}) };
    queue.push(input, output);
  }
  while (queue.length) {
    const id = queue.pop()!;
    if (id.startsWith('smithy.api#')) continue;
    const short = shortId(id, ns);
    if (shapes[short]) continue;
    const found = model.shapes[id];
    if (!found) throw new Error(`shape ${id} is not in the model`);
    const raw = pruned(found, EXTRACT_PRUNED_MEMBERS[service]?.[short]);
    if (short.includes('#')) throw new Error(`shape ${id} is outside the service namespace ${ns}`);
    shapes[short] = trimShape(raw, ns);
    queue.push(...targetsOf(raw));
  }
  const sorted = Object.fromEntries(Object.entries(shapes).sort(([a], [b]) => a.localeCompare(b)));
  return {
    source: { ...source, service: serviceId },
    protocol: protocol.split('#')[1] as ModelExtract['protocol'],
    operations,
    shapes: sorted,
  };
}

function main(argv: string[]): void {
  const [service, file, repository, commit, path] = argv;
  if (!service || !file || !repository || !/^[0-9a-f]{40}$/.test(commit ?? '') || !path) {
    throw new Error('usage: extract.ts <service> <model.json> <owner/repository> <40-hex commit> <file in repository>');
  }
  const model = JSON.parse(readFileSync(file, 'utf8')) as { shapes: Record<string, RawShape> };
  const out = extract(service, model, { repository, commit, file: path, service: '' });
  const target = join(__dirname, `${service}.json`);
  writeFileSync(target, `${JSON.stringify(out, null, 1)}\n`);
  process.stdout.write(
    `${target}: ${Object.keys(out.operations).length} operations, ${Object.keys(out.shapes).length} shapes\n`,
  );
}

if (require.main === module) main(process.argv.slice(2));
