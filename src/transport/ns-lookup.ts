/**
 * The subscriber side of a posttroll nameserver: look up the publishers
 * offering a service (REQ `/oper/ns request {"service": NAME}` to port 5557,
 * answered `/oper/ns info` with a list of address records, or no data), and
 * the address of the nameserver's news publisher (port 16543), where it
 * announces publishers appearing (`status: true`) and leaving.
 */
import * as zmq from "zeromq";
import { Message } from "../message/index.js";

/** posttroll's default nameserver (look-up) port. */
export const DEFAULT_LOOKUP_PORT = 5557;
/** posttroll's default port of the nameserver's address news. */
export const DEFAULT_NEWS_PORT = 16543;

/** A port from posttroll's environment variables, or `fallback`. */
export function posttrollPort(
  names: readonly string[],
  fallback: number,
  env: NodeJS.ProcessEnv = process.env,
): number {
  for (const name of names) {
    const v = env[name];
    if (v === undefined || v === "") continue;
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0 || n > 65535)
      throw new Error(
        `environment variable ${name}: ${JSON.stringify(v)} is not a port number`,
      );
    return n;
  }
  return fallback;
}

/**
 * The look-up endpoint for a `nameserver` setting, as posttroll builds it:
 * a bare host gets `tcp://` and the port; `tcp://host` gets the port;
 * `tcp://host:port` is used as it is.
 */
export function lookupEndpoint(
  nameserver: string,
  port = posttrollPort(
    ["POSTTROLL_NAMESERVER_PORT", "NAMESERVER_PORT"],
    DEFAULT_LOOKUP_PORT,
  ),
): string {
  if (!nameserver.includes("://")) return `tcp://${nameserver}:${port}`;
  return /:\d+$/.test(nameserver.slice("tcp://".length))
    ? nameserver
    : `${nameserver}:${port}`;
}

/** The news endpoint of a nameserver host (posttroll: `tcp://` + host + `:` + address_publish_port). */
export function newsEndpoint(
  nameserver: string,
  port = posttrollPort(["POSTTROLL_ADDRESS_PUBLISH_PORT"], DEFAULT_NEWS_PORT),
): string {
  const host = nameserver.replace(/^tcp:\/\//, "").replace(/:\d+$/, "");
  return `tcp://${host}:${port}`;
}

/** One publisher a nameserver knows: its `URI`, services and the rest of its registration. */
export interface AddressRecord {
  uri: string;
  service: unknown;
  status: boolean;
}

/** The records of a look-up answer or a news message (anything without a string `URI` is left out). */
export function addressRecords(data: unknown): AddressRecord[] {
  const list = Array.isArray(data)
    ? data
    : data !== null && typeof data === "object"
      ? [data]
      : [];
  const out: AddressRecord[] = [];
  for (const item of list) {
    if (item === null || typeof item !== "object" || Array.isArray(item))
      continue;
    const r = item as Record<string, unknown>;
    if (typeof r["URI"] !== "string") continue;
    out.push({
      uri: r["URI"],
      service: r["service"],
      status: r["status"] !== false,
    });
  }
  return out;
}

/** posttroll's `name in service` test: "" matches all, else membership of a list or a substring. */
export function offersService(service: unknown, name: string): boolean {
  if (name === "") return true;
  if (Array.isArray(service)) return service.includes(name);
  return typeof service === "string" && service.includes(name);
}

/**
 * Ask the nameserver at `endpoint` for the publishers of `service` ("" for
 * all). Rejects when there is no answer within `timeoutMs`.
 */
export async function lookUp(
  endpoint: string,
  service: string,
  timeoutMs: number,
): Promise<AddressRecord[]> {
  const sock = new zmq.Request({
    linger: 0,
    sendTimeout: timeoutMs,
    receiveTimeout: timeoutMs,
  });
  try {
    sock.connect(endpoint);
    await sock.send(new Message("/oper/ns", "request", { service }).encode());
    const [frame] = await sock.receive();
    return addressRecords(Message.decode(frame ?? Buffer.alloc(0)).data);
  } catch (err) {
    if ((err as { code?: string }).code === "EAGAIN")
      throw new Error(
        `no answer from the nameserver at ${endpoint} within ${timeoutMs} ms`,
        { cause: err },
      );
    throw err;
  } finally {
    sock.close();
  }
}
