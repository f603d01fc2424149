/**
 * The S3 settings, read from `connection_parameters__…` the way trollmoves
 * hands them to s3fs (`key`, `secret`, `token`, `anon`, `endpoint_url`,
 * `profile`, `use_ssl`, `client_kwargs`, `config_kwargs`,
 * `s3_additional_kwargs`), plus a few of ours (`part_size`,
 * `max_concurrency`, `checksum_algorithm`, `verify_etag`). Pure: no I/O.
 */
import type { ParsedUrl } from "../util/url.js";
import {
  boolParam,
  numberParam,
  secretDigest,
  stringParam,
} from "./parameters.js";

type Params = Readonly<Record<string, unknown>>;

/** Static credentials; absent means the SDK's own chain (environment, shared files, profile, instance role). */
export interface S3Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** Flexible checksums the SDK can add and the store verifies on receipt. */
export const CHECKSUM_ALGORITHMS = [
  "CRC32",
  "CRC32C",
  "SHA1",
  "SHA256",
  "CRC64NVME",
] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

export interface S3Settings {
  /** `endpoint_url` (or `client_kwargs__endpoint_url`); undefined: AWS. */
  readonly endpoint: string | undefined;
  /** `client_kwargs__region_name` (or `region_name`); undefined: the SDK's chain, else us-east-1. */
  readonly region: string | undefined;
  readonly credentials: S3Credentials | undefined;
  /** `profile`: a named profile of the shared config/credentials files. */
  readonly profile: string | undefined;
  /** `anon`: unsigned requests (public buckets). */
  readonly anonymous: boolean;
  /** Bucket in the path rather than the host name. */
  readonly forcePathStyle: boolean;
  /** `client_kwargs__verify = false`: accept any TLS certificate. */
  readonly tlsVerify: boolean;
  /** Bytes per part of a multipart upload (≥ 5 MiB, S3's minimum). */
  readonly partSize: number;
  /** Parts uploaded at once. */
  readonly queueSize: number;
  /** SDK checksum sent with every request and checked by the store; undefined: only when an operation requires one. */
  readonly checksumAlgorithm: ChecksumAlgorithm | undefined;
  /** Compare the store's ETag with the MD5 computed here (off by default with KMS or customer-key encryption). */
  readonly verifyEtag: boolean;
  /** `s3_additional_kwargs`: extra upload parameters (ServerSideEncryption, StorageClass, ACL…). */
  readonly extra: Readonly<Record<string, string>>;
  /** Identifies the client these settings build (secrets digested). */
  readonly cacheKey: string;
}

const MIB = 1024 * 1024;
export const MIN_PART_SIZE = 5 * MIB;
const DEFAULT_PART_SIZE = 8 * MIB;
/** Upload parameters the mover sets itself. */
const RESERVED = new Set([
  "Bucket",
  "Key",
  "Body",
  "Metadata",
  "ContentLength",
  "ChecksumAlgorithm",
]);

function nested(params: Params, name: string): Params {
  const v = params[name];
  if (v === undefined) return {};
  if (typeof v !== "object" || v === null)
    throw new TypeError(
      `connection_parameters__${name} must have nested values (connection_parameters__${name}__NAME)`,
    );
  return v as Params;
}

function first(...values: (string | undefined)[]): string | undefined {
  return values.find((v) => v !== undefined && v !== "");
}

function credentials(
  params: Params,
  client: Params,
  dest: ParsedUrl,
): S3Credentials | undefined {
  const accessKeyId = first(
    dest.username,
    stringParam(params, "key"),
    stringParam(client, "aws_access_key_id"),
  );
  const secretAccessKey = first(
    dest.password,
    stringParam(params, "secret"),
    stringParam(client, "aws_secret_access_key"),
  );
  const sessionToken = first(
    stringParam(params, "token"),
    stringParam(client, "aws_session_token"),
  );
  if (accessKeyId === undefined && secretAccessKey === undefined)
    return undefined;
  if (accessKeyId === undefined || secretAccessKey === undefined) {
    throw new TypeError(
      "connection_parameters__key and connection_parameters__secret must be given together",
    );
  }
  return sessionToken === undefined
    ? { accessKeyId, secretAccessKey }
    : { accessKeyId, secretAccessKey, sessionToken };
}

function endpointOf(params: Params, client: Params): string | undefined {
  const url = first(
    stringParam(params, "endpoint_url"),
    stringParam(client, "endpoint_url"),
  );
  if (url === undefined) return undefined;
  if (!/^https?:\/\/[^/]+/.test(url))
    throw new TypeError(
      `connection_parameters__endpoint_url is not an http(s) URL: '${url}'`,
    );
  if (boolParam(params, "use_ssl", true)) return url;
  return url.replace(/^https:/, "http:");
}

function checksumOf(params: Params): ChecksumAlgorithm | undefined {
  const text = stringParam(params, "checksum_algorithm")?.trim().toUpperCase();
  if (text === undefined || text === "" || text === "NONE") return undefined;
  if (!(CHECKSUM_ALGORITHMS as readonly string[]).includes(text)) {
    throw new TypeError(
      `connection_parameters__checksum_algorithm must be one of ${CHECKSUM_ALGORITHMS.join(", ")}: '${text}'`,
    );
  }
  return text as ChecksumAlgorithm;
}

function extraOf(params: Params): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(
    nested(params, "s3_additional_kwargs"),
  )) {
    if (RESERVED.has(name))
      throw new TypeError(
        `connection_parameters__s3_additional_kwargs__${name} is set by the mover`,
      );
    if (typeof value === "object" && value !== null)
      throw new TypeError(
        `connection_parameters__s3_additional_kwargs__${name} must be a single value`,
      );
    out[name] = String(value);
  }
  return out;
}

/** Encryption that makes the ETag something other than the MD5 of the bytes. */
function opaqueEtag(extra: Readonly<Record<string, string>>): boolean {
  return (
    (extra["ServerSideEncryption"] ?? "").startsWith("aws:kms") ||
    extra["SSECustomerKey"] !== undefined
  );
}

/**
 * Read the settings for a destination (or a source bucket).
 * @throws TypeError naming the option when a value is malformed.
 */
export function s3Settings(params: Params, dest: ParsedUrl): S3Settings {
  const client = nested(params, "client_kwargs");
  const config = nested(params, "config_kwargs");
  const s3Config = nested(config, "s3");
  const endpoint = endpointOf(params, client);
  const addressing = stringParam(s3Config, "addressing_style") ?? "auto";
  const region = first(
    stringParam(client, "region_name"),
    stringParam(params, "region_name"),
    stringParam(config, "region_name"),
  );
  const creds = credentials(params, client, dest);
  const extra = extraOf(params);
  const partSize = Math.floor(
    numberParam(params, "part_size", DEFAULT_PART_SIZE),
  );
  if (partSize < MIN_PART_SIZE)
    throw new TypeError(
      `connection_parameters__part_size must be at least ${MIN_PART_SIZE} (5 MiB): '${partSize}'`,
    );
  const settings = {
    endpoint,
    region,
    credentials: creds,
    profile: first(stringParam(params, "profile")),
    anonymous: boolParam(params, "anon", false),
    // botocore's "auto" puts the bucket in the path for custom endpoints.
    forcePathStyle:
      addressing === "path" ||
      (addressing === "auto" && endpoint !== undefined),
    tlsVerify: boolParam(client, "verify", true),
    partSize,
    queueSize: Math.max(
      1,
      Math.floor(numberParam(params, "max_concurrency", 4)),
    ),
    checksumAlgorithm: checksumOf(params),
    verifyEtag: boolParam(params, "verify_etag", !opaqueEtag(extra)),
    extra,
  };
  const { credentials: c, ...open } = settings;
  return {
    ...settings,
    cacheKey: `${JSON.stringify({ ...open, accessKeyId: c?.accessKeyId })}#${secretDigest(c?.secretAccessKey, c?.sessionToken)}`,
  };
}

/** The object key for a destination path: a trailing `/` keeps the file name (trollmoves' rule). */
export function objectKey(path: string, name: string): string {
  const trimmed = path.replace(/^\/+/, "");
  if (trimmed === "" || trimmed.endsWith("/")) return `${trimmed}${name}`;
  return trimmed;
}
