/**
 * The mirror's way of using a client (relay mode): every new upstream file
 * is reported at once (to be re-announced downstream) and fetched when a
 * downstream client asks (`fetch()`), unless `prefetch`. The announcements
 * are kept, bounded, and expire when nobody asked for them. The transfers
 * themselves are the coordinator's (`Transfers`).
 */
import { RefusedError } from "../errors.js";
import type { Message } from "../message/index.js";
import type { Announcement } from "./coordinator.js";
import type { Destination } from "./destination.js";

export interface RelayOptions {
  /** A new upstream file, its first announcement as received. Must not throw. */
  onAnnounced(msg: Message): void;
  /** Fetch on announcement instead of on request. */
  prefetch: boolean;
  /** Announcements kept at most (default 10 000). */
  capacity?: number;
  /** Forget an announcement nobody asked for after this long (default 1 h). */
  ttlMs?: number;
}

/** What a finished transfer produced. */
export interface Fetched {
  ann: Announcement;
  dest: Destination;
}

/** The coordinator's transfers, as a relay uses them. */
export interface Transfers {
  /** The transfer of `key` running now, joined; undefined when none runs. */
  joinTransfer(key: string): Promise<Fetched> | undefined;
  /** Start a transfer of `key` from these offers (first first); resolves when it has arrived. */
  beginTransfer(key: string, candidates: Announcement[]): Promise<Fetched>;
  /** Add an offer to the transfer of its file running now (for failover and acks); false when none runs. */
  addOffer(ann: Announcement): boolean;
  /** The offers of `key` stored in the ledger, oldest first (they outlive a restart). */
  storedOffers(key: string): Announcement[];
}

const DEFAULT_CAPACITY = 10_000;
const DEFAULT_TTL_MS = 3_600_000;

/** See the module comment. */
export class Relay {
  private readonly known: RelayRegistry;

  constructor(
    private readonly opts: RelayOptions,
    private readonly transfers: Transfers,
  ) {
    this.known = new RelayRegistry(
      opts.capacity ?? DEFAULT_CAPACITY,
      opts.ttlMs ?? DEFAULT_TTL_MS,
    );
  }

  /** Fetch on announcement (`prefetch`)? */
  get prefetch(): boolean {
    return this.opts.prefetch;
  }

  /**
   * An upstream announcement (heard, caught up, or taken up from the ledger):
   * remembered; the first of its file is reported, a later one joins the
   * file's transfer if one runs. True if it was the first.
   */
  heard(ann: Announcement): boolean {
    const first = this.known.add(ann);
    if (first) this.opts.onAnnounced(ann.msg);
    else this.transfers.addOffer(ann);
    return first;
  }

  /**
   * A downstream client asks for `key`: join its transfer, or start one from
   * the servers that announced it (remembered, else stored in the ledger).
   * @throws RefusedError (rejected) when no server announced it.
   */
  fetch(key: string): Promise<Fetched> {
    const running = this.transfers.joinTransfer(key);
    if (running !== undefined) return running;
    const candidates =
      this.known.candidates(key) ?? this.transfers.storedOffers(key);
    if (candidates.length === 0)
      return Promise.reject(
        new RefusedError(`${key} was not announced upstream`),
      );
    return this.transfers.beginTransfer(key, candidates);
  }

  /** Announcements remembered now. */
  get size(): number {
    return this.known.size;
  }
}

interface Known {
  candidates: Announcement[];
  at: number;
}

/** The upstream announcements kept, per file: bounded, expiring. */
export class RelayRegistry {
  private readonly known = new Map<string, Known>();

  constructor(
    private readonly capacity: number,
    private readonly ttlMs: number,
  ) {}

  /** Remember an announcement; true if it is the first of its file. */
  add(ann: Announcement): boolean {
    this.expire(Date.now());
    const entry = this.known.get(ann.key);
    if (entry === undefined) {
      this.known.set(ann.key, { candidates: [ann], at: Date.now() });
      return true;
    }
    if (!entry.candidates.some((c) => c.address === ann.address))
      entry.candidates.push(ann);
    return false;
  }

  /** The servers that announced `key`, first first; undefined if unknown. */
  candidates(key: string): Announcement[] | undefined {
    const entry = this.known.get(key);
    return entry === undefined ? undefined : [...entry.candidates];
  }

  get size(): number {
    return this.known.size;
  }

  /** Oldest entries go first: past the TTL, or beyond the capacity. */
  private expire(now: number): void {
    for (const [key, entry] of this.known) {
      if (now - entry.at < this.ttlMs && this.known.size < this.capacity)
        return;
      this.known.delete(key);
    }
  }
}
