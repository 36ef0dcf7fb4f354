import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { crossChecks } from './world-checks';
import { defaultPeople } from './world-defaults';
import { worldSchema, type World, type WorldBucket, type WorldKey, type WorldSettings } from './world-schema';

/**
 * The simulated AWS account that the local stand-in (local/standin) serves: parsing and validating
 * a world file. The schema is in world-schema.ts, cross-field rules in world-checks.ts.
 */
export { defaultWorldKey, keyArnOf } from './world-defaults';
export type { KmsBehaviour, World, WorldFault, WorldKey, WorldPerson } from './world-schema';

/** A world-file problem: names the file, the JSON path of each bad field and what was expected. */
export class WorldError extends Error {
  constructor(
    readonly where: string,
    readonly problems: string[],
  ) {
    super(`Invalid world ${where}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'WorldError';
  }
}

/** JSON path as written in a world file: keys[0].keySpec */
function jsonPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(root)';
}

function describe(error: z.ZodError): string[] {
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((k) => `${jsonPath([...issue.path, k])}: unknown field`)
      : [`${jsonPath(issue.path)}: ${issue.message}`],
  );
}

/** Validate a parsed world document. `where` names its origin (a file path) in errors. */
export function parseWorld(raw: unknown, where: string): World {
  const result = worldSchema.safeParse(raw ?? {});
  if (!result.success) throw new WorldError(where, describe(result.error));
  const w = result.data;
  // settings: keep only the names the file gives (partial() still fills defaults in zod 4).
  const given = ((raw ?? {}) as { settings?: Record<string, unknown> }).settings ?? {};
  const settings = Object.fromEntries(Object.entries(w.settings).filter(([k]) => k in given)) as WorldSettings;
  const keys: WorldKey[] = w.keys.map((k) => ({ ...k, account: k.account ?? w.account, region: k.region ?? w.region }));
  const buckets: WorldBucket[] = w.buckets.map((b) => ({ ...b, region: b.region ?? w.region }));
  const problems = crossChecks(keys, buckets);
  w.faults.forEach((f, i) => {
    if (f.afterPerforming && f.service !== 'kms')
      problems.push(`faults[${i}].afterPerforming: only KMS faults can answer after performing`);
  });
  const people = w.people ?? defaultPeople(w.account);
  if (w.requester !== undefined && !people[w.requester])
    problems.push(`requester: ${JSON.stringify(w.requester)} is not one of people`);
  for (const [name, person] of Object.entries(people)) {
    // STS sets a source identity and a path only on role sessions (AssumeRole*); IAM users and
    // GetFederationToken sessions have neither.
    const isRoleSession = /^arn:aws[a-z-]*:sts::\d{12}:assumed-role\/[^/]+\/[^/]+$/.test(person.arn);
    if (person.sourceIdentity !== undefined && !isRoleSession) {
      problems.push(
        `people.${name}.sourceIdentity: only a role session (arn:aws:sts::<account>:assumed-role/<role>/<session>) carries a source identity`,
      );
    }
    if (person.rolePath !== undefined && !isRoleSession)
      problems.push(`people.${name}.rolePath: only a role session has a role path`);
  }
  for (const [key, given] of Object.entries(w.approvals)) {
    (Array.isArray(given) ? given : [given]).forEach((approval, i) => {
      const at = Array.isArray(given) ? `approvals.${key}[${i}]` : `approvals.${key}`;
      if (typeof approval === 'object' && approval.by !== undefined && !people[approval.by])
        problems.push(`${at}.by: ${JSON.stringify(approval.by)} is not one of people`);
    });
  }
  if (problems.length) throw new WorldError(where, problems);
  return { ...w, settings, keys, buckets, people };
}

/** Read and validate a world file. A missing/unreadable file or invalid JSON is a WorldError naming the path. */
export function loadWorldFile(path: string): World {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new WorldError(path, [`cannot read the file: ${(e as Error).message}`]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new WorldError(path, [`invalid JSON: ${(e as Error).message}`]);
  }
  return parseWorld(raw, path);
}
