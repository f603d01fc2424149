/**
 * The network movers' settings, from a section's
 * `connection_parameters__NAME` options: read and checked once, when the
 * config is loaded, so a bad value stops the start (or `--check`) with an
 * error naming file, section, option and value instead of failing a push.
 * The S3 movers' own names stay in the nested tree they read (s3.md).
 */
import { ConfigError } from "../errors.js";
import { pythonBool } from "./fields.js";

/** ftp, sftp and scp settings, typed. Durations are seconds. */
export interface NetworkParameters {
  /** How long an unused connection is kept open (`connection_uptime`). */
  readonly connectionUptime: number;
  /** Time allowed to connect and log in (`connection_timeout`). */
  readonly connectionTimeout: number;
  /** `ftp_connection_timeout`: the ftp mover's own, else `connectionTimeout`. */
  readonly ftpConnectionTimeout: number | undefined;
  /** `ssh_connection_timeout`: the sftp and scp movers' own, else `connectionTimeout`. */
  readonly sshConnectionTimeout: number | undefined;
  /** Connections per host at most (`max_connections`, at least 1). */
  readonly maxConnections: number;
  /** The ssh key (`ssh_key_filename`, or the older `ssh_private_key_file`); undefined: the user's default keys. */
  readonly sshKeyFilename: string | undefined;
  /** The known_hosts file (`known_hosts`); undefined: ~/.ssh/known_hosts. */
  readonly knownHosts: string | undefined;
  /** Add a host key not yet in known_hosts instead of refusing (`accept_new_host_keys`). */
  readonly acceptNewHostKeys: boolean;
}

/** The defaults, for a section without connection parameters. */
export const DEFAULT_NETWORK_PARAMETERS: NetworkParameters = Object.freeze({
  connectionUptime: 30,
  connectionTimeout: 10,
  ftpConnectionTimeout: undefined,
  sshConnectionTimeout: undefined,
  maxConnections: 4,
  sshKeyFilename: undefined,
  knownHosts: undefined,
  acceptNewHostKeys: false,
});

type Params = Readonly<Record<string, unknown>>;

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * The typed settings from a section's nested `connection_parameters` (as
 * `readNested` builds it: numbers, booleans, strings). `at` names the file
 * and section for errors. With `problems`, each bad value is recorded there
 * and its default used, so one check reports all of them.
 * @throws ConfigError naming the option and its value (without `problems`).
 */
export function readNetworkParameters(
  params: Params,
  at: { file?: string; section?: string } = {},
  problems?: ConfigError[],
): NetworkParameters {
  const r = new ParamReader(params, at, problems);
  const ftp = r.seconds("ftp_connection_timeout");
  const ssh = r.seconds("ssh_connection_timeout");
  return Object.freeze({
    connectionUptime:
      r.seconds("connection_uptime") ??
      DEFAULT_NETWORK_PARAMETERS.connectionUptime,
    connectionTimeout:
      r.seconds("connection_timeout") ??
      DEFAULT_NETWORK_PARAMETERS.connectionTimeout,
    ftpConnectionTimeout: ftp,
    sshConnectionTimeout: ssh,
    maxConnections: Math.max(
      1,
      Math.floor(
        r.seconds("max_connections", "not a non-negative number") ??
          DEFAULT_NETWORK_PARAMETERS.maxConnections,
      ),
    ),
    sshKeyFilename:
      r.text("ssh_key_filename") ?? r.text("ssh_private_key_file"),
    knownHosts: r.text("known_hosts"),
    acceptNewHostKeys:
      r.bool("accept_new_host_keys") ??
      DEFAULT_NETWORK_PARAMETERS.acceptNewHostKeys,
  });
}

/** Reads one kind of value per call; every error names `connection_parameters__NAME`. */
class ParamReader {
  constructor(
    private readonly params: Params,
    private readonly at: { file?: string; section?: string },
    private readonly problems: ConfigError[] | undefined,
  ) {}

  /** Throw, or with a problems list record the error and give undefined (the default is then used). */
  private fail(name: string, value: unknown, message: string): undefined {
    const err = new ConfigError(message, {
      ...this.at,
      option: `connection_parameters__${name}`,
      value: typeof value === "object" ? "(nested options)" : String(value),
    });
    if (this.problems === undefined) throw err;
    this.problems.push(err);
    return undefined;
  }

  /** A single value (ini values are scalars once read), or undefined when absent. */
  private scalar(name: string): string | number | boolean | undefined {
    const v = this.params[name];
    if (v === undefined) return undefined;
    if (
      typeof v === "string" ||
      typeof v === "number" ||
      typeof v === "boolean"
    )
      return v;
    return this.fail(name, v, "must be a single value, not nested options");
  }

  /** A non-negative number; an empty value counts as absent. */
  seconds(
    name: string,
    message = "not a non-negative number of seconds",
  ): number | undefined {
    const v = this.scalar(name);
    if (v === undefined || (typeof v === "string" && v.trim() === ""))
      return undefined;
    // readNested has made numbers of numeric text; a caller's own tree may still hold the text.
    const n =
      typeof v === "number"
        ? v
        : typeof v === "string" && DECIMAL.test(v.trim())
          ? Number(v)
          : NaN;
    if (!Number.isFinite(n) || n < 0) return this.fail(name, v, message);
    return n;
  }

  /** Text (a number is taken as written: a key file may be named `1`). */
  text(name: string): string | undefined {
    const v = this.scalar(name);
    return v === undefined ? undefined : String(v);
  }

  /** A boolean by the config's one rule (Python's getboolean words; 1 and 0). */
  bool(name: string): boolean | undefined {
    const v = this.scalar(name);
    if (v === undefined || typeof v === "boolean") return v;
    const b = pythonBool(String(v));
    if (b === undefined)
      return this.fail(
        name,
        v,
        "not a boolean (use true/false, yes/no, on/off or 1/0)",
      );
    return b;
  }
}
