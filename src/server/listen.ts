/**
 * A `listen` section's source of files: posttroll messages on its topics,
 * from fixed `addresses` and/or the publishers a nameserver lists for
 * `services` (looked up at start and again every minute, and followed
 * through the nameserver's address news when `addr_listener` is on).
 *
 * Only `file`, `dataset` and `collection` messages name files; every other
 * type is ignored. A message naming a file that is not on this host (a
 * `scheme://host/...` uri whose host is not one of ours) is dropped with a
 * warning: this server could not serve it. (trollmoves' server stops
 * listening altogether at such a message.)
 */
import { lookup as dnsLookup } from "node:dns/promises";
import { hostname, networkInterfaces } from "node:os";
import type { ListenConfig } from "../config/index.js";
import { rateLimitedLogger, type LimitedLogger, type Logger } from "../log.js";
import { Message, type JsonValue } from "../message/index.js";
import {
  addressRecords,
  lookUp,
  lookupEndpoint,
  newsEndpoint,
  offersService,
} from "../transport/ns-lookup.js";
import { Subscriber } from "../transport/subscriber.js";

/** The message types that name files. */
export const FILE_MESSAGE_TYPES: ReadonlySet<string> = new Set([
  "file",
  "dataset",
  "collection",
]);

/** Between two look-ups of the same services, ms. */
const RELOOKUP_MS = 60_000;

export interface ListenSourceOptions {
  config: ListenConfig;
  log: Logger;
  /** Called for each file message received, one at a time, in order. */
  onMessage: (msg: Message) => Promise<void>;
}

/** Every `uri` in a message's data, nested datasets and collections included (Python's gen_dict_extract). */
export function urisOf(data: JsonValue | undefined): string[] {
  const out: string[] = [];
  const walk = (v: JsonValue | undefined): void => {
    if (Array.isArray(v)) for (const item of v) walk(item);
    else if (
      v !== null &&
      typeof v === "object" &&
      (v as object).constructor === Object
    ) {
      for (const [k, item] of Object.entries(v as Record<string, JsonValue>)) {
        if (k === "uri" && typeof item === "string") out.push(item);
        else walk(item);
      }
    }
  };
  walk(data);
  return out;
}

/** Every `uid` in a message's data, nested ones included. */
export function uidsOf(data: JsonValue | undefined): string[] {
  const out: string[] = [];
  const walk = (v: JsonValue | undefined): void => {
    if (Array.isArray(v)) for (const item of v) walk(item);
    else if (
      v !== null &&
      typeof v === "object" &&
      (v as object).constructor === Object
    ) {
      for (const [k, item] of Object.entries(v as Record<string, JsonValue>)) {
        if (k === "uid" && typeof item === "string") out.push(item);
        else walk(item);
      }
    }
  };
  walk(data);
  return out;
}

/** The local path a uri names, or undefined when it names another host's file. */
export async function localPathOf(uri: string): Promise<string | undefined> {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/]*)(\/.*)?$/.exec(uri);
  if (m === null) return uri.startsWith("/") ? uri : undefined;
  const scheme = m[1]!.toLowerCase();
  const host = m[2]!
    .replace(/^.*@/, "")
    .replace(/:\d+$/, "")
    .replace(/^\[|\]$/g, "");
  const path = decodeURIComponent(m[3] ?? "");
  if (!path.startsWith("/")) return undefined;
  if (scheme === "file" || host === "") return path;
  return (await isLocalHost(host)) ? path : undefined;
}

/** True when `host` is this machine (an address of one of its interfaces, or resolving to one). */
async function isLocalHost(host: string): Promise<boolean> {
  const mine = new Set<string>();
  for (const list of Object.values(networkInterfaces()))
    for (const ni of list ?? []) mine.add(ni.address);
  if (host === "localhost" || host === hostname() || mine.has(host))
    return true;
  try {
    const found = await dnsLookup(host, { all: true });
    return found.some(
      (a) => mine.has(a.address) || a.address.startsWith("127."),
    );
  } catch {
    return false;
  }
}

/**
 * The re-announcement, as trollmoves' server builds it: the section's `info`
 * first, the received data over it (keys already there keep their place),
 * then `request_address`; the received type, the section's topic.
 */
export function reannouncement(
  received: Message,
  topic: string,
  info: ReadonlyArray<readonly [string, JsonValue]>,
  requestAddress: string | undefined,
): Message {
  const data: Record<string, JsonValue> = {};
  for (const [k, v] of info) data[k] = Array.isArray(v) ? [...v] : v;
  for (const [k, v] of Object.entries(received.dataObject)) data[k] = v;
  if (requestAddress !== undefined) data["request_address"] = requestAddress;
  return new Message(topic, received.type, data);
}

/** posttroll's subscription topics: a leading `/` added when missing. */
function subjectOf(topic: string): string {
  const bare = topic.replace(/^pytroll:\/\//, "/").replace(/^pytroll:\//, "/");
  return bare.startsWith("/") ? bare : `/${bare}`;
}

export class ListenSource {
  private sub: Subscriber | undefined;
  private news: Subscriber | undefined;
  private loop: Promise<void> | undefined;
  private newsLoop: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Endpoints found through the nameserver (the fixed addresses are never dropped). */
  private readonly found = new Set<string>();
  private readonly limited: LimitedLogger;

  constructor(private readonly opts: ListenSourceOptions) {
    this.limited = rateLimitedLogger(opts.log);
  }

  /** Subscribe; look-ups go on in the background (a missing nameserver delays nothing). */
  start(): void {
    const { config, log } = this.opts;
    this.sub = new Subscriber({
      endpoints: config.addresses,
      subjects: config.topics.map(subjectOf),
      log,
    });
    this.loop = this.consume(this.sub);
    if (config.nameserver !== false) {
      const nameserver = config.nameserver;
      if (config.addrListener) {
        this.news = new Subscriber({
          endpoints: [newsEndpoint(nameserver)],
          subjects: ["/address"],
          log,
        });
        this.newsLoop = this.follow(this.news);
      }
      const round = (): void => void this.lookUpAll(nameserver);
      round();
      this.timer = setInterval(round, RELOOKUP_MS);
      this.timer.unref();
    }
    log.info(
      {
        topics: config.topics,
        addresses: config.addresses,
        nameserver: config.nameserver,
        services: config.services,
      },
      "listening",
    );
  }

  private async consume(sub: Subscriber): Promise<void> {
    try {
      for await (const msg of sub) {
        if (!FILE_MESSAGE_TYPES.has(msg.type)) {
          this.opts.log.debug(
            { subject: msg.subject, type: msg.type },
            "not a file message: ignored",
          );
          continue;
        }
        await this.opts
          .onMessage(msg)
          .catch((err: unknown) =>
            this.limited.error(
              "listen message failed",
              { err, subject: msg.subject },
              "message not re-announced",
            ),
          );
      }
    } catch (err) {
      if (!this.closed) this.opts.log.error({ err }, "listening stopped");
    }
  }

  private async follow(news: Subscriber): Promise<void> {
    try {
      for await (const msg of news) {
        for (const r of addressRecords(msg.data)) {
          if (
            !this.opts.config.services.some((s) => offersService(r.service, s))
          )
            continue;
          if (r.status) this.add(r.uri, "address news");
          else this.remove(r.uri);
        }
      }
    } catch (err) {
      if (!this.closed) this.opts.log.error({ err }, "nameserver news stopped");
    }
  }

  private async lookUpAll(nameserver: string): Promise<void> {
    const endpoint = lookupEndpoint(nameserver);
    for (const service of this.opts.config.services) {
      if (this.closed) return;
      try {
        const records = await lookUp(
          endpoint,
          service,
          this.opts.config.timeout * 1000,
        );
        if (records.length === 0)
          this.limited.warn(
            `no publisher:${service}`,
            { service, nameserver: endpoint },
            "the nameserver knows no publisher of this service yet",
          );
        for (const r of records) if (r.status) this.add(r.uri, "look-up");
      } catch (err) {
        if (!this.closed)
          this.limited.warn(
            `lookup:${endpoint}`,
            { err: (err as Error).message, nameserver: endpoint, service },
            "nameserver look-up failed; tried again in a minute",
          );
      }
    }
  }

  private add(uri: string, how: string): void {
    if (
      this.closed ||
      this.found.has(uri) ||
      this.opts.config.addresses.includes(uri)
    )
      return;
    this.found.add(uri);
    this.sub?.connect(uri);
    this.opts.log.info({ uri, how }, "subscribed to a publisher");
  }

  private remove(uri: string): void {
    if (!this.found.delete(uri)) return;
    this.sub?.disconnect(uri);
    this.opts.log.info({ uri }, "publisher left: unsubscribed");
  }

  /** The publishers subscribed to now. */
  get endpoints(): string[] {
    return [...this.opts.config.addresses, ...this.found];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.sub?.close();
    this.news?.close();
    await Promise.allSettled([this.loop, this.newsLoop]);
    this.limited.close();
  }
}
