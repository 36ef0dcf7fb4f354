/**
 * What a local map run (local/runner/distributed-map.ts) and the execution that runs it exchange: the
 * host the parent lends, the children's outcomes, and what a trace shows.
 */
import type { S3Client } from '@aws-sdk/client-s3';

export type ExecutionType = 'STANDARD' | 'EXPRESS';

/** How one child execution ended (the runner's DefinitionRunResult, reduced to what a map run needs). */
export interface ChildRun {
  status: 'SUCCEEDED' | 'FAILED';
  output: unknown;
  error: string | null;
  cause: string | null;
  metrics: { stateTransitions: number; largestPayloadBytes: number };
  /** When the child stopped, in simulated epoch ms on its own clock. */
  stoppedAt: number;
}

/** What the parent execution lends a map run. */
export interface MapRunHost {
  /** The parent's `$$` (Execution Id, Name, StartTime, Input). */
  context: { Execution: { Id: string; Name: string; StartTime: string; Input: unknown } };
  s3?: S3Client;
  /** Runs the item processor as its own execution (runDefinition). */
  runChild: (child: {
    definition: unknown;
    input: unknown;
    executionArn: string;
    executionName: string;
    executionType: ExecutionType;
    /** The child's start in simulated epoch ms: its clock starts there. */
    startedAt: number;
  }) => Promise<ChildRun>;
  /** The parent's simulated time (epoch ms), where the children's clocks start; absent: real time. */
  now?: () => number;
  /** Adds events to the parent's history (MapRunStarted, MapRunSucceeded|Failed ...). */
  countHistory: (events: number) => void;
  /** The children's billed transitions and payloads, added to the parent's metrics. */
  addChildMetrics: (metrics: ChildRun['metrics']) => void;
  emit: (event: {
    type: string;
    timestamp: number;
    state?: { name: string; type: string };
    Error?: string;
    Cause?: unknown;
    mapRun?: MapRunSummary;
  }) => void;
}

/** What a trace shows of a map run. */
export interface MapRunSummary {
  mapRunArn: string;
  items: number;
  batches: number;
  maxConcurrency: number;
  succeeded?: number;
  failed?: number;
  timedOut?: number;
  notStarted?: number;
  /** The most children seen running at once. */
  peakConcurrency?: number;
}

/** One child execution as the map run keeps it for ResultWriter. */
export interface ChildRecord {
  executionArn: string;
  name: string;
  input: unknown;
  run: ChildRun;
  status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT';
  startDate: Date;
  stopDate: Date;
}
