import { Aws, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { STATE } from '../../lambdas/domain/workflow-states';
import type { DerivedReencryption } from '../settings/derived';

/**
 * The re-encryption branch's resources, deployed only when `reEncryptBuckets` is
 * non-empty: the results bucket the Distributed Map's ResultWriter fills, and the IAM of the
 * branch's two functions, limited to the listed buckets and this account's keys in this Region
 * (and, for envelopes, the wrapping keys `reEncryptEnvelopeWrappingKeys` names).
 * The Distributed Map state itself is built per state machine by `reencryptTargetMap`.
 */

/** How long the Distributed Map's result files are kept: SummarizeReencryption reads them within the execution; a month leaves room to look. */
export const RESULTS_EXPIRATION_DAYS = 30;
/** The Distributed Map's share of the failure budget: more failed children than this fails the map run (its objects are still reported). */
export const TOLERATED_FAILURE_PERCENTAGE = 10;

/** Object actions ReencryptObjects needs on a listed bucket's objects (lambdas/adapters/reencryption/s3-reencrypt.ts). */
export const REENCRYPT_OBJECT_ACTIONS = [
  // HeadObject, GetObject, the source of CopyObject / UploadPartCopy.
  's3:GetObject',
  // The envelope path verifies the written version (GetObject with VersionId) on a versioned bucket.
  's3:GetObjectVersion',
  // CopyObject, CreateMultipartUpload, UploadPartCopy, CompleteMultipartUpload, the conditional PutObject.
  's3:PutObject',
  // CopyObject with TaggingDirective COPY reads the source's tags and writes them on the copy.
  's3:GetObjectTagging',
  // A rewrite that is not a CopyObject (multipart, envelope) reads the tags of the version it read.
  's3:GetObjectVersionTagging',
  's3:PutObjectTagging',
  // Object Lock retention and legal hold: HEAD answers them only with the Get rights; a rewrite writes them back.
  's3:GetObjectRetention',
  's3:GetObjectLegalHold',
  's3:PutObjectRetention',
  's3:PutObjectLegalHold',
  // The object ACL: read (of the version read) and written back with the rewrite (x-amz-grant-*).
  's3:GetObjectAcl',
  's3:GetObjectVersionAcl',
  's3:PutObjectAcl',
  // A multipart copy that fails is aborted (no orphaned parts).
  's3:AbortMultipartUpload',
];

/** KMS actions on the rotated keys: S3 decrypts the source and makes the new data key (SSE-KMS copy); the Encryption SDK's keyring does the same for envelopes. */
export const REENCRYPT_KMS_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey'];
/**
 * KMS action on an envelope's other wrapping keys (a DR key, often in another Region): the rewrite
 * wraps the new data key for each with Encrypt, which cannot decrypt anything. Only on the keys
 * named by setting `reEncryptEnvelopeWrappingKeys` (another account's key also needs its owner's
 * key policy); an envelope with any other wrapping key is left untouched (WRAPPING_KEY_UNUSABLE).
 */
export const REENCRYPT_WRAPPING_KMS_ACTIONS = ['kms:Encrypt'];

export interface ReencryptionResourcesProps {
  /** `reEncryptBuckets` (non-empty). */
  buckets: string[];
  /** `reEncryptEnvelopeWrappingKeys`: the only keys the envelope path may Encrypt with besides the rotated key's grant. */
  envelopeWrappingKeys: readonly string[];
  /** The product key: encrypts the results bucket. */
  productKey: kms.IKey;
  reencryptObjects: lambda.IFunction;
  summarizeReencryption: lambda.IFunction;
  /** The ledger table and how the summary appends its `KEY#` audit entry (lib/ledger-access.ts). */
  grantLedgerKeyEntries: (grantee: iam.IGrantable) => void;
}

/** ARNs of the listed buckets (ListBucket) and of their objects (`/*`). */
export function listedBucketArns(buckets: readonly string[]): { buckets: string[]; objects: string[] } {
  const arn = (name: string) => `arn:${Aws.PARTITION}:s3:::${name}`;
  return { buckets: buckets.map(arn), objects: buckets.map((b) => `${arn(b)}/*`) };
}

/** The results bucket and the branch functions' rights. */
export class ReencryptionResources extends Construct {
  readonly resultsBucket: s3.Bucket;
  readonly buckets: readonly string[];
  readonly productKey: kms.IKey;

  constructor(scope: Construct, id: string, props: ReencryptionResourcesProps) {
    super(scope, id);
    this.buckets = props.buckets;
    this.productKey = props.productKey;
    this.resultsBucket = new s3.Bucket(this, 'Results', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.productKey,
      // One data key per bucket and period instead of one per object: the map run writes a
      // result file per batch (cheaper and fewer requests against the account's KMS quota).
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      // Unversioned: the files are written once per map run under a prefix unique to the
      // execution and unit, never overwritten, and expire anyway; versions would only keep
      // expired copies. The audit trail is the ledger's KEY# entry, not these files.
      versioned: false,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        {
          id: 'ExpireResults',
          expiration: Duration.days(RESULTS_EXPIRATION_DAYS),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      // As the ledger: deleting the stack never deletes what a run reported (the lifecycle rule
      // empties the kept bucket within a month). autoDeleteObjects would add a custom-resource
      // Lambda with s3:DeleteObject for nothing the lifecycle does not already do.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // ReencryptObjects: the listed buckets' objects, and data keys of this account's keys here.
    const listed = listedBucketArns(props.buckets);
    props.reencryptObjects.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ListedBucketsObjectsOnly',
        actions: REENCRYPT_OBJECT_ACTIONS,
        resources: listed.objects,
      }),
    );
    // GetBucketVersioning (once per batch) and ListObjectVersions count each object's older versions
    // still under the rotated key (never deleting them).
    props.reencryptObjects.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ListedBucketsVersions',
        actions: ['s3:GetBucketVersioning', 's3:ListBucketVersions'],
        resources: listed.buckets,
      }),
    );
    const regionKeys = `arn:${Aws.PARTITION}:kms:${Aws.REGION}:${Aws.ACCOUNT_ID}:key/*`;
    // SSE-KMS copies: S3 decrypts and makes data keys as the caller, so the rights hold only
    // through S3 in this Region and for the listed buckets' objects: S3's encryption context is
    // the object ARN, or the bucket ARN when the object uses an S3 Bucket Key.
    props.reencryptObjects.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'SseKmsThroughS3ForListedBucketsOnly',
        actions: REENCRYPT_KMS_ACTIONS,
        resources: [regionKeys],
        conditions: {
          StringEquals: { 'kms:ViaService': `s3.${Aws.REGION}.amazonaws.com` },
          ArnLike: { 'kms:EncryptionContext:aws:s3:arn': [...listed.buckets, ...listed.objects] },
        },
      }),
    );
    // An object written with an additional SSE-KMS encryption context cannot be copied with it:
    // S3 passes the context to KMS but never returns it (HeadObject/GetObject outputs have no
    // SSEKMSEncryptionContext), so a copy would drop it. Denying S3's KMS use for any context
    // key besides aws:s3:arn (an explicit deny, so the keyring statements below cannot allow it)
    // makes such a copy fail with AccessDenied; the object is left untouched and reported.
    props.reencryptObjects.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'NoSseKmsCopyWithUnknownContext',
        effect: iam.Effect.DENY,
        actions: REENCRYPT_KMS_ACTIONS,
        resources: ['*'],
        conditions: {
          StringEquals: { 'kms:ViaService': `s3.${Aws.REGION}.amazonaws.com` },
          'ForAnyValue:StringNotEquals': { 'kms:EncryptionContextKeys': ['aws:s3:arn'] },
        },
      }),
    );
    // Envelopes: the Encryption SDK's keyring calls KMS directly (no service to name), so the role
    // holds no Decrypt/GenerateDataKey of its own for them: each envelope unit's rotated key is
    // reached through a grant the state machine creates for this role and retires after the unit
    // (lib/reencryption/reencryption-grant.ts).
    // The other wrapping keys are named at synth: a wildcard would let a message (whose header
    // names its keys) make the role Encrypt with any key of the account. Keys written as ARNs
    // because IAM matches kms:Encrypt on the key ARN (an alias ARN never matches).
    if (props.envelopeWrappingKeys.length > 0) {
      props.reencryptObjects.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'EnvelopeWrappingKeys',
          actions: REENCRYPT_WRAPPING_KMS_ACTIONS,
          resources: [...props.envelopeWrappingKeys],
        }),
      );
    }

    // SummarizeReencryption: reads the map run's result files (ListObjectsV2 + GetObject), and
    // appends the audit entry.
    props.summarizeReencryption.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ListResults',
        actions: ['s3:ListBucket'],
        resources: [this.resultsBucket.bucketArn],
      }),
    );
    props.summarizeReencryption.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadResults',
        actions: ['s3:GetObject'],
        resources: [this.resultsBucket.arnForObjects('*')],
      }),
    );
    props.grantLedgerKeyEntries(props.summarizeReencryption);
    this.acknowledgeNagFindings(props);
  }

  /** The cdk-nag findings of the branch we accept, each with its reason. */
  private acknowledgeNagFindings(props: ReencryptionResourcesProps): void {
    const bucket = this.resultsBucket;
    const logging =
      "The bucket holds only the Distributed Map's own result files, written by this stack's state machines and read by SummarizeReencryption (IAM names no one else), and expires them within a month; what each run did is in the ledger's append-only KEY# entry and the notification. Server access logs would be a second bucket with its own retention for files nobody else can reach.";
    Validations.of(bucket).acknowledge({ id: 'AwsSolutions-S1', reason: logging });
    Validations.of(bucket).acknowledge({ id: 'NIST.800.53.R5-S3BucketLoggingEnabled', reason: logging });
    Validations.of(bucket).acknowledge({
      id: 'NIST.800.53.R5-S3BucketReplicationEnabled',
      reason:
        'Working files of one execution, expired after a month; the durable record is the ledger (point-in-time recovery and AWS Backup). A replica would only keep copies of expiring files.',
    });
    Validations.of(bucket).acknowledge({
      id: 'NIST.800.53.R5-S3BucketVersioningEnabled',
      reason:
        'Each file is written once under a prefix unique to the execution and unit, never overwritten; versions would only keep copies past the lifecycle expiry.',
    });
    const reencryptRole = props.reencryptObjects.role!;
    for (const objects of listedBucketArns(this.buckets).objects) {
      Validations.of(reencryptRole).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagResourceName(Stack.of(this).resolve(objects))}]`,
        reason:
          'The objects of a bucket listed in reEncryptBuckets (setting): which objects a target holds is known only at run time; the actions are the re-encrypting copy/put and its reads.',
      });
    }
    Validations.of(reencryptRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*]',
      reason:
        "The rotated keys are named by findings at run time; limited to this account's keys in this Region, to kms:Decrypt + kms:GenerateDataKey, and to S3 (kms:ViaService) for the listed buckets' objects (SSE-KMS copies).",
    });
    Validations.of(props.summarizeReencryption.role!).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(bucket.node.defaultChild as s3.CfnBucket)}.Arn>/*]`,
      reason:
        "The result files of the map runs, named by Step Functions at run time, in the stack's own results bucket only (read only).",
    });
  }

  /**
   * What a state machine running the Distributed Map needs beyond what CDK grants for it (the
   * child executions, the ResultWriter's object actions, invoking ReencryptObjects): the results
   * bucket's key, used through S3 only. ListBucket on the listed buckets comes with the reader
   * (ListedBucketsReader).
   */
  grantToStateMachine(machine: sfn.StateMachine): void {
    Validations.of(machine.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*]',
      reason:
        "The per-run grant (lib/reencryption/reencryption-grant.ts) on the rotated key, named at run time: kms:CreateGrant only, only for ReencryptObjects' role, only Decrypt + GenerateDataKey, retirable by this role (KMS condition keys).",
    });
    Validations.of(machine.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::<${Stack.of(this).getLogicalId(this.resultsBucket.node.defaultChild as s3.CfnBucket)}>/*]`,
      reason:
        "The ResultWriter's files (CDK's grant for it), in the stack's own results bucket only: Step Functions names them at run time.",
    });
    // CDK's policy for the Distributed Map's child executions (StartExecution on this machine,
    // Describe/Stop/Redrive on its own executions): created when the definition is rendered.
    const childExecutions = machine.node.tryFindChild('DistributedMapPolicy') as iam.Policy | undefined;
    if (childExecutions) {
      const statements = Stack.of(this).resolve(childExecutions.document.toJSON()).Statement as { Resource: unknown }[];
      for (const resource of new Set(
        statements
          .flatMap((st) => [st.Resource].flat())
          .map(nagResourceName)
          .filter((r) => r.includes('*')),
      )) {
        Validations.of(childExecutions).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${resource}]`,
          reason:
            "CDK's grant for the Distributed Map: Describe/Stop/Redrive of this state machine's own (child) executions, whose ids exist only at run time.",
        });
      }
      Validations.of(childExecutions).acknowledge({
        id: 'NIST.800.53.R5-IAMNoInlinePolicy',
        reason:
          "CDK's policy for the Distributed Map's child executions of this state machine only, created and deleted with it.",
      });
    }
    machine.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ResultsBucketKeyViaS3',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [this.productKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${Aws.REGION}.amazonaws.com` } },
      }),
    );
  }
}

/**
 * A resolved IAM resource as cdk-nag names it in a finding id: Fn::Join flattened, `<Ref>` and
 * `<LogicalId.Attr>` for references, anything else as JSON.
 */
function nagResourceName(resource: unknown): string {
  if (typeof resource === 'string') return resource;
  const r = resource as Record<string, unknown>;
  if (typeof r.Ref === 'string') return `<${r.Ref}>`;
  if (Array.isArray(r['Fn::GetAtt'])) return `<${(r['Fn::GetAtt'] as string[]).join('.')}>`;
  if (Array.isArray(r['Fn::Join']))
    return (r['Fn::Join'] as [string, unknown[]])[1].map(nagResourceName).join((r['Fn::Join'] as [string])[0]);
  return JSON.stringify(resource);
}

/**
 * `arn:aws:states:::s3:listObjectsV2` on the bucket and prefix of the current unit, read from the
 * state (`Bucket.$`, `Prefix.$`). CDK's S3ObjectsItemReader with `bucketNamePath` grants
 * s3:ListBucket on every bucket (`*`); this one grants it on the listed buckets only (a unit in
 * any other bucket was refused by PlanReencryption, and IAM refuses it again).
 */
class ListedBucketsReader implements sfn.IItemReader {
  private readonly reader: sfn.S3ObjectsItemReader;
  readonly resource: string;
  readonly maxItems?: number;
  readonly bucketNamePath: string;

  constructor(private readonly buckets: readonly string[]) {
    this.bucketNamePath = sfn.JsonPath.stringAt('$.reencryption.current.bucket');
    this.reader = new sfn.S3ObjectsItemReader({
      bucketNamePath: this.bucketNamePath,
      prefix: sfn.JsonPath.stringAt('$.reencryption.current.prefix'),
    });
    this.resource = this.reader.resource;
  }

  /** No bucket object: the bucket is read from the state (throws, as CDK's reader does). */
  get bucket(): s3.IBucket {
    return this.reader.bucket;
  }

  render(queryLanguage?: sfn.QueryLanguage): unknown {
    return this.reader.render(queryLanguage);
  }

  providePolicyStatements(): iam.PolicyStatement[] {
    return [new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: listedBucketArns(this.buckets).buckets })];
  }

  validateItemReader(): string[] {
    return this.reader.validateItemReader();
  }
}

export interface ReencryptTargetMapProps {
  resources: ReencryptionResources;
  /** The child's work: the ReencryptObjects task. */
  processor: sfn.IChainable;
  /** The construct's one deriveRuntime pacing: MaxConcurrency and MaxItemsPerBatch are written from it. */
  pacing: DerivedReencryption;
}

/**
 * The Distributed Map ReencryptTarget on `$.reencryption.current` (lambdas/domain/reencryption/index.ts,
 * ReencryptionState): lists the unit's bucket/prefix, hands batches to Express children paced
 * as deriveRuntime sized them (concurrency x per-child KMS rate = reEncryptKmsRequestsPerSecond;
 * each child reads its rate from its function's environment, lib/functions.ts), and writes the
 * children's reports to the results bucket under `reencryption/<execution name>/<unit index>/`.
 */
export function reencryptTargetMap(scope: Construct, props: ReencryptTargetMapProps): sfn.DistributedMap {
  const { pacing } = props;
  const resultWriter = {
    bucket: props.resources.resultsBucket,
    prefix: sfn.JsonPath.format(
      'reencryption/{}/{}',
      sfn.JsonPath.executionName,
      sfn.JsonPath.stringAt('$.reencryption.index'),
    ),
  };
  const map = new sfn.DistributedMap(scope, STATE.reencryptTarget, {
    stateName: STATE.reencryptTarget,
    comment: `Re-encrypts the objects of $.reencryption.current: ${pacing.maxConcurrency} children at ${pacing.childKmsRequestsPerSecond} KMS requests/s each, ${pacing.maxItemsPerBatch} objects per batch.`,
    itemReader: new ListedBucketsReader(props.resources.buckets),
    itemSelector: {
      'key.$': '$$.Map.Item.Value.Key',
      'size.$': '$$.Map.Item.Value.Size',
      'etag.$': '$$.Map.Item.Value.Etag',
    },
    itemBatcher: new sfn.ItemBatcher({
      maxItemsPerBatch: pacing.maxItemsPerBatch,
      batchInput: {
        // Only what varies per execution and unit; the settings are in ReencryptObjects' environment.
        'unit.$': '$.reencryption.current',
        // The envelope unit's grant token (lib/reencryption/reencryption-grant.ts); null for other units.
        'grantToken.$': '$.reencryptionGrant.GrantToken',
      },
    }),
    maxConcurrency: pacing.maxConcurrency,
    toleratedFailurePercentage: TOLERATED_FAILURE_PERCENTAGE,
    mapExecutionType: sfn.StateMachineType.EXPRESS,
    label: STATE.reencryptTarget,
    // Rendered because RotationWorkflow sets @aws-cdk/aws-stepfunctions:useDistributedMapResultWriterV2.
    resultWriterV2: new sfn.ResultWriterV2(resultWriter),
    resultPath: '$.reencryption.mapRun',
  });
  // DISTRIBUTED mode and the EXPRESS children come from the DistributedMap itself (mapExecutionType).
  map.itemProcessor(props.processor);
  return map;
}
