/**
 * What CreateStateMachine / ValidateStateMachineDefinition refuse in an Amazon States Language
 * definition (JSONPath), checked offline: the local runner refuses such a definition before any
 * state runs, and the stack refuses it at synth (lib/workflow.ts), so that neither the runner nor
 * `cdk synth` accepts a definition AWS would reject at deploy time. Pure, no CDK import.
 *
 * Sources: the Amazon States Language specification (states-language.net), the Step Functions
 * developer guide pages "Task workflow state", "Handling errors in Step Functions workflows",
 * "Map state in Distributed mode", "Integrating optimized services" (integration patterns per
 * workflow type) and "Step Functions service quotas". Only rules those pages state are checked.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- ASL states are JSON of any shape */

/** The wildcard error name (error handling: "must appear alone ... and in the last retrier/catcher"). */
const STATES_ALL = 'States.ALL';
/** TimeoutSeconds, HeartbeatSeconds, IntervalSeconds and MaxAttempts upper bound (Task / Retry field tables). */
const MAX_SECONDS_FIELD = 99_999_999;
/** A retrier's MaxDelaySeconds must be below 31,622,401 seconds (Retry field table). */
const MAX_DELAY_SECONDS_LIMIT = 31_622_401;
/**
 * A Distributed Map's Label: at most 40 characters (state-map-distributed; AWS's own CDK
 * DistributedMap refuses a longer one at synth too).
 */
export const MAP_LABEL_MAX_LENGTH = 40;
/**
 * Characters the guide forbids in names (state machines, executions, activities, labels):
 * whitespace, brackets `< > { } [ ]`, wildcards `? *`, special characters `" # % \ ^ | ~ ` $ & , ; : /`
 * and control characters (U+0000-001F, U+007F-009F). CDK's DistributedMap check of the Label
 * omits `/`; the label becomes part of the Map Run and child execution ARNs (`<machine>/<label>`),
 * so the strict set of the naming rule applies.
 */
// eslint-disable-next-line no-control-regex -- control characters are exactly what the rule forbids
const FORBIDDEN_NAME_CHARACTERS = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/u;
/** Integration patterns an Express workflow cannot use ("Express Workflows only support Request Response integrations"). */
const STANDARD_ONLY_PATTERNS = ['.waitForTaskToken', '.sync'];

type WorkflowType = 'STANDARD' | 'EXPRESS';

/**
 * Every rule the definition breaks, one message per problem naming the state and the rule as AWS
 * words it (empty: nothing found). `type` is the machine's workflow type (a Distributed Map's
 * children have their own, from `ProcessorConfig.ExecutionType`).
 */
export function definitionProblems(definition: unknown, type: WorkflowType = 'STANDARD'): string[] {
  const problems: string[] = [];
  if (!isObject(definition) || !isObject(definition.States)) return ['The definition has no States object.'];
  visit(definition, type, problems);
  return problems;
}

function visit(machine: any, type: WorkflowType, problems: string[]): void {
  for (const [name, state] of Object.entries<any>(machine.States ?? {})) {
    if (!isObject(state)) continue;
    if (state.Type === 'Task') taskProblems(name, state, type, problems);
    if (state.Type === 'Task' || state.Type === 'Parallel' || state.Type === 'Map') {
      handlerProblems(name, 'Retry', state.Retry, problems);
      handlerProblems(name, 'Catch', state.Catch, problems);
      for (const [i, retrier] of (Array.isArray(state.Retry) ? state.Retry : []).entries())
        retrierFieldProblems(name, i, retrier, problems);
    }
    if (state.Type === 'Map') mapProblems(name, state, type, problems);
    for (const branch of Array.isArray(state.Branches) ? state.Branches : [])
      if (isObject(branch)) visit(branch, type, problems);
  }
}

/** TimeoutSeconds and HeartbeatSeconds (Task workflow state), and the integration pattern for the workflow type. */
function taskProblems(name: string, state: any, type: WorkflowType, problems: string[]): void {
  for (const field of ['TimeoutSeconds', 'HeartbeatSeconds']) {
    const value = state[field];
    if (value !== undefined && !isIntegerIn(value, 1, MAX_SECONDS_FIELD)) {
      problems.push(
        `State ${name}: ${field} must be a positive integer of at most ${MAX_SECONDS_FIELD} (got ${JSON.stringify(value)}).`,
      );
    }
    if (value !== undefined && state[`${field}Path`] !== undefined)
      problems.push(`State ${name}: ${field} and ${field}Path cannot both be set.`);
  }
  const timeout = state.TimeoutSeconds;
  const heartbeat = state.HeartbeatSeconds;
  if (typeof timeout === 'number' && typeof heartbeat === 'number' && heartbeat >= timeout) {
    problems.push(`State ${name}: HeartbeatSeconds (${heartbeat}) must be smaller than TimeoutSeconds (${timeout}).`);
  }
  const resource = typeof state.Resource === 'string' ? state.Resource : '';
  const pattern = STANDARD_ONLY_PATTERNS.find((suffix) => resource.endsWith(suffix) || resource.includes(`${suffix}:`));
  if (type === 'EXPRESS' && pattern) {
    problems.push(
      `State ${name}: Express workflows do not support the ${pattern} integration pattern (${resource}); only Request Response.`,
    );
  }
}

/** `States.ALL` "must appear alone in the ErrorEquals array and must appear in the last retrier/catcher". */
function handlerProblems(name: string, field: 'Retry' | 'Catch', handlers: unknown, problems: string[]): void {
  if (handlers === undefined) return;
  if (!Array.isArray(handlers)) {
    problems.push(`State ${name}: ${field} must be an array.`);
    return;
  }
  const what = field === 'Retry' ? 'retrier' : 'catcher';
  handlers.forEach((handler: any, i: number) => {
    const errors = handler?.ErrorEquals;
    if (!Array.isArray(errors) || errors.length === 0 || !errors.every((e) => typeof e === 'string')) {
      problems.push(`State ${name}: ${field}[${i}].ErrorEquals must be a non-empty array of error names.`);
      return;
    }
    if (!errors.includes(STATES_ALL)) return;
    if (errors.length > 1)
      problems.push(`State ${name}: ${field}[${i}]: States.ALL must appear alone in the ErrorEquals array.`);
    if (i !== handlers.length - 1)
      problems.push(`State ${name}: ${field}[${i}]: States.ALL must appear in the last ${what} of the ${field} array.`);
  });
  if (field === 'Catch') {
    handlers.forEach((catcher: any, i: number) => {
      if (typeof catcher?.Next !== 'string') problems.push(`State ${name}: Catch[${i}] must name its Next state.`);
    });
  }
}

/** The Retry field table: IntervalSeconds, MaxAttempts, BackoffRate, MaxDelaySeconds, JitterStrategy. */
function retrierFieldProblems(name: string, i: number, retrier: any, problems: string[]): void {
  if (!isObject(retrier)) return;
  const at = `State ${name}: Retry[${i}]`;
  if (retrier.IntervalSeconds !== undefined && !isIntegerIn(retrier.IntervalSeconds, 1, MAX_SECONDS_FIELD)) {
    problems.push(
      `${at}.IntervalSeconds must be a positive integer of at most ${MAX_SECONDS_FIELD} (got ${JSON.stringify(retrier.IntervalSeconds)}).`,
    );
  }
  if (retrier.MaxAttempts !== undefined && !isIntegerIn(retrier.MaxAttempts, 0, MAX_SECONDS_FIELD)) {
    problems.push(
      `${at}.MaxAttempts must be a non-negative integer of at most ${MAX_SECONDS_FIELD} (got ${JSON.stringify(retrier.MaxAttempts)}).`,
    );
  }
  if (retrier.BackoffRate !== undefined && !(typeof retrier.BackoffRate === 'number' && retrier.BackoffRate >= 1)) {
    problems.push(
      `${at}.BackoffRate must be a number greater than or equal to 1.0 (got ${JSON.stringify(retrier.BackoffRate)}).`,
    );
  }
  if (retrier.MaxDelaySeconds !== undefined && !isIntegerIn(retrier.MaxDelaySeconds, 1, MAX_DELAY_SECONDS_LIMIT - 1)) {
    problems.push(
      `${at}.MaxDelaySeconds must be a positive integer below ${MAX_DELAY_SECONDS_LIMIT} (got ${JSON.stringify(retrier.MaxDelaySeconds)}).`,
    );
  }
  if (retrier.JitterStrategy !== undefined && retrier.JitterStrategy !== 'FULL' && retrier.JitterStrategy !== 'NONE') {
    problems.push(`${at}.JitterStrategy must be FULL or NONE (got ${JSON.stringify(retrier.JitterStrategy)}).`);
  }
}

/** A Map's Label, and its processor checked with the children's workflow type. */
function mapProblems(name: string, state: any, type: WorkflowType, problems: string[]): void {
  if (state.Label !== undefined) {
    if (typeof state.Label !== 'string' || state.Label.length > MAP_LABEL_MAX_LENGTH) {
      problems.push(
        `State ${name}: the Map Label must be a string of at most ${MAP_LABEL_MAX_LENGTH} characters (got ${JSON.stringify(state.Label)}).`,
      );
    } else if (FORBIDDEN_NAME_CHARACTERS.test(state.Label)) {
      problems.push(
        `State ${name}: the Map Label ${JSON.stringify(state.Label)} must not contain whitespace, brackets < > { } [ ], wildcards ? *, ` +
          'special characters " # % \\ ^ | ~ ` $ & , ; : / or control characters.',
      );
    }
  }
  const processor = state.ItemProcessor ?? state.Iterator;
  if (!isObject(processor)) return;
  const config = processor.ProcessorConfig;
  const distributed = isObject(config) && config.Mode === 'DISTRIBUTED';
  // A Distributed Map's children are their own executions of ExecutionType (default STANDARD);
  // an inline Map's iterations belong to the parent's execution and type.
  const childType: WorkflowType = distributed ? (config.ExecutionType === 'EXPRESS' ? 'EXPRESS' : 'STANDARD') : type;
  if (distributed && type === 'EXPRESS')
    problems.push(`State ${name}: a Map state in Distributed mode is not supported in Express workflows.`);
  visit(processor, childType, problems);
}

function isObject(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isIntegerIn(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}
