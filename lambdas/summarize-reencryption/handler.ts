import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { dynamoClient } from '../adapters/dynamodb-client';
import { taskHandler } from '../adapters/lambda-handler';
import type { ReencryptionState } from '../domain/reencryption';

/**
 * PLACEHOLDER (helper CDK, issue 11): lets the stack synthesize until the real
 * SummarizeReencryption handler lands. It sends the calls the real one makes (ListObjectsV2 and
 * GetObject on the results bucket, the ledger's KEY# PutItem) and advances the loop.
 */
interface SummarizeReencryptionInput {
  reencryption: ReencryptionState;
  executionArn: string;
}

export const handler = taskHandler('summarize-reencryption', async (input: SummarizeReencryptionInput): Promise<ReencryptionState> => {
  const state = input.reencryption;
  const written = state.mapRun?.ResultWriterDetails;
  if (written) {
    const s3 = new S3Client({});
    const prefix = written.Key.slice(0, written.Key.lastIndexOf('/') + 1);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: written.Bucket, Prefix: prefix }));
    for (const o of listed.Contents ?? []) await s3.send(new GetObjectCommand({ Bucket: written.Bucket, Key: o.Key }));
  }
  if (state.current && process.env.LEDGER_TABLE) {
    await dynamoClient(process.env.AWS_REGION ?? 'us-east-1').send(
      new PutItemCommand({ TableName: process.env.LEDGER_TABLE, Item: { pk: { S: `KEY#${state.current.keyArn}` }, sk: { S: `REENCRYPTION#${input.executionArn}#${state.index}` } } }),
    );
  }
  const index = state.index + 1;
  const remaining = Math.max(0, state.remaining - 1);
  return { ...state, index, remaining, current: remaining > 0 ? (state.units[index] ?? null) : null, mapRun: null, mapRunError: null };
});
