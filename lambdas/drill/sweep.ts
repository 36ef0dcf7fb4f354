import {
  DescribeKeyCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  ScheduleKeyDeletionCommand,
  type KeyMetadata,
  type KMSClient,
} from '@aws-sdk/client-kms';
import type { Ledger } from '../adapters/ledger';
import { DRILL_DELETION_DAYS, DRILL_MAX_AGE_HOURS, DRILL_TAG_KEY, drillIntentOf } from '../domain/drill';

/** Who the sweep names as having scheduled an uncleaned drill key's deletion. */
export const SWEEPER = 'kms-incident-rotation: drill key left over for more than 24 h';

/** The ledger operations the drill component uses. */
export type DrillLedger = Pick<
  Ledger,
  'openDrill' | 'completeDrill' | 'getDrill' | 'markDrillDeleted' | 'countDrill' | 'openDrillsBefore' | 'closeOpenDrill'
>;

/** A key carrying the drill's marks (tag or description) that the sweep did not delete, and why. */
export interface RefusedKey {
  keyArn: string;
  reason: string;
}

/** What one sweep did. */
export interface SweepReport {
  /** Keys scheduled for deletion now. */
  scheduled: string[];
  /** Keys marked as drill keys whose own policy does not let the drill role read or delete them: left alone. */
  refused: RefusedKey[];
  /** Drills opened more than a day ago whose key was never created (CreateKey failed or never ran). */
  abandoned: string[];
}

/** What KMS answers when a key is already pending deletion or gone: the sweep's work is done. */
const ALREADY_GONE = new Set(['KMSInvalidStateException', 'NotFoundException']);
const PENDING_STATES = new Set(['PendingDeletion', 'PendingReplicaDeletion']);
/** ListKeys' largest page (Limit 1..1000, KMS API reference). */
const LIST_KEYS_LIMIT = 1000;

function isAccessDenied(error: unknown): boolean {
  return (error as Error)?.name === 'AccessDeniedException';
}

/**
 * The hourly sweep (an EventBridge schedule): every drill key older than DRILL_MAX_AGE_HOURS that
 * nobody cleaned up is scheduled for deletion. Two sources, because a drill can die between
 * CreateKey and its record: the open-drills list (every drill opens its entry before CreateKey),
 * and the account's keys carrying the drill tag or a drill description. Whether the drill role
 * may delete a key is its key policy's answer alone (lambdas/domain/drill.ts): a key tagged as a
 * drill by hand is refused by KMS and reported, never a failure of the sweep.
 */
export class DrillSweep {
  constructor(
    private readonly kms: KMSClient,
    private readonly ledger: DrillLedger,
  ) {}

  async run(now: Date): Promise<SweepReport> {
    const cutoff = new Date(now.getTime() - DRILL_MAX_AGE_HOURS * 3600_000);
    const report: SweepReport = { scheduled: [], refused: [], abandoned: [] };
    const open = await this.ledger.openDrillsBefore(cutoff);
    for (const drill of open.filter((d) => d.keyArn !== null)) {
      await this.schedule(drill.keyArn!, now, report);
      await this.ledger.closeOpenDrill(drill.sk);
    }
    // Drills whose record was never completed: their key, if CreateKey ran, names them in its description.
    const unrecorded = new Map(open.filter((d) => d.keyArn === null).map((d) => [d.intentId!, d.sk]));
    for (const keyArn of await this.keyArns()) {
      const tagged = await this.hasDrillTag(keyArn);
      // DescribeKey only where a drill key may be: the tag says so, or an unrecorded drill may have made any key.
      if (!tagged && unrecorded.size === 0) continue;
      const meta = await this.describe(keyArn);
      const intentId = drillIntentOf(meta?.Description);
      if (!tagged && intentId === null) continue;
      if (!meta) {
        report.refused.push({ keyArn, reason: 'its key policy does not let the drill role read it: not a drill key' });
        continue;
      }
      const young = (meta.CreationDate?.getTime() ?? now.getTime()) > cutoff.getTime();
      if (young) continue;
      if (!PENDING_STATES.has(meta.KeyState ?? '')) await this.schedule(keyArn, now, report);
      const sk = intentId === null ? undefined : unrecorded.get(intentId);
      if (sk !== undefined) {
        await this.ledger.closeOpenDrill(sk);
        unrecorded.delete(intentId!);
      }
    }
    // Opened more than a day ago and no key names them: CreateKey never made one.
    for (const [intentId, sk] of unrecorded) {
      report.abandoned.push(intentId);
      await this.ledger.closeOpenDrill(sk);
    }
    return report;
  }

  /** Schedule a key's deletion; KMS refusing it (the key's policy) is reported, an already pending key is done. */
  private async schedule(keyArn: string, now: Date, report: SweepReport): Promise<void> {
    try {
      await this.kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyArn, PendingWindowInDays: DRILL_DELETION_DAYS }));
      report.scheduled.push(keyArn);
    } catch (error) {
      if (isAccessDenied(error)) {
        report.refused.push({ keyArn, reason: 'its key policy does not let the drill role delete it' });
        return;
      }
      if (!ALREADY_GONE.has((error as Error).name)) throw error;
    }
    if (await this.ledger.getDrill(keyArn)) await this.ledger.markDrillDeleted(keyArn, SWEEPER, now);
  }

  /** Every key of the account in the Region (ListKeys, all pages). */
  private async keyArns(): Promise<string[]> {
    const arns: string[] = [];
    let marker: string | undefined;
    do {
      const out = await this.kms.send(new ListKeysCommand({ Limit: LIST_KEYS_LIMIT, Marker: marker }));
      for (const k of out.Keys ?? []) if (k.KeyArn) arns.push(k.KeyArn);
      marker = out.Truncated ? out.NextMarker : undefined;
    } while (marker);
    return arns;
  }

  /** True when the key carries the drill tag (ListResourceTags, all pages); a key it may not read has none for the sweep. */
  private async hasDrillTag(keyArn: string): Promise<boolean> {
    let marker: string | undefined;
    try {
      do {
        const out = await this.kms.send(new ListResourceTagsCommand({ KeyId: keyArn, Marker: marker }));
        if ((out.Tags ?? []).some((t) => t.TagKey === DRILL_TAG_KEY)) return true;
        marker = out.Truncated ? out.NextMarker : undefined;
      } while (marker);
    } catch (error) {
      if (isAccessDenied(error) || ALREADY_GONE.has((error as Error).name)) return false;
      throw error;
    }
    return false;
  }

  /** The key's metadata, or null when its policy does not let the drill role read it (only drill keys' policies do). */
  private async describe(keyArn: string): Promise<KeyMetadata | null> {
    try {
      return (await this.kms.send(new DescribeKeyCommand({ KeyId: keyArn }))).KeyMetadata ?? null;
    } catch (error) {
      if (isAccessDenied(error) || ALREADY_GONE.has((error as Error).name)) return null;
      throw error;
    }
  }
}
