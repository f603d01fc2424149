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
import { sleep } from "../util/abort.js";
import type { SourceHook } from "./context.js";
import type { ServerLedger } from "./ledger.js";

/** True for an origin naming a bucket rather than a directory. */
export function isBucketOrigin(origin: string): boolean {
  return /^s3:\/\//i.test(origin);
}

export interface BucketChainOptions {
  config: ServerChainConfig;
  backlog: boolean;
  /** With `backlog`: wait this long after start before announcing (subscribers reconnect meanwhile). */
  backlogDelayMs: number;
  /** Keeps the start-after marker across restarts. */
  ledger: ServerLedger;
  log: Logger;
  /** Publish the announcement for an object's uri. */
  announce: (uri: string) => Promise<void>;
}

export class BucketChain {
  private readonly source: BucketSource;
  private readonly fetcher: ObjectFetcher;
  private readonly staging: string;
  private loop: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private readonly resumedFrom: string | undefined;

  /** @throws TypeError naming the option when a setting is malformed. */
  constructor(private readonly opts: BucketChainOptions) {
    const { config } = opts;
    this.resumedFrom = opts.ledger.bucketMarker(config.name, config.origin);
    this.source = new BucketSource({
      origin: config.origin,
      connectionParameters: config.connectionParameters,
      pollInterval: config.watchdogTimeout,
      backlog: opts.backlog,
      marker: this.resumedFrom,
      log: opts.log,
    });
    this.fetcher = new ObjectFetcher(config.connectionParameters);
    this.staging = config.workingDirectory ?? join(tmpdir(), `move_it-s3-${encodeURIComponent(config.name)}`);
  }

  /**
   * List from the kept marker (objects put while the server was down are
   * new), then keep polling. The marker moves past an object only once it
   * is announced, and is committed then: a restart announces what it had
   * not announced, no more (a kill between the publish and the commit
   * announces that one object again; clients skip what they have).
   */
  async start(): Promise<void> {
    const { config, log } = this.opts;
    if (this.resumedFrom !== undefined) log.info({ origin: config.origin, after: this.resumedFrom }, "bucket listing resumed");
    await this.source.start();
    // The backlog skipped (or nothing matched): keep where the listing got to.
    const first = this.source.lastKey;
    if (first !== undefined && first !== this.resumedFrom && !this.opts.backlog) this.keep(first, true);
    this.loop = (async () => {
      if (this.opts.backlog && this.opts.backlogDelayMs > 0) await sleep(this.opts.backlogDelayMs, this.abort.signal).catch(() => undefined);
      for await (const obj of this.source) {
        if (obj.matches) {
          const ok = await this.opts.announce(obj.uri).then(
            () => true,
            (err: unknown) => (log.error({ err, uri: obj.uri }, "announce failed"), false),
          );
          // Not announced: not passed over either; the next start lists it again.
          if (!ok) continue;
        }
        this.keep(obj.key, obj.matches);
      }
    })();
  }

  private keep(key: string, now: boolean): void {
    const { config, ledger, log } = this.opts;
    void ledger.setBucketMarker(config.name, config.origin, key).catch(() => undefined);
    if (!now) return;
    try {
      ledger.flush();
    } catch (err) {
      // The base retries the commit; a restart meanwhile announces this object again.
      log.warn({ err, key }, "bucket marker not saved yet");
    }
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
    this.abort.abort();
    await this.source.close();
    await this.loop;
    await this.fetcher.close();
  }
}
