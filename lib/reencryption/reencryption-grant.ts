import { Aws, Lazy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { retryAsl, retryComment } from '../retriers';

/**
 * The per-run KMS grant of the envelope path: ReencryptObjects' role holds no KMS right of its own
 * outside S3 (lib/reencryption/reencryption.ts), so before an envelope unit's Distributed Map the state machine
 * creates a grant on that unit's rotated key for the role (Decrypt and GenerateDataKey, what the
 * Encryption SDK keyring needs from the rotated key: unwrap the old data key, make the new one),
 * hands the grant token to every batch (BatchInput.grantToken: KMS honours a new grant at once
 * only with its token), and retires the grant when the map ends, succeeded or failed.
 */

/** The grant's operations: the rotated key's share of an envelope rewrite (generator key). */
export const GRANT_OPERATIONS = ['Decrypt', 'GenerateDataKey'];
/** Where the grant (GrantId, GrantToken) lives in the execution state while its unit runs. */
export const GRANT_PATH = '$.reencryptionGrant';

export interface ReencryptionGrantStates {
  /** Before the map: an envelope unit gets a grant, any other unit goes straight to the map. */
  start: sfn.Choice;
  /** After the map (its success and its catch): retire the grant if the unit has one, then `next`. */
  end: sfn.Choice;
}

/**
 * The states around the map. `grantee`: ReencryptObjects' role; `retiring`: the state machine's
 * role (known only once the machine exists, hence lazy).
 */
export function reencryptionGrantStates(
  scope: Construct,
  props: { map: sfn.IChainable; next: sfn.IChainable; grantee: iam.IRole; retiringRoleArn: () => string },
): ReencryptionGrantStates {
  const create = new sfn.CustomState(scope, 'CreateReencryptionGrant', {
    stateJson: {
      Type: 'Task',
      Comment: `A grant on the unit's rotated key for ReencryptObjects' role, for this unit only. ${retryComment('CreateReencryptionGrant')}`,
      Resource: 'arn:aws:states:::aws-sdk:kms:createGrant',
      Parameters: {
        'KeyId.$': '$.reencryption.current.keyArn',
        GranteePrincipal: props.grantee.roleArn,
        RetiringPrincipal: Lazy.string({ produce: props.retiringRoleArn }),
        Operations: GRANT_OPERATIONS,
        // Named per execution and unit: a retried CreateGrant returns the same grant (KMS API reference).
        'Name.$': "States.Format('reencrypt-{}-{}', $$.Execution.Name, $.reencryption.index)",
      },
      ResultSelector: { 'GrantId.$': '$.GrantId', 'GrantToken.$': '$.GrantToken' },
      ResultPath: GRANT_PATH,
      Retry: retryAsl('CreateReencryptionGrant'),
    },
  });
  const retire = new sfn.CustomState(scope, 'RetireReencryptionGrant', {
    stateJson: {
      Type: 'Task',
      Comment: `The unit is done: its grant allows nothing any more. ${retryComment('RetireReencryptionGrant')}`,
      Resource: 'arn:aws:states:::aws-sdk:kms:retireGrant',
      Parameters: { 'KeyId.$': '$.reencryption.current.keyArn', 'GrantId.$': `${GRANT_PATH}.GrantId` },
      ResultPath: GRANT_PATH,
      Retry: retryAsl('RetireReencryptionGrant'),
    },
  });
  // Not retired (after retries): the grant lapses only when someone retires or revokes it, so its
  // id, its key and the error go into `$.reencryption`, where SummarizeReencryption keeps them for
  // Notify (the next unit's grant states overwrite `$.reencryptionGrant`), which tells a person how
  // to revoke it.
  const notRetired = new sfn.Pass(scope, 'ReencryptionGrantNotRetired', {
    stateName: 'ReencryptionGrantNotRetired',
    comment: 'RetireGrant failed: the grant stays until a person revokes it; Notify says how.',
    parameters: {
      'grantId.$': `${GRANT_PATH}.GrantId`,
      'keyArn.$': '$.reencryption.current.keyArn',
      'error.$': '$.reencryptionGrantError',
    },
    resultPath: '$.reencryption.grantNotRetired',
  });
  retire.addCatch(notRetired, { errors: ['States.ALL'], resultPath: '$.reencryptionGrantError' });
  notRetired.next(props.next);
  retire.next(props.next);
  // No grant, no envelope re-encryption: the map is skipped and the summary reports the error.
  create.addCatch(props.next, { errors: ['States.ALL'], resultPath: '$.reencryption.mapRunError' });
  create.next(props.map);
  // Other units get no grant (their KMS use goes through S3); the batch input reads a null token.
  const noGrant = new sfn.Pass(scope, 'NoReencryptionGrant', {
    stateName: 'NoReencryptionGrant',
    result: sfn.Result.fromObject({ GrantToken: null }),
    resultPath: GRANT_PATH,
  });
  noGrant.next(props.map);
  const start = new sfn.Choice(scope, 'NeedsReencryptionGrant', { stateName: 'NeedsReencryptionGrant' })
    .when(sfn.Condition.stringEquals('$.reencryption.current.type', 'envelope'), create)
    .otherwise(noGrant);
  const end = new sfn.Choice(scope, 'HasReencryptionGrant', { stateName: 'HasReencryptionGrant' })
    .when(sfn.Condition.isPresent(`${GRANT_PATH}.GrantId`), retire)
    .otherwise(props.next);
  return { start, end };
}

/**
 * The state machine role's right to create the grant: only for ReencryptObjects' role, only the
 * grant's operations, retirable by the machine itself (KMS condition keys kms:GranteePrincipal,
 * kms:GrantOperations, kms:RetiringPrincipal), on this account's keys in this Region. RetireGrant
 * needs no policy: the grant names the machine's role as its retiring principal.
 */
export function grantCreationStatement(grantee: iam.IRole, machineRole: iam.IRole): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'CreateReencryptionGrantForReencryptObjectsOnly',
    actions: ['kms:CreateGrant'],
    resources: [`arn:${Aws.PARTITION}:kms:${Aws.REGION}:${Aws.ACCOUNT_ID}:key/*`],
    conditions: {
      StringEquals: { 'kms:GranteePrincipal': grantee.roleArn, 'kms:RetiringPrincipal': machineRole.roleArn },
      'ForAllValues:StringEquals': { 'kms:GrantOperations': GRANT_OPERATIONS },
      Bool: { 'kms:GrantIsForAWSResource': 'false' },
    },
  });
}
