import type { Service } from './errors';
import type { KmsCallCounters } from './quotas';
import type { S3ObjectInfo, S3ReportObject } from './s3';
import type { Published } from './sns';
import type { SecurityHubUpdate } from './findings';

/** What a started stand-in offers its callers (tests, the runner, `simulate`): see index.ts. */

export interface StandInCall {
  service: Service;
  operation: string;
  region: string;
  input: unknown;
  error?: string;
  /** An `afterPerforming` fault: the operation took effect although `error` was answered. */
  performed?: boolean;
  at: number;
  /** Who signed the request (the principal's ARN), once its signature is verified. */
  caller?: string;
}

export interface StandInFault {
  service: Service;
  operation: string;
  error: string;
  times: number;
  /** Perform the operation, then answer `error` (`NoResponse`: close the connection unanswered). */
  afterPerforming?: boolean;
  /** S3: answer HTTP 200 with the error in an `<Error>` body (CopyObject, UploadPartCopy, CompleteMultipartUpload). */
  okWithErrorBody?: boolean;
}

export interface StandIn {
  /** 'http://127.0.0.1:<port>' */
  endpoint: string;
  /** Pre-created topic arn:aws:sns:<world.region>:<account>:kms-incident-rotation */
  topicArn: string;
  /** Every request, in arrival order (`error` set when it failed). */
  calls: StandInCall[];
  published: Published[];
  /** The next `times` calls of service/operation fail with `error`. */
  addFault(f: StandInFault): void;
  /**
   * KMS calls per operation and key so far: those served and those refused by the request
   * quotas (local/standin/quotas.ts), with the number of throttles.
   */
  counters(): KmsCallCounters;
  /** ARN of a key given its id, alias name or ARN (default Region: the world's). */
  keyArn(idOrAlias: string, region?: string): string;
  /** Sets a key's tag as someone with kms:TagResource would (tests: a key opted out mid-run). */
  setKeyTag(idOrAlias: string, tagKey: string, value: string): void;
  /**
   * Runs `fn` once, right after the stand-in has performed the next S3 call of `operation` on
   * `bucket`/`key` and before it answers: someone else acting in between (tests: an object
   * changed while the workflow re-encrypts it).
   */
  onceAfterS3(operation: string, bucket: string, key: string, fn: () => void): void;
  /** Writes an object as another S3 client would (PutObject, the bucket's default encryption). */
  putS3Object(bucket: string, key: string, body: string): void;
  /** Inspect a stored S3 object (latest version): data-key fingerprint, wrapping key material, ... */
  s3Object(bucket: string, key: string): S3ObjectInfo | undefined;
  /** `simulate --s3-report`: the current version of every object in these buckets (all when absent); not counted as requests. */
  s3Report(buckets?: readonly string[]): Promise<S3ReportObject[]>;
  /** Which key and key material made a KMS ciphertext blob. */
  inspectCiphertext(blob: Uint8Array): { account: string; keyId: string; keyMaterialId: string };
  /**
   * Files a finding event's finding with its source service (GuardDuty, Security Hub, Access
   * Analyzer) as that service holds it, so that Intake can confirm it; returns the finding ids.
   */
  fileFinding(event: unknown): string[];
  /** Every Security Hub BatchUpdateFindings call served, in order. */
  securityHubUpdates: SecurityHubUpdate[];
  /** A Security Hub finding as the hub now holds it (workflow status, note). */
  securityHubFinding(productArn: string, id: string): Record<string, unknown> | undefined;
  /** The live grants of a key (ids, grantee, operations, constraints), as ListGrants would show them. */
  grants(
    idOrAlias: string,
  ): { grantId: string; granteePrincipal: string; operations: string[]; retiringPrincipal?: string }[];
  /** Stops the server AND all pending timers. */
  close(): Promise<void>;
}
