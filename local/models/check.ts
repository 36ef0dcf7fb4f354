import { ServiceError } from '../standin/errors';
import { validateInput, validateOutput, validationMessage, type ValidationIssue } from './validate';
import { loadModel, standInBug } from './model';

/**
 * The stand-in's model checks, one per protocol: a request is decoded the way the service binds
 * it to the operation's input shape and refused with the service's own error when the published
 * model refuses it; the stand-in's own answers are checked against the output shape and answered
 * as `InternalFailure` ("stand-in bug") when they do not match. Always on: there is no switch.
 */
export { checkSnsAnswer, checkSnsRequest } from './query';
export { checkS3Answer, checkS3Request } from './rest-xml';

const DESERIALIZATION: ReadonlySet<ValidationIssue['kind']> = new Set(['type', 'unknown', 'union']);

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
