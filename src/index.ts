/**
 * move_it's public API, for library use and tests.
 */
export {
  Message,
  MAGIC,
  VERSION_NAIVE,
  VERSION_AWARE,
} from "./message/index.js";
export type {
  MessageData,
  MessageOptions,
  JsonValue,
} from "./message/index.js";
export { parse, compose, globify, validate } from "./pattern/index.js";
export { loadConfig } from "./config/index.js";
export type {
  LoadedConfig,
  ServerChainConfig,
  ClientChainConfig,
  MirrorChainConfig,
  Role,
} from "./config/index.js";
export * from "./errors.js";
export { DateTime } from "./util/datetime.js";
export { PyFloat } from "./util/pyfloat.js";
export { createLogger, nullLogger } from "./log.js";
export type { Logger } from "./log.js";
export { MoveItServer } from "./server/server.js";
export type { MoveItServerOptions } from "./server/server.js";
export { MoveItClient } from "./client/index.js";
export type {
  MoveItClientOptions,
  ClientStats,
  ChainStats,
  ClientEvent,
  ClientEventSink,
} from "./client/index.js";
export { MoveItMirror } from "./mirror/index.js";
export type { MoveItMirrorOptions } from "./mirror/index.js";
export { MoverRegistry, defaultMovers } from "./movers/registry.js";
export type { Mover, MoveRequest, MoveResult } from "./movers/mover.js";
