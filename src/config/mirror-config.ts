/**
 * move_it_mirror sections: a client and a server in one section (docs/mirror.md).
 *
 * Upstream (client) side: `providers`, `login`, `destination` (the staging
 * directory: a path or a file://, ftp://, scp:// or sftp:// URL; the server
 * side serves staged files from `staging_directory`, by default that URL's
 * path on this machine), `client_topic` (default: `topic`), and the client's
 * other options (timeouts, heartbeat, `compression`...). Downstream (server)
 * side: `origin`, `topic`, `request_port` (required here), `request_address`,
 * `info`, `delete`, `remove_delay`, `station`, ... A `compression` option
 * belongs to the upstream side: the mirror announces what it fetched.
 */

import {
  checkUniquePorts,
  deepFreeze,
  fail,
  readTopic,
  type SectionReader,
} from "./fields.js";
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
  /**
   * The local directory where staged files are served from: `staging_directory`,
   * else the path of `destination` (for `ftp://`, `scp://`, `sftp://` staging
   * that is the staging host's path, as the reference mirror reads it).
   */
  readonly stagingDirectory: string;
  /** The section's options as read (DEFAULT merged), for change detection. */
  readonly raw: Readonly<Record<string, string>>;
}

/**
 * Options only a mirror section has. `delay` (the reference's pause before
 * re-announcing) is accepted and not used.
 */
export const MIRROR_OPTIONS: readonly string[] = [
  "client_topic",
  "prefetch",
  "delay",
  "staging_directory",
];

/** Schemes a mirror can stage through: the server half then serves the staged file from this machine. */
export const STAGING_SCHEMES: readonly string[] = [
  "file",
  "ftp",
  "scp",
  "sftp",
];

/** Read one mirror section. The result is not frozen yet. */
export function readMirrorChain(section: SectionReader): MirrorChainConfig {
  const server = readServerChain(section, {
    compression: false,
    listen: false,
  });
  // The mirror exists to serve: unlike a plain server, a request port is needed.
  section.required("request_port");
  const topic = section.read(
    "client_topic",
    (value, where) => readTopic(value, where, true),
    server.topic,
  );
  const client = readClientChain(section, {
    topic,
    known: [...SERVER_OPTIONS, ...MIRROR_OPTIONS],
  });
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//
    .exec(client.destination)?.[1]
    ?.toLowerCase();
  if (
    scheme === undefined
      ? !client.destination.startsWith("/")
      : !STAGING_SCHEMES.includes(scheme)
  ) {
    fail(
      section.where("destination"),
      client.destination,
      "a mirror stages into a directory given as a path or a file://, ftp://, scp:// or sftp:// URL",
    );
  }
  const stagingDirectory = section.read(
    "staging_directory",
    (value, where) => {
      if (!value.startsWith("/"))
        fail(where, value, "must be an absolute path");
      return value;
    },
    scheme === undefined ? client.destination : stagingPath(client.destination),
  );
  return {
    kind: "mirror",
    name: section.name,
    client,
    server,
    prefetch: section.bool("prefetch", false),
    stagingDirectory,
    raw: section.raw(),
  };
}

/** The path part of a staging URL, percent-decoded (`ftp://host:21/data/in/` → `/data/in/`). */
function stagingPath(url: string): string {
  const rest = url.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]*/, "");
  try {
    return decodeURIComponent(rest === "" ? "/" : rest);
  } catch {
    return rest;
  }
}

/**
 * Read every section of a mirror file into frozen chains.
 * @throws ConfigError on the first bad option, or a request_port used twice.
 */
export function readMirrorConfig(
  sections: readonly RawSection[],
  file: string,
  problems: Problems,
): readonly MirrorChainConfig[] {
  const known = [...SERVER_OPTIONS, ...CLIENT_OPTIONS, ...MIRROR_OPTIONS];
  const chains = readSections(
    sections,
    file,
    problems,
    (section) => readMirrorChain(section),
    "warn",
    known,
  );
  collect(problems, () =>
    checkUniquePorts(
      chains.map((chain) => ({
        name: chain.name,
        port: chain.server.requestPort,
      })),
      file,
      "request_port",
    ),
  );
  return deepFreeze(chains);
}
