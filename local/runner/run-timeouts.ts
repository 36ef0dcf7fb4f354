/**
 * Timeouts as Step Functions applies them to a local execution: a request-response task on a
 * simulated clock, and the library's own States.Timeout error, which States.TaskFailed never matches.
 */
import { StateMachine } from 'aws-local-stepfunctions';
import type { SimClock } from './sim-clock';

/**
 * A request-response task on a simulated clock: the handler's running time counts 1:1 and its
 * sleeps at speed (SimClock.work); past the Task's TimeoutSeconds in simulated time the task fails
 * with States.Timeout, as Step Functions stops waiting (the handler's late answer is dropped).
 */
export async function simulatedTask(
  clock: SimClock,
  run: () => Promise<unknown>,
  timeoutSeconds: number | undefined,
  stateName: string,
): Promise<unknown> {
  const work = clock.work(run);
  if (timeoutSeconds === undefined) return work;
  let settled = false;
  const deadline = clock.now() + timeoutSeconds * 1000;
  const timedOut = clock
    .until(deadline, () => settled)
    .then((reached) => {
      if (reached)
        throw asTimeout(
          named(
            'States.Timeout',
            `Task ${stateName} ran longer than its TimeoutSeconds (${timeoutSeconds} simulated seconds)`,
          ),
        );
      return new Promise<never>(() => undefined);
    });
  try {
    return await Promise.race([work, timedOut]);
  } finally {
    settled = true;
    work.catch(() => undefined); // a late failure after the timeout is nobody's to observe
  }
}

/**
 * The prototype of the library's own `States.Timeout` error (not exported), which its
 * `States.TaskFailed` wildcard skips. The guide: States.TaskFailed "matches any known error name
 * except for States.Timeout", and States.Timeout covers a missed heartbeat; so a heartbeat timeout
 * must not be matched by States.TaskFailed either (whether AWS matches it is not documented
 * further: the strict answer). Found once by timing out a one-state machine.
 */
let timeoutPrototype: object | undefined;

async function libraryTimeoutPrototype(): Promise<object> {
  const probe = new StateMachine(
    {
      StartAt: 'Probe',
      States: {
        Probe: {
          Type: 'Task',
          Resource: 'arn:aws:lambda:us-east-1:000000000000:function:probe',
          TimeoutSeconds: 0.001,
          End: true,
        },
      },
    },
    { validationOptions: { noValidate: true } },
  );
  // A handler that never answers: the timeout is the only way the task can end, however late the
  // event loop runs the library's 1 ms timer (a 20 ms sleep lost that race on a loaded machine).
  const never = (): Promise<never> => new Promise<never>(() => undefined);
  const execution = probe.run({}, { overrides: { taskResourceLocalHandlers: { Probe: never } } });
  try {
    await execution.result;
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof Error && cause.name === 'States.Timeout') return Object.getPrototypeOf(cause) as object;
  }
  throw new Error(
    'aws-local-stepfunctions did not time out a task as expected: the runner cannot tell timeouts from task failures',
  );
}

/** A Step Functions timeout error for the library: caught by States.Timeout, never by States.TaskFailed. */
export function asTimeout(error: Error): Error {
  if (timeoutPrototype) Object.setPrototypeOf(error, timeoutPrototype);
  return error;
}

/** Finds the library's States.Timeout prototype once (asTimeout needs it). */
export async function learnLibraryTimeout(): Promise<void> {
  timeoutPrototype ??= await libraryTimeoutPrototype();
}

/** An error with a Step Functions error name. */
export function named(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}
