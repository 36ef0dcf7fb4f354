import { CreateKeyCommand, KMSClient, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { kmsClient } from '../adapters/kms-client';
import { dynamoClient } from '../adapters/dynamodb-client';
import { ConfigurationError } from '../adapters/config';
import { logger } from '../adapters/lambda-handler';
import { Ledger } from '../adapters/ledger';
import { DRILL_DELETION_DAYS, DRILL_ENV, DRILL_TAG_KEY } from '../domain/drill';
import { callerOf, FrontDoorError, respond, routeOf, type FrontDoorEvent, type FrontDoorResponse } from '../domain/front-door';
import { keyArn as keyArnOf } from '../domain/arn';

/** Raised for a key this stack's drill component did not create: it is never deleted. */
export class NotADrillKeyError extends Error {
  override name = 'NotADrillKey';
}

/**
 * The drill component: creates throwaway keys tagged as drills (recording each as `DRILL#<arn>`)
 * and schedules their deletion. Its role may schedule deletion only of drill-tagged keys, and it
 * also refuses any key it has no record of: tagging a key by hand does not make it deletable.
 */
export class DrillKeys {
  constructor(
    private readonly kms: KMSClient,
    private readonly ledger: Pick<Ledger, 'putDrill' | 'getDrill' | 'markDrillDeleted'>,
    private readonly where: { partition: string; region: string; account: string },
  ) {}

  async create(caller: string, now = new Date()): Promise<{ keyArn: string }> {
    const out = await this.kms.send(
      new CreateKeyCommand({
        Description: `kms-incident-rotation drill ${now.toISOString().slice(0, 10)} for ${caller} (throwaway; scheduled for deletion by the drill)`,
        KeySpec: 'SYMMETRIC_DEFAULT',
        KeyUsage: 'ENCRYPT_DECRYPT',
        Tags: [{ TagKey: DRILL_TAG_KEY, TagValue: 'true' }],
      }),
    );
    const keyArn = out.KeyMetadata?.Arn;
    if (!keyArn) throw new Error('KMS CreateKey returned no key ARN');
    await this.ledger.putDrill(keyArn, caller, now);
    return { keyArn };
  }

  async cleanup(keyId: string, caller: string, now = new Date()): Promise<{ keyArn: string; deletionDate: string | null }> {
    if (!/^[0-9a-f-]{36}$|^mrk-[0-9a-f]{32}$/.test(keyId)) throw new NotADrillKeyError(`not a key id: ${keyId.slice(0, 80)}`);
    const keyArn = keyArnOf(this.where.partition, this.where.region, this.where.account, keyId);
    const drill = await this.ledger.getDrill(keyArn);
    if (!drill) throw new NotADrillKeyError(`${keyArn} was not created by this stack's drill: it is not deleted`);
    const out = await this.kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyArn, PendingWindowInDays: DRILL_DELETION_DAYS }));
    await this.ledger.markDrillDeleted(keyArn, caller, now);
    return { keyArn, deletionDate: out.DeletionDate?.toISOString() ?? null };
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
export async function handleDrill(event: FrontDoorEvent, drills: Pick<DrillKeys, 'create' | 'cleanup'>, accountId: string): Promise<FrontDoorResponse> {
  try {
    const caller = callerOf(event);
    if (!caller) throw new FrontDoorError(403, 'NoIdentity', 'no IAM identity in the request context: the route must use AWS_IAM authorization');
    if (caller.account !== accountId) throw new FrontDoorError(403, 'ForeignAccount', `callers of account ${caller.account} cannot run drills here`);
    const route = routeOf(event);
    if (route === 'drill') return respond(200, await drills.create(caller.arn));
    if (route === 'drillCleanup') return respond(200, await drills.cleanup(event.pathParameters?.keyId ?? '', caller.arn));
    throw new FrontDoorError(404, 'NotFound', `no such route: ${String(event.httpMethod)} ${String(event.resource)}`);
  } catch (error) {
    if (error instanceof FrontDoorError) return respond(error.statusCode, { error: error.code, message: error.message });
    if (error instanceof NotADrillKeyError) return respond(403, { error: error.name, message: error.message });
    logger.error('drill failed', { error: error as Error });
    return respond(500, { error: 'InternalError', message: 'the drill failed; see its logs' });
  }
}

export const handler = async (event: FrontDoorEvent): Promise<FrontDoorResponse> => {
  const region = required('AWS_REGION');
  const drills = new DrillKeys(kmsClient(region), new Ledger(required(DRILL_ENV.ledgerTable), dynamoClient(region)), {
    partition: required(DRILL_ENV.partition),
    region,
    account: required(DRILL_ENV.accountId),
  });
  return handleDrill(event, drills, required(DRILL_ENV.accountId));
};
