/**
 * move_it_mirror: a client and a server back to back, built from their
 * public classes. Upstream announcements are re-announced at once with the
 * mirror's own `request_address` (capture D2); a downstream push makes the
 * client half fetch the file into staging (D4), then the server half pushes
 * it on (D3) and deletes the staged copy `remove_delay` s later.
 *
 * Better than the reference: fetches run concurrently; two downstream
 * requests for one file cause one upstream fetch (the client joins it); a
 * staged file is served to later requesters while it is there; upstream
 * announcements are bounded and expire; `prefetch` fetches on announcement.
 */
import { mkdirSync } from "node:fs";
import { access } from "node:fs/promises";
import { basename, join } from "node:path";
import { MoveItClient, type ClientEventSink } from "../client/index.js";
import type {
  ClientChainConfig,
  LoadedConfig,
  MirrorChainConfig,
  ServerChainConfig,
} from "../config/index.js";
import { ClosedError, MoveItError, RefusedError } from "../errors.js";
import type { Logger } from "../log.js";
import { Message, type JsonValue } from "../message/index.js";
import type { MoverRegistry } from "../movers/registry.js";
import { MoveItServer, type ServerEventSink } from "../server/server.js";
import type { Requester } from "../transport/requester.js";
import { deferred } from "../util/abort.js";
import { redactUrl } from "../util/url.js";

const present = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

/** A staging destination on this machine's file system (a path or file://): the client half's result is the local path. */
const isLocal = (destination: string): boolean =>
  destination.startsWith("/") || /^file:/i.test(destination);

export interface MoveItMirrorOptions {
  config: LoadedConfig<MirrorChainConfig>;
  log: Logger;
  /** Downstream publisher endpoint (default `tcp://*:9010`). */
  publishBind?: string;
  /** Host the request sockets and the client publishers bind to (default `*`). */
  bindHost?: string;
  stateDir?: string;
  movers?: MoverRegistry;
  requester?: Requester;
  /** Seconds between downstream heartbeats (default 30). */
  heartbeatInterval?: number;
  /** Told about the downstream (server) half's work (metrics). */
  onServerEvent?: ServerEventSink;
  /** Told about the upstream (client) half's work (metrics). */
  onClientEvent?: ClientEventSink;
}

function halves(config: LoadedConfig<MirrorChainConfig>): {
  client: LoadedConfig<ClientChainConfig>;
  server: LoadedConfig<ServerChainConfig>;
} {
  return {
    client: { file: config.file, chains: config.chains.map((c) => c.client) },
    server: { file: config.file, chains: config.chains.map((c) => c.server) },
  };
}

export class MoveItMirror {
  private readonly server: MoveItServer;
  private readonly client: MoveItClient;
  private config: LoadedConfig<MirrorChainConfig>;
  private closing: Promise<void> | undefined;
  private failure: Error | undefined;
  private readonly done = deferred<Error | undefined>();

  /** Resolves (never rejects) once the mirror is closed: with the error that closed it, if any. */
  readonly closed: Promise<Error | undefined> = this.done.promise;

  constructor(private readonly opts: MoveItMirrorOptions) {
    this.config = opts.config;
    const { client, server } = halves(opts.config);
    this.server = new MoveItServer({
      config: server,
      log: opts.log.child({ side: "downstream" }),
      publishBind: opts.publishBind,
      requestHost: opts.bindHost,
      stateDir: opts.stateDir,
      movers: opts.movers,
      heartbeatName: "move_it_mirror",
      heartbeatInterval: opts.heartbeatInterval,
      watch: false,
      sourceHook: (chain) => (req, uri) => this.staged(chain, req, uri),
      stagedPath: (chain) => (req, uri) =>
        this.stagedPath(chain, req.dataObject["uid"], uri),
      onEvent: opts.onServerEvent,
    });
    if (opts.stateDir !== undefined)
      mkdirSync(opts.stateDir, { recursive: true });
    this.client = new MoveItClient({
      config: client,
      log: opts.log.child({ side: "upstream" }),
      // The client half's ledger: what was fetched upstream survives a restart.
      ledgerFile:
        opts.stateDir === undefined
          ? undefined
          : join(opts.stateDir, "mirror-client.ledger.sqlite"),
      publishHost: opts.bindHost,
      requester: opts.requester,
      onEvent: opts.onClientEvent,
      relay: {
        onAnnounced: (chain, msg) =>
          void this.reannounce(chain, msg).catch((err: unknown) =>
            opts.log.warn({ err, chain }, "re-announcement failed"),
          ),
        prefetch: (chain) => this.chain(chain)?.prefetch ?? false,
      },
    });
  }

  private chain(name: string): MirrorChainConfig | undefined {
    return this.config.chains.find((c) => c.name === name);
  }

  /**
   * Server first, so the request address is known before anything is
   * re-announced. On a failure both halves are closed again (the mirror is
   * then closed) and the error is thrown.
   */
  async start(): Promise<void> {
    if (this.closing !== undefined) throw new ClosedError("mirror closed");
    try {
      await this.server.start();
      await this.client.start();
    } catch (err) {
      await this.destroy(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
    for (const c of this.config.chains) {
      if (
        !isLocal(c.client.destination) &&
        !(await present(c.stagingDirectory))
      ) {
        this.opts.log.warn(
          {
            chain: c.name,
            destination: redactUrl(c.client.destination),
            stagingDirectory: c.stagingDirectory,
          },
          "the staging directory is not on this machine (yet): staged files are served from it",
        );
      }
    }
    this.opts.log.info(
      {
        publishPort: this.server.publishPort,
        chains: this.config.chains.map((c) => c.name),
      },
      "mirror started",
    );
  }

  get publishPort(): number {
    return this.server.publishPort;
  }

  requestPort(chain: string): number {
    return this.server.requestPort(chain);
  }

  stats(): {
    server: ReturnType<MoveItServer["stats"]>;
    client: ReturnType<MoveItClient["stats"]>;
  } {
    return { server: this.server.stats(), client: this.client.stats() };
  }

  /** The downstream half's ledger counters (the upstream half's come with its stats). */
  ledgerStats(): ReturnType<MoveItServer["ledgerStats"]> {
    return this.server.ledgerStats();
  }

  /** D2: the upstream message with `request_address` replaced by ours, keys in place. */
  private async reannounce(chain: string, upstream: Message): Promise<void> {
    const cfg = this.chain(chain);
    const address = this.server.requestAddress(chain);
    if (cfg === undefined || address === undefined) return;
    const data: Record<string, JsonValue> = {
      ...upstream.dataObject,
      request_address: address,
    };
    await this.server.relay(
      chain,
      new Message(cfg.server.topic, upstream.type, data),
      this.stagedPath(chain, data["uid"], data["uri"]),
    );
  }

  /**
   * Where the staged copy of a relayed file is (or will be) on this machine:
   * `staging_directory` joined with its uid (else the uri's base name), or
   * undefined for a name that is no plain file name.
   */
  private stagedPath(
    chain: string,
    uid: unknown,
    uri: unknown,
  ): string | undefined {
    const cfg = this.chain(chain);
    const name =
      typeof uid === "string"
        ? uid
        : typeof uri === "string"
          ? basename(uri)
          : undefined;
    if (
      cfg === undefined ||
      name === undefined ||
      name === "" ||
      name.includes("/") ||
      name === "." ||
      name === ".."
    )
      return undefined;
    return join(cfg.stagingDirectory, name);
  }

  /**
   * The server's source hook: the staged copy if it is there, else fetch it
   * from upstream. Undefined for files upstream never announced, which then
   * face the server's usual checks.
   */
  private async staged(
    chain: string,
    req: Message,
    uri: unknown,
  ): Promise<string | undefined> {
    const cfg = this.chain(chain);
    const local = this.stagedPath(chain, req.dataObject["uid"], uri);
    if (cfg === undefined || local === undefined) return undefined;
    const name = basename(local);
    if (await present(local)) return local;
    let fetched: string;
    try {
      fetched = await this.client.fetch(chain, name);
    } catch (err) {
      if (err instanceof RefusedError) return undefined;
      throw err;
    }
    if (isLocal(cfg.client.destination)) return fetched;
    // Staged through ftp/scp/sftp: served from this machine's view of the staging directory, as the reference
    // does. Not the uri the client half reports: for `ftp:///dir/` that is the FTP server's path, not ours.
    if (await present(local)) return local;
    throw new MoveItError(
      `${name} was staged at ${redactUrl(fetched)}, but ${local} is not on this machine: staging_directory must name the local directory that destination writes into`,
    );
  }

  /** Re-read the config: both halves keep what did not change. */
  async reload(next: LoadedConfig<MirrorChainConfig>): Promise<void> {
    if (this.closing !== undefined) throw new ClosedError("mirror closed");
    const { client, server } = halves(next);
    this.config = next;
    await this.server.reload(server);
    await this.client.reload(client);
  }

  /** Close upstream first (no new fetches), then downstream. Every call returns the same promise; it never rejects. */
  close(drainMs = 5000): Promise<void> {
    this.closing ??= (async () => {
      await this.client.close();
      await this.server.close(drainMs);
      this.done.resolve(this.failure);
    })();
    return this.closing;
  }

  /** Abort transfers in flight on both halves now, then close. */
  destroy(err?: Error): Promise<void> {
    this.failure ??= err;
    void this.client.destroy(err);
    void this.server.destroy(err);
    return this.close(0);
  }
}
