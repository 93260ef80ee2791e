import { S3Client } from '@aws-sdk/client-s3';

/** Where the bucket lives. Credentials default to the SDK's chain (AWS_ACCESS_KEY_ID, profiles, roles). */
export interface S3Settings {
  /** Custom endpoint for MinIO, Ceph RGW, s3rver...; absent for AWS S3. */
  endpoint?: string;
  region: string;
  bucket: string;
  /** Explicit keys (tests); otherwise the SDK's default credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Bucket in the path instead of the host name; default: on when `endpoint` is set. */
  forcePathStyle?: boolean;
}

/**
 * An S3 client that works with S3-compatible servers too. Checksums only WHEN_REQUIRED: with the
 * SDK's default (WHEN_SUPPORTED) streamed PutObject bodies use aws-chunked framing with trailing
 * checksums, which MinIO-alikes and s3rver store verbatim instead of decoding.
 */
export function createS3Client(settings: S3Settings): S3Client {
  return new S3Client({
    region: settings.region,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    forcePathStyle: settings.forcePathStyle ?? settings.endpoint !== undefined,
    ...(settings.credentials ? { credentials: settings.credentials } : {}),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // Backups are long streams; retry transient failures a few times, never forever.
    maxAttempts: 4,
    // A download holds its socket for as long as the client reads; the SDK's default pool of
    // 50 would make every other S3 call wait behind 50 slow restores.
    requestHandler: { httpAgent: { maxSockets: 512 }, httpsAgent: { maxSockets: 512 } },
  });
}
