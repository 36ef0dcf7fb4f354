/**
 * The Amazon Q Developer in chat applications custom notification format, as its admin guide
 * documents it ("Custom notifications": event schema and parameter details), checked field by
 * field; returns the problems (none for a valid notification). Independent of the product code.
 */
const CONTENT_KEYS = new Set(['textType', 'title', 'description', 'nextSteps', 'keywords']);
const METADATA_KEYS = new Set(['threadId', 'summary', 'eventType', 'relatedResources', 'additionalContext']);
const TOP_KEYS = new Set(['version', 'source', 'id', 'content', 'metadata']);

const isStrings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');

export function chatFormatProblems(n: unknown): string[] {
  const problems: string[] = [];
  if (typeof n !== 'object' || n === null || Array.isArray(n)) return ['not a JSON object'];
  const o = n as Record<string, any>;
  for (const k of Object.keys(o)) if (!TOP_KEYS.has(k)) problems.push(`unknown field ${k}`);
  if (o.version !== '1.0') problems.push('version must be "1.0"');
  if (o.source !== 'custom') problems.push('source must be "custom"');
  if (o.id !== undefined && typeof o.id !== 'string') problems.push('id must be a string');
  const c = o.content;
  if (typeof c !== 'object' || c === null) problems.push('content is required');
  else {
    for (const k of Object.keys(c)) if (!CONTENT_KEYS.has(k)) problems.push(`unknown content field ${k}`);
    if (c.textType !== undefined && c.textType !== 'client-markdown')
      problems.push('textType: only client-markdown is supported');
    if (c.title !== undefined && (typeof c.title !== 'string' || [...c.title].length > 250))
      problems.push('title: a string of at most 250 characters');
    if (c.description !== undefined && (typeof c.description !== 'string' || [...c.description].length > 8000))
      problems.push('description: a string of at most 8000 characters');
    if (c.nextSteps !== undefined && !isStrings(c.nextSteps)) problems.push('nextSteps: a list of strings');
    if (c.keywords !== undefined && !isStrings(c.keywords)) problems.push('keywords: a list of strings');
  }
  const m = o.metadata;
  if (m !== undefined) {
    if (typeof m !== 'object' || m === null) problems.push('metadata must be an object');
    else {
      for (const k of Object.keys(m)) if (!METADATA_KEYS.has(k)) problems.push(`unknown metadata field ${k}`);
      for (const k of ['threadId', 'summary', 'eventType'])
        if (m[k] !== undefined && typeof m[k] !== 'string') problems.push(`${k} must be a string`);
      if (m.relatedResources !== undefined && !isStrings(m.relatedResources))
        problems.push('relatedResources: a list of strings');
    }
  }
  return problems;
}
