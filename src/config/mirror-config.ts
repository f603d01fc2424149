/**
 * move_it_mirror sections: a client and a server in one section (docs/mirror.md).
 *
 * Upstream (client) side: `providers`, `login`, `destination` (the local
 * staging directory), `client_topic` (default: `topic`), and the client's
 * other options (timeouts, heartbeat, `compression`...). Downstream (server)
 * side: `origin`, `topic`, `request_port` (required here), `request_address`,
 * `info`, `delete`, `remove_delay`, `station`, ... A `compression` option
 * belongs to the upstream side: the mirror announces what it fetched.
 */

import { checkUniquePorts, deepFreeze, fail, readTopic, type SectionReader } from "./fields.js";
import type { RawSection } from "./ini.js";
import { collect, readSections, type Problems } from "./problems.js";
import { CLIENT_OPTIONS, readClientChain } from "./client-config.js";
import type { ClientChainConfig } from "./client-config.js";
import { SERVER_OPTIONS, readServerChain } from "./server-config.js";
import type { ServerChainConfig } from "./server-config.js";

/** One mirror chain: fetch from upstream into staging, serve downstream. */
export interface MirrorChainConfig {
  readonly kind: "mirror";
  /** The section name. */
  readonly name: string;
  /** The upstream side; its `topic` is `client_topic`. */
  readonly client: ClientChainConfig;
  /** The downstream side; `requestPort` is always set. */
  readonly server: ServerChainConfig;
  /** Ours: fetch every announced file at once instead of on the first downstream request. */
  readonly prefetch: boolean;
  /** The section's options as read (DEFAULT merged), for change detection. */
  readonly raw: Readonly<Record<string, string>>;
}

/**
 * Options only a mirror section has. `delay` (the reference's pause before
 * re-announcing) is accepted and not used.
 */
export const MIRROR_OPTIONS: readonly string[] = ["client_topic", "prefetch", "delay"];

/** Read one mirror section. The result is not frozen yet. */
export function readMirrorChain(section: SectionReader): MirrorChainConfig {
  const server = readServerChain(section, { compression: false, listen: false });
  // The mirror exists to serve: unlike a plain server, a request port is needed.
  section.required("request_port");
  const topic = section.read("client_topic", (value, where) => readTopic(value, where, true), server.topic);
  const client = readClientChain(section, { topic, known: [...SERVER_OPTIONS, ...MIRROR_OPTIONS] });
  if (!/^(\/|file:\/\/)/.test(client.destination)) {
    fail(section.where("destination"), client.destination, "the staging directory must be local (a path or file://)");
  }
  return {
    kind: "mirror",
    name: section.name,
    client,
    server,
    prefetch: section.bool("prefetch", false),
    raw: section.raw(),
  };
}

/**
 * Read every section of a mirror file into frozen chains.
 * @throws ConfigError on the first bad option, or a request_port used twice.
 */
export function readMirrorConfig(sections: readonly RawSection[], file: string, problems: Problems): readonly MirrorChainConfig[] {
  const known = [...SERVER_OPTIONS, ...CLIENT_OPTIONS, ...MIRROR_OPTIONS];
  const chains = readSections(sections, file, problems, (section) => readMirrorChain(section), "warn", known);
  collect(problems, () =>
    checkUniquePorts(
      chains.map((chain) => ({ name: chain.name, port: chain.server.requestPort })),
      file,
      "request_port",
    ),
  );
  return deepFreeze(chains);
}
