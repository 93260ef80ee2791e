import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { createS3Client, type S3Settings } from '../../storage/blobs/s3/s3-client.js';
import { ROOT } from './server.js';

/** s3rver accepts exactly this key pair (and signs nothing else). */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface TestS3 {
  endpoint: string;
  region: string;
  /** A bucket created at start-up. */
  bucket: string;
  /** Settings for createS3Client / the server config, with s3rver's credentials. */
  settings(bucket?: string): S3Settings;
  /** A client with the checksum options s3rver needs. */
  client: S3Client;
  /** Environment variables that point a server process at this bucket. */
  env(bucket?: string): Record<string, string>;
  createBucket(name: string): Promise<void>;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts s3rver as a real child process on 127.0.0.1 (a random port chosen by the OS) with a
 * fresh temp directory, and waits until it listens.
 */
export async function startS3rver(bucket = 'cb-test'): Promise<TestS3> {
  const dir = await mkdtemp(join(tmpdir(), 'cb-s3rver-'));
  const child: ChildProcess = spawn(
    process.execPath,
    [join(ROOT, 'node_modules/s3rver/bin/s3rver.js'), '--directory', dir, '--address', '127.0.0.1', '--port', '0', '--silent', '--configure-bucket', bucket],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  let port: number;
  try {
    port = await new Promise<number>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`s3rver did not start:\n${out}`)), 20_000);
      child.stdout?.on('data', () => {
        const m = /listening on [^:\s]+:(\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          res(Number(m[1]));
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        rej(new Error(`s3rver exited with ${code}:\n${out}`));
      });
    });
  } catch (err) {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const endpoint = `http://127.0.0.1:${port}`;
  const region = 'us-east-1';
  const settings = (b = bucket): S3Settings => ({ endpoint, region, bucket: b, credentials: S3RVER_CREDENTIALS });
  const client = createS3Client(settings());
  return {
    endpoint,
    region,
    bucket,
    settings,
    client,
    env: (b = bucket) => ({
      CB_STORAGE: 's3',
      CB_S3_ENDPOINT: endpoint,
      CB_S3_BUCKET: b,
      CB_S3_REGION: region,
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    }),
    async createBucket(name) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    output: () => out,
    async stop() {
      client.destroy();
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
