import type { Settings } from '../lib/settings/settings';
import { parseSettings } from '../lib/settings/settings';
import { TOPIC_NAME } from './standin';
import { resolveIntrinsics, synthTemplate, type CfnTemplate } from './template';
import { LOCAL_LEDGER_TABLE, ledgerLogicalId } from './ledger-local';
import { defaultWorldKey, type World } from './world';

// A world's stack laid out in a simulated account: its settings, its synthesized template, and
// where the template's resources (topic, results bucket, product key, ledger) live in the stand-in.

const templates = new Map<string, CfnTemplate>();

/** The stack's settings for a world: defaults, overridden by the world's `settings`. */
export function worldSettings(world: World): Settings {
  return parseSettings({ ...(world.settings ?? {}) }, 'the world file\'s "settings"');
}

/** Where a stack's resources live in a simulated account (see accountLayout). */
export interface AccountLayout {
  /** The world the stand-in serves: the world file's, plus the stack's results bucket when it has one. */
  standInWorld: World;
  topicLogicalId: string | undefined;
  resultsLogicalId: string | undefined;
  resultsBucket: string;
  /** The template's product key and the stand-in key id it is served as. */
  productKeyLogicalId: string | undefined;
  productKeyId: string;
}

/**
 * The stack's SNS topic and re-encryption results bucket (only with the branch) in the stand-in:
 * a bucket of the stand-in, where the runner's ResultWriter writes and SummarizeReencryption reads.
 */
export function accountLayout(template: CfnTemplate, world: World): AccountLayout {
  const topicLogicalId = Object.entries(template.Resources).find(([, r]) => r.Type === 'AWS::SNS::Topic')?.[0];
  const resultsLogicalId = Object.entries(template.Resources).find(
    ([id, r]) => r.Type === 'AWS::S3::Bucket' && id.includes('Results'),
  )?.[0];
  const resultsBucket = `kms-incident-rotation-results-${world.account}`;
  // The product key, a key of the stand-in with the template's key policy: the results bucket's
  // default encryption, so that S3's KMS calls for the result files are authorized as in AWS.
  const [productKeyLogicalId, productKey] =
    Object.entries(template.Resources).find(([, r]) => r.Type === 'AWS::KMS::Key') ?? [];
  const productKeyId = `00000000-0000-4000-8000-${world.account}`;
  let standInWorld = world;
  if (productKeyLogicalId && !world.keys.some((k) => k.id === productKeyId)) {
    const policy = resolveIntrinsics(productKey?.Properties?.KeyPolicy, {
      account: world.account,
      region: world.region,
    }) as Record<string, unknown>;
    standInWorld = {
      ...standInWorld,
      keys: [...standInWorld.keys, { ...defaultWorldKey(productKeyId, world.account, world.region), policy }],
    };
  }
  if (resultsLogicalId && !world.buckets.some((b) => b.name === resultsBucket)) {
    const encryption = template.Resources[resultsLogicalId].Properties?.BucketEncryption
      ?.ServerSideEncryptionConfiguration?.[0] as
      { BucketKeyEnabled?: boolean; ServerSideEncryptionByDefault?: { SSEAlgorithm?: string } } | undefined;
    const underProductKey =
      encryption?.ServerSideEncryptionByDefault?.SSEAlgorithm === 'aws:kms' && productKeyLogicalId !== undefined;
    const bucket = {
      name: resultsBucket,
      region: world.region,
      bucketKeyEnabled: encryption?.BucketKeyEnabled === true,
      versioning: false,
      objects: [],
    };
    standInWorld = {
      ...standInWorld,
      buckets: [...standInWorld.buckets, underProductKey ? { ...bucket, defaultKmsKeyId: productKeyId } : bucket],
    };
  }
  return { standInWorld, topicLogicalId, resultsLogicalId, resultsBucket, productKeyLogicalId, productKeyId };
}

/**
 * The physical ids the runner and the account's IAM resolve the template's Refs to: the topic
 * (the stand-in's, named TOPIC_NAME), the results bucket, the ledger table (LOCAL_LEDGER_TABLE).
 */
export function runnerResources(
  template: CfnTemplate,
  world: Pick<World, 'account' | 'region'>,
  layout: AccountLayout,
): Record<string, string> {
  const { topicLogicalId, resultsLogicalId, resultsBucket, productKeyLogicalId, productKeyId } = layout;
  return {
    ...(productKeyLogicalId ? { [productKeyLogicalId]: productKeyId } : {}),
    ...(topicLogicalId ? { [topicLogicalId]: `arn:aws:sns:${world.region}:${world.account}:${TOPIC_NAME}` } : {}),
    ...(resultsLogicalId
      ? { [resultsLogicalId]: resultsBucket, [`${resultsLogicalId}.Arn`]: `arn:aws:s3:::${resultsBucket}` }
      : {}),
    [ledgerLogicalId(template)]: LOCAL_LEDGER_TABLE,
  };
}

/** The synthesized stack for a world's settings (cached: synthesis takes seconds). */
export function worldTemplate(world: World): CfnTemplate {
  const settings = worldSettings(world);
  const env = { account: world.account, region: world.region };
  const cacheKey = JSON.stringify([settings, env]);
  let template = templates.get(cacheKey);
  if (!template) {
    template = synthTemplate(settings, env);
    templates.set(cacheKey, template);
  }
  return template;
}
