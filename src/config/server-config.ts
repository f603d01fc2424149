/**
 * move_it_server sections: one chain per section (docs/server.md).
 */

import {
  checkUniquePorts,
  deepFreeze,
  fail,
  readInfo,
  readNested,
  readOrigin,
  readPort,
  readPositiveSeconds,
  readSeconds,
  pythonBool,
  readList,
  readTopic,
} from "./fields.js";
import type { InfoValue, Where, SectionReader } from "./fields.js";
import { ConfigError } from "../errors.js";
import {
  readNetworkParameters,
  type NetworkParameters,
} from "./connection-parameters.js";
import type { RawSection } from "./ini.js";
import { collect, readSections, type Problems } from "./problems.js";

/** How the server unpacks a file before announcing it. */
export type Compression = "xrit" | "bzip";

/**
 * Where a `listen` section hears of its files: posttroll messages on
 * `topics`, from `addresses` and/or the publishers a nameserver lists.
 */
export interface ListenConfig {
  /** Subjects subscribed to (`topics`, else `listen`). */
  readonly topics: readonly string[];
  /** Publisher endpoints (`tcp://host:port`) subscribed to directly. */
  readonly addresses: readonly string[];
  /** Nameserver host (or `tcp://host[:port]`) to look `services` up at; false: none. */
  readonly nameserver: string | false;
  /** Services looked up at the nameserver (`""` = every publisher). */
  readonly services: readonly string[];
  /** Follow the nameserver's news of publishers appearing and leaving. */
  readonly addrListener: boolean;
  /** Seconds a nameserver look-up may take. */
  readonly timeout: number;
  /** posttroll's sender rewrite of received messages (read, with no effect on what is announced). */
  readonly translate: boolean;
}

/** One server chain: watch `origin` (or listen), announce on `topic`, serve on `requestPort`. */
export interface ServerChainConfig {
  readonly kind: "server";
  /** The section name. */
  readonly name: string;
  /** Trollsift pattern of the files to watch, directory included ("" in a `listen` section). */
  readonly origin: string;
  /** Set in a `listen` section: files come from posttroll messages, not a watched directory. */
  readonly listen: ListenConfig | undefined;
  /** Subject of the announcements. */
  readonly topic: string;
  /** Port of the request socket; undefined: announce only, serve nothing. */
  readonly requestPort: number | undefined;
  /** Host put in `request_address`; undefined: this host's address. */
  readonly requestAddress: string | undefined;
  /** Extra metadata put first in every announcement, in order. */
  readonly info: ReadonlyArray<readonly [string, InfoValue]>;
  /** Name returned in `pong`. */
  readonly station: string;
  /** Unpack before announcing. */
  readonly compression: Compression | undefined;
  /** The xRITDecompress program, for `xrit`. */
  readonly prog: string;
  /** Where unpacked files go; undefined: the system temp dir. */
  readonly workingDirectory: string | undefined;
  /** Delete the served file after push/ack (and the packed original once unpacked). */
  readonly delete: boolean;
  /** Seconds between push/ack and deletion. */
  readonly removeDelay: number;
  /** Polling interval, seconds. */
  readonly watchdogTimeout: number;
  /** Mover settings from `connection_parameters__KEY[__SUB]` options, nested (S3 reads its own here). */
  readonly connectionParameters: Readonly<Record<string, unknown>>;
  /** The ftp/sftp/scp settings among them, typed and checked. */
  readonly network: NetworkParameters;
  /** Ours: seconds between reconcile scans of `origin` (0 = none). */
  readonly rescanInterval: number;
  /** Ours: seconds the ledger keeps a file's row after it was announced. */
  readonly ledgerRetention: number;
  /** Ours: add a checksum of this kind to announcements (`checksum = sha256`). */
  readonly checksum: "sha256" | undefined;
  /** The section's options as read (DEFAULT merged), for change detection. */
  readonly raw: Readonly<Record<string, string>>;
}

/**
 * The reference's old top-level names for connection parameters, still
 * accepted as `connection_parameters__NAME`.
 */
export const LEGACY_CONNECTION_OPTIONS = [
  "connection_uptime",
  "ssh_key_filename",
  "ssh_connection_timeout",
  "ssh_private_key_file",
] as const;

/** Options of a `listen` section (trollmoves' names). */
export const LISTEN_OPTIONS: readonly string[] = [
  "listen",
  "topics",
  "addresses",
  "nameserver",
  "services",
  "addr_listener",
  "timeout",
  "translate",
];

/** Every option a server section understands (besides `connection_parameters__*`). */
export const SERVER_OPTIONS: readonly string[] = [
  "origin",
  "topic",
  "request_port",
  "request_address",
  "info",
  "station",
  "compression",
  "prog",
  "working_directory",
  "delete",
  "remove_delay",
  "watchdog_timeout",
  "checksum",
  "rescan_interval",
  "ledger_retention",
  ...LISTEN_OPTIONS,
  ...LEGACY_CONNECTION_OPTIONS,
];

/** Default `rescan_interval`, seconds. */
export const DEFAULT_RESCAN_INTERVAL = 60;
/** Default `ledger_retention`, seconds (7 days). */
export const DEFAULT_LEDGER_RETENTION = 7 * 86400;

/** Options of `readServerChain`. */
export interface ServerChainOptions {
  /** Read `compression` (false for the mirror, where it belongs to the client side). */
  readonly compression?: boolean;
  /** Accept `listen` sections (false for the mirror). */
  readonly listen?: boolean;
}

/** Read one server section. The result is not frozen yet. */
export function readServerChain(
  section: SectionReader,
  options: ServerChainOptions = {},
): ServerChainConfig {
  const { file, name } = section;
  const listen = readListen(section, options.listen !== false);
  const connectionParameters = readNested(
    section.options,
    "connection_parameters",
    { file, section: name },
    LEGACY_CONNECTION_OPTIONS,
  );
  return {
    kind: "server",
    name,
    origin:
      listen === undefined ? section.requiredAs("origin", readOrigin) : "",
    listen,
    topic: section.requiredAs("topic", readTopic),
    // 0: any free port (tests; read the bound port back from the server).
    requestPort: section.read("request_port", (value, where) =>
      readPort(value, where, true),
    ),
    requestAddress: section.read("request_address", readRequestAddress),
    info: section.read("info", readInfo, []),
    station: section.text("station") ?? "unknown",
    compression:
      options.compression === false
        ? undefined
        : section.choice("compression", ["xrit", "bzip"]),
    prog: section.text("prog") ?? "xRITDecompress",
    workingDirectory: section.text("working_directory"),
    delete: section.bool("delete", false),
    removeDelay: section.read("remove_delay", readSeconds, 30),
    watchdogTimeout: section.read("watchdog_timeout", readPositiveSeconds, 1),
    connectionParameters,
    network: readNetworkParameters(
      connectionParameters,
      { file, section: name },
      section.problems,
    ),
    checksum: section.choice("checksum", ["sha256"]),
    rescanInterval: section.read(
      "rescan_interval",
      readSeconds,
      DEFAULT_RESCAN_INTERVAL,
    ),
    ledgerRetention: section.read(
      "ledger_retention",
      readPositiveSeconds,
      DEFAULT_LEDGER_RETENTION,
    ),
    raw: section.raw(),
  };
}

/**
 * The `listen` options, or undefined for a section that watches `origin`.
 * Python's server ignores `listen` when `origin` is set too; here that is an
 * error, since one of the two would be silently unused.
 */
function readListen(
  section: SectionReader,
  allowed: boolean,
): ListenConfig | undefined {
  const listen = section.options.get("listen");
  if (listen === undefined) return undefined;
  const where = section.where("listen");
  if (!allowed)
    fail(
      where,
      listen,
      "a mirror section cannot listen: its files come from its providers",
    );
  if (section.options.has("origin"))
    fail(
      where,
      listen,
      "set either origin (watch a directory) or listen (re-announce files named in messages), not both",
    );
  readTopic(listen, where);
  if (!section.options.has("request_port"))
    throw new ConfigError(
      "missing required option (a listen section serves the files it re-announces)",
      section.where("request_port"),
    );
  const topics = section.read(
    "topics",
    (value, w) => {
      const list = readList(value);
      if (list.length === 0) fail(w, value, "must name at least one topic");
      return list;
    },
    [listen],
  );
  const addresses = section.read(
    "addresses",
    (value, w) => readList(value).map((a) => readEndpoint(a, w)),
    [] as string[],
  );
  const nameserver = section.read("nameserver", readNameserver, "localhost");
  if (nameserver === false && addresses.length === 0)
    fail(
      section.where("nameserver"),
      section.options.get("nameserver") ?? "",
      "with no nameserver, addresses must list the publishers to listen to",
    );
  return {
    topics,
    addresses,
    nameserver,
    // Python passes the value as one service name; a list is accepted too.
    services: section.read(
      "services",
      (value) => {
        const l = readList(value);
        return l.length === 0 ? [""] : l;
      },
      [""],
    ),
    addrListener: section.bool("addr_listener", true),
    timeout: section.read("timeout", readPositiveSeconds, 10),
    translate: section.bool("translate", false),
  };
}

/** A publisher address: `tcp://host:port`, or `host:port`. */
function readEndpoint(value: string, where: Where): string {
  const m = /^(?:tcp:\/\/)?(\[[0-9A-Fa-f:.]+\]|[^\s:/[\]]+):(\d+)$/.exec(value);
  if (m === null)
    fail(where, value, "not a publisher address (tcp://host:port)");
  readPort(m[2]!, where);
  return `tcp://${m[1]}:${m[2]}`;
}

/** A nameserver host, `tcp://host[:port]`, or a false word for none (Python's getboolean). */
function readNameserver(value: string, where: Where): string | false {
  const b = pythonBool(value);
  if (b === false) return false;
  if (b === true || value === "")
    fail(where, value, "give the nameserver's host (or false for none)");
  if (/\s/.test(value))
    fail(where, value, "a host name cannot contain whitespace");
  if (value.includes("://") && !/^tcp:\/\/[^/]+$/.test(value))
    fail(where, value, "not a nameserver address (host, or tcp://host[:port])");
  return value;
}

/** A host or address without port: the port comes from `request_port`. */
function readRequestAddress(value: string, where: Where): string | undefined {
  if (value === "") return undefined;
  if (/\s/.test(value))
    fail(where, value, "a host name cannot contain whitespace");
  if (/^[^:[\]]+:\d+$/.test(value))
    fail(where, value, "give the host only: the port is request_port");
  return value;
}

/**
 * Read every section of a server file into frozen chains.
 * @throws ConfigError on the first bad option, or a request_port used twice.
 */
export function readServerConfig(
  sections: readonly RawSection[],
  file: string,
  problems: Problems,
): readonly ServerChainConfig[] {
  const chains = readSections(
    sections,
    file,
    problems,
    (section) => readServerChain(section),
    "warn",
    SERVER_OPTIONS,
  );
  collect(problems, () =>
    checkUniquePorts(
      chains.map((chain) => ({ name: chain.name, port: chain.requestPort })),
      file,
      "request_port",
    ),
  );
  return deepFreeze(chains);
}
