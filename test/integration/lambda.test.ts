import { randomBytes } from 'node:crypto';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { APIGatewayProxyResult, LambdaEvent } from 'hono/aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaConfig } from '../../adapters/lambda/config.js';
import { createLambdaHandler, type LambdaHandler } from '../../adapters/lambda/handler.js';
import { openLambdaRuntime, sweepOnce, type LambdaRuntime } from '../../adapters/lambda/index.js';
import { createClient } from '../../adapters/node/tokens.js';
import { sha256 } from '../helpers/bytes.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { S3RVER_CREDENTIALS, startS3rver, type TestS3 } from '../helpers/s3rver.js';

/** API Gateway HTTP API events (payload format 2.0): the LambdaEvent member with a rawPath. */
type APIGatewayProxyEventV2 = Extract<LambdaEvent, { rawPath: string }>;

/** A synthetic API Gateway HTTP API (payload v2) event, as Lambda would receive it. */
function event(method: string, pathAndQuery: string, headers: Record<string, string> = {}, body?: Uint8Array): APIGatewayProxyEventV2 {
  const [rawPath = '/', rawQueryString = ''] = pathAndQuery.split('?');
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
    requestContext: {
      accountId: '123456789012',
      authentication: null,
      authorizer: {},
      apiId: 'api',
      domainName: 'api.example.test',
      domainPrefix: 'api',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' },
      requestId: `req-${Math.random().toString(36).slice(2)}`,
      routeKey: '$default',
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
    isBase64Encoded: body !== undefined,
    body: body !== undefined ? Buffer.from(body).toString('base64') : null,
  };
}

function bodyOf(r: APIGatewayProxyResult): Buffer {
  return Buffer.from(r.body, r.isBase64Encoded ? 'base64' : 'utf8');
}

const pgMissing = postgresUnavailable();

describe.skipIf(pgMissing !== undefined)(`adapters/lambda: the handlers on AWS Lambda with S3 + PostgreSQL${pgMissing ? ` (skipped: ${pgMissing})` : ''}`, () => {
  let s3: TestS3;
  let pg: TestPostgres;
  let runtime: LambdaRuntime;
  let handler: LambdaHandler;
  let auth: Record<string, string>;
  const logs: string[] = [];
  let ahead = 0;
  const data = randomBytes(200_000);
  const call = async (e: APIGatewayProxyEventV2) => (await handler(e)) as APIGatewayProxyResult;

  beforeAll(async () => {
    s3 = await startS3rver('lambda-blobs');
    pg = await startPostgres();
    const config = lambdaConfig({
      CB_S3_BUCKET: s3.bucket,
      CB_S3_ENDPOINT: s3.endpoint,
      AWS_REGION: s3.region,
      CB_DATABASE_URL: await pg.createDatabase(),
      CB_HOT_TIME: '1s',
    });
    // The runtime's clock runs ahead on demand: a file ages past CB_HOT_TIME without a sleep.
    runtime = await openLambdaRuntime(config, { credentials: S3RVER_CREDENTIALS, log: (l) => logs.push(l), clock: () => Date.now() + ahead });
    handler = createLambdaHandler(runtime.deps);
    auth = { Authorization: `Bearer ${await createClient(runtime.deps.catalog, 'alice')}` };
  });
  afterAll(async () => {
    await runtime?.close();
    await pg?.stop();
    await s3?.stop();
  });

  it('answers /healthz and asks for credentials like the node server', async () => {
    expect((await call(event('GET', '/healthz'))).statusCode).toBe(200);
    const denied = await call(event('GET', '/api/files'));
    expect(denied.statusCode).toBe(401);
    expect(denied.headers?.['www-authenticate']).toBe('Basic realm="cloud-backup"');
    // Metrics belong to a long-running process: the Lambda adapter has none.
    expect((await call(event('GET', '/metrics', auth))).statusCode).toBe(404);
  });

  it('uploads a small file (base64 body), lists it, and serves a ranged download', async () => {
    const put = await call(event('PUT', '/files/alice/docs/report.bin', { ...auth, 'X-File-Mtime': '1700000000000' }, data));
    expect(put.statusCode).toBe(201);
    expect(JSON.parse(put.body)).toMatchObject({ path: 'alice/docs/report.bin', size: data.length, sha256: sha256(data) });
    const objects = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'blobs/' }));
    expect(objects.Contents?.map((o) => o.Key)).toEqual([`blobs/${sha256(data)}`]);

    const list = await call(event('GET', '/api/files?prefix=alice/docs/', auth));
    expect(list.statusCode).toBe(200);
    expect(JSON.parse(list.body).items).toMatchObject([{ path: 'alice/docs/report.bin', size: data.length, mtime: 1700000000000, state: 'hot' }]);

    const part = await call(event('GET', '/files/alice/docs/report.bin', { ...auth, Range: 'bytes=1000-1999' }));
    expect(part.statusCode).toBe(206);
    expect(part.headers?.['content-range']).toBe(`bytes 1000-1999/${data.length}`);
    expect(part.isBase64Encoded).toBe(true);
    expect(bodyOf(part)).toEqual(data.subarray(1000, 2000));

    const full = await call(event('GET', '/files/alice/docs/report.bin', auth));
    expect(sha256(bodyOf(full))).toBe(sha256(data));
  });

  it('records reads before returning; the scheduled sweep compresses, a read promotes back', async () => {
    const text = Buffer.from('a line of very compressible text\n'.repeat(20_000));
    expect((await call(event('PUT', '/files/alice/logs/app.log', auth, text))).statusCode).toBe(201);
    ahead += 2_000;
    const report = await sweepOnce(runtime);
    expect(report.compressed).toBeGreaterThanOrEqual(1);
    const cold = await runtime.deps.catalog.getFile('alice/logs/app.log');
    expect(cold?.state).toBe('cold');
    const r = await call(event('GET', '/files/alice/logs/app.log', { ...auth, Range: 'bytes=33-65' }));
    expect(bodyOf(r).toString()).toBe('a line of very compressible text\n');
    // By the time the invocation returned, the read was recorded and the blob made hot again.
    const after = await runtime.deps.catalog.getFile('alice/logs/app.log');
    expect(after).toMatchObject({ state: 'hot' });
    expect(after?.lastAccess).toBeGreaterThan(cold?.lastAccess ?? 0);
  });
});

describe('lambdaConfig', () => {
  it('reads the same variables as the node adapter, with AWS_REGION as the region fallback', () => {
    expect(lambdaConfig({ CB_S3_BUCKET: 'b', CB_DATABASE_URL: 'postgres://db/x', AWS_REGION: 'eu-west-1', CB_MAX_UPLOAD: '5G' })).toEqual({
      bucket: 'b',
      endpoint: undefined,
      region: 'eu-west-1',
      databaseUrl: 'postgres://db/x',
      maxUploadBytes: 5 * 1024 ** 3,
      uploadExpiryMs: 24 * 3600 * 1000,
      maxOpenUploads: 100,
      maxUploadReserveBytes: 0,
      hotTimeMs: 7 * 24 * 3600 * 1000,
      retention: { keepAllMs: 24 * 3600 * 1000, keepDailyMs: 30 * 24 * 3600 * 1000, keepWeeklyMs: 26 * 7 * 24 * 3600 * 1000 },
      staleAfterMs: 2 * 24 * 3600 * 1000,
    });
    expect(lambdaConfig({ CB_S3_BUCKET: 'b', CB_DATABASE_URL: 'postgresql://db/x', CB_S3_REGION: 'r', AWS_REGION: 'x', CB_S3_ENDPOINT: 'http://minio:9000' })).toMatchObject({
      region: 'r',
      endpoint: 'http://minio:9000',
    });
  });

  it('refuses a configuration it cannot run with, naming every problem', () => {
    expect(() => lambdaConfig({ CB_STORAGE: 'disk', CB_HOT_TIME: 'soon' })).toThrow(
      /CB_S3_BUCKET is not set; CB_DATABASE_URL is not set; CB_STORAGE: only s3.*; CB_HOT_TIME: /,
    );
    expect(() => lambdaConfig({ CB_S3_BUCKET: 'b', CB_DATABASE_URL: 'mysql://x' })).toThrow(/expected a postgres:\/\/ URL/);
    // The node adapter's grammar and limits: the same variable means the same thing on both.
    expect(() => lambdaConfig({ CB_S3_BUCKET: 'b', CB_DATABASE_URL: 'postgres://db/x', CB_MAX_OPEN_UPLOADS: '0', CB_STORAGE: 'tape' })).toThrow(
      /CB_STORAGE: expected disk or s3, got "tape"; CB_MAX_OPEN_UPLOADS: expected an integer from 1 to 1000000/,
    );
    expect(lambdaConfig({ CB_S3_BUCKET: 'b', CB_DATABASE_URL: 'postgres://db/x', CB_MAX_UPLOAD_RESERVE: '3G', CB_KEEP_WEEKLY: '0' })).toMatchObject({
      maxUploadReserveBytes: 3 * 1024 ** 3,
      retention: { keepWeeklyMs: 0 },
    });
  });
});
