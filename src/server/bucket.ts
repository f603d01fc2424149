/**
 * A server section whose `origin` is an `s3://bucket/prefix/{pattern}`:
 * objects that appear in the bucket are announced with their `s3://` uri,
 * and a push fetches the object (streamed into a staging file, its sha256
 * metadata checked) and hands it to the destination's mover; the staged
 * copy (one per push) is removed `remove_delay` s later like any served
 * file.
 */
import { randomBytes } from "node:crypto";
import { rmdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import type { ServerChainConfig } from "../config/index.js";
import { RefusedError } from "../errors.js";
import type { Logger } from "../log.js";
import { BucketSource, ObjectFetcher } from "../movers/registry.js";
import { validate } from "../pattern/index.js";
import type { SourceHook } from "./context.js";

/** True for an origin naming a bucket rather than a directory. */
export function isBucketOrigin(origin: string): boolean {
  return /^s3:\/\//i.test(origin);
}

export interface BucketChainOptions {
  config: ServerChainConfig;
  backlog: boolean;
  log: Logger;
  /** Publish the announcement for an object's uri. */
  announce: (uri: string) => Promise<void>;
}

export class BucketChain {
  private readonly source: BucketSource;
  private readonly fetcher: ObjectFetcher;
  private readonly staging: string;
  private loop: Promise<void> | undefined;

  /** @throws TypeError naming the option when a setting is malformed. */
  constructor(private readonly opts: BucketChainOptions) {
    const { config } = opts;
    this.source = new BucketSource({ origin: config.origin, connectionParameters: config.connectionParameters, pollInterval: config.watchdogTimeout, backlog: opts.backlog, log: opts.log });
    this.fetcher = new ObjectFetcher(config.connectionParameters);
    this.staging = config.workingDirectory ?? join(tmpdir(), `move_it-s3-${encodeURIComponent(config.name)}`);
  }

  async start(): Promise<void> {
    await this.source.start();
    this.loop = (async () => {
      for await (const obj of this.source) {
        await this.opts.announce(obj.uri).catch((err: unknown) => this.opts.log.error({ err, uri: obj.uri }, "announce failed"));
      }
    })();
  }

  /** The push handlers' source hook: stage an object matching the origin; undefined for other uris. */
  readonly hook: SourceHook = (_req, uri, signal) => {
    if (typeof uri !== "string" || !isBucketOrigin(uri)) return Promise.resolve(undefined);
    if (!validate(this.opts.config.origin, uri)) {
      return Promise.reject(new RefusedError(`${uri} was not announced here: it does not match ${this.opts.config.origin}`));
    }
    return this.stage(uri, signal);
  };

  // Each push gets its own copy, in its own directory so the name is kept: pushes of one object to
  // several destinations then never share a file the deleter removes under another.
  private async stage(uri: string, signal: AbortSignal): Promise<string> {
    const path = join(this.staging, `${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`, basename(uri));
    const started = Date.now();
    const { bytes } = await this.fetcher.fetch(uri, path, signal);
    this.opts.log.info({ uri, path, bytes, durationMs: Date.now() - started }, "object fetched");
    return path;
  }

  /** The deleter removed a served file: drop its staging directory too. */
  async deleted(path: string): Promise<void> {
    const dir = dirname(path);
    if (dirname(dir) === this.staging) await rmdir(dir).catch(() => undefined);
  }

  /** Stop polling; fetches in flight finish with their pushes. Idempotent. */
  async close(): Promise<void> {
    await this.source.close();
    await this.loop;
    await this.fetcher.close();
  }
}
