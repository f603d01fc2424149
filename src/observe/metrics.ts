/**
 * The Prometheus metrics of a daemon, by the conventions: counters end in
 * `_total` and are fed by the daemon's events, so they keep counting when
 * a reload re-creates a chain; durations are histograms in seconds; state
 * (pending, in flight, provider up) is read from the daemon at scrape time.
 * Process and Node metrics keep their standard names (`process_*`,
 * `nodejs_*`) so stock dashboards find them.
 */
import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
} from "prom-client";
import type { ClientEvent, ClientStats } from "../client/index.js";
import type { ServerEvent, ServerStats } from "../server/server.js";
import { fileTime } from "./file-time.js";

/** Seconds, 5 ms to 4 h: a small file on a LAN to a large one over a slow link. */
export const DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
  600, 1200, 1800, 3600, 7200, 14400,
];
/** Seconds, 10 s to 1 day: a file's age (from its own time) when it lands. */
export const AGE_BUCKETS = [
  10, 30, 60, 120, 300, 600, 900, 1200, 1800, 2700, 3600, 5400, 7200, 10800,
  21600, 43200, 86400,
];

/** A ledger's write counters (the server's or the client's). */
export interface LedgerCounters {
  writeErrors: number;
  pendingWrites: number;
  /** Transactions committed, and the changes they held (their ratio: the batching achieved). */
  commits: number;
  changesCommitted: number;
}

/** What the gauges are read from at scrape time. */
export interface MetricSources {
  client?: () => ClientStats;
  server?: () => Record<string, ServerStats>;
  /** The server's ledger (the client's comes with its stats). */
  serverLedger?: () => LedgerCounters;
}

type Labels<T extends string> = Partial<Record<T, string>>;

/**
 * A metric's children by label values, made once. prom-client sorts and
 * checks the labels of every `inc({...})` (about 4 µs a call here, several
 * calls a file); a child made once counts without that. Only for metrics
 * fed by events: a gauge that `reset()`s at scrape drops its children.
 */
class Children<C> {
  private readonly made = new Map<string, C>();

  constructor(private readonly make: (values: readonly string[]) => C) {}

  of(...values: string[]): C {
    const key = values.join("\u0000");
    let child = this.made.get(key);
    if (child === undefined) this.made.set(key, (child = this.make(values)));
    return child;
  }
}

/** Children of `metric` whose labels are `names`, given in that order to `of()`. */
function children<T extends string, C>(
  metric: { labels(labels: Labels<T>): C },
  names: readonly T[],
): Children<C> {
  return new Children((values) => {
    const labels: Labels<T> = {};
    names.forEach((n, i) => (labels[n] = values[i]));
    return metric.labels(labels);
  });
}

/** See the module comment. */
export class Metrics {
  readonly registry = new Registry();
  private readonly c: ReturnType<typeof clientMetrics>;
  private readonly s: ReturnType<typeof serverMetrics>;
  /** The children counted for every file (see Children). */
  private readonly hot: ReturnType<typeof hotChildren>;

  constructor(program: string, version: string, sources: MetricSources) {
    collectDefaultMetrics({
      register: this.registry,
      eventLoopMonitoringPrecision: 100,
    });
    const info = new Gauge({
      name: "move_it_info",
      help: "Always 1; the labels say which program and version this is.",
      labelNames: ["program", "version"],
      registers: [this.registry],
    });
    info.set({ program, version }, 1);
    this.c = clientMetrics(this.registry, sources.client);
    this.s = serverMetrics(this.registry, sources.server, sources.serverLedger);
    this.hot = hotChildren(this.c, this.s);
  }

  /** The text exposition (Prometheus format). */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Count a server event. */
  server(ev: ServerEvent): void {
    const s = this.s;
    const h = this.hot;
    const chain = { chain: ev.chain };
    switch (ev.type) {
      case "announced":
        h.announced.of(ev.chain).inc();
        h.lastAnnounce.of(ev.chain).set(Date.now() / 1000);
        return;
      case "request":
        h.requests.of(ev.chain, ev.request).inc();
        return;
      case "malformed":
        s.malformed.inc(chain);
        return;
      case "refused":
        s.refused.inc(chain);
        return;
      case "push_failed":
        s.pushFailures.inc(chain);
        return;
      case "pushed": {
        h.pushed.of(ev.chain, ev.scheme).inc();
        if (ev.joined) s.joined.inc(chain);
        h.pushedBytes.of(ev.chain, ev.scheme).inc(ev.bytes);
        h.pushDuration.of(ev.chain, ev.scheme).observe(ev.seconds);
        h.lastPush.of(ev.chain).set(Date.now() / 1000);
      }
    }
  }

  /** Count a client event. */
  client(ev: ClientEvent): void {
    const c = this.c;
    const h = this.hot;
    const chain = { chain: ev.chain };
    switch (ev.type) {
      case "announced":
        h.announcedTo.of(ev.chain, ev.provider).inc();
        return;
      case "pushed": {
        h.pushes
          .of(ev.chain, ev.provider, ev.scheme, ev.ok ? "success" : "failure")
          .inc();
        if (ev.ok)
          h.duration.of(ev.chain, ev.provider, ev.scheme).observe(ev.seconds);
        return;
      }
      case "failover":
        c.failovers.inc({ ...chain, provider: ev.provider });
        return;
      case "retried":
        c.retries.inc(chain);
        return;
      case "failed":
        c.failed.inc(chain);
        if (ev.givenUp) c.givenUp.inc(chain);
        return;
      case "acked":
        h.acks.of(ev.chain, ev.provider, ev.ok ? "success" : "failure").inc();
        return;
      case "catchup":
        c.catchups.inc({
          ...chain,
          provider: ev.provider,
          outcome: ev.outcome,
        });
        c.catchupFiles.inc(
          { ...chain, provider: ev.provider },
          ev.announcements,
        );
        return;
      case "heartbeat":
        h.heartbeats.of(ev.chain, ev.provider).inc();
        return;
      case "heartbeat_missed":
        c.missed.inc({ ...chain, provider: ev.provider });
        return;
      case "delivered":
        this.delivered(ev);
    }
  }

  /** Count bytes delivered, once their size is known (see Observer). */
  bytesDelivered(
    labels: { chain: string; provider: string; scheme: string },
    bytes: number,
  ): void {
    this.hot.bytes.of(labels.chain, labels.provider, labels.scheme).inc(bytes);
  }

  /** A client chain is configured: its per-chain counters start at 0 (so they are there before their first event). */
  clientChain(chain: string): void {
    const c = this.c;
    for (const m of [
      c.failed,
      c.givenUp,
      c.retries,
      c.late,
      c.missing,
      c.incomplete,
    ])
      m.inc({ chain }, 0);
  }

  /** Count files the expectations found late or missing, and slots that closed incomplete. */
  expected(
    chain: string,
    what: "late" | "missing" | "incomplete",
    n = 1,
  ): void {
    const m =
      what === "late"
        ? this.c.late
        : what === "missing"
          ? this.c.missing
          : this.c.incomplete;
    m.inc({ chain }, n);
  }

  private delivered(ev: Extract<ClientEvent, { type: "delivered" }>): void {
    const h = this.hot;
    h.delivered.of(ev.chain, ev.provider, ev.scheme).inc();
    h.latency
      .of(ev.chain, ev.provider)
      .observe(Math.max(0, (ev.deliveredAt - ev.announcedAt) / 1000));
    const own = fileTime(ev.data);
    if (own !== undefined)
      h.age.of(ev.chain).observe(Math.max(0, (ev.deliveredAt - own) / 1000));
    h.lastDelivery.of(ev.chain).set(ev.deliveredAt / 1000);
  }
}

/** The children of the metrics counted for every file, client and server. */
function hotChildren(
  c: ReturnType<typeof clientMetrics>,
  s: ReturnType<typeof serverMetrics>,
) {
  const cps = ["chain", "provider", "scheme"] as const;
  return {
    announcedTo: children(c.announced, ["chain", "provider"]),
    pushes: children(c.pushes, ["chain", "provider", "scheme", "outcome"]),
    duration: children(c.duration, cps),
    delivered: children(c.delivered, cps),
    bytes: children(c.bytes, cps),
    latency: children(c.latency, ["chain", "provider"]),
    age: children(c.age, ["chain"]),
    lastDelivery: children(c.lastDelivery, ["chain"]),
    acks: children(c.acks, ["chain", "provider", "outcome"]),
    heartbeats: children(c.heartbeats, ["chain", "provider"]),
    announced: children(s.announced, ["chain"]),
    lastAnnounce: children(s.lastAnnounce, ["chain"]),
    requests: children(s.requests, ["chain", "type"]),
    pushed: children(s.pushed, ["chain", "scheme"]),
    pushedBytes: children(s.bytes, ["chain", "scheme"]),
    pushDuration: children(s.duration, ["chain", "scheme"]),
    lastPush: children(s.lastPush, ["chain"]),
  };
}

function counter<T extends string>(
  reg: Registry,
  name: string,
  help: string,
  labelNames: readonly T[],
): Counter<T> {
  return new Counter({ name, help, labelNames, registers: [reg] });
}

function histogram<T extends string>(
  reg: Registry,
  name: string,
  help: string,
  labelNames: readonly T[],
  buckets: number[],
): Histogram<T> {
  return new Histogram({ name, help, labelNames, buckets, registers: [reg] });
}

function clientMetrics(reg: Registry, stats: (() => ClientStats) | undefined) {
  const P = "move_it_client_";
  const cp = ["chain", "provider"] as const;
  const m = {
    announced: counter(
      reg,
      `${P}files_announced_total`,
      "File announcements received from each provider (the same file from several providers counts once per provider).",
      cp,
    ),
    pushes: counter(
      reg,
      `${P}push_requests_total`,
      "Push requests sent to servers, by outcome: success, or failure (then the next provider is tried or the file is given up).",
      ["chain", "provider", "scheme", "outcome"],
    ),
    delivered: counter(
      reg,
      `${P}files_delivered_total`,
      "Files delivered (each file once, however many providers announced it).",
      ["chain", "provider", "scheme"],
    ),
    bytes: counter(
      reg,
      `${P}delivered_bytes_total`,
      "Bytes of the files delivered (size from the announcement, or of the file on a local destination).",
      ["chain", "provider", "scheme"],
    ),
    failed: counter(
      reg,
      `${P}files_failed_total`,
      "Times no provider could deliver a file in one round of tries (it is retried later, or given up).",
      ["chain"],
    ),
    givenUp: counter(
      reg,
      `${P}files_given_up_total`,
      "Files given up: still not delivered max_retry_age after they were first heard of.",
      ["chain"],
    ),
    retries: counter(
      reg,
      `${P}retries_total`,
      "Files taken up again from the ledger: a retry after backoff, a file resumed after a restart, or one that waited for room.",
      ["chain"],
    ),
    failovers: counter(
      reg,
      `${P}failovers_total`,
      "Pushes tried with the next provider after one failed (same round).",
      cp,
    ),
    acks: counter(
      reg,
      `${P}acks_total`,
      "Ack requests sent to the other servers that announced a delivered file, by outcome.",
      ["chain", "provider", "outcome"],
    ),
    catchups: counter(
      reg,
      `${P}catchup_requests_total`,
      "Catch-up passes asked of a server (at start, and when a provider is heard after silence), by outcome: answered, unsupported (a Python server), unreachable.",
      ["chain", "provider", "outcome"],
    ),
    catchupFiles: counter(
      reg,
      `${P}catchup_announcements_total`,
      "Announcements received by catch-up passes (files the ledger already knows among them).",
      cp,
    ),
    heartbeats: counter(
      reg,
      `${P}heartbeats_total`,
      "Heartbeats received from each provider.",
      cp,
    ),
    missed: counter(
      reg,
      `${P}heartbeats_missed_total`,
      "Times a provider stayed silent past heartbeat_alarm_scale heartbeats and was reconnected.",
      cp,
    ),
    late: counter(
      reg,
      `${P}files_late_total`,
      "Expected files (see expect_every) that arrived after their slot's deadline.",
      ["chain"],
    ),
    missing: counter(
      reg,
      `${P}files_missing_total`,
      "Expected files not there when their slot closed.",
      ["chain"],
    ),
    incomplete: counter(
      reg,
      `${P}slots_incomplete_total`,
      "Slots of expected files that closed with files missing.",
      ["chain"],
    ),
    duration: histogram(
      reg,
      `${P}push_duration_seconds`,
      "Time from sending a push request to its successful reply: how long the server took to move the file here.",
      ["chain", "provider", "scheme"],
      DURATION_BUCKETS,
    ),
    latency: histogram(
      reg,
      `${P}delivery_latency_seconds`,
      "Time from the server announcing a file to its delivery here (clocks of both hosts involved).",
      cp,
      DURATION_BUCKETS,
    ),
    age: histogram(
      reg,
      `${P}file_age_seconds`,
      "Age of each file when delivered: now minus the file's own time (nominal_time, start_time ... from its name).",
      ["chain"],
      AGE_BUCKETS,
    ),
    lastDelivery: new Gauge({
      name: `${P}last_delivery_timestamp_seconds`,
      help: "When the last file of the chain was delivered (Unix time).",
      labelNames: ["chain"],
      registers: [reg],
    }),
  };
  if (stats === undefined) return m;
  const chains = (): Array<[string, ClientStats["chains"][string]]> =>
    Object.entries(stats().chains);
  new Gauge({
    name: `${P}files_pending`,
    help: "Files heard of and not yet delivered or given up: waiting, moving, or waiting for a retry (the chain's ledger rows).",
    labelNames: ["chain"],
    registers: [reg],
    collect() {
      this.reset();
      for (const [chain, s] of chains())
        this.set(
          { chain },
          s.files.pending + s.files.inFlight + s.files.failed,
        );
    },
  });
  new Gauge({
    name: `${P}ledger_files`,
    help: "The chain's files in the client ledger by state: pending (no push sent yet), in_flight (push sent), failed (waiting for a retry), given_up (kept for ledger_retention). Delivered rows are not counted.",
    labelNames: ["chain", "state"],
    registers: [reg],
    collect() {
      this.reset();
      for (const [chain, s] of chains()) {
        this.set({ chain, state: "pending" }, s.files.pending);
        this.set({ chain, state: "in_flight" }, s.files.inFlight);
        this.set({ chain, state: "failed" }, s.files.failed);
        this.set({ chain, state: "given_up" }, s.files.givenUp);
      }
    },
  });
  ledgerMetrics(reg, P, "client", () => stats().ledger);
  new Gauge({
    name: `${P}pushes_in_flight`,
    help: "Push requests waiting for their reply now.",
    labelNames: ["chain"],
    registers: [reg],
    collect() {
      this.reset();
      for (const [chain, s] of chains())
        this.set({ chain }, s.coordinator.active);
    },
  });
  new Gauge({
    name: `${P}provider_up`,
    help: "1 while the provider's publisher is heard (a message or heartbeat within two heartbeat intervals), else 0.",
    labelNames: ["chain", "provider"],
    registers: [reg],
    collect() {
      this.reset();
      for (const [chain, s] of chains())
        for (const [provider, l] of Object.entries(s.listeners))
          this.set({ chain, provider }, l.up ? 1 : 0);
    },
  });
  new Gauge({
    name: `${P}provider_last_heard_timestamp_seconds`,
    help: "When the provider was last heard, heartbeats included (Unix time; 0: never).",
    labelNames: ["chain", "provider"],
    registers: [reg],
    collect() {
      this.reset();
      for (const [chain, s] of chains())
        for (const [provider, l] of Object.entries(s.listeners))
          this.set({ chain, provider }, l.lastHeardAt / 1000);
    },
  });
  return m;
}

/** Write errors (a counter: the ledger lives as long as the process) and writes waiting, read at scrape time. */
function ledgerMetrics(
  reg: Registry,
  prefix: string,
  whose: string,
  read: () => LedgerCounters,
): void {
  new Counter({
    name: `${prefix}ledger_write_errors_total`,
    help: `Batches of ${whose} ledger writes that failed (full or read-only state disk, ...) and were queued to be retried; nothing is lost while the process runs.`,
    registers: [reg],
    collect() {
      this.reset();
      this.inc(read().writeErrors);
    },
  });
  new Gauge({
    name: `${prefix}ledger_pending_writes`,
    help: `Changes to the ${whose} ledger queued and not yet committed.`,
    registers: [reg],
    collect() {
      this.set(read().pendingWrites);
    },
  });
  new Counter({
    name: `${prefix}ledger_commits_total`,
    help: `Transactions committed to the ${whose} ledger; changes_total / commits_total is how many changes a commit holds.`,
    registers: [reg],
    collect() {
      this.reset();
      this.inc(read().commits);
    },
  });
  new Counter({
    name: `${prefix}ledger_changes_total`,
    help: `Changes committed to the ${whose} ledger.`,
    registers: [reg],
    collect() {
      this.reset();
      this.inc(read().changesCommitted);
    },
  });
}

function serverMetrics(
  reg: Registry,
  stats: (() => Record<string, ServerStats>) | undefined,
  ledger: (() => LedgerCounters) | undefined,
) {
  const P = "move_it_server_";
  const m = {
    announced: counter(
      reg,
      `${P}files_announced_total`,
      "Files announced on the chain's topic.",
      ["chain"],
    ),
    requests: counter(
      reg,
      `${P}requests_total`,
      "Requests received on the chain's request port, by type (push, ack, ping, info, ...).",
      ["chain", "type"],
    ),
    pushed: counter(
      reg,
      `${P}files_pushed_total`,
      "Files delivered to a client's destination by a push.",
      ["chain", "scheme"],
    ),
    joined: counter(
      reg,
      `${P}pushes_joined_total`,
      "Pushes of a file to a destination it was already being moved to: served by the transfer running.",
      ["chain"],
    ),
    bytes: counter(
      reg,
      `${P}sent_bytes_total`,
      "Bytes moved to destinations by pushes.",
      ["chain", "scheme"],
    ),
    pushFailures: counter(
      reg,
      `${P}push_failures_total`,
      "Push requests answered with an error.",
      ["chain"],
    ),
    refused: counter(
      reg,
      `${P}requests_refused_total`,
      "Requests refused (file not announced here or outside origin, bad destination).",
      ["chain"],
    ),
    malformed: counter(
      reg,
      `${P}requests_malformed_total`,
      "Frames on the request port that were not messages.",
      ["chain"],
    ),
    duration: histogram(
      reg,
      `${P}push_duration_seconds`,
      "Time to move one file to its destination.",
      ["chain", "scheme"],
      DURATION_BUCKETS,
    ),
    lastPush: new Gauge({
      name: `${P}last_push_timestamp_seconds`,
      help: "When the chain last delivered a file by a push (Unix time).",
      labelNames: ["chain"],
      registers: [reg],
    }),
    lastAnnounce: new Gauge({
      name: `${P}last_announce_timestamp_seconds`,
      help: "When the chain last announced a file (Unix time).",
      labelNames: ["chain"],
      registers: [reg],
    }),
  };
  if (ledger !== undefined) ledgerMetrics(reg, P, "server", ledger);
  if (stats === undefined) return m;
  new Gauge({
    name: `${P}chain_up`,
    help: "1 for each chain (ini section) running now.",
    labelNames: ["chain"],
    registers: [reg],
    collect() {
      this.reset();
      for (const chain of Object.keys(stats())) this.set({ chain }, 1);
    },
  });
  return m;
}
