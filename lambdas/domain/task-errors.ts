import type { KeyTask } from './contracts';

/**
 * A task reached a step without the key ARN that step needs: a workflow bug, not a problem with
 * the key. The `name` is what Step Functions shows as the error (and classifies as INTERNAL).
 */
export class MissingKeyArnError extends Error {
  override name = 'MissingKeyArnError';
}

/** The task's key ARN; a MissingKeyArnError naming `step` when there is none. */
export function requireKeyArn(task: Pick<KeyTask, 'keyArn'>, step: string): string {
  if (!task.keyArn) throw new MissingKeyArnError(`${step} called without a key ARN`);
  return task.keyArn;
}
