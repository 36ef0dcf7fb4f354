import { buffer as readBody } from 'node:stream/consumers';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { World, WorldFault } from '../world';
import { asServiceError, NOT_IMPLEMENTED, ServiceError, xmlEscape, type Service } from './errors';
import { findingSourceRoute } from './finding-route';
import { Kms, KMS_OPERATIONS } from './kms';
import { KmsKeys } from './kms-keys';
import { KmsGrants } from './kms-grants';
import { CallCounter, RequestQuotas, THROTTLING_MESSAGE } from './quotas';
import {
  checkKmsAnswer,
  checkKmsRequest,
  checkS3Answer,
  checkS3Request,
  checkSnsAnswer,
  checkSnsRequest,
} from '../models/check';
import { S3, S3_OPERATIONS, s3Operation } from './s3';
import { Scheduler } from './scheduler';
import { parseQuery, Sns, SNS_OPERATIONS } from './sns';
import { createAccountIam, type AccountIam } from '../iam';
import { StandInAuthz } from './authz';
import { FindingSources, FINDING_OPERATIONS } from './findings';
import type { StandIn, StandInCall } from './api';
import type { FindingService } from './errors';

/**
 * A local stand-in for KMS, SNS and S3 on 127.0.0.1, speaking the real wire protocols so the real
 * AWS SDK v3 clients work against it (`endpoint: standIn.endpoint`, the credentials of a
 * principal of the account (local/iam: a function's role, a person, or TEST_CREDENTIALS), and
 * `forcePathStyle: true` for S3). Every request's SigV4 signature is verified and every action it
 * needs is authorized by IAM (local/standin/authz.ts). Routing:
 *   - header `X-Amz-Target: TrentService.<Op>`            -> KMS (JSON 1.1)
 *   - form body (application/x-www-form-urlencoded) with `Action=` -> SNS (AWS query protocol, XML)
 *   - anything else                                       -> S3 (REST-XML, path-style)
 * The Region of a request is the one in its SigV4 credential scope. It is a stand-in, not a product: only the listed
 * operations exist, anything else fails with `NotImplementedByStandIn` naming the operation.
 */

export type { KmsCallCounters } from './quotas';
export type { SecurityHubUpdate } from './findings';
/** Name of the pre-created SNS topic. */
export const TOPIC_NAME = 'kms-incident-rotation';

export type { StandIn } from './api';

/** The fault error that closes the connection without an answer (KMS `afterPerforming` faults). */
const NO_RESPONSE = 'NoResponse';

const SERVICE_LABEL: Record<Service, string> = {
  kms: 'KMS',
  sns: 'SNS',
  s3: 'S3',
  guardduty: 'GuardDuty',
  securityhub: 'Security Hub',
  accessanalyzer: 'Access Analyzer',
};
const SUPPORTED: Record<Service, readonly string[]> = {
  kms: KMS_OPERATIONS,
  sns: SNS_OPERATIONS,
  s3: S3_OPERATIONS,
  ...FINDING_OPERATIONS,
};
/** The restJson1 finding sources by SigV4 signing name (the credential scope's service). */
const FINDING_SERVICES: Record<string, FindingService> = {
  guardduty: 'guardduty',
  securityhub: 'securityhub',
  'access-analyzer': 'accessanalyzer',
};

function regionOf(authorization: string | undefined): { region?: string; service?: string } {
  const m = /Credential=[^/,\s]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(authorization ?? '');
  return m ? { region: m[1], service: m[2] } : {};
}

const S3_LOGGED_HEADERS =
  /^(x-amz-(copy-source.*|server-side-encryption.*|metadata-directive|storage-class|meta-.*|website-redirect-location)|content-type)$/;

/**
 * Start the stand-in for a world. `speed` divides simulated time: rotations, and the refill of
 * the KMS request quotas (whose rates are per simulated second; see quotas.ts).
 */
export async function startStandIn(
  world: World,
  opts: {
    speed?: number;
    iam?: AccountIam;
    /** Simulated seconds before a grant works without its token (kms-grants.ts; default 60). */
    grantDelaySeconds?: number;
  } = {},
): Promise<StandIn> {
  const speed = opts.speed ?? 1;
  if (!(speed > 0) || !Number.isFinite(speed))
    throw new Error(`stand-in: speed must be a positive number (got ${speed})`);
  const scheduler = new Scheduler();
  const keys = new KmsKeys(world, speed, scheduler);
  const grants = new KmsGrants(keys, opts.grantDelaySeconds);
  const kms = new Kms(keys, grants);
  let s3: S3;
  try {
    s3 = new S3(world, keys);
    await s3.seedEnvelopes();
  } catch (e) {
    scheduler.clear();
    throw e;
  }
  const sns = new Sns(world.account);
  const findingSources = new FindingSources(world.account);
  const topicArn = sns.createTopic(TOPIC_NAME, world.region);
  // IAM is always on: without the stack's template the account still has the world's people
  // (without the stack's policies) and the test administrator (local/iam).
  const iam =
    opts.iam ?? createAccountIam({ template: { Resources: {} }, world, account: world.account, region: world.region });
  const authz = new StandInAuthz(iam, world, keys, s3, iam.resourcePolicies);
  authz.grants = grants;
  try {
    await iam.validate(
      [...world.keys.map((k) => k.policy), ...world.buckets.map((b) => b.policy)].filter((p) => p !== undefined),
    );
  } catch (e) {
    scheduler.clear();
    throw e;
  }
  const calls: StandInCall[] = [];
  const s3Hooks: { operation: string; bucket: string; key: string; fn: () => void }[] = [];
  const faults: WorldFault[] = world.faults.map((f) => ({ ...f }));
  const quotas = new RequestQuotas(world.quotas, speed);
  const counter = new CallCounter();
  // The KMS requests S3 makes for SSE-KMS objects share the account's quotas (after seeding).
  s3.kmsGate = (op, keyId, region, encryptionContext) => {
    const admitted = quotas.admit(world.account, region, op);
    counter.count(op, keyOfCall({ KeyId: keyId }, region), !admitted);
    if (!admitted) throw new ServiceError('ThrottlingException', THROTTLING_MESSAGE);
    authz.viaS3(op, keyId, region, encryptionContext);
  };

  /** The key a KMS call names: its ARN when the KeyId resolves, else the KeyId as sent, `-` for none. */
  function keyOfCall(input: Record<string, unknown>, region: string): string {
    const keyId = input.KeyId;
    if (typeof keyId !== 'string' || keyId === '') return '-';
    try {
      return keys.keyArn(keyId, region);
    } catch {
      return keyId;
    }
  }

  /**
   * The request quota comes first, as in KMS: a throttled request reaches nothing else (no fault,
   * no key). Every KMS call is counted, served or throttled. Callers are all in the world's
   * account, which is the account KMS throttles (also for keys of other accounts).
   */
  function admitKms(op: string, input: Record<string, unknown>, region: string): void {
    const admitted = quotas.admit(world.account, region, op);
    counter.count(op, keyOfCall(input, region), !admitted);
    if (!admitted) throw new ServiceError('ThrottlingException', THROTTLING_MESSAGE);
  }

  function takeFault(
    service: Service,
    operation: string,
  ): (ServiceError & { afterPerforming: boolean; okWithErrorBody: boolean }) | undefined {
    const f = faults.find((x) => x.service === service && x.operation === operation && x.times > 0);
    if (!f) return undefined;
    f.times -= 1;
    const error = new ServiceError(
      f.error,
      `Injected fault: ${f.error} (stand-in; ${f.times} more to come for ${service} ${operation})`,
    );
    return Object.assign(error, { afterPerforming: f.afterPerforming, okWithErrorBody: f.okWithErrorBody });
  }

  function notImplemented(service: Service, op: string): ServiceError {
    return new ServiceError(
      NOT_IMPLEMENTED,
      `The kms-incident-rotation stand-in does not implement ${SERVICE_LABEL[service]} operation ${op} (it implements: ${SUPPORTED[service].join(', ')})`,
    );
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const body = await readBody(req);
    const requestId = randomUUID();
    const scope = regionOf(req.headers.authorization);
    const region = scope.region ?? world.region;
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const target = req.headers['x-amz-target'];
    const contentType = req.headers['content-type'] ?? '';
    const form =
      req.method === 'POST' && url.pathname === '/' && contentType.startsWith('application/x-www-form-urlencoded')
        ? new URLSearchParams(body.toString('utf8'))
        : undefined;

    if (typeof target === 'string') {
      // JSON protocols. Only KMS (TrentService) is simulated.
      const isKms = target.startsWith('TrentService.');
      const op = isKms ? target.slice('TrentService.'.length) : target;
      const service: Service = isKms
        ? 'kms'
        : scope.service === 'sns' || scope.service === 's3'
          ? scope.service
          : 'kms';
      let input: Record<string, unknown> = {};
      const call: StandInCall = { service, operation: op, region, input, at };
      calls.push(call);
      const reply = (status: number, payload: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId });
        res.end(JSON.stringify(payload));
      };
      try {
        try {
          input = body.length ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
          call.input = input;
        } catch {
          throw new ServiceError('SerializationException', 'The request body is not valid JSON');
        }
        const caller = await authz.authenticate(service, req, body);
        call.caller = caller.arn;
        // The published model's constraints (local/models), before quotas and faults.
        if (isKms) checkKmsRequest(op, input);
        if (isKms && (KMS_OPERATIONS as readonly string[]).includes(op)) admitKms(op, input, region);
        if (isKms && (KMS_OPERATIONS as readonly string[]).includes(op)) authz.kms(caller, op, input, region);
        const fault = takeFault(service, op);
        if (fault && !fault.afterPerforming) throw fault;
        if (!isKms)
          throw new ServiceError(
            NOT_IMPLEMENTED,
            `The kms-incident-rotation stand-in routes X-Amz-Target only for KMS (TrentService.*); got ${target}`,
          );
        if (!(KMS_OPERATIONS as readonly string[]).includes(op)) throw notImplemented('kms', op);
        const output = kms.handle(op, input, region);
        if (fault) {
          // A lost answer: the operation took effect, the caller hears an error or nothing at all.
          call.performed = true;
          if (fault.code === NO_RESPONSE) {
            call.error = NO_RESPONSE;
            res.destroy();
            return;
          }
          throw fault;
        }
        checkKmsAnswer(op, output);
        reply(200, output);
      } catch (e) {
        const err = asServiceError(e);
        call.error = err.code;
        reply(err.status, { __type: err.code, message: err.message });
      }
      return;
    }

    if (form?.has('Action')) {
      const op = form.get('Action')!;
      const input = parseQuery(form);
      delete input.Action;
      delete input.Version;
      const call: StandInCall = { service: 'sns', operation: op, region, input, at };
      calls.push(call);
      try {
        const caller = await authz.authenticate('sns', req, body);
        call.caller = caller.arn;
        // The published model's constraints (local/models), before faults.
        checkSnsRequest(op, form);
        if ((SNS_OPERATIONS as readonly string[]).includes(op)) authz.sns(caller, op, input);
        const fault = takeFault('sns', op);
        if (fault) throw fault;
        if (!(SNS_OPERATIONS as readonly string[]).includes(op)) throw notImplemented('sns', op);
        const xml = sns.handle(op, input, region, requestId);
        checkSnsAnswer(op, xml);
        res.writeHead(200, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId });
        res.end(xml);
      } catch (e) {
        const err = asServiceError(e);
        call.error = err.code;
        const type = err.status >= 500 ? 'Receiver' : 'Sender';
        res.writeHead(err.status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId });
        res.end(
          `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>${type}</Type><Code>${xmlEscape(err.code)}</Code><Message>${xmlEscape(err.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
        );
      }
      return;
    }

    const findingService = scope.service ? FINDING_SERVICES[scope.service] : undefined;
    if (findingService) {
      await serveFindingSource(findingService, req, res, url, body, region, requestId, at);
      return;
    }

    // S3, path-style: /bucket/key
    const method = req.method ?? 'GET';
    const path = url.pathname.slice(1);
    const slash = path.indexOf('/');
    let bucket = slash < 0 ? path : path.slice(0, slash);
    let key = slash < 0 ? '' : path.slice(slash + 1);
    let badUri = false;
    try {
      bucket = decodeURIComponent(bucket);
      key = decodeURIComponent(key);
    } catch {
      badUri = true;
    }
    const op = s3Operation(method, bucket, key, url.searchParams, req.headers);
    const query = Object.fromEntries([...url.searchParams].filter(([k]) => k !== 'x-id'));
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => S3_LOGGED_HEADERS.test(k)));
    const call: StandInCall = {
      service: 's3',
      operation: op,
      region,
      input: { Bucket: bucket, Key: key || undefined, query, headers, bodyBytes: body.length },
      at,
    };
    calls.push(call);
    const s3Headers = {
      'x-amz-request-id': requestId.replace(/-/g, '').slice(0, 16).toUpperCase(),
      'x-amz-id-2': randomBytes(24).toString('base64'),
    };
    try {
      if (badUri) throw new ServiceError('InvalidURI', "Couldn't parse the specified URI.", 400);
      const caller = await authz.authenticate('s3', req, body);
      call.caller = caller.arn;
      // The published model's constraints (local/models), before faults.
      const facts = { bucket, key, query: url.searchParams, headers: req.headers, body };
      checkS3Request(op, facts);
      // HEAD/GET: which Object Lock fields the caller may see.
      const lockVisible = authz.s3Request(caller, { operation: op, ...facts });
      const fault = takeFault('s3', op);
      if (fault?.okWithErrorBody) {
        // S3 sends 200 and its headers before the copy is done; a failure then arrives as the body.
        call.error = fault.code;
        res.writeHead(200, { ...s3Headers, 'content-type': 'application/xml' });
        res.end(
          `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xmlEscape(fault.code)}</Code><Message>${xmlEscape(fault.message)}</Message><RequestId>${s3Headers['x-amz-request-id']}</RequestId><HostId>${s3Headers['x-amz-id-2']}</HostId></Error>`,
        );
        return;
      }
      if (fault) throw fault;
      if (!(S3_OPERATIONS as readonly string[]).includes(op)) throw notImplemented('s3', op);
      const out = authz.asS3Caller(caller, () => s3.handle(op, { method, ...facts, region, requestId, lockVisible }));
      const hook = s3Hooks.findIndex((h) => h.operation === op && h.bucket === bucket && h.key === key);
      if (hook >= 0) s3Hooks.splice(hook, 1)[0].fn();
      checkS3Answer(op, out.headers, method === 'HEAD' ? undefined : out.body);
      res.writeHead(out.status, { ...s3Headers, ...out.headers });
      res.end(method === 'HEAD' ? undefined : out.body);
    } catch (e) {
      const err = asServiceError(e);
      call.error = err.code;
      const extraHeaders: Record<string, string> =
        err.code === 'PermanentRedirect' && err.extra.Region ? { 'x-amz-bucket-region': err.extra.Region } : {};
      if (method === 'HEAD') {
        res.writeHead(err.status, { ...s3Headers, ...extraHeaders });
        res.end();
        return;
      }
      const extra = Object.entries(err.extra)
        .map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`)
        .join('');
      res.writeHead(err.status, { ...s3Headers, ...extraHeaders, 'content-type': 'application/xml' });
      res.end(
        `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xmlEscape(err.code)}</Code><Message>${xmlEscape(err.message)}</Message>${extra}<RequestId>${s3Headers['x-amz-request-id']}</RequestId><HostId>${s3Headers['x-amz-id-2']}</HostId></Error>`,
      );
    }
  }

  const serveFindingSource = findingSourceRoute({
    world,
    authz,
    findingSources,
    calls,
    takeFault,
    label: (service) => SERVICE_LABEL[service],
    implemented: (service) => SUPPORTED[service],
  });

  const server = createServer((req, res) => {
    onRequest(req, res).catch((e: unknown) => {
      // Only reached when writing the response itself failed.
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`stand-in failure: ${(e as Error).message}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  let closed: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    topicArn,
    calls,
    published: sns.published,
    addFault(f) {
      if (!(f.service in SERVICE_LABEL) || !f.operation || !f.error || !Number.isInteger(f.times) || f.times < 1) {
        throw new Error(`stand-in: invalid fault ${JSON.stringify(f)}`);
      }
      faults.push({ afterPerforming: false, okWithErrorBody: false, ...f });
    },
    counters: () => counter.snapshot(),
    onceAfterS3(operation, bucket, key, fn) {
      s3Hooks.push({ operation, bucket, key, fn });
    },
    putS3Object(bucket, key, body) {
      s3.handle('PutObject', {
        method: 'PUT',
        bucket,
        key,
        query: new URLSearchParams(),
        headers: {},
        body: Buffer.from(body),
        region: world.region,
        requestId: randomUUID(),
      });
    },
    keyArn: (idOrAlias, region) => keys.keyArn(idOrAlias, region ?? world.region),
    setKeyTag: (idOrAlias, tagKey, value) => {
      keys.resolve(idOrAlias, world.region, true, 'TagResource').tags.set(tagKey, value);
    },
    s3Object: (b, k) => s3.objectInfo(b, k),
    s3Report: (buckets) => s3.report(buckets),
    fileFinding: (event) => findingSources.file(event),
    securityHubUpdates: findingSources.securityHubUpdates,
    securityHubFinding: (productArn, id) => findingSources.securityHubFinding(productArn, id),
    inspectCiphertext: (blob) => keys.inspect(Buffer.from(blob)),
    grants: (idOrAlias) => grants.of(keys.keyArn(idOrAlias, world.region)).map((g) => ({ ...g, tokens: undefined })),
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        scheduler.clear();
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
