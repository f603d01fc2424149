/**
 * A posttroll nameserver, for sites without Python. It speaks the protocol
 * of posttroll's `nameserver --no-multicast`:
 *
 * - registrations: REQ/REP on `registrationPort` (21200). A publisher sends
 *   an `/address/<name>` `info` message whose data has `URI` and `service`;
 *   the answer is the text `ok`. An address is kept `maxAgeMs` (10 min)
 *   after its last registration.
 * - look-ups: REQ/REP on `port` (5557). A `request` message with data
 *   `{"service": NAME}` gets an `/oper/ns` `info` reply, in the request's
 *   message version, whose data is the list of known addresses offering
 *   NAME (every address for ""), each the registration's data plus
 *   `status`, `name` and `receive_time`; with none known the data is empty.
 * - news: a publisher on `publishPort` (16543) sends every new address, and
 *   a `status: false` message for every expired one, on `/address/<name>`,
 *   with a heartbeat every 29 s; it registers itself, as `address_receiver`
 *   (alias `addresses`), as posttroll's does.
 */
import type { Logger } from "../log.js";
import { Message } from "../message/index.js";
import { DateTime } from "../util/datetime.js";
import { Publisher } from "../transport/publisher.js";
import { Registrar, advertisedHost } from "../transport/registrar.js";
import { RouterSocket } from "../transport/router.js";

export const DEFAULT_NAMESERVER_PORT = 5557;
export const DEFAULT_REGISTRATION_PORT = 21200;
export const DEFAULT_ADDRESS_PUBLISH_PORT = 16543;

export interface NameServerOptions {
  log: Logger;
  /** Interface to bind to (default `*`). */
  host?: string;
  /** Look-up port (default 5557, posttroll's `nameserver_port`). */
  port?: number;
  /** Registration port (default 21200, posttroll's `broadcast_port`). */
  registrationPort?: number;
  /** Address news publisher port (default 16543, posttroll's `address_publish_port`). */
  publishPort?: number;
  /** Forget an address this long after its last registration, ms (default 10 min). */
  maxAgeMs?: number;
  /** Clock (tests). */
  now?: () => number;
}

/** One known address: the registration's data plus what the nameserver adds. */
interface Entry {
  data: Record<string, unknown>;
  receivedAt: number;
}

export interface NameServerStats {
  addresses: number;
  registrations: number;
  lookups: number;
  badRequests: number;
}

export class NameServer {
  private readonly entries = new Map<string, Entry>();
  private readonly lookup: RouterSocket;
  private readonly registration: RouterSocket;
  private readonly news: Publisher;
  private registrar: Registrar | undefined;
  private ageTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  private readonly now: () => number;
  private readonly maxAgeMs: number;
  readonly stats: NameServerStats = {
    addresses: 0,
    registrations: 0,
    lookups: 0,
    badRequests: 0,
  };

  constructor(private readonly opts: NameServerOptions) {
    const host = opts.host ?? "*";
    this.now = opts.now ?? Date.now;
    this.maxAgeMs = opts.maxAgeMs ?? 10 * 60_000;
    this.lookup = new RouterSocket({
      bind: `tcp://${host}:${opts.port ?? DEFAULT_NAMESERVER_PORT}`,
      secure: false,
      log: opts.log,
      handler: async (req) => this.answer(req.payload),
    });
    this.registration = new RouterSocket({
      bind: `tcp://${host}:${opts.registrationPort ?? DEFAULT_REGISTRATION_PORT}`,
      secure: false,
      log: opts.log,
      handler: async (req) => {
        this.register(req.payload);
        return "ok";
      },
    });
    this.news = new Publisher({
      bind: `tcp://${host}:${opts.publishPort ?? DEFAULT_ADDRESS_PUBLISH_PORT}`,
      log: opts.log,
      heartbeatName: "address_receiver",
      heartbeatInterval: 29,
    });
  }

  async start(): Promise<void> {
    await this.news.start();
    await this.registration.start();
    await this.lookup.start();
    const regPort = this.registration.port;
    this.registrar = new Registrar({
      name: "address_receiver",
      services: ["address_receiver", "addresses"],
      uri: `tcp://${advertisedHost(this.opts.host ?? "*")}:${this.news.port}`,
      nameservers: [`127.0.0.1:${regPort}`],
      backend: "unsecure_zmq",
      log: this.opts.log,
    });
    this.registrar.start();
    this.ageTimer = setInterval(
      () => this.expire(),
      Math.max(1000, this.maxAgeMs / 20),
    );
    this.ageTimer.unref();
    this.opts.log.info(
      {
        port: this.lookup.port,
        registrationPort: regPort,
        publishPort: this.news.port,
      },
      "nameserver started",
    );
  }

  /** Bound ports (after start). */
  get ports(): { lookup: number; registration: number; publish: number } {
    return {
      lookup: this.lookup.port,
      registration: this.registration.port,
      publish: this.news.port,
    };
  }

  /** Known addresses offering `service` ("" for all), as a look-up answers them. */
  addresses(service = ""): Record<string, unknown>[] {
    this.expire();
    const out: Record<string, unknown>[] = [];
    for (const e of this.entries.values()) {
      if (service !== "" && !offers(e.data["service"], service)) continue;
      out.push({
        ...e.data,
        receive_time: DateTime.fromDate(new Date(e.receivedAt), {
          aware: true,
        }).isoformat(),
      });
    }
    return out;
  }

  private register(payload: Buffer): void {
    let msg: Message;
    try {
      msg = Message.decode(payload);
    } catch (err) {
      this.stats.badRequests++;
      this.opts.log.warn(
        {
          err: (err as Error).message,
          payload: payload.toString("utf8").slice(0, 200),
        },
        "registration that is not a message: ignored",
      );
      return;
    }
    const data = msg.dataObject;
    const uri = data["URI"];
    if (
      msg.type !== "info" ||
      !msg.subject.toLowerCase().startsWith("/address") ||
      typeof uri !== "string"
    ) {
      this.stats.badRequests++;
      this.opts.log.warn(
        { subject: msg.subject, type: msg.type },
        "registration without an /address subject, info type and URI: ignored",
      );
      return;
    }
    this.stats.registrations++;
    // posttroll names the entry after the subject's first part.
    const name = msg.subject.split("/")[1] ?? "";
    const entry = {
      data: { ...data, status: true, name },
      receivedAt: this.now(),
    };
    const known = this.entries.has(uri);
    this.entries.set(uri, entry);
    this.stats.addresses = this.entries.size;
    if (!known) {
      this.opts.log.info({ uri, service: data["service"] }, "address added");
      void this.news.publish(
        new Message(
          msg.subject,
          "info",
          { ...data, status: true },
          { sender: msg.sender, time: msg.time },
        ),
      );
    }
  }

  private answer(payload: Buffer): string {
    let msg: Message;
    try {
      msg = Message.decode(payload);
    } catch (err) {
      this.stats.badRequests++;
      return new Message(
        "/oper/ns",
        "error",
        `not a posttroll message: ${(err as Error).message}`,
      ).encode();
    }
    this.stats.lookups++;
    const service = msg.dataObject["service"];
    const found = this.addresses(typeof service === "string" ? service : "");
    const reply = new Message(
      "/oper/ns",
      "info",
      found.length > 0 ? (found as never) : "",
      { version: msg.version },
    );
    this.opts.log.debug({ service, found: found.length }, "look-up answered");
    return reply.encode();
  }

  private expire(): void {
    const now = this.now();
    for (const [uri, e] of this.entries) {
      if (now - e.receivedAt <= this.maxAgeMs) continue;
      this.entries.delete(uri);
      this.opts.log.info({ uri }, "address expired");
      void this.news.publish(
        new Message(`/address/${String(e.data["name"])}`, "info", {
          status: false,
          URI: uri,
          service: e.data["service"] as never,
        }),
      );
    }
    this.stats.addresses = this.entries.size;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.ageTimer !== undefined) clearInterval(this.ageTimer);
      this.registrar?.close();
      await this.lookup.close(1000);
      await this.registration.close(1000);
      await this.news.close();
    })();
    return this.closing;
  }
}

/** posttroll's `name in service`: membership of a list, or a substring of a string. */
function offers(service: unknown, name: string): boolean {
  if (Array.isArray(service)) return service.includes(name);
  if (typeof service === "string") return service.includes(name);
  return false;
}
