/**
 * The network movers' settings as a push reads them: the ftp/sftp/scp
 * connection and pool settings (typed at config load, in
 * config/connection-parameters.ts), and the readers the S3 movers use for
 * their own `connection_parameters__*` names at the push; the digest that
 * keys connection pools and S3 clients by their credentials.
 */
import { createHash } from "node:crypto";
import {
  readNetworkParameters,
  type NetworkParameters,
} from "../config/connection-parameters.js";
import { pythonBool } from "../config/fields.js";
import type { MoveRequest } from "./mover.js";

/** Settings every network mover reads from the chain's connection parameters. */
export interface NetworkSettings {
  /** How long an unused connection is kept, ms (`connection_uptime`, s, default 30). */
  uptimeMs: number;
  /** Connections per host at most (`max_connections`, default 4). */
  maxConnections: number;
  /** Time allowed to connect and log in, ms. */
  connectTimeoutMs: number;
}

/** The request's ftp/sftp/scp settings: typed at config load, else (library use, tests) read now by the same reader. */
export function networkParameters(
  req: Pick<MoveRequest, "network" | "connectionParameters">,
): NetworkParameters {
  return req.network ?? readNetworkParameters(req.connectionParameters);
}

/** The pool and connect settings; `timeout` is the scheme's own connect timeout (s) when set. */
export function networkSettings(
  p: NetworkParameters,
  timeout: number | undefined,
): NetworkSettings {
  return {
    uptimeMs: p.connectionUptime * 1000,
    maxConnections: p.maxConnections,
    connectTimeoutMs: Math.max(1, (timeout ?? p.connectionTimeout) * 1000),
  };
}

/** A string parameter (ini values arrive as strings), or undefined when absent. */
export function stringParam(
  params: Readonly<Record<string, unknown>>,
  name: string,
): string | undefined {
  const v = params[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean")
    return String(v);
  throw new TypeError(`connection_parameters__${name} must be a single value`);
}

/** A non-negative number parameter; TypeError naming the option when malformed. */
export function numberParam(
  params: Readonly<Record<string, unknown>>,
  name: string,
  fallback: number,
): number {
  const text = stringParam(params, name);
  if (text === undefined || text.trim() === "") return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0)
    throw new TypeError(
      `connection_parameters__${name} is not a non-negative number: '${text}'`,
    );
  return n;
}

/** A boolean parameter, by the config's one rule (Python's getboolean words, 1 and 0). */
export function boolParam(
  params: Readonly<Record<string, unknown>>,
  name: string,
  fallback: boolean,
): boolean {
  const v = params[name];
  if (typeof v === "boolean") return v;
  const text = stringParam(params, name);
  if (text === undefined) return fallback;
  const b = pythonBool(text);
  if (b === undefined)
    throw new TypeError(
      `connection_parameters__${name} is not a boolean: '${text}'`,
    );
  return b;
}

/** A short digest of secrets, so pools are keyed by credentials without holding them in the key. */
export function secretDigest(...parts: (string | undefined)[]): string {
  return createHash("sha256")
    .update(JSON.stringify(parts))
    .digest("hex")
    .slice(0, 16);
}
