/**
 * The ledger: one DynamoDB table holding
 * - `REQUEST#<requestId>` claims: which execution handles a finding (exactly-once per finding);
 * - `LOCK#<keyArn>` leases: which execution may rotate a key right now (one rotation at a time);
 * - `NOTIFY#<executionArn>` markers: the execution's notification was published (its message id),
 *   so a retried Notify does not publish it again.
 * - `KEY#<keyArn>` audit entries, sorted by time: every decision about a key. Append-only: each
 *   is a conditional put on a new sort key; nothing overwrites or deletes one (IAM also says so:
 *   each role's `dynamodb:LeadingKeys` names only its own item kinds, see lib/ledger-access.ts);
 * - `APPROVAL#<approval id>` pending approvals: the task token people never see, who asked, for
 *   which key and execution, until when; answered once (conditional update);
 * - `DRILL#...` drill records: the keys the drill component created, its open-drills list and
 *   its per-person daily counts.
 * All writes that guard the rotation budget are conditional writes.
 */
import { LedgerDrills } from './ledger-drills';

/**
 * The ledger adapter: every item kind of the ledger table, each kind's operations in its own
 * module (ledger-claims.ts, ledger-audit.ts, ledger-approvals.ts, ledger-drills.ts) on the shared
 * table client (ledger-base.ts).
 */
export class Ledger extends LedgerDrills {}
