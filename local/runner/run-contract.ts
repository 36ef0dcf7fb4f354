/**
 * What a local execution takes and gives (local/runner/run-definition.ts): its options, its events and
 * counts, and the callback side of `.waitForTaskToken` tasks.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- ASL states and handler events are JSON of any shape */
import type { S3Client } from '@aws-sdk/client-s3';
import type { MapRunSummary } from './distributed-map';
import type { SimClock } from './sim-clock';

/** One event of a local execution (aws-local-stepfunctions' event log, re-exported loosely). */
export interface RunEvent {
  type: string;
  timestamp: number;
  state?: { name: string; type: string; input?: unknown; output?: unknown };
  index?: number;
  Error?: string;
  Cause?: unknown;
  retry?: { attempt: number };
  /** Set on the Wait states the runner scales: the seconds the definition asked for. */
  waitSeconds?: number;
  /** Set on a Distributed Map's MapRunStarted / MapRunSucceeded / MapRunFailed: its items, batches and children. */
  mapRun?: MapRunSummary;
  /** Set on ApprovalAnswered (simulations): who answered the gate, how, and what the front door said. */
  approval?: {
    decision: string;
    by: string | null;
    reason: string | null;
    statusCode: number | null;
    message: string | null;
  };
}

/** Counts a run produces, as Step Functions would count them for the same execution. */
export interface RunMetrics {
  /** Events in the execution's history (limit 25,000). */
  historyEvents: number;
  /** Billed state transitions (each state entered, and each retry). */
  stateTransitions: number;
  /** The largest state input, output, task parameters or result seen (UTF-8 bytes of JSON). */
  largestPayloadBytes: number;
}

/**
 * The callback side of `.waitForTaskToken` tasks, as the Step Functions API offers it: each task
 * gets its own token, usable once; unknown or used tokens are refused as AWS refuses them.
 */
export interface TaskTokens {
  sendTaskSuccess(token: string, output: unknown): void;
  sendTaskFailure(token: string, error?: string, cause?: string): void;
  sendTaskHeartbeat(token: string): void;
}

/** What a callback task was given: its state, its token and the payload sent with it. */
export interface CallbackTask {
  stateName: string;
  token: string;
  payload: unknown;
}

export interface DefinitionRunOptions {
  /** The ASL definition; not modified. */
  definition: any;
  input: unknown;
  /** Request-response Task states by name: the function that runs for them (real time). */
  tasks: Record<string, (input: unknown) => Promise<unknown>>;
  /** `.waitForTaskToken` Task states by name: what runs when the task starts (the token is in `input`). */
  callbacks?: Record<string, (input: unknown) => Promise<unknown>>;
  /** Told about each callback task once it started; answer through `tokens`. */
  onTaskToken?: (task: CallbackTask, tokens: TaskTokens) => void;
  /** Divides simulated time: waits, retry intervals, callback timeouts and the execution timeout. */
  speed?: number;
  executionArn: string;
  executionName: string;
  /** STANDARD (default): 25,000 history events at most. EXPRESS (a Distributed Map's children): no history limit. */
  executionType?: 'STANDARD' | 'EXPRESS';
  /** S3 for a Distributed Map's ItemReader / ResultWriter; required only when the definition has one. */
  s3?: S3Client;
  /** Set for a Distributed Map's children: their processor was validated with the parent's definition (validation costs ~0.2 s). */
  alreadyValidated?: boolean;
  /**
   * The execution's simulated clock (local/runner/sim-clock.ts; a Distributed Map's children get one each):
   * the execution's TimeoutSeconds (the Express cap), its Tasks' TimeoutSeconds and its handlers'
   * remaining time count simulated time, handlers' running time 1:1. Absent: waits are divided by
   * speed and request-response tasks time out in real time.
   */
  clock?: SimClock;
  onEvent?: (event: RunEvent) => void;
}

export interface DefinitionRunResult {
  status: 'SUCCEEDED' | 'FAILED';
  output: unknown;
  error: string | null;
  cause: string | null;
  events: RunEvent[];
  metrics: RunMetrics;
}

/** The output a state produced, the last time it exited (e.g. Notify's summary). */
export function lastOutputOf(events: RunEvent[], stateName: string): unknown {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    if (e.type === 'StateExited' && e.state?.name === stateName) return e.state.output;
  }
  return undefined;
}
