import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceError } from '../standin/errors';
import type { ModelExtract } from './types';
import type { ValidationIssue } from './validate';

// The pinned model extracts and the one answer every protocol's check gives when the stand-in's
// own answer breaks the model.

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

/** `InternalFailure` for an answer the model does not allow: the stand-in, not the caller, is wrong. */
export function standInBug(service: string, op: string, issues: readonly ValidationIssue[]): ServiceError {
  const detail = issues
    .map((i) => `${i.path || '(answer)'}: ${i.constraint}${i.shown ? ` (got ${i.shown.slice(0, 200)})` : ''}`)
    .join('; ');
  return new ServiceError(
    'InternalFailure',
    `stand-in bug: answer does not match the model: ${service} ${op}: ${detail}`,
    500,
  );
}
