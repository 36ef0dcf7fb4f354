import type { ApprovalAnswer, ApprovalRecord, AnswerResult } from '../lambdas/adapters/ledger/ledger-approvals';
import type { FrontDoorDeps } from '../lambdas/front-door/handler';

/**
 * APPROVAL# items in memory for front-door tests, with the ledger adapter's conditions: an answer
 * is claimed once on a PENDING approval, then confirmed (APPROVED/DENIED), expired or withdrawn.
 */
type Approvals = FrontDoorDeps['approvals'];
export class MemoryApprovals implements Approvals {
  readonly items = new Map<string, ApprovalRecord>();

  constructor(initial: ApprovalRecord[] = []) {
    for (const a of initial) this.items.set(a.approvalId, a);
  }

  async getApproval(id: string): Promise<ApprovalRecord | null> {
    return this.items.get(id) ?? null;
  }

  async claimAnswer(id: string, answer: ApprovalAnswer): Promise<AnswerResult> {
    const a = this.items.get(id);
    if (!a || a.status !== 'PENDING' || a.answer)
      return {
        answered: false,
        status: a?.answer ? 'BEING_ANSWERED' : (a?.status ?? 'MISSING'),
        by: a?.answeredBy ?? null,
      };
    this.items.set(id, { ...a, answer, answeredBy: answer.by });
    return { answered: true };
  }

  async confirmAnswer(id: string, answerId: string, status: 'APPROVED' | 'DENIED'): Promise<boolean> {
    return this.settle(id, answerId, (a) => ({ ...a, status }));
  }

  async expireAnswer(id: string, answerId: string): Promise<boolean> {
    return this.settle(id, answerId, (a) => ({ ...a, status: 'EXPIRED', answer: null, answeredBy: null }));
  }

  async withdrawAnswer(id: string, answerId: string): Promise<boolean> {
    return this.settle(id, answerId, (a) => ({ ...a, answer: null, answeredBy: null }));
  }

  private settle(id: string, answerId: string, next: (a: ApprovalRecord) => ApprovalRecord): Promise<boolean> {
    const a = this.items.get(id);
    if (!a || a.status !== 'PENDING' || a.answer?.answerId !== answerId) return Promise.resolve(false);
    this.items.set(id, next(a));
    return Promise.resolve(true);
  }
}
