/**
 * A Distributed Map's items: read (ItemReader's S3 listing or ItemsPath), selected (ItemSelector)
 * and batched (ItemBatcher), as Step Functions prepares the children's inputs.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- ASL states are JSON of any shape, as in runner.ts (whose rule eslint.config.mjs turns off) */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { FatalStatesError, PAYLOAD_LIMIT_BYTES, payloadBytes } from '../limits';
import { evaluate, evaluateParameters, positiveIntegerOr, readPath, statesError } from './map-fields';
import type { MapRunHost } from './map-run-host';

/** The only ItemReader the local runner implements. */
export const LIST_OBJECTS_V2 = 'arn:aws:states:::s3:listObjectsV2';

/**
 * The items: an S3 listing (ItemReader listObjectsV2, every page, `ReaderConfig.MaxItems` at most)
 * or the array at ItemsPath (default `$`) of the Map's effective input.
 */
export async function readItems(map: any, input: unknown, host: MapRunHost): Promise<unknown[]> {
  if (!map.ItemReader) {
    const items = map.ItemsPath === undefined ? input : readPath(input, map.ItemsPath);
    if (!Array.isArray(items))
      throw new FatalStatesError(
        'States.Runtime',
        `The Map state's ItemsPath ${map.ItemsPath ?? '$'} does not point to an array`,
      );
    return items;
  }
  const params = (await evaluateParameters(map.ItemReader.Parameters ?? {}, input, host)) as {
    Bucket?: unknown;
    Prefix?: unknown;
  };
  const maxItems = positiveIntegerOr(readerMaxItems(map.ItemReader.ReaderConfig, input), 0);
  if (typeof params.Bucket !== 'string')
    throw statesError(
      'States.ItemReaderFailed',
      `ItemReader Parameters.Bucket must be a string (got ${JSON.stringify(params.Bucket)})`,
    );
  const items: unknown[] = [];
  let token: string | undefined;
  try {
    do {
      // Pages of up to 1,000 keys, as S3 gives them; all of them, in S3's (key) order.
      const page = await host.s3!.send(
        new ListObjectsV2Command({
          Bucket: params.Bucket,
          Prefix: typeof params.Prefix === 'string' ? params.Prefix : undefined,
          ContinuationToken: token,
        }),
      );
      for (const object of page.Contents ?? []) {
        // The item shape of the ItemReader page's S3-objects example: Etag (with its quotes), Key,
        // LastModified in epoch seconds, Size in bytes, StorageClass.
        items.push({
          Etag: object.ETag,
          Key: object.Key,
          LastModified: object.LastModified ? Math.floor(object.LastModified.getTime() / 1000) : null,
          Size: object.Size,
          StorageClass: object.StorageClass ?? 'STANDARD',
        });
        if (maxItems && items.length >= maxItems) return items;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } catch (error) {
    throw statesError(
      'States.ItemReaderFailed',
      `Listing s3://${params.Bucket}/${params.Prefix ?? ''} failed: ${(error as Error).name}: ${(error as Error).message}`,
    );
  }
  return items;
}

function readerMaxItems(config: any, input: unknown): unknown {
  if (!config) return undefined;
  return config.MaxItemsPath !== undefined ? readPath(input, config.MaxItemsPath) : config.MaxItems;
}

/**
 * ItemBatcher: batches of at most MaxItemsPerBatch items and MaxInputBytesPerBatch bytes (at most
 * 256 KiB), each child's input `{ "BatchInput": ..., "Items": [...] }` (input-output-itembatcher).
 * An item that alone exceeds the byte bound goes in a batch of its own (its child then meets the
 * 256 KiB payload limit itself).
 */
export async function batch(
  batcher: any,
  items: unknown[],
  input: unknown,
  host: MapRunHost,
): Promise<{ input: unknown; items: number }[]> {
  const maxItems = positiveIntegerOr(
    batcher.MaxItemsPerBatchPath !== undefined
      ? readPath(input, batcher.MaxItemsPerBatchPath)
      : batcher.MaxItemsPerBatch,
    0,
  );
  const maxBytesRaw = positiveIntegerOr(
    batcher.MaxInputBytesPerBatchPath !== undefined
      ? readPath(input, batcher.MaxInputBytesPerBatchPath)
      : batcher.MaxInputBytesPerBatch,
    0,
  );
  const maxBytes = Math.min(maxBytesRaw || PAYLOAD_LIMIT_BYTES, PAYLOAD_LIMIT_BYTES);
  const batchInput =
    batcher.BatchInput === undefined ? undefined : await evaluateParameters(batcher.BatchInput, input, host);
  const wrap = (batchItems: unknown[]) =>
    batchInput === undefined ? { Items: batchItems } : { BatchInput: batchInput, Items: batchItems };
  const baseBytes = payloadBytes(wrap([]));
  const batches: { input: unknown; items: number }[] = [];
  let current: unknown[] = [];
  let currentBytes = baseBytes;
  for (const item of items) {
    const itemBytes = payloadBytes(item);
    // +1: the comma before every item but the first
    if (current.length && ((maxItems && current.length >= maxItems) || currentBytes + 1 + itemBytes > maxBytes)) {
      batches.push({ input: wrap(current), items: current.length });
      current = [];
      currentBytes = baseBytes;
    }
    currentBytes += itemBytes + (current.length ? 1 : 0);
    current.push(item);
  }
  if (current.length) batches.push({ input: wrap(current), items: current.length });
  return batches;
}

/**
 * ItemSelector for every item with `$` = the Map's input and `$$.Map.Item.Index` / `.Value`, as
 * the library evaluates an inline Map's ItemSelector (one local run of a Map of Pass states).
 */
export async function selectItems(
  selector: unknown,
  items: unknown[],
  mapInput: unknown,
  host: MapRunHost,
): Promise<unknown[]> {
  const definition = {
    StartAt: 'Input',
    States: {
      Input: { Type: 'Pass', Result: mapInput ?? null, Next: 'Select' },
      Select: {
        Type: 'Map',
        ItemsPath: '$$.LocalMapItems',
        ItemSelector: selector,
        ItemProcessor: {
          ProcessorConfig: { Mode: 'INLINE' },
          StartAt: 'Out',
          States: { Out: { Type: 'Pass', End: true } },
        },
        End: true,
      },
    },
  };
  return (await evaluate(definition, host, { LocalMapItems: items })) as unknown[];
}
