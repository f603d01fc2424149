/**
 * move_it_server sections: one chain per section (SPEC §3).
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
  readTopic,
} from "./fields.js";
import type { InfoValue, Where ,
  SectionReader} from "./fields.js";
import type { RawSection } from "./ini.js";
import { collect, readSections, type Problems } from "./problems.js";

/** How the server unpacks a file before announcing it. */
export type Compression = "xrit" | "bzip";

/** One server chain: watch `origin`, announce on `topic`, serve on `requestPort`. */
export interface ServerChainConfig {
  readonly kind: "server";
  /** The section name. */
  readonly name: string;
  /** Trollsift pattern of the files to watch, directory included. */
  readonly origin: string;
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
  /** Mover settings from `connection_parameters__KEY[__SUB]` options. */
  readonly connectionParameters: Readonly<Record<string, unknown>>;
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
}

/** Read one server section. The result is not frozen yet. */
export function readServerChain(section: SectionReader, options: ServerChainOptions = {}): ServerChainConfig {
  const { file, name } = section;
  return {
    kind: "server",
    name,
    origin: section.requiredAs("origin", readOrigin),
    topic: section.requiredAs("topic", readTopic),
    // 0: any free port (tests; read the bound port back from the server).
    requestPort: section.read("request_port", (value, where) => readPort(value, where, true)),
    requestAddress: section.read("request_address", readRequestAddress),
    info: section.read("info", readInfo, []),
    station: section.text("station") ?? "unknown",
    compression: options.compression === false ? undefined : section.choice("compression", ["xrit", "bzip"]),
    prog: section.text("prog") ?? "xRITDecompress",
    workingDirectory: section.text("working_directory"),
    delete: section.bool("delete", false),
    removeDelay: section.read("remove_delay", readSeconds, 30),
    watchdogTimeout: section.read("watchdog_timeout", readPositiveSeconds, 1),
    connectionParameters: readNested(
      section.options,
      "connection_parameters",
      { file, section: name },
      LEGACY_CONNECTION_OPTIONS,
    ),
    checksum: section.choice("checksum", ["sha256"]),
    rescanInterval: section.read("rescan_interval", readSeconds, DEFAULT_RESCAN_INTERVAL),
    ledgerRetention: section.read("ledger_retention", readPositiveSeconds, DEFAULT_LEDGER_RETENTION),
    raw: section.raw(),
  };
}

/** A host or address without port: the port comes from `request_port`. */
function readRequestAddress(value: string, where: Where): string | undefined {
  if (value === "") return undefined;
  if (/\s/.test(value)) fail(where, value, "a host name cannot contain whitespace");
  if (/^[^:[\]]+:\d+$/.test(value)) fail(where, value, "give the host only: the port is request_port");
  return value;
}

/**
 * Read every section of a server file into frozen chains.
 * @throws ConfigError on the first bad option, or a request_port used twice.
 */
export function readServerConfig(sections: readonly RawSection[], file: string, problems: Problems): readonly ServerChainConfig[] {
  const chains = readSections(sections, file, problems, (section) => readServerChain(section), "warn", SERVER_OPTIONS);
  collect(problems, () =>
    checkUniquePorts(
      chains.map((chain) => ({ name: chain.name, port: chain.requestPort })),
      file,
      "request_port",
    ),
  );
  return deepFreeze(chains);
}
