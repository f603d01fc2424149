/**
 * Registration of a publisher with posttroll nameservers, as posttroll's
 * NoisyPublisher does it when given `nameservers`: every `intervalMs`
 * (2 s) an `/address/<name>` `info` message carrying the publisher's `URI`,
 * its `service` names, the newest message version it reads and its backend
 * goes, as a REQ, to port 21200 of every nameserver host (or the port a
 * `host:port` entry names); the nameserver answers `ok`. A nameserver that
 * is down or slow costs one socket per round and nothing else: the next
 * round tries again.
 */
import * as os from "node:os";
import * as zmq from "zeromq";
import type { Logger } from "../log.js";
import { Message } from "../message/index.js";

/** posttroll's default port for address registrations (`broadcast_port`). */
export const DEFAULT_REGISTRATION_PORT = 21200;
/** posttroll's CURRENT_MESSAGE_VERSION: what our decoder reads. */
export const SUPPORTED_MESSAGE_VERSION = "v1.2";

export interface RegistrarOptions {
  /** Publisher name: the subject is `/address/<name>`. */
  name: string;
  /** Service names (posttroll: the name and its aliases). */
  services: readonly string[];
  /** `tcp://host:port` others connect to. */
  uri: string;
  /** Hosts (or `host:port`) to register with. */
  nameservers: readonly string[];
  /** posttroll backend name advertised: `unsecure_zmq` or `secure_zmq`. */
  backend: string;
  log: Logger;
  /** Between rounds, ms (default 2000). */
  intervalMs?: number;
  /** Port for entries without one (default 21200, posttroll's `broadcast_port`). */
  port?: number;
  /** Give up on one nameserver's answer after this long, ms (default 10 000, as posttroll). */
  timeoutMs?: number;
}

/** The endpoint a nameserver entry designates. */
export function registrationEndpoint(
  entry: string,
  defaultPort = DEFAULT_REGISTRATION_PORT,
): string {
  const bare = entry.replace(/^tcp:\/\//, "");
  return /:\d+$/.test(bare) ? `tcp://${bare}` : `tcp://${bare}:${defaultPort}`;
}

/** The registration message, as NoisyPublisher builds it. */
export function registrationMessage(
  name: string,
  uri: string,
  services: readonly string[],
  backend: string,
): Message {
  return new Message(`/address/${name}`, "info", {
    URI: uri,
    service: [...services],
    supported_message_version: SUPPORTED_MESSAGE_VERSION,
    backend,
  });
}

export class Registrar {
  private timer: NodeJS.Timeout | undefined;
  private readonly open = new Set<zmq.Request>();
  private readonly warned = new Set<string>();
  private closed = false;
  /** Registrations answered `ok`, per endpoint. */
  readonly acknowledged = new Map<string, number>();

  constructor(private readonly opts: RegistrarOptions) {}

  /** Register now, then every interval. */
  start(): void {
    // Encoded once, as posttroll does: the same bytes every round.
    const frame = registrationMessage(
      this.opts.name,
      this.opts.uri,
      this.opts.services,
      this.opts.backend,
    ).encode();
    const round = (): void => {
      for (const ns of this.opts.nameservers)
        void this.send(registrationEndpoint(ns, this.opts.port), frame);
    };
    round();
    this.timer = setInterval(round, this.opts.intervalMs ?? 2000);
    this.timer.unref();
    this.opts.log.info(
      {
        nameservers: this.opts.nameservers,
        uri: this.opts.uri,
        name: this.opts.name,
      },
      "registering with nameservers",
    );
  }

  private async send(endpoint: string, frame: string): Promise<void> {
    if (this.closed) return;
    const timeoutMs = this.opts.timeoutMs ?? 10_000;
    const sock = new zmq.Request({
      linger: 0,
      sendTimeout: timeoutMs,
      receiveTimeout: timeoutMs,
    });
    this.open.add(sock);
    try {
      sock.connect(endpoint);
      await sock.send(frame);
      const [reply] = await sock.receive();
      const text = reply?.toString("utf8") ?? "";
      if (text !== "ok")
        this.opts.log.warn(
          { endpoint, reply: text.slice(0, 200) },
          "nameserver answered something else than ok",
        );
      this.acknowledged.set(
        endpoint,
        (this.acknowledged.get(endpoint) ?? 0) + 1,
      );
      if (this.warned.delete(endpoint))
        this.opts.log.info({ endpoint }, "nameserver answers again");
    } catch (err) {
      if (this.closed) return;
      if (!this.warned.has(endpoint)) {
        this.warned.add(endpoint);
        this.opts.log.warn(
          { endpoint, err: (err as Error).message },
          "nameserver does not answer; registration retried every round",
        );
      }
    } finally {
      this.open.delete(sock);
      if (!sock.closed) sock.close();
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    for (const s of this.open) if (!s.closed) s.close();
    this.open.clear();
  }
}

/**
 * The address to advertise for a socket bound to `bindHost`: that host when
 * it is a specific one, else this machine's first non-loopback IPv4 address
 * (what posttroll's get_own_ip finds on a host with one interface), else
 * 127.0.0.1.
 */
export function advertisedHost(
  bindHost: string,
  interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]> = os.networkInterfaces(),
): string {
  if (bindHost !== "*" && bindHost !== "0.0.0.0" && bindHost !== "")
    return bindHost;
  for (const list of Object.values(interfaces)) {
    for (const info of list ?? [])
      if (info.family === "IPv4" && !info.internal) return info.address;
  }
  return "127.0.0.1";
}
