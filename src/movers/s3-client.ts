/**
 * S3 clients built from S3Settings, cached per settings (the SDK keeps its
 * own keep-alive pool per client), and S3 failures worded for the operator.
 * Credentials go to the SDK only: never into a key, a log line or a message.
 */
import { Agent } from "node:https";
import { S3Client, S3ServiceException } from "@aws-sdk/client-s3";
import type { S3Settings } from "./s3-settings.js";
import { errorMessage } from "../errors.js";
import { socketFailure } from "./endpoints.js";

const FALLBACK_REGION = "us-east-1";

function build(s: S3Settings, region: string | undefined): S3Client {
  return new S3Client({
    ...(region === undefined ? {} : { region }),
    ...(s.endpoint === undefined ? {} : { endpoint: s.endpoint }),
    ...(s.credentials === undefined
      ? {}
      : { credentials: { ...s.credentials } }),
    ...(s.profile === undefined ? {} : { profile: s.profile }),
    ...(s.anonymous
      ? {
          credentials: { accessKeyId: "", secretAccessKey: "" },
          signer: { sign: async (r) => r },
        }
      : {}),
    ...(s.tlsVerify
      ? {}
      : {
          requestHandler: {
            httpsAgent: new Agent({
              rejectUnauthorized: false,
              keepAlive: true,
            }),
          },
        }),
    forcePathStyle: s.forcePathStyle,
    requestChecksumCalculation:
      s.checksumAlgorithm === undefined ? "WHEN_REQUIRED" : "WHEN_SUPPORTED",
    responseChecksumValidation: "WHEN_SUPPORTED",
    maxAttempts: 3,
  });
}

/** One S3Client per distinct settings. */
export class S3ClientCache {
  private readonly clients = new Map<string, Promise<S3Client>>();

  /** The client for these settings; its region falls back to us-east-1 when neither settings nor the SDK's chain name one. */
  get(s: S3Settings): Promise<S3Client> {
    let c = this.clients.get(s.cacheKey);
    if (c === undefined) {
      c = this.create(s);
      this.clients.set(s.cacheKey, c);
      c.catch(() => this.clients.delete(s.cacheKey));
    }
    return c;
  }

  private async create(s: S3Settings): Promise<S3Client> {
    if (s.region !== undefined) return build(s, s.region);
    const client = build(s, undefined);
    try {
      await client.config.region();
      return client;
    } catch {
      client.destroy();
      return build(s, FALLBACK_REGION);
    }
  }

  /** Destroy every client (closes their sockets). */
  async close(): Promise<void> {
    const all = [...this.clients.values()];
    this.clients.clear();
    for (const c of await Promise.allSettled(all))
      if (c.status === "fulfilled") c.value.destroy();
  }
}

/** The S3 error code of a failure (`NoSuchBucket`, `AccessDenied`…), if it is one. */
export function s3Code(err: unknown): string | undefined {
  if (err instanceof S3ServiceException) return err.name;
  const name = (err as { name?: unknown } | undefined)?.name;
  return typeof name === "string" ? name : undefined;
}

const AUTH = new Set([
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "AccessDenied",
  "ExpiredToken",
  "InvalidToken",
  "Forbidden",
  "AllAccessDisabled",
]);

/** A failure talking to S3 as one sentence naming the bucket, never a credential. */
export function describeS3Failure(
  err: unknown,
  bucket: string,
  endpoint: string | undefined,
): string {
  const code = s3Code(err);
  const where =
    endpoint === undefined ? `s3://${bucket}` : `s3://${bucket} at ${endpoint}`;
  if (code === "NoSuchBucket") return `no such bucket: ${where}`;
  if (code !== undefined && AUTH.has(code))
    return `access denied to ${where} (${code}): check the key, secret or profile`;
  if (code === "CredentialsProviderError")
    return `no credentials for ${where}: give connection_parameters__key and __secret, a profile, or the AWS environment variables (${errorMessage(err)})`;
  if (
    code === "BadDigest" ||
    code === "InvalidDigest" ||
    /checksum/i.test(code ?? "")
  )
    return `checksum refused by ${where} (${code})`;
  const host =
    endpoint === undefined
      ? undefined
      : /^https?:\/\/([^/:]+|\[[^\]]+\])(?::(\d+))?/.exec(endpoint);
  const ep = { host: host?.[1] ?? bucket, port: Number(host?.[2] ?? 443) };
  const sock =
    socketFailure(err, ep) ??
    socketFailure((err as { cause?: unknown } | undefined)?.cause, ep);
  if (sock !== undefined) return `${sock.message} (${where})`;
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  if (errno === "ENOENT" || errno === "EACCES") return errorMessage(err);
  return `${where}: ${code === undefined || code === "Error" ? "" : `${code}: `}${errorMessage(err)}`;
}
