/**
 * A bucket as a source: poll `ListObjectsV2` under the fixed prefix of an
 * `s3://bucket/prefix/{pattern}` origin, with a start-after marker (the last
 * key seen), and yield each new object whose uri matches the pattern; open
 * an object as a mover's stream source, its size and sha256 (the metadata
 * this project's mover writes, when present) checked on the way. Every key listed is yielded
 * (flagged when it does not match), so the caller can keep the marker. Objects only appear in a
 * listing once complete, so what is yielded is whole.
 */
import { createHash } from "node:crypto";
import { Transform } from "node:stream";
import type { Readable } from "node:stream";
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
} from "@aws-sdk/client-s3";
import type { StreamSource } from "./mover.js";
import type { Logger } from "../log.js";
import { validate } from "../pattern/index.js";
import { AsyncQueue } from "../util/async-queue.js";
import { parseUrl } from "../util/url.js";
import { StepError, errorMessage } from "../errors.js";
import { S3ClientCache, describeS3Failure } from "./s3-client.js";
import { s3Settings, type S3Settings } from "./s3-settings.js";

/** An object found in the bucket. */
export interface BucketObject {
  /** `s3://bucket/key`. */
  uri: string;
  key: string;
  size: number;
  /** True when the uri matches the origin's pattern (else it is only passed over: the marker moves past it). */
  matches: boolean;
}

export interface BucketSourceOptions {
  /** `s3://bucket/prefix/{fields}…`: the trollsift pattern is matched against the whole uri. */
  origin: string;
  connectionParameters: Readonly<Record<string, unknown>>;
  /** Seconds between listings. */
  pollInterval: number;
  /** Yield the objects already there at start (else only those that appear later). */
  backlog: boolean;
  /** List from after this key (the marker a previous run kept); undefined: from the start. */
  marker?: string | undefined;
  log: Logger;
}

/** Bucket and fixed key prefix (up to the first field or wildcard) of an `s3://` origin. */
export function bucketPrefix(origin: string): {
  bucket: string;
  prefix: string;
} {
  const u = parseUrl(origin);
  const key = u.path.replace(/^\/+/, "");
  const special = key.search(/[{*?[]/);
  return {
    bucket: u.hostname,
    prefix: special < 0 ? key : key.slice(0, special),
  };
}

/** Polls a bucket; iterate it for new objects; `close()` ends the iteration. */
export class BucketSource implements AsyncIterable<BucketObject> {
  private readonly queue = new AsyncQueue<BucketObject>();
  private readonly abort = new AbortController();
  private readonly clients = new S3ClientCache();
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly settings: S3Settings;
  private marker: string | undefined;
  private loop: Promise<void> | undefined;
  private failing = false;

  /** @throws TypeError naming the option when a setting is malformed. */
  constructor(private readonly opts: BucketSourceOptions) {
    ({ bucket: this.bucket, prefix: this.prefix } = bucketPrefix(opts.origin));
    if (this.bucket === "")
      throw new TypeError(`no bucket in origin ${opts.origin}`);
    this.settings = s3Settings(
      opts.connectionParameters,
      parseUrl(opts.origin),
    );
    this.marker = opts.marker;
  }

  /** The last key listed so far (what the next listing starts after). */
  get lastKey(): string | undefined {
    return this.marker;
  }

  /** List once (announcing the backlog, or just setting the marker), then keep polling. */
  async start(): Promise<void> {
    await this.poll(this.opts.backlog);
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.opts.pollInterval * 1000);
        signal.addEventListener(
          "abort",
          () => (clearTimeout(timer), resolve()),
          { once: true },
        );
      });
      if (!signal.aborted) await this.poll(true);
    }
  }

  /** One listing from the marker on; failures are logged once per outage and retried next poll. */
  private async poll(emit: boolean): Promise<void> {
    try {
      const client = await this.clients.get(this.settings);
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix,
            ContinuationToken: token,
            StartAfter: token === undefined ? this.marker : undefined,
          }),
          { abortSignal: this.abort.signal },
        );
        for (const o of page.Contents ?? []) this.found(o.Key, o.Size, emit);
        token =
          page.IsTruncated === true ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
      if (this.failing)
        this.opts.log.info({ bucket: this.bucket }, "bucket listing recovered");
      this.failing = false;
    } catch (err) {
      if (this.abort.signal.aborted) return;
      if (!this.failing)
        this.opts.log.error(
          {
            bucket: this.bucket,
            reason: describeS3Failure(err, this.bucket, this.settings.endpoint),
          },
          "bucket listing failed",
        );
      this.failing = true;
    }
  }

  private found(
    key: string | undefined,
    size: number | undefined,
    emit: boolean,
  ): void {
    if (key === undefined || key.endsWith("/")) return;
    if (this.marker === undefined || key > this.marker) this.marker = key;
    const uri = `s3://${this.bucket}/${key}`;
    if (emit)
      this.queue.push({
        uri,
        key,
        size: size ?? 0,
        matches: validate(this.opts.origin, uri),
      });
  }

  [Symbol.asyncIterator](): AsyncIterator<BucketObject> {
    return this.queue[Symbol.asyncIterator]();
  }

  /** Stop polling and end the iteration. Idempotent. */
  async close(): Promise<void> {
    this.abort.abort(new Error("bucket source closed"));
    this.queue.close();
    await this.loop;
    await this.clients.close();
  }
}

/** The bytes of an object checked on the way: the stream fails before its end when the size or the sha256 is not as expected. */
function checked(
  body: Readable,
  uri: string,
  size: number,
  sha256: string | undefined,
): Transform {
  const hash = createHash("sha256");
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
    flush(done) {
      if (bytes !== size)
        return done(
          new StepError(`short read of ${uri}: ${bytes} of ${size} bytes`),
        );
      const got = hash.digest("hex");
      if (sha256 !== undefined && sha256 !== got)
        return done(
          new StepError(
            `checksum mismatch reading ${uri}: metadata says sha256 ${sha256}, received ${got}`,
          ),
        );
      done();
    },
  });
  body.once("error", (err) =>
    tap.destroy(
      new StepError(`reading ${uri} failed: ${errorMessage(err)}`, {
        cause: err,
      }),
    ),
  );
  body.pipe(tap);
  return tap;
}

/** Opens announced objects as stream sources for the movers. */
export class ObjectFetcher {
  private readonly clients = new S3ClientCache();

  constructor(
    private readonly connectionParameters: Readonly<Record<string, unknown>>,
  ) {}

  /**
   * The object at `uri` as a mover's stream source: its size, sha256 and
   * ETag from a HEAD now; each `open()` a GET of that very version
   * (`If-Match`), checked on the way (size, sha256 metadata).
   * @throws Error worded for the operator (never a credential).
   */
  async source(uri: string, signal: AbortSignal): Promise<StreamSource> {
    const u = parseUrl(uri);
    const bucket = u.hostname;
    const key = u.path.replace(/^\/+/, "");
    const settings = s3Settings(this.connectionParameters, u);
    const fail = (err: unknown): Error => {
      if (signal.aborted) return signal.reason as Error;
      if (err instanceof StepError) return err;
      const code = err as
        { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
      if (
        code?.name === "NoSuchKey" ||
        code?.name === "NotFound" ||
        code?.$metadata?.httpStatusCode === 404
      )
        return new StepError(`no such object: ${uri}`, { cause: err });
      return new StepError(describeS3Failure(err, bucket, settings.endpoint), {
        cause: err,
      });
    };
    const client = await this.clients
      .get(settings)
      .catch((err: unknown) => Promise.reject(fail(err)));
    const head = await client
      .send(new HeadObjectCommand({ Bucket: bucket, Key: key }), {
        abortSignal: signal,
      })
      .catch((err: unknown) => Promise.reject(fail(err)));
    const size = Number(head.ContentLength ?? 0);
    const sha256 = head.Metadata?.["sha256"];
    const etag = head.ETag;
    return {
      uri,
      size,
      sha256,
      object: { endpoint: settings.endpoint, bucket, key, etag },
      open: async (openSignal) => {
        const out = await client
          .send(
            new GetObjectCommand({
              Bucket: bucket,
              Key: key,
              ...(etag === undefined ? {} : { IfMatch: etag }),
            }),
            { abortSignal: openSignal },
          )
          .catch((err: unknown) => Promise.reject(fail(err)));
        if (out.Body === undefined)
          throw new StepError(`${uri}: empty response`);
        return checked(out.Body as Readable, uri, size, sha256);
      },
    };
  }

  close(): Promise<void> {
    return this.clients.close();
  }
}
