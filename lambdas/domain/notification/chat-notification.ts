/**
 * Chat-ready notifications: the Amazon Q Developer in chat applications custom notification
 * format (admin guide, "Custom notifications using Amazon Q Developer in chat applications"):
 * `version` "1.0" and `source` "custom" required; `content` with `textType` (only
 * "client-markdown" is supported), `title`, `description`, `nextSteps`, `keywords`; `metadata`
 * with `threadId`, `summary`, `eventType`, `relatedResources`. Sent to HTTPS subscribers (how
 * Amazon Q Developer subscribes to a topic) as the `https` entry of an SNS MessageStructure json
 * message, next to the e-mail text for `default` and `email`.
 */
import type { RunSummary } from '../contracts';
import { grantNotRetiredSteps } from './grant-not-retired';
import { NEXT_STEP } from './reasons';

/**
 * Bounds of the content. The format is documented at
 * https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html ("Event schema",
 * "Parameter details"): it confirms the fields, that `version` "1.0" and `source` "custom" are
 * required and that `textType` supports only "client-markdown". Every stored copy of that page
 * searched for this module (English and translated editions, HTML and .md) ends inside the
 * parameter table, before any length limit, and neither the Chatbot API reference nor the
 * CloudFormation reference model the notification body: no length limit is documented where it
 * could be checked. So title 250 and description 8,000 characters are this module's strict choice,
 * not AWS's documented numbers, and the lists are bounded by us too (5 next steps, 10 keywords,
 * 10 related resources), all well inside SNS's 256 KiB.
 */
export const CHAT_LIMITS = { title: 250, description: 8000, nextSteps: 5, keywords: 10, relatedResources: 10 } as const;

export interface ChatNotification {
  version: '1.0';
  source: 'custom';
  id: string;
  content: { textType: 'client-markdown'; title: string; description: string; nextSteps: string[]; keywords: string[] };
  metadata: { threadId: string; summary: string; eventType: string; relatedResources: string[] };
}

/** Text cut to `max` code points, with an ellipsis when cut. */
function cut(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/** One line per key: the key, its outcome and reason in bold, the detail. */
function keyLines(summary: RunSummary): string[] {
  return summary.keys.map(
    (k) =>
      `• \`${k.keyArn ?? k.ref}\`: *${k.outcome}*${k.reason ? ` ${k.reason}` : ''}${k.detail ? ` — ${k.detail}` : ''}`,
  );
}

/** One key's line at most, so that a single key can never take the whole description. */
const KEY_LINE_MAX = 1000;

/**
 * The description within its limit, cut between whole lines: a line cut in the middle could leave
 * a `code span` or *emphasis* open and the rest of the message rendered as code. What does not
 * fit is counted ("…and N more keys: see the e-mail or the execution").
 */
function boundedDescription(head: string, lines: string[]): string {
  const max = CHAT_LIMITS.description;
  const more = (n: number) => `…and ${n} more ${n === 1 ? 'key' : 'keys'}: see the e-mail or the execution`;
  let text = cut(head, max - more(lines.length).length - 1);
  for (const [i, line] of lines.entries()) {
    const next = `${text}\n${cut(line, KEY_LINE_MAX)}`;
    const rest = lines.length - i - 1;
    // Room for this line and, when lines remain, the note that counts them.
    if (Array.from(next).length + (rest > 0 ? Array.from(more(rest)).length + 1 : 0) > max)
      return `${text}\n${more(lines.length - i)}`;
    text = next;
  }
  return text;
}

/** The custom notification of a run's summary; `subject` is the e-mail's subject line. */
export function chatNotification(summary: RunSummary, subject: string): ChatNotification {
  const grants = summary.reencryption?.grantsNotRetired ?? [];
  // A grant left in place is an action for a person: said first, its commands the first next steps.
  const grantLine = grants.length
    ? `\n*ACTION REQUIRED*: ${grants.length} KMS grant(s) of this run not retired: ReencryptObjects' role can still use the rotated key; revoke them (next steps).`
    : '';
  const head = `${summary.reason}\nExecution: ${summary.executionArn ?? '(unknown)'}${grantLine}`;
  const description = boundedDescription(head, keyLines(summary));
  const reasons = [...new Set(summary.keys.map((k) => k.reason).filter((r): r is NonNullable<typeof r> => r !== null))];
  const nextSteps = [...grantNotRetiredSteps(grants), ...reasons.map((r) => `${r}: ${NEXT_STEP[r]}`)];
  return {
    version: '1.0',
    source: 'custom',
    id: summary.executionArn ?? summary.requestId,
    content: {
      textType: 'client-markdown',
      title: cut(subject, CHAT_LIMITS.title),
      description,
      nextSteps: nextSteps.slice(0, CHAT_LIMITS.nextSteps),
      keywords: [summary.source, summary.outcome, ...(summary.dryRun ? ['DRY_RUN'] : [])].slice(
        0,
        CHAT_LIMITS.keywords,
      ),
    },
    metadata: {
      // One thread per finding or request: later runs for it are grouped with the first.
      threadId: summary.requestId,
      summary: cut(subject, CHAT_LIMITS.title),
      eventType: `kms-incident-rotation-${summary.outcome}`,
      relatedResources: [...new Set(summary.keys.map((k) => k.keyArn ?? k.ref))].slice(0, CHAT_LIMITS.relatedResources),
    },
  };
}

/** SNS's limit for a whole message (MessageStructure json included): 256 KiB. */
const SNS_MAX_BYTES = 256 * 1024;

/**
 * The SNS message of MessageStructure json: the e-mail text for `default` (every protocol
 * without its own entry) and `email`, the custom notification for `https`. When both texts would
 * not fit, `email` is left out (e-mail then receives `default`, the same text).
 */
export function perProtocolMessage(text: string, chat: ChatNotification, reserveBytes = 0): string {
  const https = JSON.stringify(chat);
  const full = JSON.stringify({ default: text, email: text, https });
  return Buffer.byteLength(full) + reserveBytes <= SNS_MAX_BYTES ? full : JSON.stringify({ default: text, https });
}
