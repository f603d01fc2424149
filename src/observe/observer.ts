/**
 * Watches a daemon through its events and stats: feeds the metrics, keeps
 * each chain's recent activity, evaluates expected files, sends alerts,
 * and builds the status document (`/status`, the status page,
 * `move_it_status`). Its totals are kept per chain name, so they survive a
 * reload that re-creates a chain.
 */
import type { ClientEvent, ClientStats } from "../client/index.js";
import type { AlertSettings, ClientChainConfig } from "../config/index.js";
import type { Logger } from "../log.js";
import type { ServerEvent, ServerStats } from "../server/server.js";
import { ChainActivity } from "./activity.js";
import { AlertSender, type Alert } from "./alerts.js";
import { ExpectedTracker } from "./expected.js";
import { fileTime } from "./file-time.js";
import { Metrics, type LedgerCounters } from "./metrics.js";
import {
  chainStatus,
  type ServerActivity,
  type StatusDocument,
} from "./status-doc.js";
import { statOf } from "../util/local-fs.js";

export interface ObserverOptions {
  program: string;
  version: string;
  log: Logger;
  client?: () => ClientStats;
  server?: () => Record<string, ServerStats>;
  /** The server's ledger write counters (metrics). */
  serverLedger?: () => LedgerCounters;
  /** Clock, ms (tests). */
  now?: () => number;
  /** How often slots and providers are checked, ms (default 1000). */
  tickMs?: number;
}

/** Per client chain: what it expects and where it alerts. */
interface Watch {
  expected: ExpectedTracker | undefined;
  alerts: AlertSettings | undefined;
  /** Providers alerted as down, by address. */
  down: Set<string>;
}

/** See the module comment. */
export class Observer {
  readonly metrics: Metrics;
  private readonly activity = new Map<string, ChainActivity>();
  private readonly serverActivity = new Map<string, ServerActivity>();
  private readonly watches = new Map<string, Watch>();
  private readonly alerts: AlertSender;
  private readonly timer: NodeJS.Timeout;
  private readonly startedAt: number;

  constructor(private readonly opts: ObserverOptions) {
    this.metrics = new Metrics(opts.program, opts.version, {
      client: opts.client,
      server: opts.server,
      serverLedger: opts.serverLedger,
    });
    this.alerts = new AlertSender(opts.program, opts.log);
    this.startedAt = this.now();
    this.timer = setInterval(() => this.tick(), opts.tickMs ?? 1000);
    this.timer.unref();
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** Take the client chains' expectations and alert settings (at start and after each reload). */
  configure(chains: readonly ClientChainConfig[]): void {
    const names = new Set(chains.map((c) => c.name));
    for (const name of this.watches.keys())
      if (!names.has(name)) this.watches.delete(name);
    for (const c of chains) {
      this.metrics.clientChain(c.name);
      const old = this.watches.get(c.name);
      const same =
        old?.expected !== undefined &&
        c.expected !== undefined &&
        JSON.stringify(old.expected.spec) === JSON.stringify(c.expected);
      const expected = same
        ? old.expected
        : c.expected === undefined
          ? undefined
          : new ExpectedTracker(c.expected, this.now());
      this.watches.set(c.name, {
        expected,
        alerts: c.alerts,
        down: old?.down ?? new Set(),
      });
    }
  }

  /** The event sink for a MoveItServer (or a mirror's downstream half). */
  readonly onServerEvent = (ev: ServerEvent): void => {
    this.metrics.server(ev);
    let a = this.serverActivity.get(ev.chain);
    if (a === undefined)
      this.serverActivity.set(
        ev.chain,
        (a = {
          announced: 0,
          lastAnnounceAt: 0,
          failures: 0,
          lastFailureAt: 0,
          pushes: new ChainActivity(),
        }),
      );
    const now = this.now();
    if (ev.type === "announced")
      [a.announced, a.lastAnnounceAt] = [a.announced + 1, now];
    else if (ev.type === "pushed") a.pushes.count(now, ev.bytes);
    else if (ev.type === "push_failed")
      [a.failures, a.lastFailureAt] = [a.failures + 1, now];
  };

  /** The event sink for a MoveItClient (or a mirror's upstream half). */
  readonly onClientEvent = (ev: ClientEvent): void => {
    this.metrics.client(ev);
    if (ev.type === "delivered") this.delivered(ev);
    else if (ev.type === "failed") {
      this.chainActivity(ev.chain).failure(this.now());
      if (ev.givenUp)
        this.alert(ev.chain, {
          kind: "file_given_up",
          chain: ev.chain,
          text: `${ev.uid} given up: no provider could deliver it (${ev.error})`,
          details: { uid: ev.uid, providers: ev.providers, error: ev.error },
        });
    }
  };

  private chainActivity(chain: string): ChainActivity {
    let a = this.activity.get(chain);
    if (a === undefined) this.activity.set(chain, (a = new ChainActivity()));
    return a;
  }

  private delivered(ev: Extract<ClientEvent, { type: "delivered" }>): void {
    const own = fileTime(ev.data);
    const activity = this.chainActivity(ev.chain);
    activity.delivered({
      uid: ev.uid,
      uri: ev.uri,
      provider: ev.provider,
      at: ev.deliveredAt,
      latencySeconds: Math.max(0, (ev.deliveredAt - ev.announcedAt) / 1000),
      ageSeconds:
        own === undefined
          ? undefined
          : Math.max(0, (ev.deliveredAt - own) / 1000),
    });
    void this.size(ev).then((bytes) => {
      if (bytes === undefined) return;
      this.metrics.bytesDelivered(
        { chain: ev.chain, provider: ev.provider, scheme: ev.scheme },
        bytes,
      );
      activity.bytes(ev.deliveredAt, bytes);
    });
    const outcome = this.watches
      .get(ev.chain)
      ?.expected?.add(ev.data, this.now());
    if (outcome?.kind === "late") {
      this.metrics.expected(ev.chain, "late");
      activity.lateOrMissing("late", 1, this.now());
      this.opts.log.warn(
        { chain: ev.chain, uid: ev.uid, slot: outcome.slot },
        "file late",
      );
    }
  }

  /** The size announced, else of the delivered local file (on the spot on a local disk: see util/local-fs.ts). */
  private async size(
    ev: Extract<ClientEvent, { type: "delivered" }>,
  ): Promise<number | undefined> {
    for (const k of ["filesize", "size"]) {
      const v = ev.data[k];
      if (typeof v === "number" && Number.isFinite(v) && v >= 0) return v;
    }
    if (ev.localPath === undefined) return undefined;
    return statOf(ev.localPath).then(
      (s) => s.size,
      () => undefined,
    );
  }

  private tick(): void {
    const now = this.now();
    for (const [chain, w] of this.watches) {
      for (const slot of w.expected?.tick(now) ?? []) {
        this.metrics.expected(chain, "incomplete");
        this.metrics.expected(chain, "missing", slot.missing.length);
        this.chainActivity(chain).lateOrMissing(
          "missing",
          slot.missing.length,
          now,
        );
        this.opts.log.warn(
          {
            chain,
            slot: slot.slot,
            expected: slot.expected,
            missing: slot.missing.length,
            files: slot.missing.slice(0, 20),
          },
          "slot incomplete",
        );
        this.alert(chain, {
          kind: "slot_incomplete",
          chain,
          text: `slot ${slot.slot} closed with ${slot.missing.length} of ${slot.expected} files missing`,
          details: {
            slot: slot.slot,
            expected: slot.expected,
            missing: slot.missing.slice(0, 100),
          },
        });
      }
    }
    this.checkProviders(now);
  }

  /** Alert once when a provider stays unheard past `alert_provider_down`, and once when it is back. */
  private checkProviders(now: number): void {
    const stats = this.opts.client?.();
    if (stats === undefined) return;
    for (const [chain, w] of this.watches) {
      if (w.alerts === undefined) continue;
      for (const [provider, l] of Object.entries(
        stats.chains[chain]?.listeners ?? {},
      )) {
        const silentS =
          (now - (l.lastHeardAt > 0 ? l.lastHeardAt : this.startedAt)) / 1000;
        if (
          !l.up &&
          silentS >= w.alerts.providerDown &&
          !w.down.has(provider)
        ) {
          w.down.add(provider);
          this.alert(chain, {
            kind: "provider_down",
            chain,
            text: `provider ${provider} unheard for ${Math.round(silentS)} s`,
            details: { provider, silentSeconds: Math.round(silentS) },
          });
        } else if (l.up && w.down.delete(provider)) {
          this.alert(chain, {
            kind: "provider_up",
            chain,
            text: `provider ${provider} heard again`,
            details: { provider },
          });
        }
      }
    }
  }

  private alert(chain: string, alert: Alert): void {
    const url = this.watches.get(chain)?.alerts?.url;
    if (url !== undefined) void this.alerts.send(url, alert);
  }

  /** The status document: every chain's state, recent files, latency, expected files. */
  status(uptimeSeconds: number, raw: unknown): StatusDocument {
    const now = this.now();
    const client = this.opts.client?.().chains ?? {};
    const server = this.opts.server?.() ?? {};
    const chains = [
      ...Object.entries(client).map(([name, s]) =>
        chainStatus.client(
          name,
          s,
          this.chainActivity(name),
          this.watches.get(name)?.expected,
          now,
          this.startedAt,
        ),
      ),
      ...Object.entries(server).map(([name, s]) =>
        chainStatus.server(name, s, this.serverActivity.get(name), now),
      ),
    ];
    return {
      program: this.opts.program,
      version: this.opts.version,
      now,
      uptimeSeconds,
      chains,
      stats: raw,
    };
  }

  /** Stop the timer and pending alert retries. */
  close(): void {
    clearInterval(this.timer);
    this.alerts.close();
  }
}
