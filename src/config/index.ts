/**
 * The config reader: ini text in, frozen typed chains out. Pure: reading the
 * file, logging and reloading happen in `cli/`.
 */

import { readClientConfig } from "./client-config.js";
import type { ClientChainConfig } from "./client-config.js";
import { parseIni } from "./ini.js";
import { readMirrorConfig } from "./mirror-config.js";
import type { MirrorChainConfig } from "./mirror-config.js";
import { readServerConfig } from "./server-config.js";
import type { ServerChainConfig } from "./server-config.js";

export type { ClientChainConfig, ClientCompression, Provider } from "./client-config.js";
export type { InfoValue } from "./fields.js";
export type { MirrorChainConfig } from "./mirror-config.js";
export type { Compression, ServerChainConfig } from "./server-config.js";

/** Which program reads the file. */
export type Role = "server" | "client" | "mirror";

/** The chain type each role reads. */
export interface ChainConfigByRole {
  server: ServerChainConfig;
  client: ClientChainConfig;
  mirror: MirrorChainConfig;
}

/** The chain type of role `R`, e.g. `ChainConfigFor<"client">` is `ClientChainConfig`. */
export type ChainConfigFor<R extends Role> = ChainConfigByRole[R];

/** A whole config file: one chain per section, in file order. */
export interface LoadedConfig<C> {
  /** The file name given to `loadConfig`, as used in error messages. */
  readonly file: string;
  /** One chain per section (`[DEFAULT]` excluded), frozen. */
  readonly chains: readonly C[];
}

/** The name used in messages when `loadConfig` gets no file name. */
export const UNNAMED_FILE = "<config>";

/**
 * Read the ini `text` of a move_it_server, move_it_client or move_it_mirror
 * config file. `file` only names the file in error messages.
 * @throws ConfigError naming file, section, option and value of the first problem.
 */
export function loadConfig(text: string, role: "server", file?: string): LoadedConfig<ServerChainConfig>;
export function loadConfig(text: string, role: "client", file?: string): LoadedConfig<ClientChainConfig>;
export function loadConfig(text: string, role: "mirror", file?: string): LoadedConfig<MirrorChainConfig>;
export function loadConfig<R extends Role>(text: string, role: R, file?: string): LoadedConfig<ChainConfigFor<R>>;
export function loadConfig(
  text: string,
  role: Role,
  file: string = UNNAMED_FILE,
): LoadedConfig<ChainConfigFor<Role>> {
  const sections = parseIni(text, file);
  const chains = readers[role](sections, file);
  return Object.freeze({ file, chains });
}

const readers = {
  server: readServerConfig,
  client: readClientConfig,
  mirror: readMirrorConfig,
} as const;
