/**
 * move_it_client sections: one chain per section (docs/client.md).
 */

import {
  type SectionReader,
  checkUniquePorts,
  deepFreeze,
  fail,
  pythonBool,
  readHostPort,
  readInt,
  readList,
  readNonNegative,
  readPort,
  readPositiveSeconds,
  readSeconds,
  readTopic,
  readUrl,
} from "./fields.js";
import type { Where } from "./fields.js";
import type { RawSection } from "./ini.js";
import { collect, readSections, type Problems } from "./problems.js";
import {
  EXPECTED_OPTIONS,
  readAlerts,
  readExpected,
  type AlertSettings,
  type ExpectedFiles,
} from "./expected.js";

/** How the client unpacks a received file. */
export type ClientCompression = "xrit" | "tar" | "bzip";

/** A publisher the client listens to. */
export interface Provider {
  /** Host name or address (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  /** From `host:port/topic` (with its leading "/"); undefined when not given. */
  readonly topic: string | undefined;
  /** `host:port` (IPv6 in brackets), ready for `tcp://` + address. */
  readonly address: string;
}

/** One client chain: listen to `providers` on `topic`, fetch into `destination`. */
export interface ClientChainConfig {
  readonly kind: "client";
  /** The section name. */
  readonly name: string;
  /** Publishers to listen to, in order. */
  readonly providers: readonly Provider[];
  /** Where files must end up: URL or absolute path, may hold `{field}` patterns. */
  readonly destination: string;
  /** `user[:password]` put into the destination sent to the server. */
  readonly login: string | undefined;
  /** Subject prefix to subscribe to ("" subscribes to everything). */
  readonly topic: string;
  /** Port where this chain republishes (0: any free port). */
  readonly publishPort: number;
  /** Nameservers to register with; false: none; undefined: posttroll's default. */
  readonly nameservers: readonly string[] | false | undefined;
  /** Also subscribe to the providers' heartbeats. */
  readonly heartbeat: boolean;
  /** Reconnect a provider silent for scale × min_interval; undefined: never. */
  readonly heartbeatAlarmScale: number | undefined;
  /** Hot spare: seconds to wait before acting; undefined: act at once. */
  readonly processingDelay: number | undefined;
  /** Alternative hosts passed to the server for scp. */
  readonly backupTargets: readonly string[] | undefined;
  /** Create a local destination directory before requesting. */
  readonly createTargetDirectory: boolean;
  /** Unpack after receiving. */
  readonly compression: ClientCompression | undefined;
  /** Path of xRITDecompress. */
  readonly xritdecompressor: string | undefined;
  /** Delete the packed file after unpacking. */
  readonly delete: boolean;
  /** Seconds to wait for an ack reply. */
  readonly reqTimeout: number;
  /** Seconds to wait for a push reply. */
  readonly transferReqTimeout: number;
  /** Ours: transfers of this chain running at once (`max_concurrent_transfers`). */
  readonly maxConcurrentTransfers: number;
  /** Ours: check an announced checksum on arrival (`verify_checksum`). */
  readonly verifyChecksum: boolean;
  /** Ours: seconds after a file was first heard of that retries stop and it is given up (`max_retry_age`). */
  readonly maxRetryAge: number;
  /** Ours: seconds delivered and given-up files stay in the ledger (`ledger_retention`). */
  readonly ledgerRetention: number;
  /** Ours: seconds back a catch-up from a server this chain never heard reaches (`catch_up_window`); 0 = none. */
  readonly catchUpWindow: number;
  /** Ours: what should arrive (`expect_*`, docs/observability.md); undefined: no expectation. */
  readonly expected: ExpectedFiles | undefined;
  /** Ours: webhook alerts (`alert_url`, `alert_provider_down`); undefined: none. */
  readonly alerts: AlertSettings | undefined;
  /** Every option not known here: metadata key → raw value (`a:b|c:d` maps, else literal). */
  readonly metadataRewrites: ReadonlyArray<readonly [string, string]>;
  /** The section's options as read (DEFAULT merged), for change detection. */
  readonly raw: Readonly<Record<string, string>>;
}

/** Every option a client section understands (besides `connection_parameters__*`). */
export const CLIENT_OPTIONS: readonly string[] = [
  "providers",
  "destination",
  "login",
  "topic",
  "publish_port",
  "nameservers",
  "heartbeat",
  "heartbeat_alarm_scale",
  "processing_delay",
  "backup_targets",
  "create_target_directory",
  "compression",
  "xritdecompressor",
  "delete",
  "req_timeout",
  "transfer_req_timeout",
  "max_concurrent_transfers",
  "verify_checksum",
  "max_retry_age",
  "ledger_retention",
  "catch_up_window",
  ...EXPECTED_OPTIONS,
];

/** Options of `readClientChain`, for the mirror. */
export interface ClientChainOptions {
  /** The topic to subscribe to, when not the `topic` option. */
  readonly topic?: string;
  /** More options that are not metadata rewrites. */
  readonly known?: readonly string[];
}

/** Read one client section. The result is not frozen yet. */
export function readClientChain(
  section: SectionReader,
  options: ClientChainOptions = {},
): ClientChainConfig {
  const { name } = section;
  return {
    kind: "client",
    name,
    providers:
      section.read("providers", readProviders) ??
      (section.required("providers"), []),
    destination: section.requiredAs("destination", readUrl),
    login: section.text("login"),
    topic: options.topic ?? readClientTopic(section),
    publishPort: section.read(
      "publish_port",
      (value, where) => readPort(value, where, true),
      0,
    ),
    nameservers: section.read("nameservers", readNameservers),
    heartbeat: section.bool("heartbeat", true),
    heartbeatAlarmScale: section.read("heartbeat_alarm_scale", readScale),
    processingDelay: section.read("processing_delay", readSeconds),
    backupTargets: section.read("backup_targets", readBackupTargets),
    createTargetDirectory: section.bool("create_target_directory", true),
    compression: section.choice("compression", ["xrit", "tar", "bzip"]),
    xritdecompressor: section.text("xritdecompressor"),
    delete: section.bool("delete", false),
    reqTimeout: section.read("req_timeout", readPositiveSeconds, 1),
    transferReqTimeout: section.read(
      "transfer_req_timeout",
      readPositiveSeconds,
      10,
    ),
    maxConcurrentTransfers: section.read(
      "max_concurrent_transfers",
      (value, where) => readInt(value, where, 1),
      32,
    ),
    verifyChecksum: section.bool("verify_checksum", true),
    maxRetryAge: section.read("max_retry_age", readPositiveSeconds, 86_400),
    ledgerRetention: section.read(
      "ledger_retention",
      readPositiveSeconds,
      604_800,
    ),
    catchUpWindow: section.read("catch_up_window", readSeconds, 3600),
    expected: readExpected(section),
    alerts: readAlerts(section),
    metadataRewrites: readRewrites(section.options, [
      ...CLIENT_OPTIONS,
      ...(options.known ?? []),
    ]),
    raw: section.raw(),
  };
}

// Required, but may be empty: the reference subscribes to everything then.
function readClientTopic(section: SectionReader): string {
  const value = section.options.get("topic");
  return value === undefined
    ? section.required("topic")
    : readTopic(value, section.where("topic"), true);
}

/** Space-separated `host:port` or `host:port/topic`. */
export function readProviders(value: string, where: Where): Provider[] {
  const providers = readList(value).map((item): Provider => {
    const slash = item.indexOf("/");
    const hostPort = readHostPort(
      slash < 0 ? item : item.slice(0, slash),
      where,
    );
    const topic =
      slash < 0 || slash === item.length - 1 ? undefined : item.slice(slash);
    return { ...hostPort, topic };
  });
  if (providers.length === 0) fail(where, value, "no provider given");
  const addresses = providers.map((provider) => provider.address);
  const twice = addresses.find(
    (address, index) => addresses.indexOf(address) !== index,
  );
  if (twice !== undefined)
    fail(where, value, `provider ${twice} is listed twice`);
  return providers;
}

/** `false` (any Python false word): none; a true word: posttroll's default; else a list. */
function readNameservers(value: string): readonly string[] | false | undefined {
  const bool = pythonBool(value);
  if (bool !== undefined) return bool ? undefined : false;
  return readList(value);
}

function readScale(value: string, where: Where): number {
  const scale = readNonNegative(value, where);
  if (scale === 0) fail(where, value, "must be more than 0");
  return scale;
}

function readBackupTargets(value: string): readonly string[] | undefined {
  const targets = readList(value, true);
  return targets.length > 0 ? targets : undefined;
}

/** Every option that is neither in `known` nor `connection_parameters__*` (the server's mover settings, which a client ignores), in order. */
function readRewrites(
  options: ReadonlyMap<string, string>,
  known: readonly string[],
): Array<[string, string]> {
  const skip = new Set(known);
  return [...options].filter(
    ([key]) => !skip.has(key) && !key.startsWith("connection_parameters__"),
  );
}

/**
 * Read every section of a client file into frozen chains.
 * @throws ConfigError on the first bad option, or a non-zero publish_port used twice.
 */
export function readClientConfig(
  sections: readonly RawSection[],
  file: string,
  problems: Problems,
): readonly ClientChainConfig[] {
  const chains = readSections(
    sections,
    file,
    problems,
    (section) => readClientChain(section),
    "rewrites",
    CLIENT_OPTIONS,
  );
  collect(problems, () =>
    checkUniquePorts(
      chains.map((chain) => ({ name: chain.name, port: chain.publishPort })),
      file,
      "publish_port",
    ),
  );
  return deepFreeze(chains);
}
