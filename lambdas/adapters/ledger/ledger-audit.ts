import type { Outcome, Reason, RequestSource } from '../../domain/contracts';
import type { TargetReport } from '../../domain/reencryption';
import { LedgerClaims } from './ledger-claims';
import { n, optional, s } from './ledger-base';

/*
 * The ledger's `KEY#<keyArn>` audit entries, sorted by time: every decision about a key.
 * Append-only: each is a conditional put on a new sort key; nothing overwrites or deletes one (IAM
 * also says so: each role's `dynamodb:LeadingKeys` names only its own item kinds, see
 * lib/ledger-access.ts).
 */

export interface AuditEntry {
  keyArn: string;
  at: string;
  outcome: Outcome;
  reason: Reason | null;
  detail: string | null;
  source: RequestSource;
  requestId: string;
  findingId: string | null;
  findingType: string | null;
  requestedBy: string | null;
  /** Break-glass request (forced through its own IAM right). */
  breakGlass: boolean;
  /** The verified approver and their reason, when the key went through the approval gate. */
  approvedBy: string | null;
  approvalReason: string | null;
  executionArn: string;
  via: string | null;
  previousKeyMaterialId: string | null;
  currentKeyMaterialId: string | null;
  onDemandRotationsUsed: number | null;
  rotationStartedAt: string | null;
  confirmedAt: string | null;
}

/**
 * A re-encryption audit entry: one target's report for a rotated key, in the key's `KEY#`
 * partition next to its rotation entries (attribute `kind: REENCRYPTION` tells them apart; the
 * rotation entries have no `kind`).
 */
export interface ReencryptionAuditEntry {
  keyArn: string;
  at: string;
  executionArn: string;
  /** The unit's index in the execution's plan (one execution may re-encrypt several targets per key). */
  index: number;
  report: TargetReport;
}

/** The `kind` attribute of re-encryption audit entries. */
export const REENCRYPTION_ENTRY_KIND = 'REENCRYPTION';

/** The ledger's audit entries (rotation decisions and re-encryption reports). */
export class LedgerAudit extends LedgerClaims {
  /**
   * Append an audit entry: a conditional put on a new sort key (time + execution), so an entry is
   * never overwritten. A retried write of the same entry finds it already there: that is success.
   */
  async recordOutcome(entry: AuditEntry): Promise<void> {
    // A retried write of the same entry (an earlier attempt of this Record) finds it there.
    await this.putNewItem({
      pk: s(`KEY#${entry.keyArn}`),
      sk: s(`${entry.at}#${entry.executionArn}`),
      keyArn: s(entry.keyArn),
      at: s(entry.at),
      outcome: s(entry.outcome),
      reason: optional(entry.reason),
      detail: optional(entry.detail),
      source: s(entry.source),
      requestId: s(entry.requestId),
      findingId: optional(entry.findingId),
      findingType: optional(entry.findingType),
      requestedBy: optional(entry.requestedBy),
      breakGlass: { BOOL: entry.breakGlass },
      approvedBy: optional(entry.approvedBy),
      approvalReason: optional(entry.approvalReason),
      executionArn: s(entry.executionArn),
      via: optional(entry.via),
      previousKeyMaterialId: optional(entry.previousKeyMaterialId),
      currentKeyMaterialId: optional(entry.currentKeyMaterialId),
      onDemandRotationsUsed: optional(entry.onDemandRotationsUsed),
      rotationStartedAt: optional(entry.rotationStartedAt),
      confirmedAt: optional(entry.confirmedAt),
    });
  }

  /**
   * Append a re-encryption audit entry for a key (SummarizeReencryption): a conditional put on a
   * new sort key `<at>#<executionArn>#REENCRYPT#<index>`, never overwriting; a retried write of the
   * same entry finds it there. Texts are the report's, already bounded (errors 300, keys 256 chars).
   */
  async recordReencryption(entry: ReencryptionAuditEntry): Promise<void> {
    const r = entry.report;
    // A retried write of the same entry (an earlier attempt of this Summarize) finds it there.
    await this.putNewItem({
      pk: s(`KEY#${entry.keyArn}`),
      sk: s(`${entry.at}#${entry.executionArn}#REENCRYPT#${entry.index}`),
      kind: s(REENCRYPTION_ENTRY_KIND),
      keyArn: s(entry.keyArn),
      at: s(entry.at),
      executionArn: s(entry.executionArn),
      targetType: s(r.type),
      bucket: s(r.bucket),
      prefix: s(r.prefix),
      origin: s(r.origin),
      status: s(r.status),
      error: optional(r.error),
      objectsScanned: n(r.objectsScanned),
      objectsReencrypted: n(r.objectsReencrypted),
      objectsSkipped: n(r.objectsSkipped),
      skippedByReason: s(JSON.stringify(r.skippedByReason)),
      objectsFailed: n(r.objectsFailed),
      failures: s(JSON.stringify(r.failures)),
      objectsChangedDuringRun: n(r.objectsChangedDuringRun),
      bytesReencrypted: n(r.bytesReencrypted),
      oldVersionsLeft: n(r.oldVersionsLeft),
      bucketKeys: { BOOL: r.bucketKeys },
      throttlesRetried: n(r.throttlesRetried),
      batches: n(r.batches),
      batchesFailed: n(r.batchesFailed),
      durationMs: n(r.durationMs),
    });
  }
}
