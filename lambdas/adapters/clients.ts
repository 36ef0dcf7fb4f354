/**
 * AWS client factories, one module per service (kms-client.ts, sns-client.ts,
 * dynamodb-client.ts) so that a function's bundle requires only the SDK clients it uses: each
 * client package costs ~90 ms of cold module load (docs/operating.md "Lean functions"), and this module
 * once loaded all three into every function.
 *
 * One client per Region (a multi-Region replica is rotated through its primary, in the primary's
 * Region), reused across invocations. The SDK reads endpoints from the standard environment
 * (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_KMS, ...), which is how local runs reach the stand-in; the
 * cache key includes them so a changed endpoint gets a new client. It also includes the access key
 * id of the environment's credentials: a client keeps the credentials it resolved first, and local
 * runs execute several functions (each with its own role) in one process. In Lambda both are
 * constant for the life of the execution environment, so this changes nothing there.
 */
const clients = new Map<string, unknown>();

/** The client of `service` for `region` (and `variant`), created once per endpoint. */
export function cachedClient<T>(service: string, region: string, variant: string, create: () => T): T {
  const endpoint = process.env[`AWS_ENDPOINT_URL_${service}`] ?? process.env.AWS_ENDPOINT_URL ?? '';
  const key = `${service}|${variant}|${region}|${endpoint}|${process.env.AWS_ACCESS_KEY_ID ?? ''}`;
  let client = clients.get(key) as T | undefined;
  if (!client) {
    client = create();
    clients.set(key, client);
  }
  return client;
}
