/**
 * One table, two outputs: the ClassifyFailure Choice taken from the synthesized template, run by
 * aws-local-stepfunctions, and `classifyError` must give the same reason for every known error
 * name (KMS, DynamoDB, Lambda, Step Functions, plain JavaScript errors), bare and prefixed.
 */
import * as kms from '@aws-sdk/client-kms';
import * as dynamodb from '@aws-sdk/client-dynamodb';
import * as lambda from '@aws-sdk/client-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { StateMachine } from 'aws-local-stepfunctions';
import fc from 'fast-check';
import { FAIL_REASONS, type FailReason } from '../../lambdas/domain/contracts';
import {
  FAILURE_CLASSES,
  KMS_ERROR_NAMES,
  UNCLASSIFIED,
  classifyError,
  isErrorGlob,
} from '../../lambdas/domain/failures';
import { extractWorkflow, synthTemplate } from '../../local/template';
import { parseSettings } from '../../lib/settings/settings';

/**
 * What a pattern may contain so that Step Functions and `classifyError` read it the same way:
 * no `\` (Step Functions' escape) and no `?` (a wildcard to some local evaluators, a letter to
 * Step Functions).
 */
const PORTABLE_PATTERN = /^[A-Za-z0-9._:*-]+$/;

const ENV = { account: '111122223333', region: 'us-east-1' };

/** Names of the exception classes an SDK client exports (subclasses of its service exception). */
function exceptionNames(module: Record<string, unknown>, base: abstract new (...args: never[]) => unknown): string[] {
  return Object.entries(module)
    .filter(([, value]) => typeof value === 'function' && value.prototype instanceof base)
    .map(([name]) => name)
    .sort();
}

const KMS_NAMES = exceptionNames(kms, kms.KMSServiceException);
const DYNAMODB_NAMES = exceptionNames(dynamodb, dynamodb.DynamoDBServiceException);
const LAMBDA_NAMES = exceptionNames(lambda, lambda.LambdaServiceException);

/** Step Functions' own errors (CDK's list, plus the ones it lacks); States.ALL only matches, it is never raised. */
const STATES_NAMES = [
  ...Object.values(sfn.Errors).filter((name) => name !== sfn.Errors.ALL),
  'States.DataLimitExceeded',
  'States.Runtime',
  'States.IntrinsicFailure',
  'States.ExceedToleratedFailureThreshold',
  'States.ItemReaderFailed',
  'States.ResultWriterFailed',
  'States.QueryEvaluationError',
  'States.Http.Socket',
];

/** The errors Step Functions documents for a Lambda invoke, plus every Lambda API error as the integration names it. */
const LAMBDA_INVOKE_NAMES = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.TooManyRequestsException',
  'Lambda.Unknown',
  ...LAMBDA_NAMES.map((name) => `Lambda.${name}`),
];

/** What handlers throw besides SDK errors, and names that differ from known ones only in case or prefix. */
const OTHER_NAMES = [
  'Error',
  'TypeError',
  'RangeError',
  'TimeoutError',
  'AbortError',
  'ConfigurationError',
  'InvalidRequest',
  'APPROVAL_DENIED',
  'ThrottlingException',
  'Throttled',
  'TooManyRequests',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'AccessDenied',
  'AccessDeniedException',
  'kmsinternalexception',
  'KMSX',
  'S3.NotFoundException',
  'SNS.AuthorizationErrorException',
  '',
  ' ',
];

const BASE_NAMES = [
  ...KMS_NAMES,
  ...DYNAMODB_NAMES,
  ...DYNAMODB_NAMES.map((name) => `DynamoDB.${name}`),
  ...LAMBDA_INVOKE_NAMES,
  ...STATES_NAMES,
  ...OTHER_NAMES,
];
/** Every name bare and as the KMS SDK integrations spell it (`KMS.` and `Kms.`). */
const ALL_NAMES = [...new Set([...BASE_NAMES, ...BASE_NAMES.flatMap((name) => [`KMS.${name}`, `Kms.${name}`])])];

/** The ClassifyFailure state (and its Pass targets) from the synthesized template, as a machine of its own. */
function classifyFailureMachine(): StateMachine {
  const { definition } = extractWorkflow(synthTemplate(parseSettings({}, 'test settings'), ENV), ENV);
  const states = allStates(definition);
  const choice = states.ClassifyFailure;
  if (!choice || choice.Type !== 'Choice')
    throw new Error('no ClassifyFailure Choice state in the synthesized definition');
  const targets = [...new Set<string>([...choice.Choices.map((c: { Next: string }) => c.Next), choice.Default])];
  const machine: Record<string, unknown> = { ClassifyFailure: choice };
  for (const name of targets) {
    // The real Pass state, ended here instead of going on to Record.
    const { Next: _next, ...pass } = states[name];
    machine[name] = { ...pass, End: true };
  }
  return new StateMachine({ StartAt: 'ClassifyFailure', States: machine } as never);
}

/** Every state of a definition, nested Map and Parallel states included, by name. */
function allStates(definition: { States: Record<string, any> }): Record<string, any> {
  const found: Record<string, any> = {};
  for (const [name, state] of Object.entries(definition.States)) {
    found[name] = state;
    for (const nested of [state.ItemProcessor, state.Iterator, ...(state.Branches ?? [])]) {
      if (nested) Object.assign(found, allStates(nested));
    }
  }
  return found;
}

let machine: StateMachine;
beforeAll(() => {
  machine = classifyFailureMachine();
}, 60_000);

/** The reason the state machine gives a caught error of this name. */
async function stateMachineReason(errorName: string): Promise<FailReason> {
  const output = (await machine.run({ error: { Error: errorName, Cause: 'test' } }).result) as {
    failure: { outcome: string; reason: FailReason };
  };
  expect(output.failure.outcome).toBe('FAILED');
  return output.failure.reason;
}

describe('the failure table', () => {
  it('names every KMS error the SDK models, and nothing else, as KMS_ERROR', () => {
    expect(KMS_NAMES.length).toBeGreaterThan(40);
    expect([...KMS_ERROR_NAMES].sort()).toEqual(KMS_NAMES);
  });

  it('uses only patterns Step Functions and classifyError read alike', () => {
    for (const { errors } of FAILURE_CLASSES) {
      for (const pattern of errors) expect(pattern).toMatch(PORTABLE_PATTERN);
    }
  });

  it('gives each reason one class, never the fallback or ROTATION_TIMEOUT', () => {
    const reasons = FAILURE_CLASSES.map((c) => c.reason);
    expect(new Set(reasons).size).toBe(reasons.length);
    for (const reason of reasons) expect(FAIL_REASONS).toContain(reason);
    expect(reasons).not.toContain(UNCLASSIFIED);
    expect(reasons).not.toContain('ROTATION_TIMEOUT');
  });
});

describe('ClassifyFailure (synthesized) and classifyError agree', () => {
  it('was generated from the table: one condition per pattern, in table order', () => {
    const { definition } = extractWorkflow(synthTemplate(parseSettings({}, 'test settings'), ENV), ENV);
    const choice = allStates(definition).ClassifyFailure;
    const generated = choice.Choices.map(
      (c: { Or?: Record<string, string>[]; Next: string } & Record<string, string>) => ({
        next: c.Next,
        patterns: (c.Or ?? [c]).map((rule) => rule.StringEquals ?? rule.StringMatches),
        globs: (c.Or ?? [c]).filter((rule) => 'StringMatches' in rule).length,
      }),
    );
    expect(generated).toEqual(
      FAILURE_CLASSES.map(({ reason, errors }) => ({
        next: `Failed_${reason}`,
        patterns: [...errors],
        globs: errors.filter(isErrorGlob).length,
      })),
    );
    expect(choice.Default).toBe(`Failed_${UNCLASSIFIED}`);
  }, 60_000);

  it(`runs ${ALL_NAMES.length} known error names through both`, async () => {
    const disagreements: string[] = [];
    for (const name of ALL_NAMES) {
      const deployed = await stateMachineReason(name);
      const typescript = classifyError(name);
      if (deployed !== typescript)
        disagreements.push(`${JSON.stringify(name)}: state machine ${deployed}, classifyError ${typescript}`);
    }
    expect(disagreements).toEqual([]);
  });

  it('agrees on names assembled from the fragments the patterns are made of', async () => {
    const fragment = fc.constantFrom(
      'KMS.',
      'Kms.',
      'kms.',
      'Lambda.',
      'DynamoDB.',
      'Throttl',
      'ing',
      'AccessDenied',
      'TooManyRequests',
      'Exception',
      'NotFound',
      'RequestLimitExceeded',
      'Error',
      '.',
      '*',
      '?',
      'X',
      ' ',
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fragment, { maxLength: 5 }).map((parts) => parts.join('')),
        async (name) => {
          expect(await stateMachineReason(name)).toBe(classifyError(name));
        },
      ),
      { numRuns: 300 },
    );
  });

  it.each<[string, FailReason]>([
    // The names the two classifiers used to disagree on (the state machine's answer was INTERNAL).
    ['TooManyRequestsException', 'THROTTLED'],
    ['RequestLimitExceeded', 'THROTTLED'],
    ['IncorrectKeyException', 'KMS_ERROR'],
    ['KeyUnavailableException', 'KMS_ERROR'],
    ['DryRunOperationException', 'KMS_ERROR'],
    // Order: throttling and permissions before KMS's own errors.
    ['KMS.ThrottlingException', 'THROTTLED'],
    ['Kms.AccessDeniedException', 'ACCESS_DENIED'],
    ['Lambda.TooManyRequestsException', 'THROTTLED'],
    ['Lambda.KMSAccessDeniedException', 'ACCESS_DENIED'],
    ['DynamoDB.ProvisionedThroughputExceededException', 'THROTTLED'],
    ['DynamoDB.ConditionalCheckFailedException', 'INTERNAL'],
    ['States.Timeout', 'INTERNAL'],
    ['Lambda.Unknown', 'INTERNAL'],
    ['TimeoutError', 'INTERNAL'],
    ['Error', 'INTERNAL'],
  ])('%s -> %s in the deployed state machine', async (name, reason) => {
    expect(await stateMachineReason(name)).toBe(reason);
    expect(classifyError(name)).toBe(reason);
  });

  it.each(KMS_NAMES)('KMS error %s is KMS_ERROR bare and with the KMS. / Kms. prefix', async (name) => {
    for (const form of [name, `KMS.${name}`, `Kms.${name}`]) expect(await stateMachineReason(form)).toBe('KMS_ERROR');
  });
});
