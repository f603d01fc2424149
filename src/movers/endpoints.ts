/**
 * The hosts a network push may go to and failover between them: the
 * destination's host, then the backup targets, each tried while the ones
 * before it are unreachable. Also the wording of a socket-level failure to
 * connect, which is what makes a host count as unreachable.
 */
import { ConnectFailure, StepError } from "../errors.js";
import type { Logger } from "../log.js";
import { formatUrl, parseUrl, type ParsedUrl } from "../util/url.js";

/** One host to connect to. */
export interface Endpoint {
  host: string;
  port: number;
}

/** `host:port`, IPv6 literals bracketed. */
export function hostPort(ep: Endpoint): string {
  return `${ep.host.includes(":") ? `[${ep.host}]` : ep.host}:${ep.port}`;
}

/**
 * The destination's host followed by the backup targets, without repeats.
 * A backup target is `host`, `host:port`, `[v6]:port` or a URL; its port
 * defaults to the destination's.
 */
export function endpoints(
  dest: ParsedUrl,
  backups: readonly string[] | undefined,
  defaultPort: number,
): Endpoint[] {
  if (dest.hostname === "")
    throw new StepError(`no host in destination ${formatUrl(dest)}`);
  const port = dest.port ?? defaultPort;
  const all: Endpoint[] = [{ host: dest.hostname, port }];
  for (const text of backups ?? []) {
    const ep = parseBackup(text.trim(), port);
    if (
      ep !== undefined &&
      !all.some((e) => e.host === ep.host && e.port === ep.port)
    )
      all.push(ep);
  }
  return all;
}

function parseBackup(text: string, port: number): Endpoint | undefined {
  if (text === "") return undefined;
  if (text.includes("://")) {
    const u = parseUrl(text);
    return u.hostname === ""
      ? undefined
      : { host: u.hostname, port: u.port ?? port };
  }
  const m =
    /^\[([^\]]+)\](?::(\d+))?$/.exec(text) ?? /^([^:]+)(?::(\d+))?$/.exec(text);
  if (m === null) return { host: text, port }; // a bare IPv6 address
  return { host: m[1] ?? text, port: m[2] === undefined ? port : Number(m[2]) };
}

const UNREACHABLE: Record<string, (where: string) => string> = {
  ECONNREFUSED: (w) => `connection refused to ${w}`,
  ETIMEDOUT: (w) => `timeout connecting to ${w}`,
  EHOSTUNREACH: (w) => `host unreachable: ${w}`,
  ENETUNREACH: (w) => `network unreachable: ${w}`,
  EHOSTDOWN: (w) => `host down: ${w}`,
  ENOTFOUND: (w) => `unknown host: ${w}`,
  EAI_AGAIN: (w) => `unknown host: ${w}`,
};

/** The ConnectFailure for a socket-level error while connecting, or undefined if it is not one. */
export function socketFailure(
  err: unknown,
  ep: Endpoint,
): ConnectFailure | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const describe = code === undefined ? undefined : UNREACHABLE[code];
  if (describe !== undefined)
    return new ConnectFailure(describe(hostPort(ep)), true, { cause: err });
  if (code === "ECONNRESET" || code === "EPIPE") {
    return new ConnectFailure(`connection reset by ${hostPort(ep)}`, true, {
      cause: err,
    });
  }
  return undefined;
}

/**
 * Run `attempt` against each endpoint in turn until one is reachable.
 * Any failure other than an unreachable ConnectFailure ends the search.
 * When every host is unreachable the error lists them all.
 */
export async function withFailover<T>(
  eps: readonly Endpoint[],
  attempt: (ep: Endpoint) => Promise<T>,
  log: Logger,
  signal: AbortSignal,
): Promise<{ value: T; endpoint: Endpoint }> {
  const failures: ConnectFailure[] = [];
  for (const [i, ep] of eps.entries()) {
    try {
      return { value: await attempt(ep), endpoint: ep };
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      if (!(err instanceof ConnectFailure && err.unreachable)) throw err;
      failures.push(err);
      const next = eps[i + 1];
      if (next !== undefined)
        log.warn(
          { host: hostPort(ep), next: hostPort(next), reason: err.message },
          "host unreachable, trying backup target",
        );
    }
  }
  if (failures.length === 1) throw failures[0]!;
  throw new ConnectFailure(failures.map((f) => f.message).join("; "), true, {
    cause: failures[0],
  });
}

/** The credential-free URL of the delivered file, on the host that took it. */
export function resultUri(
  dest: ParsedUrl,
  ep: Endpoint,
  defaultPort: number,
  path: string,
): string {
  const port =
    ep.port === defaultPort && dest.port === undefined ? undefined : ep.port;
  return formatUrl({ ...dest, hostname: ep.host, port, path });
}
