/**
 * move_it_client's public surface: the client itself and the types its
 * options, stats and callbacks use.
 */
export { MoveItClient } from "./client.js";
export type { MoveItClientOptions, ClientStats } from "./client.js";
export type { ChainStats } from "./chain.js";
export type { CoordinatorStats } from "./coordinator.js";
export type { DeliveryStats } from "./delivery.js";
export type {
  ListenerStats,
  ListenerSnapshot,
  Connect,
  MessageSource,
} from "./listener.js";
export type { ClientEvent, ClientEventSink } from "./events.js";
export type { FileCounts } from "./ledger.js";
