/**
 * What a chain's request handlers share.
 */
import type { ServerChainConfig } from "../config/index.js";
import type { Logger } from "../log.js";
import type { Message } from "../message/index.js";
import type { StreamSource } from "../movers/mover.js";
import type { MoverRegistry } from "../movers/registry.js";
import type { Deleter } from "./deleter.js";
import type { ServerLedger } from "./ledger.js";
import type { GuardContext } from "./path-guard.js";
import type { AnnouncedRegistry } from "./registry.js";
import type { ServerStats } from "./stats.js";
import type { ServerEvent } from "./events.js";
import type { TransferJoiner } from "./joiner.js";
import type { RunningPushes } from "./instance.js";
import type { RemoteTemporaries } from "./temporaries.js";

export interface ChainContext {
  config: ServerChainConfig;
  log: Logger;
  /** The `info` history. */
  registry: AnnouncedRegistry;
  /** The daemon's ledger (every chain's rows). */
  ledger: ServerLedger;
  /** Keep a file a client was just told about (catch-up) for `remove_delay` more, whichever chain it is of. */
  keep: (chain: string, path: string) => void;
  movers: MoverRegistry;
  /** The journal of ftp/sftp/scp temporaries (the daemon's, in its ledger). */
  temporaries: RemoteTemporaries;
  deleter: Deleter;
  joiner: TransferJoiner;
  /** Uids of the pushes in flight (for `push_running` in pong). */
  running: RunningPushes;
  stats: ServerStats;
  /** Report an event (the chain name is added); see ServerEvent. */
  emit: (event: DistributiveOmit<ServerEvent, "chain">) => void;
  /** Aborted when the chain is destroyed. */
  signal: AbortSignal;
  startedAt: number;
  /**
   * Finds (or fetches) the local file for a requested uri before the path
   * checks; the mirror uses it to fetch from upstream. Undefined = not mine.
   */
  sourceHook: SourceHook | undefined;
  /**
   * Set on the mirror's chains (they relay instead of watching): where the
   * staged copy of a requested file is or will be, without fetching it.
   * Acks and catch-up use it; undefined for a uri that names no relayed file.
   */
  stagedPath: StagedPath | undefined;
}

/** See ChainContext.stagedPath. */
export type StagedPath = (req: Message, uri: unknown) => string | undefined;

/** See ChainContext.sourceHook: a local path, or bytes streamed from elsewhere (a bucket's object). */
export type SourceHook = (
  req: Message,
  uri: unknown,
  signal: AbortSignal,
) => Promise<string | StreamSource | undefined>;

/** Files are deleted after serving when `delete` or compression is set (the reference's rule). */
export function deletesAfterServing(config: ServerChainConfig): boolean {
  return config.delete || config.compression !== undefined;
}

/** What the path checks need from a chain. */
export function guardOf(ctx: ChainContext): GuardContext {
  // A listen section serves only what it re-announced: it has no origin to match.
  return {
    origin: ctx.config.listen === undefined ? ctx.config.origin : undefined,
    announced: (path) => ctx.ledger.lookup(ctx.config.name, path),
  };
}
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown
  ? Omit<T, K>
  : never;
