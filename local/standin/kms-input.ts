import { ServiceError } from './errors';

/**
 * Reading a KMS wire request's members as KMS validates them (JSON 1.1 types, `Limit` ranges,
 * `Marker` pagination), shared by the stand-in's KMS operations.
 */

export type Input = Record<string, unknown>;

export interface ListLimits {
  default: number;
  max: number;
}
/** Each list operation's documented `Limit` range (1..max) and default (@aws-sdk/client-kms doc comments). */
export const LIST_LIMITS = {
  ListAliases: { default: 50, max: 100 },
  ListKeys: { default: 100, max: 1000 },
  ListResourceTags: { default: 50, max: 50 },
  ListKeyRotations: { default: 100, max: 1000 },
} as const satisfies Record<string, ListLimits>;
/** ListGrants' `Limit`: 1..100, default 50 (@aws-sdk/client-kms ListGrantsRequest doc comment). */
export const LIST_LIMITS_GRANTS: ListLimits = { default: 50, max: 100 };

export function str(input: Input, name: string): string | undefined;
export function str(input: Input, name: string, required: true): string;
export function str(input: Input, name: string, required = false): string | undefined {
  const v = input[name];
  if (v === undefined || v === null) {
    if (required)
      throw new ServiceError(
        'ValidationException',
        `1 validation error detected: Value null at '${lower(name)}' failed to satisfy constraint: Member must not be null`,
      );
    return undefined;
  }
  if (typeof v !== 'string') throw new ServiceError('SerializationException', `${name} must be a string`);
  return v;
}
export function num(input: Input, name: string): number | undefined {
  const v = input[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new ServiceError('SerializationException', `${name} must be an integer`);
  return v;
}
export function blob(input: Input, name: string, required = true): Buffer | undefined {
  const s = required ? str(input, name, true) : str(input, name);
  return s === undefined ? undefined : Buffer.from(s, 'base64');
}
export function context(input: Input, name: string): Record<string, string> {
  const v = input[name];
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    throw new ServiceError('SerializationException', `${name} must be a map of strings`);
  }
  return v as Record<string, string>;
}
export function lower(name: string): string {
  return name[0].toLowerCase() + name.slice(1);
}
export const secs = (ms: number) => ms / 1000;
export const b64 = (b: Buffer) => b.toString('base64');

/** One page of `items`; `Limit` is checked against the operation's documented range (`limits`). */
export function paginate<T>(
  items: T[],
  input: Input,
  scope: string,
  limits: ListLimits,
): { page: T[]; NextMarker?: string; Truncated: boolean } {
  const limit = num(input, 'Limit') ?? limits.default;
  if (limit < 1 || limit > limits.max) {
    throw new ServiceError(
      'ValidationException',
      `1 validation error detected: Value '${limit}' at 'limit' failed to satisfy constraint: Member must have value between 1 and ${limits.max}`,
    );
  }
  let offset = 0;
  const marker = str(input, 'Marker');
  if (marker !== undefined) {
    try {
      const m = JSON.parse(Buffer.from(marker, 'base64url').toString('utf8')) as { s: unknown; o: unknown };
      if (m.s !== scope || typeof m.o !== 'number' || m.o < 0 || !Number.isInteger(m.o)) throw new Error('bad');
      offset = m.o;
    } catch {
      throw new ServiceError(
        'InvalidMarkerException',
        'The request was rejected because the marker that specifies where pagination should next begin is not valid.',
      );
    }
  }
  const page = items.slice(offset, offset + limit);
  const next = offset + page.length;
  if (next >= items.length) return { page, Truncated: false };
  return {
    page,
    Truncated: true,
    NextMarker: Buffer.from(JSON.stringify({ s: scope, o: next })).toString('base64url'),
  };
}
