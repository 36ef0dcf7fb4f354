import { randomBytes } from 'node:crypto';
import { ServiceError } from './errors';
import { context, LIST_LIMITS_GRANTS, paginate, secs, str, type Input } from './kms-input';
import type { KeyRec, KmsKeys } from './kms-keys';

/**
 * KMS grants (CreateGrant, RetireGrant, RevokeGrant, ListGrants) and the authorization path they
 * open next to key policy + IAM. Rules from the KMS API reference (the operations' and
 * GrantConstraints' doc comments in the published Smithy model) and the developer guide
 * ("Grants in AWS KMS", "Retiring and revoking grants", "Eventual consistency"):
 *  - a grant lets its grantee principal (a role's sessions when the grantee is the role) call the
 *    grant's operations on the grant's key, when the request's encryption context satisfies the
 *    grant's constraints;
 *  - a new grant is usable at once only by a request carrying its grant token; otherwise after
 *    an eventual-consistency delay ("usually less than five minutes"; `grantDelaySeconds`,
 *    simulated, scaled by speed: the strict side is a delay, never immediate);
 *  - a retired or revoked grant allows nothing, at once (AWS allows up to the same delay; a
 *    grant that keeps working after retirement would hide a missing retirement, so: at once);
 *  - RetireGrant is authorized by the grant alone: its retiring principal, its grantee when
 *    RetireGrant is one of its operations, or the root of the account that created it (the guide:
 *    kms:RetireGrant "alone does not allow principals to retire a grant");
 *  - 50,000 grants per key ("Grants per KMS key" quota): LimitExceededException beyond.
 */

/** The "Grants per KMS key" quota (KMS developer guide, Resource quotas). */
export const GRANTS_PER_KEY = 50_000;
/** Default eventual-consistency delay of a grant used without its token, in simulated seconds. */
export const DEFAULT_GRANT_DELAY_SECONDS = 60;

/** Grant operations whose requests carry an encryption context (grant constraints apply to them). */
const CONTEXT_OPERATIONS = new Set([
  'Decrypt',
  'Encrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
  'ReEncryptFrom',
  'ReEncryptTo',
]);

export interface GrantConstraints {
  EncryptionContextSubset?: Record<string, string>;
  EncryptionContextEquals?: Record<string, string>;
}

export interface Grant {
  keyArn: string;
  grantId: string;
  name?: string;
  granteePrincipal: string;
  retiringPrincipal?: string;
  operations: string[];
  constraints?: GrantConstraints;
  issuingAccount: string;
  creationDate: number;
  /** When the grant is usable without its token (eventual consistency). */
  effectiveAt: number;
  tokens: Set<string>;
}

/** The principal a grant names matches the caller: the caller's ARN, or its role's ARN for a role session. */
function principalMatches(named: string | undefined, caller: { arn: string; principalArn: string }): boolean {
  if (named === undefined) return false;
  return named === caller.arn || named === caller.principalArn;
}

function constraintsOf(input: Input): GrantConstraints | undefined {
  const c = input.Constraints;
  if (c === undefined || c === null) return undefined;
  if (typeof c !== 'object' || Array.isArray(c))
    throw new ServiceError('SerializationException', 'Constraints must be a structure');
  const out: GrantConstraints = {};
  const cc = c as Input;
  if (cc.EncryptionContextSubset !== undefined) out.EncryptionContextSubset = context(cc, 'EncryptionContextSubset');
  if (cc.EncryptionContextEquals !== undefined) out.EncryptionContextEquals = context(cc, 'EncryptionContextEquals');
  if (out.EncryptionContextSubset && out.EncryptionContextEquals)
    // The API reference allows one of the two per grant.
    throw new ServiceError(
      'ValidationException',
      'A grant may have an EncryptionContextSubset or an EncryptionContextEquals constraint, not both.',
    );
  return out;
}

/** Does a request's encryption context satisfy the grant's constraints (GrantConstraints doc)? */
export function contextSatisfies(constraints: GrantConstraints | undefined, ctx: Record<string, string>): boolean {
  if (!constraints) return true;
  const { EncryptionContextSubset: subset, EncryptionContextEquals: equals } = constraints;
  if (equals) {
    const a = Object.keys(equals);
    return a.length === Object.keys(ctx).length && a.every((k) => ctx[k] === equals[k]);
  }
  if (subset) return Object.entries(subset).every(([k, v]) => ctx[k] === v);
  return true;
}

/** The grants of every key of the stand-in. */
export class KmsGrants {
  private readonly byKey = new Map<string, Grant[]>();

  constructor(
    private readonly keys: KmsKeys,
    /** Eventual-consistency delay in simulated seconds (world option `grantDelaySeconds`). */
    private readonly delaySeconds: number = DEFAULT_GRANT_DELAY_SECONDS,
  ) {}

  /** Every live grant of a key (tests, ListGrants). */
  of(keyArn: string): Grant[] {
    return this.byKey.get(keyArn) ?? [];
  }

  private keyFor(input: Input, region: string, op: string): KeyRec {
    return this.keys.resolve(str(input, 'KeyId', true), region, false, op);
  }

  /** CreateGrant: the grant's id and a new token; a named retry with identical parameters returns the same id. */
  create(input: Input, region: string): { GrantId: string; GrantToken: string } {
    const rec = this.keyFor(input, region, 'CreateGrant');
    // Strict reading of the key-state table (not in the stand-in's sources): enabled keys only.
    if (rec.state !== 'Enabled')
      throw new ServiceError('KMSInvalidStateException', `${rec.arn} is not enabled (${rec.state}).`);
    if (input.GranteeServicePrincipal !== undefined || input.RetiringServicePrincipal !== undefined)
      throw new ServiceError('NotImplementedByStandIn', 'The stand-in grants to AWS principals only.');
    const grantee = str(input, 'GranteePrincipal');
    if (!grantee)
      throw new ServiceError('ValidationException', 'GranteePrincipal or GranteeServicePrincipal is required.');
    const operations = input.Operations as string[];
    if (!Array.isArray(operations) || operations.length === 0)
      throw new ServiceError('ValidationException', 'Operations must name at least one grant operation.');
    const constraints = constraintsOf(input);
    if (constraints && operations.some((op) => !CONTEXT_OPERATIONS.has(op)))
      // Undocumented which answer KMS gives; strict: refuse constraints that could not apply.
      throw new ServiceError(
        'ValidationException',
        `Grant constraints apply only to operations with an encryption context; not to ${operations.filter((op) => !CONTEXT_OPERATIONS.has(op)).join(', ')}.`,
      );
    const name = str(input, 'Name');
    const retiring = str(input, 'RetiringPrincipal');
    const token = randomBytes(48).toString('base64url');
    const grants = this.byKey.get(rec.arn) ?? [];
    const same = (g: Grant) =>
      name !== undefined &&
      g.name === name &&
      g.granteePrincipal === grantee &&
      g.retiringPrincipal === retiring &&
      JSON.stringify([...g.operations].sort()) === JSON.stringify([...operations].sort()) &&
      JSON.stringify(g.constraints ?? null) === JSON.stringify(constraints ?? null);
    const existing = name === undefined ? undefined : grants.find(same);
    if (input.DryRun === true)
      throw new ServiceError(
        'DryRunOperationException',
        'The request would have succeeded, but the DryRun option is set.',
      );
    if (existing) {
      existing.tokens.add(token);
      return { GrantId: existing.grantId, GrantToken: token };
    }
    if (grants.length >= GRANTS_PER_KEY)
      throw new ServiceError(
        'LimitExceededException',
        `${rec.arn} has ${GRANTS_PER_KEY} grants, the quota per KMS key.`,
      );
    const now = Date.now();
    const grant: Grant = {
      keyArn: rec.arn,
      grantId: randomBytes(32).toString('hex'),
      name,
      granteePrincipal: grantee,
      retiringPrincipal: retiring,
      operations: [...operations],
      constraints,
      issuingAccount: `arn:aws:iam::${this.keys.account}:root`,
      creationDate: now,
      effectiveAt: now + (this.delaySeconds * 1000) / this.keys.speed,
      tokens: new Set([token]),
    };
    grants.push(grant);
    this.byKey.set(rec.arn, grants);
    return { GrantId: grant.grantId, GrantToken: token };
  }

  /** The grant a RetireGrant/RevokeGrant names: by token, or by KeyId + GrantId. */
  find(input: Input, region: string, op: string): Grant {
    const token = str(input, 'GrantToken');
    if (token !== undefined) {
      const g = [...this.byKey.values()].flat().find((x) => x.tokens.has(token));
      if (!g) throw new ServiceError('InvalidGrantTokenException', 'The grant token is not valid.');
      return g;
    }
    const grantId = str(input, 'GrantId');
    if (input.KeyId === undefined || grantId === undefined)
      throw new ServiceError('ValidationException', `${op} needs a GrantToken, or both a KeyId and a GrantId.`);
    const rec = this.keyFor(input, region, op);
    const g = this.of(rec.arn).find((x) => x.grantId === grantId);
    if (!g) throw new ServiceError('NotFoundException', `Grant ${grantId} does not exist on ${rec.arn}.`);
    return g;
  }

  /** May `caller` retire `grant`? The grant decides (see the module comment). */
  mayRetire(grant: Grant, caller: { arn: string; principalArn: string; account: string }): boolean {
    if (principalMatches(grant.retiringPrincipal, caller)) return true;
    if (grant.operations.includes('RetireGrant') && principalMatches(grant.granteePrincipal, caller)) return true;
    return caller.arn === grant.issuingAccount;
  }

  /** Removes a grant (RetireGrant, RevokeGrant): it allows nothing from now on. */
  remove(grant: Grant): void {
    this.byKey.set(
      grant.keyArn,
      this.of(grant.keyArn).filter((g) => g !== grant),
    );
  }

  /** ListGrants: the key's grants, optionally one grant id or one grantee, paginated. */
  list(input: Input, region: string): unknown {
    const rec = this.keyFor(input, region, 'ListGrants');
    const grantId = str(input, 'GrantId');
    const grantee = str(input, 'GranteePrincipal');
    const entries = this.of(rec.arn)
      .filter(
        (g) =>
          (grantId === undefined || g.grantId === grantId) && (grantee === undefined || g.granteePrincipal === grantee),
      )
      .map((g) => ({
        KeyId: g.keyArn,
        GrantId: g.grantId,
        ...(g.name !== undefined ? { Name: g.name } : {}),
        CreationDate: secs(g.creationDate),
        GranteePrincipal: g.granteePrincipal,
        ...(g.retiringPrincipal !== undefined ? { RetiringPrincipal: g.retiringPrincipal } : {}),
        IssuingAccount: g.issuingAccount,
        Operations: g.operations,
        ...(g.constraints ? { Constraints: g.constraints } : {}),
      }));
    const { page, ...rest } = paginate(entries, input, `grants:${rec.arn}`, LIST_LIMITS_GRANTS);
    return { Grants: page, ...rest };
  }

  /** Every grant token a request names must be a live grant's (else InvalidGrantTokenException). */
  checkTokens(tokens: unknown): string[] {
    if (tokens === undefined || tokens === null) return [];
    if (!Array.isArray(tokens)) throw new ServiceError('SerializationException', 'GrantTokens must be a list');
    for (const t of tokens)
      if (!this.byKeyHasToken(String(t)))
        // Undocumented what KMS does with a retired grant's token; strict: refuse the request.
        throw new ServiceError('InvalidGrantTokenException', 'The grant token is not valid.');
    return tokens.map(String);
  }

  private byKeyHasToken(token: string): boolean {
    return [...this.byKey.values()].some((gs) => gs.some((g) => g.tokens.has(token)));
  }

  /**
   * Does a grant let `caller` call `operation` on `keyArn` with this encryption context? Usable at
   * once with one of its tokens in the request, else only after its eventual-consistency delay.
   */
  allows(
    caller: { arn: string; principalArn: string; account: string },
    operation: string,
    keyArn: string,
    ctx: Record<string, string>,
    tokens: readonly string[],
    now = Date.now(),
  ): boolean {
    return this.of(keyArn).some(
      (g) =>
        principalMatches(g.granteePrincipal, caller) &&
        g.operations.includes(operation) &&
        contextSatisfies(g.constraints, ctx) &&
        (now >= g.effectiveAt || tokens.some((t) => g.tokens.has(t))),
    );
  }
}
