/**
 * One server section: watch `origin`, unpack if configured, announce on the
 * shared publisher, serve requests on the section's request port, delete
 * served files on schedule.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import type { ServerChainConfig } from "../config/index.js";
import {
  BindError,
  ChecksumError,
  ClosedError,
  errorMessage,
} from "../errors.js";
import type { Logger } from "../log.js";
import type { JsonValue, Message } from "../message/index.js";
import type { MoverRegistry } from "../movers/registry.js";
import type { Publisher } from "../transport/publisher.js";
import type { RouterSocket } from "../transport/router.js";
import { unpack } from "../unpack/index.js";
import { localAddress } from "../util/host.js";
import { deferred, settlesWithin, sleep } from "../util/abort.js";
import { Semaphore } from "../util/serial.js";
import { announcement } from "./announcer.js";
import { BucketChain, isBucketOrigin } from "./bucket.js";
import type { ChainContext, SourceHook, StagedPath } from "./context.js";
import { Deleter } from "./deleter.js";
import type { ServerLedger } from "./ledger.js";
import type { RemoteTemporaries } from "./temporaries.js";
import { RunningPushes } from "./instance.js";
import {
  ListenSource,
  localPathOf,
  reannouncement,
  uidsOf,
  urisOf,
} from "./listen.js";
import { TransferJoiner } from "./joiner.js";
import { AnnouncedRegistry } from "./registry.js";
import { createRequestServer } from "./request-server.js";
import { ActivityLog } from "./activity.js";
import type { ServerEvent, ServerEventSink } from "./events.js";
import { newServerStats, type ServerStats } from "./stats.js";
import { Watcher, watchRoot, type FileEvent } from "./watcher.js";

/** How long a relayed file's ledger row may take to commit before it is re-announced all the same, ms. */
const RECORD_WAIT_MS = 250;

export interface ServerChainOptions {
  config: ServerChainConfig;
  publisher: Publisher;
  movers: MoverRegistry;
  log: Logger;
  /** Host the request socket binds to (`*` = all interfaces). */
  requestHost: string;
  backlog: boolean;
  /** With `backlog`: wait this long after start before announcing (subscribers reconnect meanwhile). */
  backlogDelayMs: number;
  polling: boolean;
  /** Where an old move_it kept the deletion schedule as JSON (migrated into the ledger). */
  stateDir: string | undefined;
  /** The daemon's ledger. */
  ledger: ServerLedger;
  /** The daemon's journal of remote temporaries. */
  temporaries: RemoteTemporaries;
  /** Keep a file of any chain of this daemon `remove_delay` longer (catch-up named it). */
  keep: (chain: string, path: string) => void;
  settleMs: number;
  /** Watch `origin` (default true; the mirror relays instead). */
  watch?: boolean;
  sourceHook?: SourceHook;
  /** The mirror's: where a relayed file's staged copy is (see ChainContext.stagedPath). */
  stagedPath?: StagedPath;
  /** Told about announcements, requests and pushes (metrics). */
  onEvent?: ServerEventSink;
}

export class ServerChain {
  readonly stats: ServerStats = newServerStats();
  private readonly abort = new AbortController();
  private readonly registry = new AnnouncedRegistry();
  private readonly deleter: Deleter;
  private readonly unpackSlots = new Semaphore(4);
  private readonly running = new RunningPushes();
  private watcher: Watcher | undefined;
  private bucket: BucketChain | undefined;
  private listener: ListenSource | undefined;
  private router: RouterSocket | undefined;
  private loop: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  /** Set when close() begins: files waiting for an unpack slot are left for the next start. */
  private stopping = false;
  private requestAddress: string | undefined;
  private stopWaiting: (() => void) | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private readonly activity: ActivityLog;
  /** Relayed announcements are published from this time on (ms): a restarted mirror's subscribers reconnect meanwhile. */
  private relayFrom = 0;
  /** Files older than this (ms) are not the rescan's business: the start's backlog was disabled. */
  private rescanFloor = 0;
  private readonly done = deferred<Error | undefined>();
  private failure: Error | undefined;

  /** Resolves (never rejects) once the chain is closed: with the error that closed it, if any. */
  readonly closed: Promise<Error | undefined> = this.done.promise;

  constructor(private readonly opts: ServerChainOptions) {
    const legacyStateFile =
      opts.stateDir === undefined
        ? undefined
        : join(
            opts.stateDir,
            `${encodeURIComponent(opts.config.name)}.deletions.json`,
          );
    this.deleter = new Deleter({
      chain: opts.config.name,
      ledger: opts.ledger,
      legacyStateFile,
      log: opts.log,
      busy: (path) => this.running.has(path),
    });
    this.activity = new ActivityLog(this.stats, opts.log);
  }

  get config(): ServerChainConfig {
    return this.opts.config;
  }

  /** The bound request port (0 when the section does not serve). */
  get requestPort(): number {
    return this.router?.port ?? 0;
  }

  /**
   * Start the deletion schedule, the request socket and the watcher. On a
   * failure, what was started is closed again and the error names the
   * section (and the port, when binding it failed).
   */
  async start(): Promise<void> {
    if (this.closing !== undefined)
      throw new ClosedError(`chain [${this.opts.config.name}] closed`);
    try {
      await this.startParts();
    } catch (err) {
      await this.destroy(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
  }

  private async startParts(): Promise<void> {
    const { config, log } = this.opts;
    await this.deleter.start();
    if (!this.opts.backlog) this.rescanFloor = Date.now();
    this.prune();
    this.pruneTimer = setInterval(
      () => this.prune(),
      pruneEveryMs(config.ledgerRetention),
    );
    this.pruneTimer.unref();
    this.activity.start();
    if (this.opts.watch !== false && isBucketOrigin(config.origin)) {
      this.bucket = new BucketChain({
        config,
        backlog: this.opts.backlog,
        backlogDelayMs: this.opts.backlogDelayMs,
        ledger: this.opts.ledger,
        log,
        announce: (obj) => this.announceObject(obj),
      });
    }
    if (config.requestPort !== undefined) {
      const bind = `tcp://${this.opts.requestHost}:${config.requestPort}`;
      this.router = createRequestServer(this.context(), bind);
      try {
        await this.router.start();
      } catch (err) {
        throw new BindError(
          `section [${config.name}], request_port ${config.requestPort}`,
          bind,
          err,
        );
      }
      this.requestAddress = `${config.requestAddress ?? localAddress()}:${this.router.port}`;
    }
    if (this.opts.watch === false) {
      this.relayFrom = Date.now() + this.opts.backlogDelayMs;
      log.info(
        { topic: config.topic, requestAddress: this.requestAddress },
        "chain started",
      );
      return;
    }
    if (config.listen !== undefined) {
      this.listener = new ListenSource({
        config: config.listen,
        log,
        onMessage: (msg) => this.reannounce(msg),
      });
      this.listener.start();
      log.info(
        {
          listen: config.listen.topics,
          topic: config.topic,
          requestAddress: this.requestAddress,
        },
        "chain started",
      );
      return;
    }
    if (this.bucket !== undefined) {
      await this.bucket.start();
      log.info(
        {
          origin: config.origin,
          topic: config.topic,
          requestAddress: this.requestAddress,
        },
        "chain started",
      );
      return;
    }
    this.watcher = new Watcher({
      origin: config.origin,
      polling: this.opts.polling,
      pollInterval: config.watchdogTimeout,
      backlog: this.opts.backlog,
      settleMs: this.opts.settleMs,
      rescanInterval: config.rescanInterval,
      log,
    });
    await this.watcher.start();
    this.loop = this.consume(this.watcher);
    log.info(
      {
        origin: config.origin,
        topic: config.topic,
        requestAddress: this.requestAddress,
      },
      "chain started",
    );
  }

  private context(): ChainContext {
    return {
      config: this.opts.config,
      log: this.opts.log,
      registry: this.registry,
      ledger: this.opts.ledger,
      keep: this.opts.keep,
      movers: this.opts.movers,
      temporaries: this.opts.temporaries,
      deleter: this.deleter,
      joiner: new TransferJoiner(),
      running: this.running,
      stats: this.stats,
      signal: this.abort.signal,
      startedAt: performance.now(),
      sourceHook: this.opts.sourceHook ?? this.bucket?.hook,
      stagedPath: this.opts.stagedPath,
      emit: (event) => this.emit(event),
    };
  }

  /** A client was told about `path` (catch-up): keep it remove_delay longer if its deletion is due. */
  keep(path: string): void {
    this.deleter.postpone(path, this.opts.config.removeDelay);
  }

  /** This chain's `request_address` (`host:port`), once started. */
  get address(): string | undefined {
    return this.requestAddress;
  }

  /** The request address a client may send `catchup` to for this chain's files: watched directories, bucket and listen sections (they are in the ledger); not the mirror's relays. */
  get catchupAddress(): string | undefined {
    if (this.opts.watch === false || this.closing !== undefined)
      return undefined;
    return this.requestAddress;
  }

  /**
   * Publish a relayed announcement (the mirror's) and list it in `info`.
   * With `staged` (where the file's staged copy is or will be) it is recorded
   * in the ledger first, so catch-up, acks and the deletion of the staged copy
   * survive a restart of the mirror. Within `backlogDelayMs` of the start it
   * is published once that time is up: subscribers of a restarted mirror
   * reconnect meanwhile (what is published before they are back is lost).
   */
  async relay(msg: Message, staged?: string): Promise<void> {
    const { config } = this.opts;
    const uid = msg.dataObject["uid"];
    if (staged !== undefined && typeof uid === "string") {
      const size = msg.dataObject["filesize"];
      const checksum = msg.dataObject["checksum"];
      void this.opts.ledger
        .announced({
          chain: config.name,
          uid,
          topic: config.topic,
          path: staged,
          root: dirname(staged),
          originalPath: staged,
          size: typeof size === "number" && Number.isFinite(size) ? size : 0,
          mtimeNs: 0n,
          inode: 0n,
          checksum: typeof checksum === "string" ? checksum : undefined,
          message: msg.encode(),
          announcedAt: Date.now(),
        })
        .catch(() => undefined);
    }
    if (typeof uid === "string") this.registry.remember(config.topic, uid);
    const wait = this.relayFrom - Date.now();
    // Closed meanwhile: recorded, and offered by catch-up after the next start.
    if (
      wait > 0 &&
      !(await sleep(wait, this.abort.signal).then(
        () => true,
        () => false,
      ))
    )
      return;
    await this.opts.publisher.publish(msg);
    this.stats.announced++;
    this.emit({ type: "announced" });
  }

  private emit(event: DistributiveOmit<ServerEvent, "chain">): void {
    this.opts.onEvent?.({ ...event, chain: this.opts.config.name });
  }

  private async consume(watcher: Watcher): Promise<void> {
    const inflight = new Set<Promise<void>>();
    // A restarted server's subscribers need a moment to reconnect: announcing the backlog at once loses it.
    if (this.opts.backlog && this.opts.backlogDelayMs > 0)
      await this.pause(this.opts.backlogDelayMs);
    for await (const ev of watcher) {
      const p = this.process(ev).catch((err: unknown) =>
        this.opts.log.error({ err, path: ev.path }, "announce failed"),
      );
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    }
    await Promise.allSettled([...inflight]);
  }

  /** Forget ledger rows older than `ledger_retention`. */
  private prune(): void {
    try {
      const n = this.opts.ledger.prune(
        this.opts.config.name,
        Date.now() - this.opts.config.ledgerRetention * 1000,
      );
      this.stats.pruned += n;
      if (n > 0)
        this.opts.log.info(
          { rows: n, retentionSeconds: this.opts.config.ledgerRetention },
          "ledger pruned",
        );
    } catch (err) {
      this.opts.log.warn({ err }, "ledger prune failed");
    }
  }

  /** Sleep `ms`, or less if the chain closes meanwhile. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.stopWaiting = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.stopWaiting = done;
    });
  }

  /** True if the ledger says this very file (same inode, size and mtime) was announced. */
  private known(ev: FileEvent): boolean {
    if (this.opts.config.compression !== undefined) {
      const at = this.opts.ledger.announcedFrom(this.opts.config.name, ev.path);
      return at !== undefined && at >= Number(ev.mtimeNs / 1_000_000n);
    }
    const row = this.opts.ledger.lookup(this.opts.config.name, ev.path);
    return (
      row !== undefined &&
      row.deletedAt === null &&
      row.size === ev.size &&
      row.mtimeNs === String(ev.mtimeNs) &&
      row.inode === String(ev.ino)
    );
  }

  /** Unpack if configured, then announce. */
  private async process(ev: FileEvent): Promise<void> {
    const { config } = this.opts;
    // The backlog is announced again, as the reference does; other events only for what the ledger lacks.
    if (ev.reason !== "backlog" && this.known(ev)) return;
    if (ev.reason === "rescan") {
      // Older than the ledger keeps rows: announced long ago and pruned, not missed.
      // There before a start with the backlog disabled: left out on purpose.
      const mtimeMs = Number(ev.mtimeNs / 1_000_000n);
      if (
        mtimeMs < Date.now() - config.ledgerRetention * 1000 ||
        mtimeMs < this.rescanFloor
      )
        return;
      this.stats.rescanFound++;
      this.opts.log.warn({ path: ev.path }, "file found by rescan, announcing");
    }
    let served = ev.path;
    let root = watchRoot(config.origin);
    if (config.compression !== undefined && this.needsUnpacking(ev.path)) {
      const workdir = config.workingDirectory ?? tmpdir();
      const out = await this.unpackSlots.use(async () =>
        this.stopping
          ? undefined
          : unpack(config.compression!, ev.path, {
              workingDirectory: workdir,
              prog: config.prog,
              signal: this.abort.signal,
              deleteSource: config.delete,
            }),
      );
      if (out === undefined) {
        // Shutting down: the packed original stays and is the backlog of the next start.
        this.opts.log.info({ path: ev.path }, "not unpacked: shutting down");
        return;
      }
      served = out[0] ?? ev.path;
      root = workdir;
    }
    const extra: [string, JsonValue][] =
      config.checksum === "sha256"
        ? [["checksum", `sha256:${await sha256File(served)}`]]
        : [];
    const msg = announcement({
      topic: config.topic,
      origin: config.origin,
      info: config.info,
      originalPath: ev.path,
      servedPath: served,
      requestAddress: this.requestAddress,
      extra,
    });
    // The watcher's stat still describes a file served as it was found; an unpacked one is new.
    const st =
      served === ev.path
        ? { size: BigInt(ev.size), mtimeNs: ev.mtimeNs, ino: ev.ino }
        : await stat(served, { bigint: true });
    const uid = basename(served);
    const checksum = extra.length > 0 ? String(extra[0]![1]) : undefined;
    void this.opts.ledger
      .announced({
        chain: config.name,
        uid,
        topic: config.topic,
        path: served,
        root,
        originalPath: ev.path,
        size: Number(st.size),
        mtimeNs: st.mtimeNs,
        inode: st.ino,
        checksum,
        message: msg.encode(),
        announcedAt: Date.now(),
      })
      .catch(() => undefined);
    this.registry.remember(config.topic, uid);
    await this.opts.publisher.publish(msg);
    this.stats.announced++;
    this.emit({ type: "announced" });
    this.opts.log.debug({ uid: basename(served), path: served }, "announced");
  }

  /**
   * A `listen` section: re-announce the files a received message names, on
   * this section's topic with its request address, and record each in the
   * ledger so pushes, acks, deletion and catch-up treat them as watched ones.
   */
  private async reannounce(received: Message): Promise<void> {
    const { config, log } = this.opts;
    const uris = urisOf(received.data);
    if (uris.length === 0) {
      log.warn(
        { subject: received.subject, type: received.type },
        "file message without a uri: ignored",
      );
      return;
    }
    const paths: string[] = [];
    for (const uri of uris) {
      const path = await localPathOf(uri);
      if (path === undefined) {
        log.warn(
          { uri, subject: received.subject },
          "message names a file on another host: not re-announced",
        );
        return;
      }
      paths.push(path);
    }
    const msg = reannouncement(
      received,
      config.topic,
      config.info,
      this.requestAddress,
    );
    const encoded = msg.encode();
    const now = Date.now();
    const recorded: Promise<void>[] = [];
    for (const path of paths) {
      const st = await stat(path, { bigint: true }).catch(() => undefined);
      if (st === undefined || !st.isFile()) {
        // Announced all the same, as the reference does; a push of it is answered with the error.
        log.warn(
          { path, subject: received.subject },
          "a file the message names is not here",
        );
        continue;
      }
      const row = this.opts.ledger
        .announced({
          chain: config.name,
          uid: basename(path),
          topic: config.topic,
          path,
          root: dirname(path),
          originalPath: path,
          size: Number(st.size),
          mtimeNs: st.mtimeNs,
          inode: st.ino,
          checksum: undefined,
          message: encoded,
          announcedAt: now,
        })
        .catch(() => undefined);
      recorded.push(row);
    }
    for (const uid of uidsOf(msg.data))
      this.registry.remember(config.topic, uid);
    // No watched directory holds a relayed file: once announced, the ledger is all that knows it, so its row is
    // committed first, or a kill -9 just after would leave it out of catch-up. Bounded: a full disk must not stop this.
    await settlesWithin(Promise.all(recorded), RECORD_WAIT_MS);
    await this.opts.publisher.publish(msg);
    this.stats.announced++;
    log.info(
      { uids: uidsOf(msg.data), from: received.sender, type: msg.type },
      "re-announced",
    );
  }

  /**
   * Announce an object found in the bucket of an `s3://` origin, recorded in
   * the ledger (path = the object's uri) like a watched file, so `catchup`
   * offers it to a client that was away.
   */
  private async announceObject(obj: {
    uri: string;
    size: number;
  }): Promise<void> {
    const { config } = this.opts;
    const { uri } = obj;
    const msg = announcement({
      topic: config.topic,
      origin: config.origin,
      info: config.info,
      originalPath: uri,
      servedPath: uri,
      requestAddress: this.requestAddress,
    });
    const uid = basename(uri);
    void this.opts.ledger
      .announced({
        chain: config.name,
        uid,
        topic: config.topic,
        path: uri,
        root: uri.slice(0, uri.indexOf("/", "s3://".length) + 1),
        originalPath: uri,
        size: obj.size,
        mtimeNs: 0n,
        inode: 0n,
        checksum: undefined,
        message: msg.encode(),
        announcedAt: Date.now(),
      })
      .catch(() => undefined);
    this.registry.remember(config.topic, uid);
    await this.opts.publisher.publish(msg);
    this.stats.announced++;
    this.emit({ type: "announced" });
    this.opts.log.debug({ uid, uri }, "announced");
  }

  private needsUnpacking(path: string): boolean {
    if (this.opts.config.compression === "xrit") return path.endsWith("C_");
    return path.endsWith(".bz2");
  }

  /**
   * Stop intake (files waiting for an unpack slot are left for the next
   * start), let requests and unpacks in flight finish within `drainMs`, abort
   * the rest, persist the deletion schedule, close sockets. Every call
   * returns the same promise; it never rejects.
   */
  close(drainMs = 5000): Promise<void> {
    this.closing ??= (async () => {
      this.stopping = true;
      clearInterval(this.pruneTimer);
      const timer = setTimeout(
        () => this.abort.abort(new ClosedError("chain closed")),
        drainMs,
      );
      try {
        await this.watcher?.close();
        await this.listener?.close();
        this.stopWaiting?.();
        await this.bucket?.close();
        await Promise.all([this.loop, this.router?.close(drainMs)]);
      } catch (err) {
        this.opts.log.error({ err }, "chain close failed");
      } finally {
        clearTimeout(timer);
      }
      this.abort.abort(new ClosedError("chain closed"));
      this.activity.stop();
      await this.deleter
        .close()
        .catch((err: unknown) =>
          this.opts.log.error({ err }, "deletion schedule not saved"),
        );
      this.opts.log.info({}, "chain stopped");
      this.done.resolve(this.failure);
    })();
    return this.closing;
  }

  /** Abort everything in flight now, then close. */
  destroy(err?: Error): Promise<void> {
    this.failure ??= err;
    if (!this.abort.signal.aborted)
      this.abort.abort(err ?? new ClosedError("chain destroyed"));
    return this.close(0);
  }
}

/** Prune a few times per retention period, at most hourly and at least every second. */
function pruneEveryMs(retentionSeconds: number): number {
  return Math.min(3600, Math.max(1, retentionSeconds / 4)) * 1000;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  try {
    for await (const chunk of createReadStream(path))
      hash.update(chunk as Buffer);
  } catch (err) {
    throw new ChecksumError(
      `checksum of ${path} failed: ${errorMessage(err)}`,
      path,
      { cause: err },
    );
  }
  return hash.digest("hex");
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown
  ? Omit<T, K>
  : never;
