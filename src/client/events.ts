/**
 * What a client chain reports as it works. The chain only emits; the edge
 * (metrics, status page, expected files, alerts) decides what to count or
 * show, and keeps its own totals, so they outlive a chain re-created by a
 * reload. Times are ms since the epoch.
 */
import type { JsonValue } from "../message/index.js";

export type ClientEvent =
  /** An announcement to act on (with a request_address and a uid). */
  | {
      readonly type: "announced";
      readonly chain: string;
      readonly provider: string;
    }
  /** One push to one server ended; `ok` false: failed over or given up. */
  | {
      readonly type: "pushed";
      readonly chain: string;
      readonly provider: string;
      readonly scheme: string;
      readonly seconds: number;
      readonly ok: boolean;
    }
  /** A push tried on a next provider after a failure (same round). */
  | {
      readonly type: "failover";
      readonly chain: string;
      readonly provider: string;
    }
  /** A file taken up again from the ledger: its retry backoff was due, it was resumed at start, or room freed. */
  | {
      readonly type: "retried";
      readonly chain: string;
      readonly uid: string;
      readonly attempts: number;
    }
  /** A file arrived (the first delivery of its uid). */
  | {
      readonly type: "delivered";
      readonly chain: string;
      readonly provider: string;
      readonly scheme: string;
      readonly uid: string;
      /** Where it is now (local path, or credential-free URL). */
      readonly uri: string;
      /** The delivered file on this host, when the destination is local. */
      readonly localPath: string | undefined;
      /** When the server announced it (the announcement's time). */
      readonly announcedAt: number;
      readonly deliveredAt: number;
      /** The announcement's metadata (parsed pattern fields among them). */
      readonly data: Readonly<Record<string, JsonValue>>;
    }
  /** No provider could deliver the file this round: it is retried later, or given up past max_retry_age. */
  | {
      readonly type: "failed";
      readonly chain: string;
      readonly uid: string;
      readonly providers: readonly string[];
      readonly givenUp: boolean;
      readonly error: string;
    }
  /** An ack request to another server that announced a delivered file. */
  | {
      readonly type: "acked";
      readonly chain: string;
      readonly provider: string;
      readonly ok: boolean;
    }
  /** A catch-up pass asked of one server ended: answered, unsupported (a Python server) or unreachable. */
  | {
      readonly type: "catchup";
      readonly chain: string;
      readonly provider: string;
      /** The request address asked. */
      readonly address: string;
      readonly outcome: "answered" | "unsupported" | "unreachable";
      /** Announcements the pass received. */
      readonly announcements: number;
    }
  /** A provider's heartbeat arrived. */
  | {
      readonly type: "heartbeat";
      readonly chain: string;
      readonly provider: string;
    }
  /** A provider stayed silent past the alarm and is reconnected. */
  | {
      readonly type: "heartbeat_missed";
      readonly chain: string;
      readonly provider: string;
    };

type WithoutChain<T> = T extends unknown ? Omit<T, "chain"> : never;

/** An event as a chain's parts emit it; the chain adds its name. */
export type ChainEvent = WithoutChain<ClientEvent>;

/** Where a client sends its events; must not throw. */
export type ClientEventSink = (event: ClientEvent) => void;
