import { cleanJson } from './sanitise';
import { classifyKeyRef } from '../lambdas/domain/intake/key-refs';
import { isAccount, isRegion, parseArn, parseKmsArn } from '../lambdas/domain/arn';
import type { RunSummary } from '../lambdas/domain/contracts';
import { parseSettings } from '../lib/settings/settings';

/** The account and Region a display is relative to (the execution's). */
export interface Home {
  account: string;
  region: string;
}

/**
 * A key reference, short: `key/<id>` or `alias/<name>` when it is in `home`, else
 * `<region>:<account>:key/<id>` (replicas and foreign keys stay recognisable). A bare key id
 * becomes `key/<id>`, an alias name stays as it is.
 */
export function shortKey(ref: string, home?: Home | null): string {
  const arn = parseKmsArn(ref);
  if (!arn) return classifyKeyRef(ref)?.kind === 'keyId' ? `key/${ref}` : ref;
  const resource = `${arn.resourceType}/${arn.resource}`;
  if (home && arn.account === home.account && arn.region === home.region) return resource;
  if (home && arn.account === home.account) return `${arn.region}:${resource}`;
  return `${arn.region}:${arn.account}:${resource}`;
}

/** Account and Region of any ARN (`arn:aws:states:us-east-1:111122223333:execution:...`). */
export function homeOfArn(arn: string): Home | null {
  const parsed = parseArn(arn);
  return parsed && isRegion(parsed.region) && isAccount(parsed.account)
    ? { region: parsed.region, account: parsed.account }
    : null;
}

/** The lifetime budget a summary was computed with (used + remaining), else the settings default. */
export function budgetOf(summary: Pick<RunSummary, 'keys'> | null): number {
  for (const k of summary?.keys ?? []) {
    if (typeof k.onDemandRotationsUsed === 'number' && typeof k.onDemandRotationsRemaining === 'number') {
      const total = k.onDemandRotationsUsed + k.onDemandRotationsRemaining;
      if (total > 0) return total;
    }
  }
  return parseSettings({}).rotationBudget;
}

/** True for an object shaped like a RunSummary (the execution output). */
export function isRunSummary(v: unknown): v is RunSummary {
  return (
    typeof v === 'object' &&
    v !== null &&
    Array.isArray((v as RunSummary).keys) &&
    typeof (v as RunSummary).outcome === 'string'
  );
}

/** Parses a JSON string from AWS; undefined when it is absent or not JSON. */
export function parseJson(text: string | undefined | null): unknown {
  if (typeof text !== 'string' || text === '') return undefined;
  try {
    // Execution data is untrusted text: cleaned once here, where the CLI reads it.
    return cleanJson(JSON.parse(text));
  } catch {
    return undefined;
  }
}
