import { CreateKeyCommand, KMSClient, ScheduleKeyDeletionCommand, TagResourceCommand } from '@aws-sdk/client-kms';
import { kmsClient } from '../adapters/kms-client';
import { dynamoClient } from '../adapters/dynamodb-client';
import { ConfigurationError } from '../adapters/config';
import { logger } from '../adapters/lambda-handler';
import { randomUUID } from 'node:crypto';
import { Ledger } from '../adapters/ledger';
import { DRILL_DELETION_DAYS, DRILL_ENV, DRILL_TAG_KEY, drillDescription, drillKeyPolicy } from '../domain/drill';
import { isRefusal, parseAccessRoles, personOf, type AccessRoles } from '../domain/approvals/people';
import { DrillSweep, type DrillLedger, type SweepReport } from './sweep';
import {
  callerOf,
  FrontDoorError,
  respond,
  routeOf,
  type FrontDoorEvent,
  type FrontDoorResponse,
} from '../domain/approvals/front-door';
import { keyArn as keyArnOf } from '../domain/arn';

/** Raised for a key this stack's drill component did not create: it is never deleted. */
export class NotADrillKeyError extends Error {
  override name = 'NotADrillKey';
}

/** Raised when a person has started `drillDailyCapPerPerson` drills today (UTC). */
export class DrillCapReachedError extends Error {
  override name = 'DrillCapReached';
}

/** Where the drill component runs, and what bounds it. */
export interface DrillPlace {
  partition: string;
  region: string;
  account: string;
  /** The drill function's role: named in each drill key's policy, the only grant to tag and delete it. */
  roleArn: string;
  /** `drillDailyCapPerPerson`. */
  dailyCap: number;
}

/** Who starts a drill: the verified caller ARN and the person behind it (lambdas/domain/approvals/people.ts). */
export interface DrillCaller {
  arn: string;
  /** The person's key: the daily cap counts per person, whatever session or role they use. */
  person: string;
}

/**
 * The drill component: creates throwaway keys with a key policy that alone lets its role read,
 * tag and delete them, and schedules their deletion. Each drill opens its ledger entry before
 * CreateKey and names it in the key's description, so a drill that dies half-way still leaves a
 * key the sweep finds. No identity policy grants it kms:TagResource or kms:ScheduleKeyDeletion,
 * so it cannot delete a key created any other way; the cleanup route also refuses any key it has
 * no record of.
 */
export class DrillKeys {
  constructor(
    private readonly kms: KMSClient,
    private readonly ledger: DrillLedger,
    private readonly where: DrillPlace,
  ) {}

  async create(caller: DrillCaller, now = new Date()): Promise<{ keyArn: string }> {
    // Counted before the key exists: a failed CreateKey still spends one (the strict side).
    if (!(await this.ledger.countDrill(caller.person, now, this.where.dailyCap))) {
      throw new DrillCapReachedError(
        `${caller.person} has started ${this.where.dailyCap} drills today (UTC), from any session or role: setting drillDailyCapPerPerson; each drill leaves a billed key for 7 days`,
      );
    }
    const intent = {
      intentId: randomUUID(),
      createdBy: caller.arn,
      person: caller.person,
      createdAt: now.toISOString(),
    };
    await this.ledger.openDrill(intent);
    // No Tags here: tag-on-create needs kms:TagResource in an IAM policy covering every key of
    // the account (KMS developer guide, "Controlling access to tags"). The description names the
    // drill instead; the key policy grants the tag afterwards.
    const out = await this.kms.send(
      new CreateKeyCommand({
        Description: drillDescription(intent.intentId, intent.createdAt.slice(0, 10), caller.person),
        KeySpec: 'SYMMETRIC_DEFAULT',
        KeyUsage: 'ENCRYPT_DECRYPT',
        Origin: 'AWS_KMS',
        MultiRegion: false,
        BypassPolicyLockoutSafetyCheck: false,
        Policy: JSON.stringify(drillKeyPolicy(this.where.partition, this.where.account, this.where.roleArn)),
      }),
    );
    const keyArn = out.KeyMetadata?.Arn;
    if (!keyArn) throw new Error('KMS CreateKey returned no key ARN');
    await this.ledger.completeDrill(intent, keyArn);
    await this.kms.send(new TagResourceCommand({ KeyId: keyArn, Tags: [{ TagKey: DRILL_TAG_KEY, TagValue: 'true' }] }));
    return { keyArn };
  }

  async cleanup(
    keyId: string,
    caller: DrillCaller,
    now = new Date(),
  ): Promise<{ keyArn: string; deletionDate: string | null }> {
    if (!/^[0-9a-f-]{36}$|^mrk-[0-9a-f]{32}$/.test(keyId))
      throw new NotADrillKeyError(`not a key id: ${keyId.slice(0, 80)}`);
    const keyArn = keyArnOf(this.where.partition, this.where.region, this.where.account, keyId);
    const drill = await this.ledger.getDrill(keyArn);
    if (!drill) throw new NotADrillKeyError(`${keyArn} was not created by this stack's drill: it is not deleted`);
    const out = await this.kms.send(
      new ScheduleKeyDeletionCommand({ KeyId: keyArn, PendingWindowInDays: DRILL_DELETION_DAYS }),
    );
    await this.ledger.markDrillDeleted(keyArn, caller.arn, now);
    await this.ledger.closeOpenDrill(drill.openSk);
    return { keyArn, deletionDate: out.DeletionDate?.toISOString() ?? null };
  }

  /** The hourly sweep (DrillSweep): drill keys older than DRILL_MAX_AGE_HOURS that nobody cleaned up. */
  async sweep(now = new Date()): Promise<SweepReport> {
    return new DrillSweep(this.kms, this.ledger).run(now);
  }
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new ConfigurationError(`environment variable ${name} is not set`);
  return value;
}

/**
 * The drill routes of the front door (`POST /drills`, `POST /drills/{keyId}/cleanup`): API
 * Gateway (AWS_IAM) is the only invoker; the caller comes from the request context only.
 */
export async function handleDrill(
  event: FrontDoorEvent,
  drills: Pick<DrillKeys, 'create' | 'cleanup'>,
  accountId: string,
  roles: AccessRoles,
): Promise<FrontDoorResponse> {
  try {
    const caller = callerOf(event);
    if (!caller)
      throw new FrontDoorError(
        403,
        'NoIdentity',
        'no IAM identity in the request context: the route must use AWS_IAM authorization',
      );
    if (caller.account !== accountId)
      throw new FrontDoorError(403, 'ForeignAccount', `callers of account ${caller.account} cannot run drills here`);
    const route = routeOf(event);
    if (route !== 'drill' && route !== 'drillCleanup')
      throw new FrontDoorError(404, 'NotFound', `no such route: ${String(event.httpMethod)} ${String(event.resource)}`);
    // Drills are run by people (the request roles), and capped per person, not per session.
    const person = personOf(caller.arn, roles.request, 'drills');
    if (isRefusal(person)) throw new FrontDoorError(403, person.code, person.message);
    const who = { arn: caller.arn, person: person.key };
    if (route === 'drill') return respond(200, await drills.create(who));
    return respond(200, await drills.cleanup(event.pathParameters?.keyId ?? '', who));
  } catch (error) {
    if (error instanceof FrontDoorError)
      return respond(error.statusCode, { error: error.code, message: error.message });
    if (error instanceof NotADrillKeyError) return respond(403, { error: error.name, message: error.message });
    if (error instanceof DrillCapReachedError) return respond(429, { error: error.name, message: error.message });
    logger.error('drill failed', { error: error as Error });
    return respond(500, { error: 'InternalError', message: 'the drill failed; see its logs' });
  }
}

/** The EventBridge schedule's event (source `aws.events` can only be sent by EventBridge itself). */
interface ScheduledEvent {
  source: 'aws.events';
  'detail-type': 'Scheduled Event';
}

function isScheduled(event: unknown): event is ScheduledEvent {
  const e = event as Partial<ScheduledEvent> | null;
  return e?.source === 'aws.events' && e['detail-type'] === 'Scheduled Event';
}

function dailyCap(): number {
  const cap = Number(required(DRILL_ENV.dailyCap));
  if (!Number.isInteger(cap) || cap < 1)
    throw new ConfigurationError(`environment variable ${DRILL_ENV.dailyCap} must be a positive integer`);
  return cap;
}

export const handler = async (event: FrontDoorEvent | ScheduledEvent): Promise<FrontDoorResponse | SweepReport> => {
  const region = required('AWS_REGION');
  const drills = new DrillKeys(kmsClient(region), new Ledger(required(DRILL_ENV.ledgerTable), dynamoClient(region)), {
    partition: required(DRILL_ENV.partition),
    region,
    account: required(DRILL_ENV.accountId),
    roleArn: required(DRILL_ENV.roleArn),
    dailyCap: dailyCap(),
  });
  if (isScheduled(event)) return drills.sweep();
  return handleDrill(event, drills, required(DRILL_ENV.accountId), parseAccessRoles(required(DRILL_ENV.accessRoles)));
};

export { SWEEPER } from './sweep';
