/**
 * What a chain's request handlers share.
 */
import type { ServerChainConfig } from "../config/index.js";
import type { Logger } from "../log.js";
import type { MoverRegistry } from "../movers/registry.js";
import type { Deleter } from "./deleter.js";
import type { AnnouncedRegistry } from "./registry.js";
import type { ServerStats } from "./stats.js";
import type { TransferJoiner } from "./joiner.js";

export interface ChainContext {
  config: ServerChainConfig;
  log: Logger;
  registry: AnnouncedRegistry;
  movers: MoverRegistry;
  deleter: Deleter;
  joiner: TransferJoiner;
  stats: ServerStats;
  /** Aborted when the chain is destroyed. */
  signal: AbortSignal;
  startedAt: number;
}

/** Files are deleted after serving when `delete` or compression is set (the reference's rule). */
export function deletesAfterServing(config: ServerChainConfig): boolean {
  return config.delete || config.compression !== undefined;
}
