import type { CfnTemplate } from '../template';

/**
 * Physical names and ARNs of a template's resources in an offline account, so that the
 * template's policies resolve to the ARNs the stand-in and the runner use. CloudFormation names
 * unnamed resources itself; offline, an unnamed resource is named after its logical id. `given`
 * (the run's own physical values: the topic ARN, the ledger table name, ...) wins.
 */
export function physicalResources(
  template: CfnTemplate,
  account: string,
  region: string,
  given: Record<string, string> = {},
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [id, resource] of Object.entries(template.Resources)) {
    const p = resource.Properties ?? {};
    const named = (field: string): string => (typeof p[field] === 'string' ? p[field] : (given[id] ?? id));
    switch (resource.Type) {
      case 'AWS::IAM::Role':
        out[id] = named('RoleName');
        out[`${id}.Arn`] = `arn:aws:iam::${account}:role/${out[id]}`;
        break;
      case 'AWS::IAM::ManagedPolicy':
        out[id] = `arn:aws:iam::${account}:policy/${named('ManagedPolicyName')}`;
        break;
      case 'AWS::Lambda::Function':
        out[id] = named('FunctionName');
        out[`${id}.Arn`] = `arn:aws:lambda:${region}:${account}:function:${out[id]}`;
        break;
      case 'AWS::DynamoDB::Table':
        out[id] = named('TableName');
        out[`${id}.Arn`] = `arn:aws:dynamodb:${region}:${account}:table/${out[id]}`;
        break;
      case 'AWS::SNS::Topic':
        out[id] = given[id] ?? `arn:aws:sns:${region}:${account}:${named('TopicName')}`;
        out[`${id}.TopicName`] = out[id].split(':').pop()!;
        break;
      case 'AWS::KMS::Key':
        out[id] = given[id] ?? id;
        out[`${id}.Arn`] = `arn:aws:kms:${region}:${account}:key/${out[id]}`;
        break;
      case 'AWS::S3::Bucket':
        out[id] = named('BucketName');
        out[`${id}.Arn`] = `arn:aws:s3:::${out[id]}`;
        break;
      case 'AWS::Logs::LogGroup':
        out[id] = named('LogGroupName');
        out[`${id}.Arn`] = `arn:aws:logs:${region}:${account}:log-group:${out[id]}:*`;
        break;
      case 'AWS::StepFunctions::StateMachine':
        out[`${id}.Name`] = named('StateMachineName');
        out[id] = `arn:aws:states:${region}:${account}:stateMachine:${out[`${id}.Name`]}`;
        break;
      case 'AWS::ApiGateway::Stage':
        out[id] = named('StageName');
        break;
      case 'AWS::SQS::Queue':
        out[`${id}.QueueName`] = named('QueueName');
        out[`${id}.Arn`] = `arn:aws:sqs:${region}:${account}:${out[`${id}.QueueName`]}`;
        out[id] = `https://sqs.${region}.amazonaws.com/${account}/${out[`${id}.QueueName`]}`;
        break;
      default:
        out[id] = given[id] ?? id;
    }
  }
  // Keys the template does not declare but the run names (e.g. the results bucket's .Arn) are kept.
  return { ...out, ...given };
}
