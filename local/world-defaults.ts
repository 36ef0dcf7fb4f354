import { keySchema, type WorldKey, type WorldPerson } from './world-schema';

/** Defaults of the world that depend on other fields (the account, the Region). */

/** The default people of an account: two on-call engineers and one with break-glass as well. */
export function defaultPeople(account: string): Record<string, WorldPerson> {
  const person = (name: string, role: string, n: number, breakGlass: boolean): WorldPerson => ({
    arn: `arn:aws:sts::${account}:assumed-role/${role}/${name}`,
    accessKeyId: `AKIALOCAL${name.toUpperCase().padEnd(11, 'X')}${n}`,
    secretAccessKey: `local-secret-of-${name}-not-a-real-key`,
    breakGlass,
    // Each signs in through the identity provider, which sets the source identity to the user name.
    sourceIdentity: name,
  });
  return {
    alice: person('alice', 'OnCall', 1, false),
    bob: person('bob', 'OnCall', 2, false),
    carol: person('carol', 'BreakGlass', 3, true),
  };
}

/** The ARN of a world key. */
export function keyArnOf(k: { region: string; account: string; id: string }): string {
  return `arn:aws:kms:${k.region}:${k.account}:key/${k.id}`;
}

/** A key with every default applied (used by the stand-in's CreateKey, so defaults live in one place). */
export function defaultWorldKey(id: string, account: string, region: string): WorldKey {
  return { ...keySchema.parse({ id }), account, region };
}
