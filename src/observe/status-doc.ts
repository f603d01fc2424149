/**
 * The status document served at `/status` and read by the status page and
 * `move_it_status`: one entry per chain with its state, providers, last
 * files and latency, rates, and expected files.
 *
 * States: `failing` (client: no provider heard for 2 min, or the last
 * failed round of pushes came after the last delivery, within 10 min; server: the last
 * push failed, within 10 min), `lagging` (files pending or retrying and none delivered
 * for 1 min, or a file late or missing within 15 min), `idle` (nothing
 * pending and nothing done for 5 min), else `running`.
 */
import type { ClientStats } from "../client/index.js";
import type { ServerStats } from "../server/server.js";
import type { ChainActivity, Minute, RecentFile } from "./activity.js";
import type { ExpectedTracker, IncompleteSlot } from "./expected.js";

export type ChainState = "running" | "idle" | "lagging" | "failing";

export interface ProviderStatus {
  address: string;
  up: boolean;
  /** ms since the epoch; 0: never heard. */
  lastHeardAt: number;
  heartbeats: number;
  missedHeartbeats: number;
}

export interface ChainStatus {
  name: string;
  role: "client" | "server";
  state: ChainState;
  providers: ProviderStatus[];
  lastFile: { uid: string; at: number; latencySeconds: number } | undefined;
  filesPerMinute: number;
  bytesPerMinute: number;
  /** Files heard of and not delivered: not yet pushed, or a push sent (ledger rows). */
  pending: number;
  /** Push requests waiting for their reply now. */
  inFlight: number;
  /** Files every provider failed, waiting for their retry backoff (ledger rows). */
  retrying: number;
  /** Files delivered since the daemon started. */
  delivered: number;
  /** Files given up (ledger rows, kept for ledger_retention). */
  failed: number;
  late: number;
  missing: number;
  recent: RecentFile[];
  /** Per minute over the last 6 h: files and mean/max latency. */
  latency: Array<{ t: number; files: number; mean: number; max: number }>;
  expected:
    | {
        perSlot: number;
        open: ReturnType<ExpectedTracker["openSlots"]>;
        incomplete: IncompleteSlot[];
      }
    | undefined;
}

export interface StatusDocument {
  program: string;
  version: string;
  /** ms since the epoch. */
  now: number;
  uptimeSeconds: number;
  chains: ChainStatus[];
  /** The daemon's raw counters, as before. */
  stats: unknown;
}

/** Server-side activity the observer keeps per chain. */
export interface ServerActivity {
  announced: number;
  lastAnnounceAt: number;
  failures: number;
  lastFailureAt: number;
  /** Pushes, per minute. */
  pushes: ChainActivity;
}

const MIN = 60_000;

function series(minutes: Minute[]): ChainStatus["latency"] {
  return minutes.map((m) => ({
    t: m.t,
    files: m.files,
    mean: m.files > 0 ? m.latencySum / m.files : 0,
    max: m.latencyMax,
  }));
}

function clientState(
  s: ClientStats["chains"][string],
  a: ChainActivity,
  now: number,
  startedHeard: number,
): ChainState {
  const heard = Math.max(
    startedHeard,
    ...Object.values(s.listeners).map((l) => l.lastHeardAt),
  );
  if (Object.keys(s.listeners).length > 0 && now - heard > 2 * MIN)
    return "failing";
  if (a.lastFailureAt > a.lastDeliveryAt && now - a.lastFailureAt < 10 * MIN)
    return "failing";
  const pending = s.files.pending + s.files.inFlight + s.files.failed;
  if (
    (pending > 0 && now - a.lastDeliveryAt > MIN) ||
    now - a.lastLateAt < 15 * MIN
  )
    return "lagging";
  if (pending === 0 && now - a.lastDeliveryAt > 5 * MIN) return "idle";
  return "running";
}

/** Builders of ChainStatus for each role. */
export const chainStatus = {
  client(
    name: string,
    s: ClientStats["chains"][string],
    a: ChainActivity,
    expected: ExpectedTracker | undefined,
    now: number,
    startedAt: number,
  ): ChainStatus {
    const last = a.recent[0];
    return {
      name,
      role: "client",
      state: clientState(s, a, now, startedAt),
      providers: Object.entries(s.listeners).map(([address, l]) => ({
        address,
        up: l.up,
        lastHeardAt: l.lastHeardAt,
        heartbeats: l.heartbeats,
        missedHeartbeats: l.missedHeartbeats,
      })),
      lastFile:
        last === undefined
          ? undefined
          : { uid: last.uid, at: last.at, latencySeconds: last.latencySeconds },
      ...a.rates(now),
      pending: s.files.pending + s.files.inFlight,
      inFlight: s.coordinator.active,
      retrying: s.files.failed,
      delivered: a.files,
      failed: s.files.givenUp,
      late: a.late,
      missing: a.missing,
      recent: a.recent.slice(0, 20),
      latency: series(a.series(now - 6 * 60 * MIN)),
      expected:
        expected === undefined
          ? undefined
          : {
              perSlot: expected.perSlot,
              open: expected.openSlots(),
              incomplete: expected.incomplete,
            },
    };
  },

  server(
    name: string,
    _stats: ServerStats,
    a: ServerActivity | undefined,
    now: number,
  ): ChainStatus {
    const lastPushAt = a?.pushes.lastDeliveryAt ?? 0;
    const lastActive = Math.max(a?.lastAnnounceAt ?? 0, lastPushAt);
    const lastFailureAt = a?.lastFailureAt ?? 0;
    const state: ChainState =
      lastFailureAt > lastPushAt && now - lastFailureAt < 10 * MIN
        ? "failing"
        : now - lastActive < 5 * MIN
          ? "running"
          : "idle";
    return {
      name,
      role: "server",
      state,
      providers: [],
      lastFile: undefined,
      ...(a?.pushes.rates(now) ?? { filesPerMinute: 0, bytesPerMinute: 0 }),
      pending: 0,
      inFlight: 0,
      retrying: 0,
      delivered: a?.pushes.files ?? 0,
      failed: a?.failures ?? 0,
      late: 0,
      missing: 0,
      recent: [],
      latency: [],
      expected: undefined,
    };
  },
};
