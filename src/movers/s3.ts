/**
 * `s3://bucket/prefix/`: upload with the AWS SDK v3. A trailing `/` keeps
 * the file name (trollmoves' rule); files larger than one part go up as a
 * multipart upload (lib-storage), which S3 makes visible only when it
 * completes, and which is aborted on failure, so no partial object ever
 * appears under the key. The local file's sha256 travels as object metadata
 * (`x-amz-meta-sha256`), and the ETag the store returns is checked against
 * the MD5 (per part for multipart) computed here; a mismatch deletes the
 * object and fails the push. Buckets are never created: a missing one is an
 * error, where s3fs would make it.
 */
import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { basename } from "node:path";
import { Transform, type Readable } from "node:stream";
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  type PutObjectCommandInput,
  type S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { StepError, TransferError, errorMessage } from "../errors.js";
import { formatUrl } from "../util/url.js";
import { abortable } from "../util/abort.js";
import {
  localSize,
  type MoveRequest,
  type MoveResult,
  type Mover,
  type StreamSource,
} from "./mover.js";
import { S3ClientCache, describeS3Failure, s3Code } from "./s3-client.js";
import { objectKey, s3Settings, type S3Settings } from "./s3-settings.js";

/** What the local file should look like on the store. */
export interface LocalDigests {
  size: number;
  sha256: string;
  /** Parts of a multipart upload (1: a single PUT). */
  parts: number;
  /** The ETags a store may give these bytes uploaded in parts of `partSize`: S3's (MD5, or MD5 of the part MD5s and `-N`) and the whole file's MD5 (some stores give that for multipart too). */
  etags: readonly string[];
}

/** The digests of bytes as they go by: their sha256 and the ETags a store may give them uploaded in parts of `partSize`. */
export class RunningDigests {
  private readonly sha = createHash("sha256");
  private readonly whole = createHash("md5");
  private readonly parts: Buffer[] = [];
  private part: Hash = createHash("md5");
  private inPart = 0;
  private size = 0;

  constructor(private readonly partSize: number) {}

  update(buf: Buffer): void {
    this.size += buf.length;
    this.sha.update(buf);
    this.whole.update(buf);
    for (let at = 0; at < buf.length;) {
      const take = Math.min(this.partSize - this.inPart, buf.length - at);
      this.part.update(buf.subarray(at, at + take));
      this.inPart += take;
      at += take;
      if (this.inPart === this.partSize) {
        this.parts.push(this.part.digest());
        this.part = createHash("md5");
        this.inPart = 0;
      }
    }
  }

  /** Once every byte went by. */
  result(): LocalDigests {
    if (this.inPart > 0) this.parts.push(this.part.digest());
    this.inPart = 0;
    const count = Math.max(1, Math.ceil(this.size / this.partSize));
    const md5 = this.whole.digest("hex");
    const etags =
      count === 1
        ? [md5]
        : [
            `${createHash("md5").update(Buffer.concat(this.parts)).digest("hex")}-${count}`,
            md5,
          ];
    return {
      size: this.size,
      sha256: this.sha.digest("hex"),
      parts: count,
      etags,
    };
  }
}

/** One pass over the file: its sha256, and the ETags a store may report for it. */
export async function localDigests(
  path: string,
  partSize: number,
  signal: AbortSignal,
): Promise<LocalDigests> {
  await localSize(path);
  const d = new RunningDigests(partSize);
  for await (const chunk of createReadStream(path, {
    signal,
    highWaterMark: 1 << 20,
  }))
    d.update(chunk as Buffer);
  return d.result();
}

/** An ETag shaped like an MD5 (what S3 gives unless the object is KMS- or customer-key encrypted). */
function md5Shaped(etag: string): boolean {
  return /^[0-9a-f]{32}(-\d+)?$/.test(etag);
}

interface UploadJob {
  bucket: string;
  key: string;
  /** The bytes, and their size and sha256 (metadata) when known before reading. */
  body: Readable;
  size: number;
  sha256: string | undefined;
  /** The ETags these bytes may get; read once the upload is done (every byte went by). */
  etags: () => readonly string[];
  signal: AbortSignal;
}

async function upload(
  client: S3Client,
  s: S3Settings,
  job: UploadJob,
): Promise<void> {
  const params: PutObjectCommandInput = {
    ...(s.extra as Partial<PutObjectCommandInput>),
    Bucket: job.bucket,
    Key: job.key,
    Body: job.body,
    ContentLength: job.size,
    ...(job.sha256 === undefined ? {} : { Metadata: { sha256: job.sha256 } }),
    ...(s.checksumAlgorithm === undefined
      ? {}
      : { ChecksumAlgorithm: s.checksumAlgorithm }),
  };
  const up = new Upload({
    client,
    params,
    partSize: s.partSize,
    queueSize: s.queueSize,
    leavePartsOnError: false,
  });
  try {
    const out = await abortable(
      job.signal,
      () => up.done(),
      () => void up.abort(),
    );
    const etag = (out.ETag ?? "").replace(/"/g, "").toLowerCase();
    const etags = job.etags();
    if (s.verifyEtag && md5Shaped(etag) && !etags.includes(etag)) {
      await client
        .send(new DeleteObjectCommand({ Bucket: job.bucket, Key: job.key }))
        .catch(() => undefined);
      throw new StepError(
        `checksum mismatch for s3://${job.bucket}/${job.key}: the store has ETag ${etag}, the bytes sent give ${etags[0] ?? ""}; object removed`,
      );
    }
  } finally {
    job.body.destroy();
  }
}

/** Largest object a single CopyObject copies. */
const MAX_COPY = 5 * 1024 ** 3;
/** Codes meaning "this store (or these credentials) will not copy from there": stream instead. */
const NO_COPY = new Set([
  "AccessDenied",
  "NotImplemented",
  "InvalidRequest",
  "XAmzContentSHA256Mismatch",
]);

/** The mover for `s3://`. */
export class S3Mover implements Mover {
  readonly schemes: readonly string[] = ["s3"];
  private readonly clients = new S3ClientCache();

  async move(req: MoveRequest): Promise<MoveResult> {
    const dest = req.destination;
    const bucket = dest.hostname;
    const key = objectKey(dest.path, basename(req.source));
    const uri = `s3://${bucket}/${key}`;
    let settings: S3Settings | undefined;
    try {
      if (bucket === "")
        throw new StepError(`no bucket in destination ${formatUrl(dest)}`);
      settings = s3Settings(req.connectionParameters, dest);
      const started = Date.now();
      const client = await this.clients.get(settings);
      if (req.stream !== undefined)
        return await this.moveStream(
          req,
          req.stream,
          client,
          settings,
          bucket,
          key,
        );
      const digests = await localDigests(
        req.source,
        settings.partSize,
        req.signal,
      );
      await upload(client, settings, {
        bucket,
        key,
        body: createReadStream(req.source),
        size: digests.size,
        sha256: digests.sha256,
        etags: () => digests.etags,
        signal: req.signal,
      });
      req.log.debug(
        {
          bucket,
          key,
          bytes: digests.size,
          parts: digests.parts,
          sha256: digests.sha256,
          durationMs: Date.now() - started,
        },
        "object uploaded",
      );
      return { uri, bytes: digests.size, method: "upload" };
    } catch (err) {
      if (req.signal.aborted) throw req.signal.reason;
      const known = err instanceof StepError || err instanceof TypeError;
      const message = known
        ? errorMessage(err)
        : describeS3Failure(err, bucket, settings?.endpoint);
      throw new TransferError(
        message,
        { scheme: "s3", destination: uri },
        { cause: err },
      );
    }
  }

  /**
   * Streamed bytes (a bucket section's object): copied server-side when
   * they are an object of the same store (CopyObject, atomic, metadata
   * kept, only if the object is still the one announced), else piped from
   * the source into the upload, its ETag checked against the MD5s computed
   * on the way.
   */
  private async moveStream(
    req: MoveRequest,
    stream: StreamSource,
    client: S3Client,
    s: S3Settings,
    bucket: string,
    key: string,
  ): Promise<MoveResult> {
    const uri = `s3://${bucket}/${key}`;
    const started = Date.now();
    const obj = stream.object;
    if (
      obj !== undefined &&
      obj.endpoint === s.endpoint &&
      stream.size <= MAX_COPY
    ) {
      try {
        const copySource = `${obj.bucket}/${obj.key.split("/").map(encodeURIComponent).join("/")}`;
        await client.send(
          new CopyObjectCommand({
            Bucket: bucket,
            Key: key,
            CopySource: copySource,
            MetadataDirective: "COPY",
            ...(obj.etag === undefined ? {} : { CopySourceIfMatch: obj.etag }),
          }),
          { abortSignal: req.signal },
        );
        req.log.debug(
          {
            from: stream.uri,
            bucket,
            key,
            bytes: stream.size,
            durationMs: Date.now() - started,
          },
          "object copied",
        );
        return { uri, bytes: stream.size, method: "copy" };
      } catch (err) {
        if (req.signal.aborted || !NO_COPY.has(s3Code(err) ?? "")) throw err;
        req.log.debug(
          { from: stream.uri, code: s3Code(err) },
          "server-side copy refused, streaming",
        );
      }
    }
    const digests = new RunningDigests(s.partSize);
    const tap = new Transform({
      transform(chunk: Buffer, _enc, done) {
        digests.update(chunk);
        done(null, chunk);
      },
    });
    const source = await stream.open(req.signal);
    let failed: Error | undefined;
    source.once("error", (err) => {
      failed = err;
      tap.destroy(err);
    });
    source.pipe(tap);
    let result: LocalDigests | undefined;
    try {
      await upload(client, s, {
        bucket,
        key,
        body: tap,
        size: stream.size,
        sha256: stream.sha256,
        etags: () => (result ??= digests.result()).etags,
        signal: req.signal,
      });
    } catch (err) {
      // The source's failure (short read, wrong sha256) says what went wrong; the upload's is a consequence.
      throw failed ?? err;
    } finally {
      source.destroy();
    }
    req.log.debug(
      {
        from: stream.uri,
        bucket,
        key,
        bytes: stream.size,
        durationMs: Date.now() - started,
      },
      "object uploaded",
    );
    return { uri, bytes: stream.size, method: "stream" };
  }

  close(): Promise<void> {
    return this.clients.close();
  }
}
