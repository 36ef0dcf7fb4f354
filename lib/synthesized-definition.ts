import { Stack } from 'aws-cdk-lib';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';

/** A token's stand-in in the checked definition (ARNs and names only appear inside JSON strings). */
const TOKEN_PLACEHOLDER = 'token';

/**
 * The definition a state machine's template resource carries, parsed: CDK renders it as a string,
 * or as an Fn::Join of strings and intrinsics (function ARNs, bucket names), which stand in as
 * TOKEN_PLACEHOLDER. Exported for the infra test.
 */
export function synthesizedDefinition(machine: sfn.CfnStateMachine): unknown {
  const resolved = Stack.of(machine).resolve(machine.definitionString) as unknown;
  if (typeof resolved === 'string') return JSON.parse(resolved);
  const join = (resolved as { 'Fn::Join'?: [string, unknown[]] } | null)?.['Fn::Join'];
  if (!join)
    throw new Error(
      `State machine ${machine.node.path}: unexpected definition ${JSON.stringify(resolved).slice(0, 200)}`,
    );
  return JSON.parse(join[1].map((part) => (typeof part === 'string' ? part : TOKEN_PLACEHOLDER)).join(join[0]));
}
