/**
 * What a chain's request handlers share.
 */
import type { ServerChainConfig } from "../config/index.js";
import type { Logger } from "../log.js";
import type { Message } from "../message/index.js";
import type { MoverRegistry } from "../movers/registry.js";
import type { Deleter } from "./deleter.js";
import type { AnnouncedRegistry } from "./registry.js";
import type { ServerStats } from "./stats.js";
import type { TransferJoiner } from "./joiner.js";
import type { RunningPushes } from "./instance.js";

export interface ChainContext {
  config: ServerChainConfig;
  log: Logger;
  registry: AnnouncedRegistry;
  movers: MoverRegistry;
  deleter: Deleter;
  joiner: TransferJoiner;
  /** Uids of the pushes in flight (for `push_running` in pong). */
  running: RunningPushes;
  stats: ServerStats;
  /** Aborted when the chain is destroyed. */
  signal: AbortSignal;
  startedAt: number;
  /**
   * Finds (or fetches) the local file for a requested uri before the path
   * checks; the mirror uses it to fetch from upstream. Undefined = not mine.
   */
  sourceHook: SourceHook | undefined;
}

/** See ChainContext.sourceHook. */
export type SourceHook = (req: Message, uri: unknown, signal: AbortSignal) => Promise<string | undefined>;

/** Files are deleted after serving when `delete` or compression is set (the reference's rule). */
export function deletesAfterServing(config: ServerChainConfig): boolean {
  return config.delete || config.compression !== undefined;
}
