/**
 * What a server chain reports as it works. The chain only emits; the edge
 * (metrics, status page, alerts) decides what to count or show, and keeps
 * its own totals, so they outlive a chain re-created by a reload.
 */
export type ServerEvent =
  /** A file was announced (or a relayed announcement republished). */
  | { readonly type: "announced"; readonly chain: string }
  /** A request arrived (any type, `unknown` ones included). */
  | {
      readonly type: "request";
      readonly chain: string;
      readonly request: string;
    }
  /** A frame that is not a message. */
  | { readonly type: "malformed"; readonly chain: string }
  /** A request refused (path outside origin, bad destination). */
  | { readonly type: "refused"; readonly chain: string }
  /** One file delivered by a push; `joined` when it rode on a transfer already running. */
  | {
      readonly type: "pushed";
      readonly chain: string;
      readonly scheme: string;
      readonly bytes: number;
      readonly seconds: number;
      readonly joined: boolean;
    }
  /** A push request answered `err`. */
  | { readonly type: "push_failed"; readonly chain: string };

/** Where a server sends its events; must not throw. */
export type ServerEventSink = (event: ServerEvent) => void;
