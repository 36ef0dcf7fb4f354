import { routePath, type RouteName } from '../lambdas/domain/approvals/front-door';
import { signRequest, type Credentials } from './sigv4-sign';

/**
 * The front door's HTTP client: a JSON POST signed with SigV4 as API Gateway verifies it. It sits
 * in local/ because both the CLI (cli/front-door.ts) and the offline simulation sign requests, and
 * a tier imports only the tiers below it (lambdas -> lib -> local -> cli -> bin).
 */

/** An answer of the front door: its HTTP status and JSON body. */
export interface FrontDoorAnswer {
  status: number;
  body: Record<string, unknown>;
}

/**
 * POST a JSON body to a front-door route, signed with SigV4 (execute-api) with `credentials`.
 * Shared by the CLI and the offline simulation (which signs as the world's people).
 */
export async function signedPost(
  baseUrl: string,
  route: RouteName,
  params: Record<string, string>,
  body: unknown,
  credentials: Credentials,
  region: string,
): Promise<FrontDoorAnswer> {
  const url = new URL(routePath(route, params).replace(/^\//, ''), baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  const text = JSON.stringify(body);
  const headers = await signRequest(
    { method: 'POST', url, headers: { 'content-type': 'application/json' }, body: text },
    credentials,
    region,
  );
  // fetch sets Host itself (the signed value is the URL's host, the same).
  const { host: _host, ...sent } = headers;
  const response = await fetch(url, { method: 'POST', headers: sent, body: text });
  const raw = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = { message: raw.slice(0, 400) };
  }
  return {
    status: response.status,
    body:
      typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : { message: String(parsed) },
  };
}
