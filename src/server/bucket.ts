/**
 * A server section whose `origin` is an `s3://bucket/prefix/{pattern}`:
 * objects that appear in the bucket are announced with their `s3://` uri,
 * and a push streams the object to the destination's mover (no local copy;
 * size and sha256 metadata checked on the way, so a destination gets the
 * whole object or nothing; an s3 destination on the same store copies it
 * server-side).
 */
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
  /** Publish (and record) the announcement of an object. */
  announce: (obj: { uri: string; size: number }) => Promise<void>;
}

export class BucketChain {
  private readonly source: BucketSource;
  private readonly fetcher: ObjectFetcher;
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
    if (this.resumedFrom !== undefined)
      log.info(
        { origin: config.origin, after: this.resumedFrom },
        "bucket listing resumed",
      );
    await this.source.start();
    // The backlog skipped (or nothing matched): keep where the listing got to.
    const first = this.source.lastKey;
    if (first !== undefined && first !== this.resumedFrom && !this.opts.backlog)
      this.keep(first, true);
    this.loop = (async () => {
      if (this.opts.backlog && this.opts.backlogDelayMs > 0)
        await sleep(this.opts.backlogDelayMs, this.abort.signal).catch(
          () => undefined,
        );
      for await (const obj of this.source) {
        if (obj.matches) {
          const ok = await this.opts.announce(obj).then(
            () => true,
            (err: unknown) => (
              log.error({ err, uri: obj.uri }, "announce failed"),
              false
            ),
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
    void ledger
      .setBucketMarker(config.name, config.origin, key)
      .catch(() => undefined);
    if (!now) return;
    try {
      ledger.flush();
    } catch (err) {
      // The base retries the commit; a restart meanwhile announces this object again.
      log.warn({ err, key }, "bucket marker not saved yet");
    }
  }

  /** The push handlers' source hook: an object matching the origin, streamed to the destination; undefined for other uris. */
  readonly hook: SourceHook = async (_req, uri, signal) => {
    if (typeof uri !== "string" || !isBucketOrigin(uri)) return undefined;
    if (!validate(this.opts.config.origin, uri))
      throw new RefusedError(
        `${uri} was not announced here: it does not match ${this.opts.config.origin}`,
      );
    return this.fetcher.source(uri, signal);
  };

  /** Stop polling; fetches in flight finish with their pushes. Idempotent. */
  async close(): Promise<void> {
    this.abort.abort();
    await this.source.close();
    await this.loop;
    await this.fetcher.close();
  }
}
