/**
 * The config reader: ini text in, frozen typed chains out. Pure: reading the
 * file, logging and reloading happen in `cli/`.
 */

import { ConfigError } from "../errors.js";
import { readClientConfig } from "./client-config.js";
import type { ClientChainConfig } from "./client-config.js";
import { parseIni } from "./ini.js";
import { readMirrorConfig } from "./mirror-config.js";
import type { MirrorChainConfig } from "./mirror-config.js";
import { readServerConfig } from "./server-config.js";
import type { ServerChainConfig } from "./server-config.js";
import type { ConfigWarning, Problems } from "./problems.js";

export type {
  ClientChainConfig,
  ClientCompression,
  Provider,
} from "./client-config.js";
export type { AlertSettings, ExpectedFiles } from "./expected.js";
export type { InfoValue } from "./fields.js";
export type { MirrorChainConfig } from "./mirror-config.js";
export type {
  Compression,
  ListenConfig,
  ServerChainConfig,
} from "./server-config.js";
export type { ConfigWarning } from "./problems.js";
export { DESTINATION_SCHEMES } from "./fields.js";

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
  /** Allowed but probably unmeant: unknown options, client metadata rewrites (set by `loadConfig`). */
  readonly warnings?: readonly ConfigWarning[];
}

/** Every problem of a file: `errors` empty means `chains` is the whole, valid config. */
export interface CheckedConfig<C> extends LoadedConfig<C> {
  readonly warnings: readonly ConfigWarning[];
  readonly errors: readonly ConfigError[];
}

/** The name used in messages when `loadConfig` gets no file name. */
export const UNNAMED_FILE = "<config>";

/**
 * Read the ini `text` of a move_it_server, move_it_client or move_it_mirror
 * config file. `file` only names the file in error messages.
 * @throws ConfigError naming file, section, option and value of the first
 *   problem (its message lists the others too, one per line).
 */
export function loadConfig(
  text: string,
  role: "server",
  file?: string,
): LoadedConfig<ServerChainConfig>;
export function loadConfig(
  text: string,
  role: "client",
  file?: string,
): LoadedConfig<ClientChainConfig>;
export function loadConfig(
  text: string,
  role: "mirror",
  file?: string,
): LoadedConfig<MirrorChainConfig>;
export function loadConfig<R extends Role>(
  text: string,
  role: R,
  file?: string,
): LoadedConfig<ChainConfigFor<R>>;
export function loadConfig(
  text: string,
  role: Role,
  file: string = UNNAMED_FILE,
): LoadedConfig<ChainConfigFor<Role>> {
  const checked = checkConfig(text, role, file);
  const [first, ...more] = checked.errors;
  if (first !== undefined) {
    if (more.length === 0) throw first;
    const err = new ConfigError(
      [first.message, ...more.map((e) => e.message)].join("\n"),
    );
    throw Object.assign(err, {
      file: first.file,
      section: first.section,
      option: first.option,
    });
  }
  return Object.freeze({
    file,
    chains: checked.chains,
    warnings: checked.warnings,
  });
}

/**
 * Read the ini `text` and report every problem instead of the first: each
 * section is read on its own, bad values are collected. Ini syntax errors
 * stop the reading (there are no sections to go on with).
 */
export function checkConfig<R extends Role>(
  text: string,
  role: R,
  file: string = UNNAMED_FILE,
): CheckedConfig<ChainConfigFor<R>> {
  const problems: Problems = { errors: [], warnings: [] };
  let chains: readonly ChainConfigFor<Role>[] = [];
  try {
    chains = readers[role](parseIni(text, file), file, problems);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.errors.push(err);
  }
  return Object.freeze({
    file,
    chains: chains as readonly ChainConfigFor<R>[],
    warnings: problems.warnings,
    errors: problems.errors,
  });
}

const readers = {
  server: readServerConfig,
  client: readClientConfig,
  mirror: readMirrorConfig,
} as const;
