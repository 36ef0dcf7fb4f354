/**
 * A Distributed Map's fields evaluated as Step Functions evaluates them: payload templates and
 * paths against the Map's input and the parent's `$$`, numeric fields, and the errors a map run
 * reports as the Map state's error.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- ASL states are JSON of any shape, as in runner.ts (whose rule eslint.config.mjs turns off) */
import { StateMachine } from 'aws-local-stepfunctions';
import { FatalStatesError } from '../limits';
import type { MapRunHost } from './map-run-host';

/** A map run failure Step Functions reports as the Map state's error (catchable). */
export function statesError(name: string, cause: string): Error {
  const error = new Error(cause);
  error.name = name;
  return error;
}

/** A payload template (`.$` fields, paths, intrinsic functions) against the Map's input and the parent's `$$`. */
export async function evaluateParameters(template: unknown, mapInput: unknown, host: MapRunHost): Promise<unknown> {
  const definition = {
    StartAt: 'Input',
    States: {
      Input: { Type: 'Pass', Result: mapInput ?? null, Next: 'Evaluate' },
      Evaluate: { Type: 'Pass', Parameters: template, End: true },
    },
  };
  return evaluate(definition, host, {});
}

export async function evaluate(
  definition: unknown,
  host: MapRunHost,
  extraContext: Record<string, unknown>,
): Promise<unknown> {
  // A JSON copy: the library treats only this realm's plain objects as payload templates.
  const machine = new StateMachine(JSON.parse(JSON.stringify(definition)), { validationOptions: { noValidate: true } });
  try {
    return await machine.run(host.context.Execution.Input as any, {
      context: { ...JSON.parse(JSON.stringify(host.context)), ...extraContext },
    }).result;
  } catch (error) {
    const cause = (error as Error & { cause?: Error }).cause ?? (error as Error);
    // A path that matches nothing: States.Runtime, as for any other state.
    throw new FatalStatesError(
      'States.Runtime',
      `An error occurred while evaluating the Distributed Map's fields: ${cause.message}`,
    );
  }
}

/** `X` or `XPath` of a state (e.g. MaxConcurrency / MaxConcurrencyPath), resolved against the Map's input. */
export function numberField(state: any, field: string, input: unknown): number | undefined {
  const value = state[`${field}Path`] !== undefined ? readPath(input, state[`${field}Path`]) : state[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new FatalStatesError(
      'States.Runtime',
      `The Distributed Map's ${field} must be a non-negative number (got ${JSON.stringify(value)})`,
    );
  }
  return value;
}

export function positiveIntegerOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : fallback;
}

/** The value at a simple `$.a.b` path (the paths Wait `SecondsPath` and these Map fields take). */
export function readPath(input: unknown, path: string): unknown {
  return path
    .replace(/^\$\.?/, '')
    .split('.')
    .filter(Boolean)
    .reduce<any>((v, k) => (v == null ? undefined : v[k]), input);
}

export interface ParsedArn {
  region: string;
  account: string;
  machine: string;
}

export function parseExecutionArn(arn: string): ParsedArn {
  // arn:aws:states:<region>:<account>:execution:<machine>:<name>
  const parts = arn.split(':');
  return {
    region: parts[3] || 'us-east-1',
    account: parts[4] || '000000000000',
    machine: (parts[6] || 'local').split('/')[0],
  };
}
